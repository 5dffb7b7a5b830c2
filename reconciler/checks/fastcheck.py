"""A compiled values validator (``jsonschema-rs``) that decides valid / invalid, fast.

Values validation is the largest CPU cost of a fleet run: ``jsonschema``'s
pure-Python ``iter_errors`` takes ~0.2–0.5 ms per page, a compiled Draft 7
validator ~0.01 ms. Used by :mod:`reconciler.checks.validation` (values vs schema)
and the planner (the predicted page): :func:`is_valid` answers ``True``
(valid: nothing more to do), ``False`` (invalid) or ``None`` (no compiled
validator for this schema). Only ``True`` is trusted on its own; for anything
else the caller runs the full validator (:func:`reconciler.checks.regexguard.validator_for`),
which gives the located, masked messages — so messages for invalid pages are
exactly what they were, and a page is never passed that the full validator fails
(``tests/test_fastcheck_agreement.py`` pins the two agree).

How the two are kept in agreement:

- Draft 7 always (like the full validator), whatever ``$schema`` says.
- ``format``: the compiled validator calls the *same* Python format checks
  (:func:`reconciler.checks.formats.format_checker`) for every format they know;
  unknown formats pass, as in ``jsonschema``.
- ``pattern`` / ``patternProperties``: the dialect decision of
  :mod:`reconciler.checks.regexguard` (ECMA-262, Unicode mode). Every pattern of the
  schema goes through the same translation (:func:`regexsyntax.translate`) and
  the same engine options (jsonschema-rs, :data:`regexguard.BACKTRACK_LIMIT`) as
  the full validator's ``search``: a search that runs out of its budget is not
  "valid", so the full validator reports it (``values.regex_timeout``).
- ``$ref`` never leaves the document: a retriever that refuses everything.
- ``multipleOf`` with a fractional divisor: no compiled validator (the two
  disagree on binary floating point, e.g. 0.3 and 0.1); the full one decides.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jsonschema
import jsonschema_rs

from reconciler import memo
from reconciler.checks import formats, regexguard, regexsyntax


def is_valid(schema: Mapping[str, Any], instance: Any) -> bool | None:
    """``True``/``False`` from the compiled validator; ``None`` when ``schema`` has none."""
    compiled = _VALIDATORS.get(schema, _compile)
    if compiled is None:
        return None
    try:
        return bool(compiled.is_valid(instance))
    except Exception:        # a value it cannot take (e.g. not JSON data): let the full validator speak
        return None


_VALIDATORS: memo.JsonMemo[Any] = memo.JsonMemo(1024)


def meta_valid(schema: Any) -> bool:
    """``True`` when ``schema`` certainly satisfies the Draft 7 meta-schema (compiled check)."""
    meta = _meta_validator()
    if meta is None:      # pragma: no cover - the meta-schema always compiles
        return False
    try:
        return bool(meta.is_valid(schema))
    except Exception:
        return False


@functools.cache
def _meta_validator() -> Any:
    checks = dict(_formats(), regex=lambda value: True)    # patterns get their own, better check
    return _compile(jsonschema.Draft7Validator.META_SCHEMA, checks)


def _compile(schema: Any, checks: dict[str, Any] | None = None) -> Any:
    """A jsonschema-rs Draft 7 validator for ``schema``, or None when it cannot build one."""
    if not isinstance(schema, (Mapping, bool)) or float_multiple_of(schema):
        return None
    try:
        translated = _translated(schema)
    except regexsyntax.RegexError:          # not ECMA-262: a schema problem, the full validator speaks
        return None
    try:
        return jsonschema_rs.Draft7Validator(
            translated, validate_formats=True, ignore_unknown_formats=True, formats=checks or _formats(),
            retriever=_refuse,
            pattern_options=jsonschema_rs.FancyRegexOptions(backtrack_limit=regexguard.BACKTRACK_LIMIT))
    except Exception:        # a pattern it cannot compile, a $ref it cannot resolve, ...: full validator only
        return None


#: Keywords whose value is a subschema / a list of them / a mapping of name -> subschema (Draft 7).
_ONE = ("additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else", "items")
_MANY = ("allOf", "anyOf", "oneOf", "items")
_BY_NAME = ("properties", "definitions", "dependencies")


def _translated(node: Any) -> Any:
    """A copy of a schema with every ``pattern`` and ``patternProperties`` key in the engine's form."""
    if not isinstance(node, Mapping):
        return node
    out = dict(node)
    if isinstance(node.get("pattern"), str):
        out["pattern"] = regexsyntax.translate(node["pattern"])
    if isinstance(node.get("patternProperties"), Mapping):
        out["patternProperties"] = {regexsyntax.translate(k): _translated(v)
                                    for k, v in node["patternProperties"].items()}
    for key in _ONE:
        if isinstance(node.get(key), Mapping):
            out[key] = _translated(node[key])
    for key in _MANY:
        if isinstance(node.get(key), list):
            out[key] = [_translated(v) for v in node[key]]
    for key in _BY_NAME:
        if isinstance(node.get(key), Mapping):
            out[key] = {k: _translated(v) for k, v in node[key].items()}
    return out


def float_multiple_of(node: Any) -> bool:
    """A ``multipleOf`` with a fractional divisor: ``jsonschema`` (and the API it stands for) divides in
    binary floating point, so ``0.3`` is not a multiple of ``0.1`` there; jsonschema-rs says it is.
    Such schemas are left to the full validator."""
    if isinstance(node, Mapping):
        if isinstance(node.get("multipleOf"), float):
            return True
        return any(float_multiple_of(v) for v in node.values())
    if isinstance(node, list):
        return any(float_multiple_of(v) for v in node)
    return False


def _refuse(uri: str) -> Any:
    raise ValueError(f"{uri}: only references inside the schema are supported")


@functools.cache
def _formats() -> dict[str, Any]:
    """Every format the full validator checks, checked by the very same Python functions."""
    checker = formats.format_checker()

    def check(name: str):  # noqa: ANN202 - a format check: value -> bool
        return lambda value: checker.conforms(value, name)
    return {name: check(name) for name in checker.checkers}
