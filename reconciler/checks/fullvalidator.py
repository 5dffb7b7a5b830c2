"""python-jsonschema's side of validation: the full Draft 7 validator, which explains what is wrong.

jsonschema-rs decides validity fast (:mod:`reconciler.checks.fastcheck`); this module
lists every error, located and worded, when there is something to explain — and checks the
few ``format`` values the compiled validator hands back to Python. Importing python-jsonschema
(with referencing and attrs) is about a tenth of a second of a process's start-up, so this
module is never imported at the top of another one: callers reach it through
:func:`reconciler.checks.lazyjsonschema.fullvalidator`, and a run with nothing to explain
(a valid repository, a warm cache) never loads it.

- :func:`validator_for` / :func:`make_validator` build a ``Draft7Validator`` whose
  ``pattern``, ``patternProperties`` and ``additionalProperties`` use the reconciler's regex
  dialect (:mod:`reconciler.checks.regexguard`); a backtracking overrun becomes a
  :class:`PatternTimeoutError` (a ``ValidationError`` subclass, so it keeps the instance
  path); its ``format`` checks are :func:`reconciler.checks.formats.format_checker`'s.
- :func:`meta_validator`: the Draft 7 meta-schema with the same format checks (schema problems).
- :func:`draft7_validator`: python-jsonschema's own Draft 7 validator, for documents whose
  schema the reconciler ships (policy files).
- :func:`conforms`: one ``format`` check, as the full validator makes it.
- :data:`UNUSABLE_SCHEMA`: the errors a schema the validator cannot use raises.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
import referencing.exceptions
from jsonschema import exceptions as js_exceptions

from reconciler import memo
from reconciler.checks import formats, regexsyntax
from reconciler.checks.regexguard import RegexTimeout, find_additional_properties, search

#: What iterating a validator raises for a schema it cannot use (refs are pre-checked, so rarely seen).
UNUSABLE_SCHEMA = (js_exceptions.SchemaError, referencing.exceptions.Unresolvable)


class PatternTimeoutError(js_exceptions.ValidationError):
    """A ``pattern``/``patternProperties`` search that timed out while validating."""


def _pattern(validator, patrn, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = search(patrn, instance)
    except RegexTimeout as exc:
        yield PatternTimeoutError(str(exc))
        return
    except regexsyntax.RegexError as exc:
        yield js_exceptions.ValidationError(str(exc))
        return
    if not matched:
        yield js_exceptions.ValidationError(f"{instance!r} does not match {patrn!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in pattern_properties.items():
        for key, value in instance.items():
            try:
                matched = search(patrn, key)
            except (RegexTimeout, regexsyntax.RegexError) as exc:
                yield PatternTimeoutError(str(exc)) if isinstance(exc, RegexTimeout) \
                    else js_exceptions.ValidationError(str(exc))
                return
            if matched:
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


def _additional_properties(validator, aP, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    extras = find_additional_properties(instance, schema)
    if validator.is_type(aP, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], aP, path=extra)
    elif not aP and extras:
        listed = ", ".join(repr(e) for e in sorted(extras))
        verb = "was" if len(extras) == 1 else "were"
        yield js_exceptions.ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


GuardedDraft7Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    validators={
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def make_validator(schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """A Draft 7 validator with format checking and time-bounded patterns (not cached)."""
    return GuardedDraft7Validator(schema, format_checker=formats.format_checker())


def validator_for(schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """A guarded validator for ``schema``, shared by every caller with the same schema text.

    Validators are immutable, so one per distinct schema serves the whole run: a
    fleet repeats the same few schemas across thousands of agent x environments.
    """
    return _VALIDATORS.get(schema, make_validator)


_VALIDATORS: memo.JsonMemo[jsonschema.Draft7Validator] = memo.JsonMemo(1024)


@functools.cache
def meta_validator() -> jsonschema.Draft7Validator:
    """The Draft 7 meta-schema, with :func:`reconciler.checks.formats.format_checker`'s format checks."""
    return jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA, format_checker=formats.format_checker())


def draft7_validator(schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """python-jsonschema's own Draft 7 validator (no format checks, Python's ``re`` for patterns)."""
    return jsonschema.Draft7Validator(schema)


def draft7_schema_error(schema: Any) -> js_exceptions.SchemaError | None:
    """The error ``jsonschema.Draft7Validator.check_schema`` raises for ``schema``, or None when it is valid Draft 7."""
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except js_exceptions.SchemaError as exc:
        return exc
    return None


def conforms(value: Any, name: str) -> bool:
    """``value`` passes format ``name`` as the full validator checks it (an unknown format passes)."""
    return formats.format_checker().conforms(value, name)


def best_match(errors: Iterable[js_exceptions.ValidationError]) -> js_exceptions.ValidationError | None:
    """The error python-jsonschema deems most relevant (``jsonschema.exceptions.best_match``)."""
    return js_exceptions.best_match(errors)
