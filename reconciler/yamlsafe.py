"""Safe YAML reading with a source map: the only way the reconciler parses a YAML file.

Called by the loader (``configs/**``), settings (``reconciler.yaml``) and the
policy engine (``policies/*.yaml``). :func:`load_yaml` returns plain JSON-like
data (dict / list / str / int / float / bool / None) plus a
:class:`~reconciler.model.SourceMap`, or raises a
:class:`~reconciler.errors.ConfigError` located at file:line with a stable ``code``:

=====================  ==========================================================
``path.symlink_escape`` the file resolves outside the repository root (never read)
``path.not_file``       not a regular file (directory, FIFO, device)
``yaml.too_large``      over :data:`MAX_BYTES`
``yaml.encoding``       not UTF-8
``yaml.syntax``         YAML syntax error (tab indentation gets its own hint)
``yaml.multi_document`` more than one ``---`` document
``yaml.empty``          no document at all (write ``{}`` for an empty mapping)
``yaml.not_mapping``    the top level is not a mapping (when ``require_mapping``)
``yaml.duplicate_key``  a key appears twice in one mapping (both lines named)
``yaml.non_string_key`` a mapping key that is not a string (JSON needs string keys)
``yaml.tag``            a Python or other non-JSON tag (``!!python/object``, ``!!binary``, ``!foo``)
``yaml.alias_limit``    alias expansion over :data:`MAX_NODES` ("billion laughs") or recursive
``yaml.too_deep``       nesting deeper than :data:`MAX_DEPTH`
=====================  ==========================================================

How: libyaml (``CSafeLoader`` when available) only *composes* the node tree —
aliases are shared node objects there, so composing is linear in the file
size. We construct the values ourselves from the nodes, which is where
duplicate keys, tags, key types and the expansion budget are checked and
where each node's line is recorded. Timestamps stay as the string written
(``2025-01-31``), because values must be JSON. Merge keys (``<<: *base``) are
supported; explicit keys win over merged ones.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import ConfigError
from reconciler.model import JsonPath, SourceMap

#: Largest YAML file we read, in bytes.
MAX_BYTES = 1024 * 1024
#: Budget of constructed nodes per document; every alias expansion spends its subtree's size.
MAX_NODES = 200_000
#: Deepest nesting we accept (keeps recursion far from Python's limit).
MAX_DEPTH = 100

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_T}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MERGE_TAG = f"{_T}merge"


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes (as written, symlinks not resolved)."""
    text, base = os.fspath(path), os.fspath(root).rstrip(os.sep)
    if base and text.startswith(base + os.sep):     # the loader's paths are root / …: no syscalls needed
        return text[len(base) + 1:].replace(os.sep, "/")
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:  # pragma: no cover - different drive on Windows
        return path.as_posix()


def check_inside(path: Path, root: Path) -> Path:
    """Resolve symlinks; refuse a path that lands outside ``root``. Returns the resolved path."""
    rel = relative_name(path, root)
    try:
        resolved = os.path.realpath(path, strict=True)
    except FileNotFoundError:
        raise ConfigError("dangling symlink or missing file", file=rel, code="path.not_file") from None
    except (OSError, RuntimeError) as exc:  # symlink loop
        raise ConfigError(f"cannot resolve path: {exc.__class__.__name__}", file=rel,
                          code="path.symlink_escape") from None
    # Resolved on every call, not cached: git-sync swaps the repository by flipping a symlink.
    real_root = os.path.realpath(root)
    if resolved != real_root and not resolved.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ConfigError("symlink points outside the repository; refusing to read it",
                          file=rel, code="path.symlink_escape")
    return Path(resolved)


def read_text(path: Path, root: Path) -> str:
    """Read a repository file safely: inside ``root``, regular, at most MAX_BYTES, UTF-8."""
    rel = relative_name(path, root)
    resolved = check_inside(path, root)
    st = resolved.stat()
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError("not a regular file", file=rel, code="path.not_file")
    if st.st_size > MAX_BYTES:
        raise ConfigError(f"file is {st.st_size} bytes; the limit is {MAX_BYTES}", file=rel,
                          code="yaml.too_large")
    with open(resolved, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)        # the file may grow between stat and read
    if len(data) > MAX_BYTES:
        raise ConfigError(f"file is larger than the limit of {MAX_BYTES} bytes", file=rel,
                          code="yaml.too_large")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                          file=rel, line=line, code="yaml.encoding") from None


def load_yaml(path: Path, root: Path, *, require_mapping: bool = True) -> tuple[Any, SourceMap]:
    """Parse one YAML file under ``root`` into JSON-like data and its source map."""
    rel = relative_name(path, root)
    text = read_text(path, root)
    return parse_yaml(text, rel, require_mapping=require_mapping)


def parse_yaml(text: str, file: str, *, require_mapping: bool = True) -> tuple[Any, SourceMap]:
    """Parse YAML text already read (``file`` is only used in errors and the source map)."""
    # A fleet repeats the same schema text across agents and environments: parse each distinct
    # text once. The cached form is JSON text, so every caller gets its own fresh copy of the data.
    key = (text, require_mapping)
    hit = _PARSED.get(key)
    if hit is not None:
        data_json, lines, key_lines = hit
        return json.loads(data_json), SourceMap(file=file, lines=lines, key_lines=key_lines)
    data, smap = _parse_uncached(text, file, require_mapping=require_mapping)
    try:
        data_json = json.dumps(data)
    except (TypeError, ValueError):           # pragma: no cover - the builder only makes JSON data
        return data, smap
    if len(_PARSED) >= _PARSE_CACHE_SIZE:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = (data_json, smap.lines, smap.key_lines)
    return data, smap


#: text -> (data as JSON text, lines, key_lines); errors are not cached (they carry the file name).
_PARSED: dict[tuple[str, bool], tuple[str, Any, Any]] = {}
_PARSE_CACHE_SIZE = 512


def _parse_uncached(text: str, file: str, *, require_mapping: bool) -> tuple[Any, SourceMap]:
    node = _compose(text, file)
    if node is None:
        raise ConfigError("file has no YAML document; write {} for an empty mapping", file=file,
                          line=1, code="yaml.empty")
    if require_mapping and not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a scalar"
        raise ConfigError(f"top level must be a mapping (key: value), found {kind}", file=file,
                          line=_line(node), code="yaml.not_mapping")
    if "*" in text:                         # no alias, no expansion: the tree is as big as the text
        _check_expansion(node, file)
    builder = _Builder(file)
    data = builder.build(node, ())
    return data, SourceMap(file=file, lines=builder.lines, key_lines=builder.key_lines)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _compose(text: str, file: str) -> yaml.Node | None:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked reader errors
        raise ConfigError(f"YAML error: {exc}", file=file, code="yaml.syntax") from None
    finally:
        loader.dispose()
    return node


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

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[JsonPath, int] = {}
        self.key_lines: dict[JsonPath, int] = {}
        self.budget = MAX_NODES
        self.seen: set[int] = set()          # ids of nodes built once: a second visit is an alias
        self.stack: set[int] = set()         # ids on the current path: recursion guard

    def error(self, message: str, node: yaml.Node, code: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=_line(node), code=code)

    def build(self, node: yaml.Node, path: JsonPath, line: int | None = None) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self.error(f"document expands to more than {MAX_NODES} nodes (alias expansion "
                             "\"billion laughs\"?); refusing it", node, "yaml.alias_limit")
        if id(node) in self.stack:
            raise self.error("recursive alias: a node contains itself", node, "yaml.alias_limit")
        if len(path) > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", node, "yaml.too_deep")
        # An alias re-uses the anchored node, whose mark is the anchor's; callers pass a better line.
        self.lines[path] = line if (line is not None and id(node) in self.seen) else _line(node)
        self.seen.add(id(node))
        self.stack.add(id(node))
        try:
            if isinstance(node, yaml.ScalarNode):
                return self.scalar(node)
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, f"{_T}seq")
                return [self.build(item, path + (i,), self.lines[path]) for i, item in enumerate(node.value)]
            self.check_tag(node, f"{_T}map")
            return self.mapping(node, path)
        finally:
            self.stack.discard(id(node))

    def check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            raise self.error(f"tag {node.tag!r} is not allowed (plain YAML data only)", node, "yaml.tag")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.error(f"tag {node.tag!r} is not allowed (plain YAML data only)", node, "yaml.tag")
        if node.tag == f"{_T}timestamp" or node.tag == f"{_T}str":
            return node.value                 # keep dates as written: values must be JSON
        constructor = yaml.SafeLoader.yaml_constructors[node.tag]
        return constructor(_SCALARS, node)

    def mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self.merge_sources(value_node))
                continue
            key = self.key(key_node)
            if key in first_line:
                raise self.error(f"duplicate key {key!r}: first defined at line {first_line[key]}, "
                                 f"again at line {_line(key_node)}", key_node, "yaml.duplicate_key")
            first_line[key] = _line(key_node)
            self.key_lines[path + (key,)] = _line(key_node)
            out[key] = self.build(value_node, path + (key,), _line(key_node))
        for source in merged:               # explicit keys win, then earlier merge sources
            self.merge_into(out, source, path)
        return out

    def merge_into(self, out: dict[str, Any], source: yaml.MappingNode, path: JsonPath) -> None:
        self.budget -= 1
        for key_node, value_node in source.value:
            if key_node.tag == _MERGE_TAG:
                for nested in self.merge_sources(value_node):
                    self.merge_into(out, nested, path)
                continue
            key = self.key(key_node)
            if key not in out:
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

    def key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error("mapping keys must be plain strings, not lists or mappings", node,
                             "yaml.non_string_key")
        if node.tag != f"{_T}str":
            self.check_scalar_tag(node)
            raise self.error(f"key {node.value!r} is not a string (JSON needs string keys); quote it",
                             node, "yaml.non_string_key")
        return node.value

    def check_scalar_tag(self, node: yaml.ScalarNode) -> None:
        if node.tag not in _SCALAR_TAGS:
            raise self.error(f"tag {node.tag!r} is not allowed (plain YAML data only)", node, "yaml.tag")


# SafeConstructor's scalar constructors only read node.value; one shared instance serves them.
_SCALARS = yaml.SafeLoader("")
