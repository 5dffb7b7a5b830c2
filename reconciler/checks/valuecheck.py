"""Values against their schema: ALL errors, masked, each at the offending value's line.

Called by :mod:`reconciler.checks.validation` for every agent x environment whose
schema has no error (``values.invalid``, ``values.regex_timeout``). The compiled
validator (:mod:`reconciler.checks.fastcheck`) says "valid" fast; otherwise the full
guarded validator (:func:`reconciler.checks.fullvalidator.validator_for`: python-jsonschema, loaded
only then) lists every error.
Messages never contain a sensitive value (:mod:`reconciler.checks.masking`); a plain
scalar YAML 1.1 would have read as a boolean or a number gets a hint. Which errors
block what is the verdict's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.checks import fastcheck, lazyjsonschema, masking, regexguard
from reconciler.model import Finding, JsonPath, Severity, SourceMap, format_path
from reconciler.repository import yamlhints

if TYPE_CHECKING:
    from jsonschema import exceptions as js_exceptions


def check_values(values: Any, vmap: SourceMap, schema: Mapping[str, Any]) -> list[Finding]:
    """ALL errors of ``values`` against ``schema`` (assumed valid), masked, each at its line."""
    if fastcheck.is_valid(schema, values):
        return []                    # the compiled validator agrees it is valid: no error to locate
    full = lazyjsonschema.fullvalidator()
    validator = full.validator_for(schema)
    out: list[Finding] = []
    secrets: Sequence[str] | None = None          # only needed to mask messages: found on the first error
    try:
        for err in validator.iter_errors(values):
            if _kept_in_live(err, schema):
                continue
            if secrets is None:
                secrets = masking.sensitive_values(values, schema)
            out.extend(_value_findings(err, vmap, schema, secrets))
    except full.UNUSABLE_SCHEMA as exc:  # pragma: no cover - refs pre-checked
        out.append(Finding(Severity.ERROR, "schema.bad_ref",
                           masking.safe_text(str(exc).splitlines()[0], secrets or ()),
                           file=vmap.file, line=1))
    return sorted(out, key=lambda f: (f.line or 0, f.path or ""))


def _kept_in_live(err: js_exceptions.ValidationError, schema: Mapping) -> bool:
    """A required top-level key that is sensitive may be left out: its value is kept in live only
    (``reconciler import`` writes it that way); the planner checks the merged live page instead."""
    if err.validator != "required" or err.absolute_path or not isinstance(err.instance, Mapping):
        return False
    missing = [k for k in err.validator_value or () if isinstance(k, str) and k not in err.instance
               and err.message == f"{k!r} is a required property"]
    return bool(missing) and masking.may_hold_sensitive(schema, missing[0])


def _value_findings(err: js_exceptions.ValidationError, vmap: SourceMap, schema: Mapping,
                    secrets: Sequence[str]) -> list[Finding]:
    path = tuple(err.absolute_path)
    full = lazyjsonschema.fullvalidator()
    if isinstance(err, full.PatternTimeoutError):
        return [finding_at("values.regex_timeout", err.message, vmap, path)]
    if err.validator == "additionalProperties" and err.validator_value is False \
            and isinstance(err.instance, Mapping):
        # One finding per unexpected key, at the key's own line.
        extras = regexguard.find_additional_properties(err.instance, err.schema)
        return [finding_at("values.invalid", f"unexpected property {k!r}: the schema does not allow "
                         "additional properties", vmap, path + (k,), key=True) for k in extras]
    message = _masked_message(err, schema, secrets)
    if not masking.is_sensitive(schema, path):
        message += masking.safe_text(_yaml_hint(err, vmap, path), secrets)
    if err.validator in ("anyOf", "oneOf") and err.context and not masking.is_sensitive(schema, path):
        best = full.best_match(err.context)
        message += f" (closest: {_masked_message(best, schema, secrets)})"
    # A missing required key points at its parent's key line ("transfer:"), where it must be added.
    return [finding_at("values.invalid", message, vmap, path, key=err.validator == "required")]


def _masked_message(err: js_exceptions.ValidationError, schema: Mapping, secrets: Sequence[str]) -> str:
    """The error's message, masked BEFORE it is shortened (a cut secret would no longer match)."""
    if masking.is_sensitive(schema, tuple(err.absolute_path)):
        return _sensitive_message(err)
    return masking.safe_text(err.message, secrets)


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number"}


def _yaml_hint(err: js_exceptions.ValidationError, vmap: SourceMap, path: JsonPath) -> str:
    """For a plain scalar YAML 1.1 would have read as a boolean/number: how to write what was meant."""
    if not isinstance(err.instance, str) or err.validator not in ("type", "enum", "const"):
        return ""
    note = next((n for n in vmap.notes if n.path == path and not n.key), None)
    if note is None:
        return ""
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
    else:
        allowed = err.validator_value if err.validator == "enum" else [err.validator_value]
        wanted = [_JSON_TYPES[type(v)] for v in allowed if type(v) in _JSON_TYPES]
    for expected in wanted:
        hint = yamlhints.schema_hint(note.text, expected)
        if hint:
            return f" ({hint})"
    return ""


def _sensitive_message(err: js_exceptions.ValidationError) -> str:
    """A message about a sensitive value that describes the rule, never the value."""
    rule = err.validator
    if rule in ("type", "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
                "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        return f"sensitive value (masked) fails {rule}: {_short(err.validator_value)}"
    return f"sensitive value (masked) fails {rule}"


def finding_at(code: str, message: str, smap: SourceMap, path: JsonPath, *, key: bool = False,
               severity: Severity = Severity.ERROR) -> Finding:
    """A finding at ``path``'s line in ``smap``'s file (``key``: the key's line, e.g. a missing key's parent)."""
    line = smap.key_line_of(path) if key else smap.line_of(path)
    return Finding(severity, code, message, file=smap.file, line=line, path=format_path(path) or None)


def _short(value: Any) -> str:
    return masking.shorten(repr(value))
