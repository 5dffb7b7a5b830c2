"""Check ``e164``: every value at the rule's paths is a dialable phone number in E.164 form.

Parsed by ``phonenumbers`` (libphonenumber's metadata, not a regex) with no
default region, so the leading ``+`` and country code are required. The
message says why a number fails: not in E.164 form, too short / too long,
not a valid number, or from a region the rule does not allow.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from reconciler.checks.policy.checks.base import EnvContext, Violation

NEEDS_PATHS = True

_DIGITS = re.compile(r"\+[0-9]+")


@functools.cache
def _lib():
    """``phonenumbers`` and its reason tables, imported on first use (~25 ms a run without e164 rules saves)."""
    import phonenumbers  # deferred: ~25 ms a run without e164 rules never pays
    from phonenumbers import ValidationResult  # deferred: same library

    parse_reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
        phonenumbers.NumberParseException.TOO_LONG: "is too long",
    }
    possible_reasons = {
        ValidationResult.TOO_SHORT: "is too short",
        ValidationResult.TOO_LONG: "is too long",
        ValidationResult.INVALID_LENGTH: "has an invalid length for its country",
        ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is only dialable locally (too short for an international number)",
    }
    return phonenumbers, parse_reasons, possible_reasons


def validate_args(args: object) -> list[str]:
    if not isinstance(args, dict):
        return ["'e164' takes a mapping, e.g. {regions: [GB, US]} or {}"]
    regions = args.get("regions") or ()
    if not regions:
        return []                          # e164: {} needs no library until a value is checked
    known = _lib()[0].SUPPORTED_REGIONS
    return [f"unknown region {r!r} in e164.regions (use ISO 3166 codes such as GB, US)"
            for r in regions if r not in known]


def problem(value: object, regions: tuple[str, ...] = ()) -> str | None:
    """Why ``value`` is not an acceptable E.164 number (a phrase to follow the value), or None when it is."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not a phone number string in E.164 form"
    if not value.startswith("+"):
        return "is not in E.164 form: it must start with '+' and the country code"
    if not _DIGITS.fullmatch(value):
        if re.search(r"[\s\-().]", value):
            return "is not in E.164 form: remove spaces, dashes, dots and brackets ('+' then digits only)"
        return "is not in E.164 form: '+' then the country code and digits only"
    if len(value) > 16:
        return "is too long (E.164 allows at most 15 digits)"
    phonenumbers, parse_reasons, possible_reasons = _lib()
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        return parse_reasons.get(exc.error_type, "cannot be parsed as a phone number")
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in possible_reasons:
        return possible_reasons[reason]
    region = phonenumbers.region_code_for_number(number)     # the costly part: each region of the country code
    if not phonenumbers.is_valid_number_for_region(number, region):   # is_valid_number, without finding it again
        country = phonenumbers.region_code_for_country_code(number.country_code)
        where = f" for region {country}" if country and country != "ZZ" else ""
        return f"is not a valid number{where} (no such number range)"
    if regions and region not in regions:
        return f"is a {region} number; allowed regions: {', '.join(regions)}"
    return None


def check(ctx: EnvContext) -> Iterator[Violation]:
    regions = tuple((ctx.rule.args or {}).get("regions") or ())
    for path, value in ctx.matched_values():
        why = problem(value, regions)
        if why:
            yield Violation(f"{ctx.show(path, value)} {why}", path)
