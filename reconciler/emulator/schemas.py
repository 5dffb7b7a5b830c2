"""Draft 7 checks the emulator makes, bounded in time.

Called by the ``/v1`` routes: :func:`check_schema` for ``PUT …/schema`` (the
meta-schema check, ``REAL_TIME_CONFIG_INVALID_SCHEMA``) and
:func:`variables_errors` for ``PATCH …/variables`` (the merged result against
the page's current schema, ``REAL_TIME_CONFIG_INVALID_FOR_SCHEMA``).

Patterns are ECMA-262 in Unicode mode, decided by the reconciler's one ECMA-262 module
(:mod:`reconciler.checks.ecma`, through :mod:`reconciler.emulator.ecma`), so validate and the
emulator cannot disagree on a pattern: one that is not valid ECMA-262, or that backtracks
catastrophically (validate's ``schema.regex_timeout`` probe), fails the PUT, and
``pattern``, ``patternProperties`` and ``additionalProperties`` share one time budget per
PATCH, so a pathological pattern answers 400 instead of hanging a worker. The PUT also
refuses what validate's schema check refuses about references (:func:`schemarefs.bad_refs`:
a ``$ref`` that is not local or names nothing, ``#name`` resolving to the ``$id: "#name"``
subschema as in Draft 7; :func:`schemarefs.recursive_refs`), and both bodies refuse an
integer outside the one 64-bit range (:mod:`reconciler.checks.intrange`). Formats are
annotations only (as jsonschema's default), so the emulator is never stricter than the
reconciler's own offline validation. Messages name paths and schema keywords, never the
submitted values (they may be sensitive).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema import Draft7Validator, ValidationError

from reconciler.checks import intrange, schemarefs
from reconciler.emulator import ecma
from reconciler.model import format_path

#: Total time one PATCH validation may spend in regular expressions.
PATTERN_BUDGET_S = 0.5
#: At most this many failing paths are listed in one error message.
MAX_LISTED_ERRORS = 50
_MAX_TEXT = 200
_local = threading.local()


PatternTimeout = ecma.PatternTimeout


class SchemaUnusable(Exception):
    """The stored schema cannot be applied (only possible for seeded, unchecked schemas)."""


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def _search(pattern: str, text: str) -> bool:
    deadline = getattr(_local, "deadline", None) or time.monotonic() + PATTERN_BUDGET_S
    problem = ecma.pattern_problem(pattern) if isinstance(pattern, str) else "not a string"
    if problem:
        raise SchemaUnusable(f"pattern {pattern!r} cannot be compiled: {problem}")
    return ecma.search(pattern, text, deadline=deadline)


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
        Draft7Validator.check_schema(schema, format_checker=_META_FORMATS)
        problem = _integer_problem(schema) or _ref_problem(schema)
        if problem:
            return problem
        for path, pattern in _patterns(schema, ()):
            problem = ecma.pattern_problem(pattern)
            if problem:
                where = format_path(path) or "(root)"
                return _short(f"{where}: {pattern!r} is not a valid ECMA-262 regular expression: {problem}")
            if ecma.looks_catastrophic(pattern):
                return _short(f"{format_path(path) or '(root)'}: {pattern!r} backtracks catastrophically")
    except jsonschema.SchemaError as exc:
        where = format_path(exc.absolute_path) or "(root)"
        return _short(f"{where}: {exc.message}")
    except RecursionError:
        return "schema is nested too deeply"
    return None


def _integer_problem(doc: Any) -> str | None:
    paths = intrange.out_of_range(doc)
    if not paths:
        return None
    return _short(f"{format_path(paths[0]) or '(root)'}: integer outside the 64-bit range "
                  f"[{intrange.INT_MIN}, {intrange.INT_MAX}]")


def _ref_problem(schema: Mapping[str, Any]) -> str | None:
    bad = schemarefs.bad_refs(schema)
    if bad:
        return _short(f"{format_path(bad[0][0])}: {bad[0][1]}")
    loops = schemarefs.recursive_refs(schema)
    if loops:
        return _short(f"{format_path(loops[0])}: $ref leads back to itself without descending into the values")
    return None


def pattern_warnings(schema: Mapping[str, Any]) -> list[str]:
    """For a schema that passed :func:`check_schema`: patterns Python's ``re`` would match differently."""
    out = []
    for path, pattern in _patterns(schema, ()):
        notes = ecma.python_re_notes(pattern)
        if notes:
            out.append(f"{format_path(path) or '(root)'}: {pattern!r} (ECMA-262): " + "; ".join(notes))
    return out


#: The meta-schema's format checks minus "regex", which jsonschema runs with Python's ``re``.
_META_FORMATS = jsonschema.FormatChecker([f for f in Draft7Validator.FORMAT_CHECKER.checkers if f != "regex"])
_NAME_KEYS = ("properties", "patternProperties", "definitions", "dependencies")


def _patterns(node: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    """Every ``pattern`` value and ``patternProperties`` key of a (meta-valid) schema."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _patterns(item, path + (index,))
        return
    if not isinstance(node, Mapping):
        return
    if isinstance(node.get("pattern"), str):
        yield path + ("pattern",), node["pattern"]
    for key, value in node.items():
        if key in _NAME_KEYS and isinstance(value, Mapping):
            for name, sub in value.items():
                if key == "patternProperties":
                    yield path + (key, name), name
                yield from _patterns(sub, path + (key, name))
        elif key not in ("enum", "const", "default", "examples"):
            yield from _patterns(value, path + (key,))


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
    too_large = intrange.out_of_range(variables)
    if too_large:
        return [f"{format_path(p) or '(root)'}: integer outside the 64-bit range" for p in too_large]
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
