"""Recursive ``$ref`` detection: a cycle through ``$ref`` that makes no progress into the instance.

Called by :mod:`reconciler.checks.schemacheck` (``schema.recursive_ref``, placed at the ``$ref``'s
line by validation; the planner asks it of a live schema it would PATCH against). A schema may
legitimately refer to itself — a tree of sites whose ``children`` are items of
``#/definitions/site`` — because each round descends one level into the
instance (``properties``, ``items``…), so validating it ends with the data.
A cycle whose every step applies to the *same* instance (``$ref``,
``allOf``/``anyOf``/``oneOf``, ``not``, ``if``/``then``/``else``, schema
``dependencies``) never ends: ``$ref: "#"`` at the root, or ``a -> b -> a``
through ``definitions``. Validators recurse until Python's stack gives out,
so such a schema is refused before anything validates against it.

No recursion here: the walk and the cycle search are iterative, so a hostile
schema cannot exhaust the stack of this module either.

:func:`bad_refs` (``schema.bad_ref``): a ``$ref`` that is not local, or names nothing in the
document (a JSON pointer, or a Draft 7 plain name ``#foo`` for the subschema whose ``$id`` is
``#foo``: :mod:`reconciler.checks.anchors`). Also the emulator's PUT check, so validate and the
emulator refuse the same schemas.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from reconciler.checks import masking
from reconciler.model import JsonPath

#: Keywords whose subschemas apply to the same instance as their parent (no progress).
_SAME_INSTANCE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_INSTANCE_ONE = ("not", "if", "then", "else")


def recursive_refs(schema: Any) -> list[JsonPath]:
    """Paths of the ``$ref`` keys that close a no-progress cycle (sorted, one per ``$ref``)."""
    if not isinstance(schema, Mapping):
        return []
    nodes = list(_mappings(schema))
    if not any(isinstance(node.get("$ref"), str) for _, node in nodes):
        return []                                # a cycle needs a $ref: most schemas have none
    paths = {id(node): path for path, node in nodes}
    edges = {path: list(_same_instance(node, path, schema, paths)) for path, node in nodes}
    return sorted(_cycle_refs(edges), key=lambda p: [str(x) for x in p])


def bad_refs(schema: Mapping) -> list[tuple[JsonPath, str]]:
    """``(path of the $ref, message)`` for each ``$ref`` that is not local or resolves to no schema."""
    out = []
    for path, node in _mappings(schema):
        ref = node.get("$ref")
        if not isinstance(ref, str) or (path and path[-1] in ("properties", "patternProperties", "definitions")):
            continue
        if not ref.startswith("#"):
            out.append((path + ("$ref",), f"$ref {ref!r} is not local; only references inside this schema "
                        "(#/definitions/…, or #name for an $id \"#name\") are supported"))
        elif ref != "#" and not isinstance(masking.resolve_pointer(schema, ref), (Mapping, bool)):
            out.append((path + ("$ref",), f"$ref {ref!r} does not resolve to a schema in this document"))
    return sorted(out, key=lambda item: [str(x) for x in item[0]])


def _mappings(schema: Mapping) -> Iterator[tuple[JsonPath, Mapping]]:
    todo: list[tuple[JsonPath, Any]] = [((), schema)]
    while todo:
        path, node = todo.pop()
        if isinstance(node, Mapping):
            yield path, node
            todo.extend((path + (k,), v) for k, v in node.items() if isinstance(v, (Mapping, list)))
        elif isinstance(node, list):
            todo.extend((path + (i,), v) for i, v in enumerate(node) if isinstance(v, (Mapping, list)))


def _same_instance(node: Mapping, path: JsonPath, root: Mapping,
                   paths: Mapping[int, JsonPath]) -> Iterator[tuple[JsonPath, bool]]:
    """(target path, is_ref) for every subschema applied to the same instance as ``node``."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        target = masking.resolve_schema_ref(root, ref)
        if target is not None and id(target) in paths:
            yield paths[id(target)], True
    for key in _SAME_INSTANCE_LISTS:
        if isinstance(node.get(key), list):
            yield from ((path + (key, i), False) for i, sub in enumerate(node[key]) if isinstance(sub, Mapping))
    for key in _SAME_INSTANCE_ONE:
        if isinstance(node.get(key), Mapping):
            yield path + (key,), False
    deps = node.get("dependencies")
    if isinstance(deps, Mapping):
        yield from ((path + ("dependencies", k), False) for k, sub in deps.items() if isinstance(sub, Mapping))


def _cycle_refs(edges: Mapping[JsonPath, list[tuple[JsonPath, bool]]]) -> set[JsonPath]:
    """``$ref`` paths on a cycle of the same-instance graph (iterative DFS, back edges)."""
    state: dict[JsonPath, int] = {}          # 1: on the current path, 2: done
    found: set[JsonPath] = set()
    for start in edges:
        if state.get(start):
            continue
        stack: list[tuple[JsonPath, Iterator[tuple[JsonPath, bool]]]] = [(start, iter(edges.get(start, ())))]
        trail: list[tuple[JsonPath, bool]] = [(start, False)]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            step = next(children, None)
            if step is None:
                state[node] = 2
                stack.pop()
                trail.pop()
                continue
            target, is_ref = step
            if state.get(target) == 1:               # back edge: the cycle is trail[target:] + this step
                at = next(i for i, (p, _) in enumerate(trail) if p == target)
                cycle = trail[at + 1:] + [(target, is_ref)]
                sources = [p for p, _ in trail[at:]]
                found.update(src + ("$ref",) for src, (_, via_ref) in zip(sources, cycle) if via_ref)
            elif not state.get(target):
                state[target] = 1
                stack.append((target, iter(edges.get(target, ()))))
                trail.append((target, is_ref))
    return found
