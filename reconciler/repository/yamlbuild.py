"""Compose a YAML text into nodes and build plain JSON data from them, checking what PyYAML would let through.

Called by :mod:`reconciler.repository.yamlsafe` (one file, map built at once) and
:mod:`reconciler.repository.reader` (a run's documents, map built on demand) through
:func:`parse_document`, whose every failure is a located
:class:`~reconciler.errors.ConfigError` (the ``yaml.*`` codes listed in yamlsafe).

How: libyaml (``CSafeLoader`` when available) only *composes* the node tree —
aliases are shared node objects there, so composing is linear in the file
size. :class:`ComposingLoader` tags every untagged plain scalar
:data:`~reconciler.repository.yamlscalars.PLAIN_TAG`, and a builder constructs
the values from the nodes, which is where duplicate keys, tags, key types and the
expansion budget are checked and where each node's line is recorded. Merge keys
(``<<: *base``) are supported; explicit keys win over merged ones.

What a scalar means is :mod:`reconciler.repository.yamlscalars`'s job; reading the
file is :mod:`reconciler.repository.safepath`'s.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from reconciler.errors import ConfigError
from reconciler.model import JsonPath, SourceMap, YamlNote
from reconciler.repository import yamlscalars

#: Budget of constructed nodes per document; every alias expansion spends its subtree's size.
MAX_NODES = 200_000
#: Deepest nesting we accept (keeps recursion far from Python's limit).
MAX_DEPTH = 100
#: The API stores integers as 64-bit signed numbers; the builder notes every integer outside this range.
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

_PLAIN = yamlscalars.PLAIN_TAG
_T = yamlscalars.CORE_TAG
_SCALAR_TAGS = yamlscalars.SCALAR_TAGS
_MERGE_TAG = f"{_T}merge"
_STR, _SEQ, _MAP = f"{_T}str", f"{_T}seq", f"{_T}map"
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ComposingLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Composes only; every untagged plain scalar gets ``PLAIN_TAG``, so we resolve it (YAML 1.2)."""

    def resolve(self, kind, value, implicit):  # noqa: ANN001, ANN201 - PyYAML's signature
        # PyYAML's own resolve, minus what safe YAML never registers (path resolvers) and with
        # plain scalars left to us: the same tags, without a second Python call per node.
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    # The path-resolver hooks libyaml calls per node are no-ops (safe YAML registers none).
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


def parse_document(text: str, file: str, *, require_mapping: bool, record: bool = True) -> tuple[Any, SourceMap]:
    """Parse ``text`` (already read) into data and its source map (``record``: line tables too).

    Every failure is a located ConfigError, never a traceback for input."""
    try:
        return _parse_unguarded(text, file, require_mapping=require_mapping, record=record)
    except ConfigError:
        raise
    except (RecursionError, MemoryError):
        raise ConfigError("document is nested too deeply or too large to read", file=file, line=1,
                          code="yaml.too_deep") from None
    except Exception as exc:                   # anything else from the YAML layer is about this input
        raise ConfigError(f"YAML reader failed: {type(exc).__name__}: {str(exc)[:200]}", file=file, line=1,
                          code="yaml.syntax") from None


def _parse_unguarded(text: str, file: str, *, require_mapping: bool, record: bool = True) -> tuple[Any, SourceMap]:
    node = _compose(text, file)
    if node is None:
        raise ConfigError("file has no YAML document; write {} for an empty mapping", file=file,
                          line=1, code="yaml.empty")
    if require_mapping and not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a scalar"
        raise ConfigError(f"top level must be a mapping (key: value), found {kind}", file=file,
                          line=_line(node), code="yaml.not_mapping")
    aliases = "*" in text
    if aliases:                             # no alias, no expansion: the tree is as big as the text
        _check_expansion(node, file)
    builder = _Builder(file, record=record, aliases=aliases)
    data = builder.build(node, ())
    return data, SourceMap(file=file, lines=builder.lines, key_lines=builder.key_lines, notes=tuple(builder.notes),
                           big_ints=tuple(builder.big_ints))




def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _compose(text: str, file: str) -> yaml.Node | None:
    loader = ComposingLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except yaml.reader.ReaderError as exc:     # a control character (NUL…): located by its position
        raise _reader_error(exc, text, file) from None
    except yaml.YAMLError as exc:  # pragma: no cover - other unmarked errors
        raise ConfigError(f"YAML error: {exc}", file=file, code="yaml.syntax") from None
    finally:
        loader.dispose()
    return node


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> ConfigError:
    position = exc.position if isinstance(exc.position, int) and 0 <= exc.position <= len(text) else None
    if position is None:
        return ConfigError(f"YAML error: {exc.reason}", file=file, code="yaml.syntax")
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return ConfigError(f"control character U+{ord(char):04X} at column {column} is not allowed in YAML "
                       "(save the file as plain text)", file=file, line=line, code="yaml.syntax")


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, file: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or str(exc)
    if "single document" in f"{exc.context} {problem}":
        return ConfigError("file holds more than one YAML document (---); use exactly one",
                           file=file, line=line, code="yaml.multi_document")
    if line and (_TAB in problem or "\\t" in problem or _tab_indented(text, line)):
        return ConfigError("tab character used for indentation; YAML needs spaces", file=file,
                           line=line, code="yaml.syntax")
    context = f"{exc.context}: " if exc.context else ""
    return ConfigError(f"YAML syntax error: {context}{problem}", file=file, line=line, code="yaml.syntax")


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse a document whose alias expansion would exceed MAX_NODES, before building anything.

    The expanded size is computed over the node DAG with memoisation, so a
    "billion laughs" file costs time linear in its *distinct* nodes.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError("recursive alias: a node contains itself", file=file, line=_line(node),
                              code="yaml.alias_limit")
        if depth > MAX_DEPTH:
            raise ConfigError(f"nesting deeper than {MAX_DEPTH} levels", file=file, line=_line(node),
                              code="yaml.too_deep")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        active.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise ConfigError(f"document expands to more than {MAX_NODES} nodes (alias expansion, "
                              "\"billion laughs\"?); refusing it", file=file, line=_line(node),
                              code="yaml.alias_limit")
        return total

    size(root, 0)


_TAB = "\t"


def _tab_indented(text: str, line: int) -> bool:
    lines = text.splitlines()
    if line > len(lines):
        return False
    row = lines[line - 1]
    return _TAB in row[: len(row) - len(row.lstrip(" \t"))]


class _Builder:
    """Turns a composed node tree into plain data, checking what PyYAML would let through."""

    def __init__(self, file: str, *, record: bool = True, aliases: bool = True) -> None:
        self.file = file
        self.record = record                 # False: data only, no source map (built later if needed)
        self.aliases = aliases               # the text may hold aliases ("*"): track node identity
        self.lines: dict[JsonPath, int] = {}
        self.key_lines: dict[JsonPath, int] = {}
        self.budget = MAX_NODES
        self.seen: set[int] = set()          # ids of nodes built once: a second visit is an alias
        self.stack: set[int] = set()         # ids on the current path: recursion guard
        self.notes: list[YamlNote] = []
        self.noted: set[int] = set()
        self.big_ints: list[JsonPath] = []   # integers the API cannot hold (validation reports them)

    def error(self, message: str, node: yaml.Node, code: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=_line(node), code=code)

    def over_budget(self, node: yaml.Node) -> ConfigError:
        """The expansion budget (:data:`MAX_NODES`) is spent at ``node``."""
        return self.error(f"document expands to more than {MAX_NODES} nodes (alias expansion "
                          "\"billion laughs\"?); refusing it", node, "yaml.alias_limit")

    def build(self, node: yaml.Node, path: JsonPath, line: int | None = None) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self.over_budget(node)
        if not self.aliases:                 # no alias in the text: every node is visited once
            if len(path) > MAX_DEPTH:
                raise self.error(f"nesting deeper than {MAX_DEPTH} levels", node, "yaml.too_deep")
            if self.record:
                self.lines[path] = _line(node)
            if node.__class__ is yaml.ScalarNode:        # most nodes: one call less than construct()
                return self.scalar(node, path)
            return self.construct(node, path, None)
        if id(node) in self.stack:
            raise self.error("recursive alias: a node contains itself", node, "yaml.alias_limit")
        if len(path) > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", node, "yaml.too_deep")
        # An alias re-uses the anchored node, whose mark is the anchor's; callers pass a better line.
        here = line if (line is not None and id(node) in self.seen) else _line(node)
        if self.record:
            self.lines[path] = here
        self.seen.add(id(node))
        self.stack.add(id(node))
        try:
            return self.construct(node, path, here)
        finally:
            self.stack.discard(id(node))

    def construct(self, node: yaml.Node, path: JsonPath, here: int | None) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            self.check_tag(node, f"{_T}seq")
            return [self.build(item, path + (i,), here) for i, item in enumerate(node.value)]
        self.check_tag(node, f"{_T}map")
        return self.mapping(node, path)

    def check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            raise self.error(f"tag {node.tag!r} is not allowed (plain YAML data only)", node, "yaml.tag")

    def scalar(self, node: yaml.ScalarNode, path: JsonPath) -> Any:
        try:
            if node.tag == _PLAIN:
                if yamlscalars.plainly_text(node.value):
                    return node.value            # text in YAML 1.2 and 1.1 alike: no resolution, no note
                value, message = yamlscalars.read_plain(node.value)
                if message is not None and id(node) not in self.noted:      # an alias repeats its anchor
                    self.noted.add(id(node))
                    self.notes.append(YamlNote(self.lines.get(path, _line(node)), path, node.value, message))
                return self.number(value, path)
            if node.tag in _SCALAR_TAGS:
                return self.number(yamlscalars.resolve_tagged(node.tag, node.value), path)
        except yamlscalars.ScalarError as exc:
            raise self.error(str(exc), node, exc.code) from None
        except ValueError:
            # int() refuses more than 4,300 digits (CVE-2020-10735); no API holds such a number anyway.
            raise self.error(f"number of {len(node.value)} characters is far too large for the API "
                             "(at most 64-bit integers)", node, "yaml.integer_too_large") from None
        raise self.error(f"tag {node.tag!r} is not allowed (plain YAML data only)", node, "yaml.tag")

    def number(self, value: Any, path: JsonPath) -> Any:
        """``value``, noting its path when it is an integer outside the 64-bit range (see SourceMap.big_ints)."""
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            self.big_ints.append(path)
        return value

    def mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, yaml.Node] = {}
        merged: list[yaml.MappingNode] = []
        lines = self.record or self.aliases
        # Most values of a fleet's files: a quoted string or a plain scalar that is plainly text, built
        # here without the two calls (build, scalar) and the path a finding would need — none can come
        # from it.
        inline = not lines and len(path) < MAX_DEPTH
        plainly_text = yamlscalars.plainly_text
        for key_node, value_node in node.value:
            if key_node.tag == _PLAIN and key_node.__class__ is yaml.ScalarNode and key_node.value != "<<" \
                    and plainly_text(key_node.value):
                key = sys.intern(key_node.value)          # most keys: what key() returns, without the calls
            elif _is_merge(key_node):
                merged.extend(self.merge_sources(value_node))
                continue
            else:
                key = self.key(key_node, path)
            if key in first:
                raise self.error(f"duplicate key {key!r}: first defined at line {_line(first[key])}, "
                                 f"again at line {_line(key_node)}", key_node, "yaml.duplicate_key")
            first[key] = key_node
            if inline and value_node.__class__ is yaml.ScalarNode and (value_node.tag == _STR or (
                    value_node.tag == _PLAIN and plainly_text(value_node.value))):
                self.budget -= 1
                if self.budget < 0:
                    raise self.over_budget(value_node)
                out[key] = value_node.value
                continue
            key_line = _line(key_node) if lines else None
            if self.record:
                self.key_lines[path + (key,)] = key_line
            out[key] = self.build(value_node, path + (key,), key_line)
        for source in merged:               # explicit keys win, then earlier merge sources
            self.merge_into(out, source, path)
        return out

    def merge_into(self, out: dict[str, Any], source: yaml.MappingNode, path: JsonPath) -> None:
        self.budget -= 1
        for key_node, value_node in source.value:
            if _is_merge(key_node):
                for nested in self.merge_sources(value_node):
                    self.merge_into(out, nested, path)
                continue
            key = self.key(key_node, path)
            if key not in out:
                if self.record:
                    self.key_lines[path + (key,)] = _line(key_node)
                out[key] = self.build(value_node, path + (key,), _line(key_node))

    def merge_sources(self, node: yaml.Node) -> list[yaml.MappingNode]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for item in nodes:
            if not isinstance(item, yaml.MappingNode):
                raise self.error("merge key (<<) needs a mapping or a list of mappings", item, "yaml.syntax")
            if id(item) in self.stack:
                raise self.error("recursive alias: a node merges itself", item, "yaml.alias_limit")
        return list(nodes)

    def key(self, node: yaml.Node, parent: JsonPath) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error("mapping keys must be plain strings, not lists or mappings", node,
                             "yaml.non_string_key")
        if node.tag == f"{_T}str" or (node.tag == _PLAIN and yamlscalars.plainly_text(node.value)):
            # Interned: a fleet repeats the same keys in every file, and one shared string per key
            # instead of one per occurrence saved ~40 MB of a 10,000-agent plan.
            return sys.intern(node.value)
        if node.tag == _PLAIN:
            try:
                value = yamlscalars.resolve_plain(node.value)
            except yamlscalars.ScalarError:
                value = None
            if isinstance(value, str):
                message = yamlscalars.ambiguity(node.value, value)
                if message is not None:
                    self.notes.append(YamlNote(_line(node), parent + (value,), node.value, message, True))
                return value
        elif node.tag not in _SCALAR_TAGS:
            raise self.error(f"tag {node.tag!r} is not allowed (plain YAML data only)", node, "yaml.tag")
        raise self.error(f"key {node.value!r} is not a string (JSON needs string keys); quote it",
                         node, "yaml.non_string_key")


def _is_merge(node: yaml.Node) -> bool:
    return node.tag == _MERGE_TAG or (node.tag == _PLAIN and node.value == "<<")
