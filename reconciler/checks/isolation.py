"""Failure isolation: an unexpected exception while checking one environment becomes a finding there.

Called by :mod:`reconciler.checks.validation` (schema and values checks per agent x
environment) and :mod:`reconciler.checks.policy.engine` (value rules per environment).
One hostile file must never stop the fleet with "unexpected … (this is a bug)":
the exception is turned into a blocking finding located at that environment's
file, so only what that file blocks is blocked and every other agent goes on.
Expected problems have their own codes (``schema.recursive_ref``,
``values.integer_too_large``, ``path.unreadable``…); this is the safety net
behind them, and its message still says that it is a bug worth reporting.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.model import EnvDesired, Finding, Severity


def contained(check: Callable[[], list[Finding]], env: EnvDesired, what: str) -> list[Finding]:
    """``check()``; if it raises, one blocking finding at ``env``'s file instead."""
    try:
        return check()
    except RecursionError:
        return [_finding(env, "check.too_deep", f"{what}: the data or schema nests too deeply to check "
                         "(recursion limit); flatten it")]
    except Exception as exc:  # noqa: BLE001 - the point is that nothing escapes
        # Only the exception's type: its text may quote a value, and this path has no masking context.
        return [_finding(env, "check.failed", f"{what} failed with {type(exc).__name__} (this is a bug; "
                         "the environment is blocked, other agents go on)")]


def _finding(env: EnvDesired, code: str, message: str) -> Finding:
    smap = env.values_map or env.schema_map
    return Finding(Severity.ERROR, code, message, file=smap.file if smap else None, line=1 if smap else None,
                   agent=env.agent, env=env.env.value)
