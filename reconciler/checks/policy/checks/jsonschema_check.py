"""Check ``jsonschema``: every value at the rule's paths satisfies a JSON Schema (Draft 7) given in the rule.

The validator comes from :func:`reconciler.checks.fullvalidator.validator_for`, so a
``pattern`` inside the rule's schema is time-bounded too. The rule's schema is
checked against the Draft 7 meta-schema when the policy is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.checks import lazyjsonschema, regexguard
from reconciler.model import MASK, Severity
from reconciler.checks.policy.checks.base import EnvContext, Violation

NEEDS_PATHS = True


def validate_args(args: object) -> list[str]:
    if not isinstance(args, dict):
        return ["'jsonschema' takes a JSON Schema (a mapping)"]
    exc = lazyjsonschema.fullvalidator().draft7_schema_error(args)
    if exc is not None:
        where = "/".join(str(p) for p in exc.absolute_path)
        return [f"the rule's schema is not valid Draft 7{f' at {where}' if where else ''}: {exc.message}"]
    return []


def check(ctx: EnvContext) -> Iterator[Violation]:
    validator = lazyjsonschema.fullvalidator().validator_for(ctx.rule.args)
    for path, value in ctx.matched_values():
        try:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        except regexguard.RegexTimeout:
            yield Violation("a pattern in the rule's schema took too long on this value; simplify the regex",
                            path, code="policy.regex_timeout", severity=Severity.ERROR)
            continue
        for error in errors:
            where = path + tuple(error.absolute_path)
            if ctx.is_sensitive(path) or ctx.is_sensitive(where):
                message = f"value {MASK} (hidden: sensitive) fails the rule's schema ({error.validator})"
            else:
                message = error.message
            yield Violation(message, where)
