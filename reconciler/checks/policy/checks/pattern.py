"""Check ``pattern``: every value at the rule's paths matches a regular expression.

Semantics are JSON Schema's ``pattern`` (a search, so anchor with ``^…$`` for a
whole-value match). The regex runs time-bounded through
:mod:`reconciler.checks.regexguard`: a catastrophic pattern becomes an error finding
(``policy.regex_timeout``), never a hang. An invalid regex is rejected by the
loader (``validate_args``).
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.checks import regexguard, regexsyntax
from reconciler.model import Severity
from reconciler.checks.policy.checks.base import EnvContext, Violation

NEEDS_PATHS = True


def validate_args(args: object) -> list[str]:
    if not isinstance(args, str) or not args:
        return ["'pattern' must be a non-empty regular expression string"]
    try:
        regexguard.compile_pattern(args)
    except regexsyntax.RegexError as exc:
        return [str(exc)]
    return []


def check(ctx: EnvContext) -> Iterator[Violation]:
    pattern: str = ctx.rule.args
    for path, value in ctx.matched_values():
        if not isinstance(value, str):
            yield Violation(f"expected a string matching {pattern!r}, got {type(value).__name__}", path)
            continue
        try:
            ok = regexguard.search(pattern, value)
        except regexguard.RegexTimeout:
            yield Violation(f"pattern {pattern!r} took too long on this value (catastrophic backtracking?); "
                            "simplify the regex", path, code="policy.regex_timeout", severity=Severity.ERROR)
            continue
        if not ok:
            yield Violation(f"{ctx.show(path, value)} does not match {pattern!r}", path)
