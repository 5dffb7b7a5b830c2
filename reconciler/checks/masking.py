"""Masking of sensitive values: anything under a schema node with ``x-sensitive: true`` or ``writeOnly: true``.

Used wherever a value could reach output: validation messages, plan diffs and
PATCH bodies in reports, policy findings, logs. The rule is conservative: a
path is sensitive when *any* schema node that may govern it is marked —
through ``properties``, ``items`` (single or tuple), ``additionalProperties``,
``patternProperties``, ``allOf``/``anyOf``/``oneOf``/``if``/``then``/``else``
and local ``$ref`` (``#/definitions/…``). Once a node is sensitive, its whole
subtree is. This module never decides *whether* a value is valid; it only hides it.
"""

from __future__ import annotations

import urllib.parse

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.checks import anchors, regexguard, regexsyntax
from reconciler.model import MASK, PathPart

_BRANCHES = ("allOf", "anyOf", "oneOf")
_CONDITIONALS = ("if", "then", "else")


def _marked(node: Mapping) -> bool:
    return node.get("x-sensitive") is True or node.get("writeOnly") is True


_MISSING = object()


def resolve_pointer(root: Any, ref: str) -> Any:
    """The node a local ``$ref`` (``#/definitions/a%25b``, or ``#name``: Draft 7's ``$id: "#name"``) names,
    or :data:`_MISSING`.

    The fragment is percent-decoded first (it is a URI fragment), then split and
    ``~1``/``~0``-unescaped (RFC 6901). The target may be any JSON value; a
    schema is a mapping or a boolean.
    """
    if not ref.startswith("#"):
        return _MISSING                  # remote refs are rejected by validation
    node: Any = root
    pointer = urllib.parse.unquote(ref[1:])
    if pointer and not pointer.startswith("/"):      # a plain name: the subschema whose $id is "#name"
        found = anchors.find_anchor(root, pointer)
        return _MISSING if found is None else found
    for raw in pointer.split("/")[1:] if pointer else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def resolve_schema_ref(root: Mapping, ref: str) -> Mapping | None:
    """The schema (a mapping) a local ``$ref`` names, or None (missing, or a boolean schema)."""
    node = resolve_pointer(root, ref)
    return node if isinstance(node, Mapping) else None


def _expand(root: Mapping, nodes: Iterable[Any]) -> list[Mapping]:
    """All schema nodes that apply at one point: the nodes plus their refs and combinator branches."""
    out: list[Mapping] = []
    seen: set[int] = set()
    todo = [n for n in nodes if isinstance(n, Mapping)]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        if isinstance(node.get("$ref"), str):
            target = resolve_schema_ref(root, node["$ref"])
            if target is not None:
                todo.append(target)
        for key in _BRANCHES:
            if isinstance(node.get(key), list):
                todo.extend(n for n in node[key] if isinstance(n, Mapping))
        todo.extend(node[k] for k in _CONDITIONALS if isinstance(node.get(k), Mapping))
    return out


def _children(nodes: Iterable[Mapping], part: PathPart) -> list[Any]:
    """Schema nodes that govern child ``part`` of an instance governed by ``nodes``."""
    out: list[Any] = []
    for node in nodes:
        if isinstance(part, int):
            items = node.get("items")
            if isinstance(items, list):
                out.append(items[part] if part < len(items) else node.get("additionalItems"))
            else:
                out.append(items)
            continue
        props = node.get("properties")
        if isinstance(props, Mapping) and part in props:
            out.append(props[part])
        patterns = node.get("patternProperties")
        if isinstance(patterns, Mapping):
            out.extend(sub for pat, sub in patterns.items() if _matches(pat, part))
        if not (isinstance(props, Mapping) and part in props):
            out.append(node.get("additionalProperties"))
    return [n for n in out if isinstance(n, Mapping)]


def _matches(pattern: str, key: str) -> bool:
    try:
        return regexguard.search(pattern, key)
    except (regexsyntax.RegexError, regexguard.RegexTimeout):
        return True                      # cannot tell: err on the side of masking


def is_sensitive(schema: Mapping, path: Sequence[PathPart]) -> bool:
    """True if any schema node along ``path`` (root included) is marked sensitive."""
    if not isinstance(schema, Mapping):
        return False
    nodes = _expand(schema, [schema])
    if any(_marked(n) for n in nodes):
        return True
    for part in path:
        nodes = _expand(schema, _children(nodes, part))
        if not nodes:
            return False
        if any(_marked(n) for n in nodes):
            return True
    return False


def sensitive_top_level_keys(schema: Mapping) -> frozenset[str]:
    """Top-level property names (declared in ``properties``) whose values are sensitive."""
    if not isinstance(schema, Mapping):
        return frozenset()
    names: set[str] = set()
    for node in _expand(schema, [schema]):
        props = node.get("properties")
        if isinstance(props, Mapping):
            names.update(k for k in props if isinstance(k, str) and is_sensitive(schema, (k,)))
    return frozenset(names)


def mask(values: Any, schema: Mapping) -> Any:
    """A deep copy of ``values`` with every sensitive node replaced by :data:`MASK`."""
    if not isinstance(schema, Mapping):
        return copy.deepcopy(values)
    return _mask(values, schema, _expand(schema, [schema]))


def _mask(value: Any, root: Mapping, nodes: list[Mapping]) -> Any:
    if any(_marked(n) for n in nodes):
        return MASK
    if isinstance(value, Mapping):
        return {k: _mask(v, root, _expand(root, _children(nodes, k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, root, _expand(root, _children(nodes, i))) for i, v in enumerate(value)]
    return copy.deepcopy(value)


def has_sensitive(schema: Any) -> bool:
    """Whether any node of ``schema`` is marked ``x-sensitive: true`` or ``writeOnly: true``."""
    if isinstance(schema, Mapping):
        return _marked(schema) or any(has_sensitive(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_sensitive(v) for v in schema)
    return False


def sensitive_values(values: Any, schema: Mapping) -> list[str]:
    """The text forms of every sensitive value in ``values`` (feed them to :func:`mask_message`).

    The instance keywords of sensitive subschemas (``const``, ``enum``, ``default``,
    ``examples``) count too: a validator message quoting "'X' was expected" about a
    sensitive property would otherwise show the value it is meant to hide.
    """
    if not has_sensitive(schema):
        return []                        # the common case: nothing to look for
    found: list[Any] = []
    _collect(values, schema, _expand(schema, [schema]) if isinstance(schema, Mapping) else [], found)
    _collect_schema_constants(schema, False, found)
    texts: set[str] = set()
    for value in found:
        texts.update(_text_forms(value))
    return sorted(texts, key=len, reverse=True)


def _collect(value: Any, root: Mapping, nodes: list[Mapping], found: list[Any]) -> None:
    if any(_marked(n) for n in nodes):
        found.append(value)
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            _collect(v, root, _expand(root, _children(nodes, k)), found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _collect(v, root, _expand(root, _children(nodes, i)), found)


_INSTANCE_KEYWORDS = ("const", "default")
_INSTANCE_LISTS = ("enum", "examples")


def _collect_schema_constants(node: Any, inside: bool, found: list[Any]) -> None:
    """Instance keywords (``const``, ``enum`` items…) of every sensitive subschema of ``node``."""
    if isinstance(node, list):
        for item in node:
            _collect_schema_constants(item, inside, found)
        return
    if not isinstance(node, Mapping):
        return
    inside = inside or _marked(node)
    if inside:
        found.extend(node[k] for k in _INSTANCE_KEYWORDS if k in node)
        for key in _INSTANCE_LISTS:
            if isinstance(node.get(key), list):
                found.extend(node[key])
    for value in node.values():
        if isinstance(value, (Mapping, list)):
            _collect_schema_constants(value, inside, found)


def _text_forms(value: Any) -> set[str]:
    """How a value can appear in a message: str(), repr(), JSON, and the same for each leaf."""
    if value is None or isinstance(value, bool):
        return set()                     # masking "True" or "None" everywhere would garble messages
    forms = {repr(value)}
    try:
        forms.add(json.dumps(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, Mapping):
        for v in value.values():
            forms |= _text_forms(v)
    elif isinstance(value, list):
        for v in value:
            forms |= _text_forms(v)
    else:
        forms.add(str(value))
    return {f for f in forms if f}


def mask_message(message: str, secrets: Iterable[Any]) -> str:
    """Replace every occurrence of each secret (longest first) in ``message`` by :data:`MASK`.

    Always mask the WHOLE message, then shorten it (:func:`safe_text`): a secret cut
    in half by a truncation no longer matches and would leak its first characters.
    """
    texts: set[str] = set()
    for secret in secrets:
        texts |= {secret} if isinstance(secret, str) else _text_forms(secret)
    if not texts:
        return message                     # most messages: a schema with no sensitive value
    for text in sorted((t for t in texts if t), key=len, reverse=True):
        message = message.replace(text, MASK)
    return message


#: Longest message text shown for one finding (after masking).
MAX_SHOWN = 160


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis. Only ever call it on masked text."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_text(message: str, secrets: Iterable[Any], limit: int | None = MAX_SHOWN) -> str:
    """Mask ``message`` first, then shorten it: the one order that never shows a fragment of a secret."""
    masked = mask_message(message, secrets)
    return masked if limit is None else shorten(masked, limit)


def masked_leaves(original: Any, masked: Any) -> list[Any]:
    """The values of ``original`` that ``masked`` (its masked copy) replaced by :data:`MASK`."""
    if masked == MASK and original != MASK:
        return [original]
    if isinstance(original, Mapping) and isinstance(masked, Mapping):
        return [v for k in original if k in masked for v in masked_leaves(original[k], masked[k])]
    if isinstance(original, list) and isinstance(masked, list):
        return [v for o, m in zip(original, masked) for v in masked_leaves(o, m)]
    return []


def api_error_text(exc: Any, secrets: Iterable[Any], limit: int = 800) -> str:
    """``str(exc)`` of an :class:`~reconciler.errors.ApiError` whose server message may echo the values
    sent: the whole message (``exc.detail``, before the client cut it short) is masked, then shortened."""
    full = getattr(exc, "detail", None) or getattr(exc, "message", None)
    if full is None or not hasattr(exc, "describe"):
        return safe_text(str(exc), secrets, limit)
    return exc.describe(safe_text(full, secrets, limit))


def live_only_keys(values: Mapping[str, Any], schema: Any) -> frozenset[str]:
    """Top-level keys of ``values`` whose value holds a sensitive value anywhere inside it.

    ``reconciler import`` leaves these keys out of ``values.yaml`` (the secret
    stays in live only), and the planner does not count them as orphans when
    ``values.yaml`` lacks them. One definition, so the two always agree.
    """
    if not isinstance(schema, Mapping) or not has_sensitive(schema) or not isinstance(values, Mapping):
        return frozenset()
    nodes = _expand(schema, [schema])
    out: set[str] = set()
    for key, value in values.items():
        found: list[Any] = []
        _collect(value, schema, _expand(schema, _children(nodes, key)), found)
        if found:
            out.add(key)
    return frozenset(out)


def may_hold_sensitive(schema: Any, key: str) -> bool:
    """Whether top-level property ``key`` of ``schema`` is sensitive or has a sensitive part.

    Validation uses it to accept a ``values.yaml`` that leaves such a key out
    although the schema requires it: the value is kept in live only (see
    :func:`live_only_keys`), and the planner checks the merged live page.
    """
    if not isinstance(schema, Mapping) or not has_sensitive(schema):
        return False
    nodes = _expand(schema, _children(_expand(schema, [schema]), key))
    return any(_marked(n) or has_sensitive(n) for n in nodes)
