"""The path syntax shared by every policy check: where in a values document a rule looks.

Grammar (documented in the README, section *policies*)::

    path    := step ( "." step | "[" index "]" )*
    step    := NAME | "*" | "**" | "[" QUOTED "]"
    index   := INTEGER | "*"

- ``a.b``         key ``b`` inside key ``a``
- ``a[0].b``      the first item of list ``a``; negative indexes count from the end
- ``a[*].b``      every item of list ``a``
- ``a.*``         every key of mapping ``a`` (one level)
- ``**.name``     key ``name`` at any depth, including the top level, through mappings and lists
- ``a["x.y"]``    a key that contains dots or other punctuation

:func:`parse` turns the text into steps (raising :class:`PathError` with a
message the policy loader puts at the rule's line); :func:`resolve` returns the
concrete ``(json_path, value)`` pairs a path matches (nothing is fine);
:func:`missing` returns where a required path is absent. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.model import JsonPath


class PathError(ValueError):
    """A path that does not follow the syntax."""


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    index: int


class AnyKey:
    """``*``: every key of a mapping."""


class AnyIndex:
    """``[*]``: every item of a list."""


class AnyDepth:
    """``**``: zero or more levels of mappings and lists."""


ANY_KEY, ANY_INDEX, ANY_DEPTH = AnyKey(), AnyIndex(), AnyDepth()
Step = Key | Index | AnyKey | AnyIndex | AnyDepth

_TOKEN = re.compile(r"""
    (?P<name>[A-Za-z0-9_$@-][A-Za-z0-9_$@-]*)
  | (?P<deep>\*\*)
  | (?P<star>\*)
  | \[\s*(?P<index>-?\d+)\s*\]
  | \[\s*(?P<anyindex>\*)\s*\]
  | \[\s*(?P<quoted>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\]
  | (?P<dot>\.)
""", re.VERBOSE)


def parse(text: str) -> tuple[Step, ...]:
    """Parse a path; raises PathError saying what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise PathError("empty path")
    steps: list[Step] = []
    pos, expect_name = 0, True     # expect_name: a key step must come next (start, or after a dot)
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise PathError(f"unexpected {text[pos]!r} at position {pos + 1} in path {text!r}")
        kind = m.lastgroup
        if kind == "dot":
            if expect_name:
                raise PathError(f"unexpected '.' at position {pos + 1} in path {text!r}")
            expect_name = True
        elif kind in ("name", "deep", "star"):
            if not expect_name:
                raise PathError(f"missing '.' before position {pos + 1} in path {text!r}")
            steps.append(Key(m.group("name")) if kind == "name" else ANY_DEPTH if kind == "deep" else ANY_KEY)
            expect_name = False
        else:
            if expect_name and steps:
                raise PathError(f"unexpected '[' after '.' at position {pos + 1} in path {text!r}")
            steps.append(_bracket_step(m))
            expect_name = False
        pos = m.end()
    if expect_name:
        raise PathError(f"path {text!r} ends with '.'")
    if isinstance(steps[-1], AnyDepth):
        raise PathError(f"'**' must be followed by a key in path {text!r} (e.g. '**.phone')")
    return tuple(steps)


def _bracket_step(m: re.Match[str]) -> Step:
    if m.group("index") is not None:
        return Index(int(m.group("index")))
    if m.group("anyindex") is not None:
        return ANY_INDEX
    quoted = m.group("quoted")
    return Key(re.sub(r"\\(.)", r"\1", quoted[1:-1]))


def resolve(doc: Any, path: str | tuple[Step, ...]) -> list[tuple[JsonPath, Any]]:
    """Every concrete ``(json_path, value)`` the path matches in ``doc``, in document order, without duplicates."""
    steps = parse(path) if isinstance(path, str) else path
    seen: dict[JsonPath, Any] = {}
    for where, value in _walk(doc, steps, ()):
        seen.setdefault(where, value)
    return list(seen.items())


def _children(node: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(node, dict):
        yield from node.items()
    elif isinstance(node, list):
        yield from enumerate(node)


def _walk(node: Any, steps: tuple[Step, ...], prefix: JsonPath) -> Iterator[tuple[JsonPath, Any]]:
    if not steps:
        yield prefix, node
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, Key):
        if isinstance(node, dict) and step.name in node:
            yield from _walk(node[step.name], rest, prefix + (step.name,))
    elif isinstance(step, Index):
        if isinstance(node, list) and -len(node) <= step.index < len(node):
            i = step.index % len(node)
            yield from _walk(node[i], rest, prefix + (i,))
    elif isinstance(step, AnyKey):
        if isinstance(node, dict):
            for key, child in node.items():
                yield from _walk(child, rest, prefix + (key,))
    elif isinstance(step, AnyIndex):
        if isinstance(node, list):
            for i, child in enumerate(node):
                yield from _walk(child, rest, prefix + (i,))
    else:  # AnyDepth: match here, then at every depth below
        yield from _walk(node, rest, prefix)
        for key, child in _children(node):
            yield from _walk(child, steps, prefix + (key,))


def missing(doc: Any, path: str | tuple[Step, ...]) -> list[JsonPath]:
    """Where a required path is absent: the JSON path of each missing key (empty list: present everywhere).

    Wildcards require the rest of the path in every item they reach (``sites[*].phone``: each site
    needs a phone; an empty list needs nothing). ``**.name`` is present when it matches anywhere.
    """
    steps = parse(path) if isinstance(path, str) else path
    return list(dict.fromkeys(_missing(doc, steps, ())))


def _missing(node: Any, steps: tuple[Step, ...], prefix: JsonPath) -> Iterator[JsonPath]:
    if not steps:
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, AnyDepth):
        if not resolve(node, steps):
            yield prefix + tuple(s.name for s in rest[:1] if isinstance(s, Key))
        return
    if isinstance(step, Key):
        if isinstance(node, dict) and step.name in node:
            yield from _missing(node[step.name], rest, prefix + (step.name,))
        else:
            yield prefix + (step.name,)
    elif isinstance(step, Index):
        if isinstance(node, list) and -len(node) <= step.index < len(node):
            i = step.index % len(node)
            yield from _missing(node[i], rest, prefix + (i,))
        else:
            yield prefix + (step.index,)
    else:
        for key, child in _children(node):
            if isinstance(node, dict) == isinstance(step, AnyKey):
                yield from _missing(child, rest, prefix + (key,))
