"""Check ``required_keys``: listed keys (paths) are present in the values of matched environments.

Each entry uses the policy path syntax; wildcards require the rest of the path
in every item they reach. Environments that manage no values.yaml are skipped
(their values are not in the repository). Findings point at the nearest
existing parent in values.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.model import format_path
from reconciler.checks.policy import paths as _paths
from reconciler.checks.policy.checks.base import EnvContext, Violation

NEEDS_PATHS = False


def validate_args(args: object) -> list[str]:
    if not isinstance(args, list) or not args:
        return ["'required_keys' takes a non-empty list of paths"]
    problems = []
    for key in args:
        try:
            _paths.parse(key)
        except _paths.PathError as exc:
            problems.append(f"required_keys: {exc}")
    return problems


def check(ctx: EnvContext) -> Iterator[Violation]:
    if ctx.env.values is None:
        return
    for key in ctx.rule.args:
        for where in _paths.missing(ctx.env.values, key):
            yield Violation(f"required key '{format_path(where) or key}' is missing", where)
