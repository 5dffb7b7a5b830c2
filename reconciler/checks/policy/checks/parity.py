"""Check ``parity``: the schema of each matched environment equals the ``reference`` environment's.

Compared as canonical JSON (key order irrelevant), so ``live`` can be required
to run exactly the schema ``pre-release`` has. The finding points at the
matched environment's schema.yaml. A reference that is unmanaged (no directory)
or has no schema.yaml is reported as such, never a crash; the reference
environment itself is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.model import ClientEnv, Severity
from reconciler.checks.policy.checks.base import EnvContext, Violation

NEEDS_PATHS = False


def validate_args(args: object) -> list[str]:
    if not isinstance(args, dict) or not isinstance(args.get("reference"), str):
        return ["'parity' takes {reference: <environment>}"]
    if args["reference"] not in ClientEnv.names():
        return [f"unknown environment {args['reference']!r} in parity.reference "
                f"(one of {', '.join(ClientEnv.names())})"]
    return []


def canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _differing_keys(a: Any, b: Any) -> list[str]:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return []
    props_a, props_b = a.get("properties") or {}, b.get("properties") or {}
    if isinstance(props_a, dict) and isinstance(props_b, dict):
        names = sorted(set(props_a) | set(props_b))
        diff = [n for n in names if canonical(props_a.get(n)) != canonical(props_b.get(n))]
        if diff:
            return [f"properties.{n}" for n in diff]
    return sorted(k for k in set(a) | set(b) if canonical(a.get(k)) != canonical(b.get(k)))


def check(ctx: EnvContext) -> Iterator[Violation]:
    reference = ClientEnv(ctx.rule.args["reference"])
    env = ctx.env
    if env.env is reference or env.schema is None:
        return
    ref = ctx.other_env(reference)
    if ref is None or ref.schema is None:
        state = "is unmanaged (no directory)" if ref is None else "has no schema.yaml"
        yield Violation(f"cannot check parity with '{reference}': it {state} for agent '{env.agent}'",
                        (), where="schema", severity=Severity.WARNING)
        return
    if canonical(env.schema) != canonical(ref.schema):
        keys = _differing_keys(env.schema, ref.schema)
        detail = f" (differs at: {', '.join(keys[:5])}{', …' if len(keys) > 5 else ''})" if keys else ""
        yield Violation(f"schema differs from '{reference}'{detail}; promote it through '{reference}' first",
                        (), where="schema")
