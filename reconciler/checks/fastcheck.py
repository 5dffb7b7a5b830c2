"""A compiled values validator (``jsonschema-rs``) that decides valid / invalid, fast.

Values validation is the largest CPU cost of a fleet run: ``jsonschema``'s
pure-Python ``iter_errors`` takes ~0.2–0.5 ms per page, a compiled Draft 7
validator ~0.01 ms. Used by :mod:`reconciler.checks.validation` (values vs schema)
and the planner (the predicted page): :func:`is_valid` answers ``True``
(valid: nothing more to do), ``False`` (invalid) or ``None`` (no compiled
validator for this schema). Only ``True`` is trusted on its own; for anything
else the caller runs the full validator (:func:`reconciler.checks.fullvalidator.validator_for`),
which gives the located, masked messages — so messages for invalid pages are
exactly what they were, and a page is never passed that the full validator fails
(``tests/test_fastcheck_agreement.py`` pins the two agree).

How the two are kept in agreement:

- Draft 7 always (like the full validator), whatever ``$schema`` says.
- ``format``: ``iri``, ``iri-reference``, ``uri`` and ``uri-reference`` with jsonschema-rs's own
  code (:data:`RS_FORMATS`: the full validator uses the same), ``regex`` with the one ECMA-262
  decision (:func:`reconciler.checks.ecma.is_valid`), every other Draft 7 format with the full
  validator's Python check (:data:`PYTHON_FORMATS`); unknown formats pass, as in ``jsonschema``.
- ``email``/``idn-email``: python-jsonschema's check is ``"@" in value`` for a string (anything
  else passes); :func:`has_at_sign` is that one line, so a fleet whose schemas say
  ``format: email`` never imports python-jsonschema (with referencing and attrs) just to ask it.
  ``reconciler plan`` of the 1,000-agent fleet (``benchmarks/fleet.py``, whose support schema has
  an e-mail field) imported it for that alone: 0.06–0.1 s of the process's CPU before, none after.
  ``tests/test_fastcheck_agreement.py`` keeps the copy equal to python-jsonschema's check.
- ``pattern`` / ``patternProperties``: the one ECMA-262 decision of :mod:`reconciler.checks.ecma`.
- ``$ref`` never leaves the document: a retriever that refuses everything.
- ``multipleOf`` with a fractional divisor: no compiled validator (the two
  disagree on binary floating point, e.g. 0.3 and 0.1); the full one decides.
"""

from __future__ import annotations

import decimal  # noqa: F401 - before jsonschema_rs: see reconciler/checks/ecma.py
import email.utils  # noqa: F401 - the same
import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jsonschema_rs

from reconciler import memo
from reconciler.checks import ecma, lazyjsonschema

#: Draft 7 formats the full validator checks with jsonschema-rs's code (``formats.COMPILED_FORMATS``):
#: the compiled validator's built-in check is that code.
RS_FORMATS = ("iri", "iri-reference", "uri", "uri-reference")
#: The other Draft 7 formats but ``regex``: the compiled validator asks the full validator's check
#: (one the full validator does not have passes there, so it passes here too). ``regex`` is the one
#: ECMA-262 decision's (:func:`reconciler.checks.ecma.is_valid`), called directly, as the full validator does.
PYTHON_FORMATS = ("date", "date-time", "email", "hostname", "idn-email", "idn-hostname", "ipv4", "ipv6",
                  "json-pointer", "relative-json-pointer", "time", "uri-template")
#: Of those, the ones whose check is python-jsonschema's one line, :func:`has_at_sign` (module docstring).
AT_SIGN_FORMATS = ("email", "idn-email")


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
    return _compile(draft7_meta_schema(), checks)


@functools.cache
def draft7_meta_schema() -> dict[str, Any]:
    """The Draft 7 meta-schema (package data: python-jsonschema's copy would cost its import)."""
    return json.loads(resources.files("reconciler.checks").joinpath("draft7.schema.json").read_text("utf-8"))


def _compile(schema: Any, checks: dict[str, Any] | None = None) -> Any:
    """A jsonschema-rs Draft 7 validator for ``schema``, or None when it cannot build one."""
    if not isinstance(schema, (Mapping, bool)) or float_multiple_of(schema):
        return None
    try:
        translated = _translated(schema)
    except ValueError:          # not ECMA-262, or not linear: the full validator speaks
        return None
    try:
        return jsonschema_rs.Draft7Validator(
            translated, validate_formats=True, ignore_unknown_formats=True, formats=checks or _formats(),
            retriever=_refuse,
            pattern_options=ecma.LINEAR_OPTIONS)
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
        out["pattern"] = _linear(node["pattern"])
    if isinstance(node.get("patternProperties"), Mapping):
        out["patternProperties"] = {_linear(k): _translated(v)
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


def patterns_linear(schema: Any) -> bool:
    """Whether every ``pattern``/``patternProperties`` key of ``schema`` runs on the linear engine
    (else :func:`is_valid` answers None: the full validator decides)."""
    try:
        _translated(schema)
    except ValueError:
        return False
    return True


def _linear(pattern: str) -> str:
    text = ecma.linear_text(pattern)
    if text is None:
        raise ValueError(f"pattern {pattern!r} is not linear")
    return text


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
    """The formats checked in Python, by the very same functions as the full validator's."""
    def check(name: str):  # noqa: ANN202 - a format check: value -> bool
        return lambda value: lazyjsonschema.fullvalidator().conforms(value, name)
    return {**{name: check(name) for name in PYTHON_FORMATS}, **dict.fromkeys(AT_SIGN_FORMATS, has_at_sign),
            "regex": ecma.is_valid}


def has_at_sign(value: Any) -> bool:
    """``email``/``idn-email`` as python-jsonschema checks them: a string holding ``@``; anything else passes."""
    return not isinstance(value, str) or "@" in value
