"""Draft 7 checks the emulator makes, bounded in time.

Called by the ``/v1`` routes: :func:`check_schema` for ``PUT …/schema`` (the
meta-schema check, ``REAL_TIME_CONFIG_INVALID_SCHEMA``) and
:func:`variables_errors` for ``PATCH …/variables`` (the merged result against
the page's current schema, ``REAL_TIME_CONFIG_INVALID_FOR_SCHEMA``).

``pattern``, ``patternProperties`` and ``additionalProperties`` are re-implemented
on the PyPI ``regex`` module with a shared time budget, so a pathological
pattern answers 400 instead of hanging a worker. Formats are annotations only
(as jsonschema's default), so the emulator is never stricter than the
reconciler's own offline validation. Messages name paths and schema keywords,
never the submitted values (they may be sensitive).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from typing import Any

import jsonschema
import regex
from jsonschema import Draft7Validator, ValidationError

from reconciler.model import format_path

#: Total time one PATCH validation may spend in regular expressions.
PATTERN_BUDGET_S = 0.5
#: At most this many failing paths are listed in one error message.
MAX_LISTED_ERRORS = 50
_MAX_TEXT = 200
_local = threading.local()


class PatternTimeout(Exception):
    """A ``pattern`` took longer than the budget on some value."""

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self.pattern = pattern


class SchemaUnusable(Exception):
    """The stored schema cannot be applied (only possible for seeded, unchecked schemas)."""


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> Any:
    return regex.compile(pattern)


def _search(pattern: str, text: str) -> bool:
    deadline = getattr(_local, "deadline", None) or time.monotonic() + PATTERN_BUDGET_S
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise PatternTimeout(pattern)
    try:
        return _compile(pattern).search(text, timeout=remaining) is not None
    except TimeoutError:
        raise PatternTimeout(pattern) from None
    except (regex.error, TypeError) as exc:
        raise SchemaUnusable(f"pattern {pattern!r} cannot be compiled: {exc}") from None


def _pattern(validator, patrn, instance, schema):
    if validator.is_type(instance, "string") and not _search(patrn, instance):
        yield ValidationError(f"does not match pattern {_short(repr(patrn))}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, allowed, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in properties and not any(_search(p, k) for p in patterns)]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        names = ", ".join(repr(e) for e in sorted(extras))
        yield ValidationError(_short(f"additional properties are not allowed ({names})"))


_BoundedValidator = jsonschema.validators.extend(Draft7Validator, {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
})


def check_schema(schema: Mapping[str, Any]) -> str | None:
    """None when ``schema`` is a valid Draft 7 schema, else a one-line reason."""
    try:
        Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = format_path(exc.absolute_path) or "(root)"
        return _short(f"{where}: {exc.message}")
    except RecursionError:
        return "schema is nested too deeply"
    return None


def _describe(error: ValidationError) -> str:
    where = format_path(error.absolute_path) or "(root)"
    if error.validator in ("required", "additionalProperties", "pattern"):
        what = error.message              # names keys or the pattern, never a value
    else:
        what = f"fails {error.validator!r} {_short(repr(error.validator_value))}"
    return f"{where}: {what}"


def variables_errors(schema: Mapping[str, Any], variables: Mapping[str, Any]) -> list[str]:
    """Every failing path of ``variables`` against ``schema`` (empty = valid).

    Raises :class:`PatternTimeout` when regular expressions exhaust the budget and
    :class:`SchemaUnusable` when the schema itself cannot be evaluated.
    """
    _local.deadline = time.monotonic() + PATTERN_BUDGET_S
    try:
        validator = _BoundedValidator(schema)
        return [_describe(e) for e in validator.iter_errors(variables)]
    except (PatternTimeout, SchemaUnusable):
        raise
    except RecursionError:
        raise SchemaUnusable("the schema or the variables are nested too deeply") from None
    except Exception as exc:  # unresolvable $ref, unknown type in a seeded schema, …
        raise SchemaUnusable(_short(f"the page's schema cannot be evaluated: {type(exc).__name__}: {exc}")) from None
    finally:
        _local.deadline = None


def summarize(errors: list[str]) -> str:
    """The ``error_message`` for REAL_TIME_CONFIG_INVALID_FOR_SCHEMA."""
    listed = errors[:MAX_LISTED_ERRORS]
    more = f"; … and {len(errors) - len(listed)} more" if len(errors) > len(listed) else ""
    return "variables do not validate against the page's schema: " + "; ".join(listed) + more
