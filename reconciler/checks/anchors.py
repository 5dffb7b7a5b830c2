"""Draft 7 location-independent identifiers: ``$ref: "#foo"`` names the subschema whose ``$id`` is ``"#foo"``.

Called by :func:`reconciler.checks.masking.resolve_pointer` (so the schema checks, the recursion
check, masking and the emulator all resolve a plain-name fragment the same way). As in Draft 7
(and jsonschema's resolver): an ``$id`` beside a ``$ref`` is ignored (``$ref`` overrides its
siblings), and an anchor inside a subschema whose own ``$id`` changes the base URI belongs to
that other resource, not to this document's root. Data keywords (``enum``, ``const``,
``default``, ``examples``) hold values, not schemas. Iterative: a hostile schema cannot
exhaust the stack here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_DATA_KEYS = frozenset(("enum", "const", "default", "examples"))


def _own_id(node: Mapping) -> str | None:
    """The ``$id`` that counts on ``node`` (None beside a ``$ref``, or not a string)."""
    value = node.get("$id")
    return value if isinstance(value, str) and "$ref" not in node else None


def find_anchor(root: Any, name: str) -> Mapping | None:
    """The subschema of ``root``'s own resource whose ``$id`` is ``#name``, or None (absent or ambiguous)."""
    found: list[Mapping] = []
    todo: list[tuple[Any, bool]] = [(root, True)]
    while todo:
        node, is_root = todo.pop()
        if isinstance(node, list):
            todo.extend((item, False) for item in node)
            continue
        if not isinstance(node, Mapping):
            continue
        own = _own_id(node)
        if own is not None and not is_root and not own.startswith("#"):
            continue                                  # another resource: its anchors are not ours
        if own == f"#{name}":
            found.append(node)
        todo.extend((value, False) for key, value in node.items()
                    if key not in _DATA_KEYS and isinstance(value, (Mapping, list)))
    return found[0] if len(found) == 1 else None
