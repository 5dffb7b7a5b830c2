"""Readable, masked, deterministic diff items between a live and a desired document.

Called by the planner only when the canonical texts differ (its fast path
never reaches this module). Both sides are put in canonical form first
(:mod:`reconciler.planning.canonical`), so key order, ``1`` vs ``1.0`` and — for schemas —
the order of ``required``/``type`` never show up (an ``enum`` whose items only
moved is one ``changed`` item with ``reordered=True``: it is a dropdown's order); a JSON type change
(``1`` → ``true``, ``"1"`` → ``1``, ``null`` → ``{}``) is always reported as
``changed``. deepdiff runs with ``ignore_order=False``: ignoring order would hide
``1`` → ``true`` inside lists and is slow on long lists.

Sensitive values (``x-sensitive`` / ``writeOnly`` in the schema, see
:mod:`reconciler.checks.masking`) never leave this module unmasked: the item keeps its
kind and gets ``sensitive=True`` so reports can say "changed (value hidden)".
Rendering is left to :mod:`reconciler.report`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.checks import masking
from reconciler.planning import canonical
from reconciler.model import MASK, JsonPath, format_path
from reconciler.planning.plan import DiffItem, DiffKind

if TYPE_CHECKING:
    from deepdiff import DeepDiff

#: deepdiff report type -> our kind.
_KINDS = {
    "values_changed": DiffKind.CHANGED,
    "type_changes": DiffKind.CHANGED,
    "dictionary_item_added": DiffKind.ADDED,
    "iterable_item_added": DiffKind.ADDED,
    "attribute_added": DiffKind.ADDED,
    "dictionary_item_removed": DiffKind.REMOVED,
    "iterable_item_removed": DiffKind.REMOVED,
    "attribute_removed": DiffKind.REMOVED,
}

#: Schema keywords whose values are instances of the (possibly sensitive) property they sit in.
_INSTANCE_KEYWORDS = frozenset({"default", "const", "enum", "examples"})

SchemaArg = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def is_sensitive(schema: Mapping[str, Any], path: JsonPath) -> bool:
    """Whether the value at ``path`` is sensitive under ``schema`` (:mod:`reconciler.checks.masking` rules)."""
    return masking.is_sensitive(schema, path)


def mask(values: Any, schema: Mapping[str, Any] | None) -> Any:
    """Copy of ``values`` with sensitive values replaced by MASK."""
    return masking.mask(values, schema) if isinstance(schema, Mapping) else values


def sensitive_top_level_keys(schema: Mapping[str, Any] | None) -> frozenset[str]:
    return frozenset(masking.sensitive_top_level_keys(schema)) if isinstance(schema, Mapping) else frozenset()


def _deepdiff(t1: Any, t2: Any) -> DeepDiff:
    """The one place deepdiff is called: tests count its ``DeepDiff`` objects (the planner's fast path).

    Imported here, not at the top: a plan where every page is in sync never needs it (~45 ms of start-up).
    """
    from deepdiff import DeepDiff   # deferred: an all-in-sync plan never needs deepdiff (~45 ms of start-up)

    # threshold_to_diff_deeper=0: always report per key, never "the whole mapping changed".
    # zip_ordered_iterables: compare lists index by index. deepdiff's default sequence matching
    # uses Python ==, which would call [1, true] and [1, 1] equal (True == 1).
    return DeepDiff(t1, t2, ignore_order=False, verbose_level=2, view="tree", threshold_to_diff_deeper=0,
                    zip_ordered_iterables=True)


def diff_documents(live: Any, desired: Any, *, schema: SchemaArg = None) -> tuple[DiffItem, ...]:
    """Differences of two values documents, masked by ``schema`` (one schema or several: sensitive in any)."""
    schemas = _schemas(schema)
    live_c, desired_c = canonical.canonical(live), canonical.canonical(desired)
    return _items(live_c, desired_c, lambda path: any(is_sensitive(s, path) for s in schemas),
                  lambda doc: _mask_all(doc, schemas))


def diff_schemas(live: Any, desired: Any) -> tuple[DiffItem, ...]:
    """Differences of two JSON Schemas, on their canonical forms.

    ``default``/``const``/``enum``/``examples`` inside a sensitive property are
    instances of a secret, so they are masked as well.
    """
    live_c, desired_c = canonical.canonical_schema(live), canonical.canonical_schema(desired)
    schemas = tuple(s for s in (live_c, desired_c) if isinstance(s, Mapping))
    return _items(live_c, desired_c, lambda path: _schema_path_sensitive(schemas, path),
                  lambda doc: _mask_schema_doc(doc, schemas), group=_enum_prefix)


def _enum_prefix(path: JsonPath) -> JsonPath | None:
    """``properties.size.enum`` for any path inside an ``enum`` array (items that may only have moved)."""
    for i in range(len(path) - 1):
        if path[i] == "enum" and isinstance(path[i + 1], int):
            return path[:i + 1]
    return None


def _at(doc: Any, path: JsonPath) -> Any:
    for part in path:
        doc = _step(doc, part)
    return doc


def _is_reorder(live: Any, desired: Any) -> bool:
    return (isinstance(live, list) and isinstance(desired, list) and live != desired
            and sorted(map(canonical.canonical_text, live)) == sorted(map(canonical.canonical_text, desired)))


def _schemas(schema: SchemaArg) -> tuple[Mapping[str, Any], ...]:
    if schema is None:
        return ()
    if isinstance(schema, Mapping):
        return (schema,)
    return tuple(s for s in schema if isinstance(s, Mapping))


def _items(live: Any, desired: Any, is_sensitive, mask_doc, group=None) -> tuple[DiffItem, ...]:
    """Diff items; ``group(path)`` names a list whose items may only have moved (one "reordered" item)."""
    tree = _deepdiff(live, desired)
    shown_live, shown_desired = mask_doc(live), mask_doc(desired)
    items = []
    reorders: set[JsonPath] = set()
    for report_type, levels in tree.items():
        kind = _KINDS.get(report_type)
        if kind is None:          # repetition/set reports cannot occur without ignore_order
            continue
        for level in levels:
            path: JsonPath = tuple(level.path(output_format="list"))
            prefix = group(path) if group else None
            if prefix is not None and _is_reorder(_at(live, prefix), _at(desired, prefix)):
                if prefix not in reorders:
                    reorders.add(prefix)
                    sensitive = is_sensitive(prefix + (0,))
                    items.append(DiffItem(path=format_path(prefix), kind=DiffKind.CHANGED, sensitive=sensitive,
                                          reordered=True, live=_shown(shown_live, prefix, sensitive),
                                          desired=_shown(shown_desired, prefix, sensitive)))
                continue
            sensitive = is_sensitive(path)
            items.append(DiffItem(
                path=format_path(path), kind=kind, sensitive=sensitive,
                live=None if kind is DiffKind.ADDED else _shown(shown_live, path, sensitive),
                desired=None if kind is DiffKind.REMOVED else _shown(shown_desired, path, sensitive)))
    if not items and canonical.canonical_text(live) != canonical.canonical_text(desired):
        # Safety net: a difference deepdiff did not itemise is still a change, never silence.
        sensitive = is_sensitive(())
        items.append(DiffItem(path="", kind=DiffKind.CHANGED, sensitive=sensitive,
                              live=_shown(shown_live, (), sensitive), desired=_shown(shown_desired, (), sensitive)))
    # deepdiff's own order depends on report types; sort by path for stable output.
    return tuple(sorted(items, key=lambda i: (_sort_key(i.path), i.kind.value)))


def _shown(doc: Any, path: JsonPath, sensitive: bool) -> Any:
    """The value at ``path`` in an already-masked document."""
    if sensitive:
        return MASK
    node = doc
    for part in path:
        node = node[part]
    return node


def _sort_key(path: str) -> tuple:
    # Natural order: "a[2]" before "a[10]".
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\[\]]+", path) if p)


def _mask_all(doc: Any, schemas: tuple[Mapping[str, Any], ...]) -> Any:
    for schema in schemas:
        doc = mask(doc, schema)
    return doc


def _schema_path_sensitive(schemas: tuple[Mapping[str, Any], ...], path: JsonPath) -> bool:
    """A schema path is sensitive when it reaches an instance keyword below a sensitive subschema."""
    for schema in schemas:
        node: Any = schema
        below_sensitive = False
        for part in path:
            below_sensitive = below_sensitive or _node_is_sensitive(node)
            if below_sensitive and part in _INSTANCE_KEYWORDS:
                return True
            node = _step(node, part)
    # A whole added/removed subschema may carry sensitive defaults: masked by _mask_schema_doc.
    return False


def _step(node: Any, part: Any) -> Any:
    if isinstance(node, Mapping) and isinstance(part, str):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _node_is_sensitive(node: Any) -> bool:
    return isinstance(node, Mapping) and (node.get("x-sensitive") is True or node.get("writeOnly") is True)


def _mask_schema_doc(doc: Any, schemas: tuple[Mapping[str, Any], ...], sensitive: bool = False) -> Any:
    """Copy of a schema with instance keywords of sensitive subschemas replaced by the mask."""
    if isinstance(doc, list):
        return [_mask_schema_doc(v, schemas, sensitive) for v in doc]
    if not isinstance(doc, Mapping):
        return doc
    sensitive = sensitive or _node_is_sensitive(doc)
    return {k: (MASK if sensitive and k in _INSTANCE_KEYWORDS else _mask_schema_doc(v, schemas, sensitive))
            for k, v in doc.items()}
