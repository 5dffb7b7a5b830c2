"""Canonical JSON forms, so that what is semantically equal never shows as drift.

Called by the planner (equality of schemas and of each top-level variable) and
by :mod:`reconciler.planning.diff` (deepdiff runs on canonical forms). Pure functions;
parsing YAML and reading the API are left to the loader and the api client.

Rules (pinned by ``tests/test_planner_canonical.py``):

- Mapping key order never matters (``sort_keys``).
- A change of JSON type is always a change: ``true`` ≠ ``1`` ≠ ``"1"`` ≠ ``null``,
  even though Python says ``True == 1``; so equality is decided on canonical
  *text*, never with ``==``. :func:`equal` first tries :func:`same` (strict
  types all the way down, which implies equal text) to skip the text on the
  common in-sync case.
- ``1`` and ``1.0`` are the same JSON number (JSON has one number type and the
  API's JSON round trip does not keep the difference), so an integral float is
  written as an int. ``1.5`` stays a float.
- YAML-only scalars have one JSON spelling: dates and datetimes (which a YAML
  1.1 loader may produce from an unquoted ``2024-01-01``) become ISO 8601
  strings, tuples become arrays.
- In a JSON Schema, arrays whose order cannot change validation or display are
  sorted: ``required`` (a set of names) and ``type`` (a set of type names).
  Only at keyword positions: a property that is *named* ``required`` is left
  alone, and order-carrying arrays (tuple ``items``, ``allOf``/``anyOf``/
  ``oneOf``, ``examples``) keep their order. ``enum`` keeps its order too: it
  does not change validation, but it is the order of the dropdown in the
  Configuration Builder, so a reorder is a change (shown as a reorder, see
  :mod:`reconciler.planning.diff`).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from typing import Any

#: Schema keywords whose array value is a set: order is irrelevant for validation and display.
#: (``enum`` is not one: its order is the order of a dropdown in the Configuration Builder.)
UNORDERED_KEYWORDS = frozenset({"required", "type"})

#: Schema keywords whose value is a mapping of name -> subschema.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs"})
#: Schema keywords whose value is one subschema.
_SCHEMA_ONE = frozenset({"additionalProperties", "additionalItems", "contains", "propertyNames",
                         "if", "then", "else", "not"})
#: Schema keywords whose value is an ordered list of subschemas.
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})


def equal(a: Any, b: Any) -> bool:
    """The same JSON value: :func:`same` (fast, exact) or, failing that, equal canonical text."""
    return same(a, b) or canonical_text(a) == canonical_text(b)


def schema_equal(a: Any, b: Any) -> bool:
    """The same schema by these rules: :func:`same`, or equal canonical schema text."""
    return same(a, b) or canonical_schema_text(a) == canonical_schema_text(b)


def same(a: Any, b: Any) -> bool:
    """Strict structural equality: the same Python types all the way down, and ``==`` on leaves.

    ``True`` implies equal canonical text (so it is a safe fast path); ``False``
    only means "not obviously equal" (``1`` vs ``1.0``, tuple vs list), and the
    caller falls back to canonical text. Unlike ``==`` it never equates ``True``
    and ``1``. The planner's hottest function (every value of every page): loops,
    not generators, and leaves compared where they are met, without a call.
    """
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        if a.keys() != b.keys():
            return False
        pairs = zip(a.values(), map(b.__getitem__, a))      # b's value of each key of a, in C
    elif kind is list:
        if len(a) != len(b):
            return False
        pairs = zip(a, b)
    else:
        return kind in _LEAVES and a == b
    for x, y in pairs:
        leaf = type(x)
        if leaf is not type(y):
            return False
        if leaf in _LEAVES:
            if x != y:
                return False
        elif not same(x, y):
            return False
    return True


#: The JSON leaves :func:`same` compares with ``==`` (their type already equal).
_LEAVES = frozenset({str, int, bool, float, type(None)})


def canonical(value: Any) -> Any:
    """A plain-JSON copy of ``value`` with one spelling per JSON value (see module rules)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        # Integral floats are the same JSON number as the int; inf/nan are left for json to reject.
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def canonical_text(value: Any) -> str:
    """Canonical JSON text of a value: equal text <=> the same JSON value."""
    return _dumps(canonical(value))


def canonical_schema(schema: Any) -> Any:
    """:func:`canonical` plus sorting of the set-like keyword arrays of a JSON Schema."""
    return _schema_node(canonical(schema))


def canonical_schema_text(schema: Any) -> str:
    """Canonical JSON text of a schema: equal text <=> the schema validates the same way (by these rules)."""
    return _dumps(canonical_schema(schema))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)


def _schema_node(node: Any) -> Any:
    """Normalise one (already canonical) subschema; booleans and non-objects pass through."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in UNORDERED_KEYWORDS and isinstance(value, list):
            out[key] = sorted(value, key=_dumps)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _schema_node(sub) for name, sub in value.items()}
        elif key in _SCHEMA_ONE:
            out[key] = _schema_node(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_schema_node(sub) for sub in value]
        elif key == "items":
            # A list of items is a tuple schema: position i validates element i, so order stays.
            out[key] = [_schema_node(s) for s in value] if isinstance(value, list) else _schema_node(value)
        elif key == "dependencies" and isinstance(value, dict):
            out[key] = {name: (sorted(dep, key=_dumps) if isinstance(dep, list) else _schema_node(dep))
                        for name, dep in value.items()}
        else:
            out[key] = value
    return out
