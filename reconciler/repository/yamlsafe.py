"""Safe YAML reading with a source map: the only way the reconciler parses a YAML file.

Called by the loader (``configs/**``), settings (``reconciler.yaml``) and the
policy engine (``policies/*.yaml``). :func:`load_yaml` returns plain JSON-like
data (dict / list / str / int / float / bool / None) plus a
:class:`~reconciler.model.SourceMap`, or raises a
:class:`~reconciler.errors.ConfigError` located at file:line with a stable ``code``:

=====================  ==========================================================
``path.symlink_escape`` the file resolves outside the repository root (never read)
``path.not_file``       not a regular file (directory, FIFO, device)
``path.unreadable``     exists but cannot be read (permissions, I/O error)
``yaml.too_large``      over :data:`MAX_BYTES`
``yaml.encoding``       not UTF-8
``yaml.syntax``         YAML syntax error (tab indentation gets its own hint)
``yaml.multi_document`` more than one ``---`` document
``yaml.empty``          no document at all (write ``{}`` for an empty mapping)
``yaml.not_mapping``    the top level is not a mapping (when ``require_mapping``)
``yaml.duplicate_key``  a key appears twice in one mapping (both lines named)
``yaml.non_string_key`` a mapping key that is not a string (JSON needs string keys)
``yaml.tag``            a Python or other non-JSON tag (``!!python/object``, ``!!binary``, ``!foo``)
``yaml.bad_literal``    an explicit core tag whose literal it cannot take (``!!int three``)
``yaml.non_finite``     ``.nan``, ``.inf`` or a float beyond the double range: not a JSON number
``yaml.alias_limit``    alias expansion over :data:`MAX_NODES` ("billion laughs") or recursive
``yaml.too_deep``       nesting deeper than :data:`MAX_DEPTH`
``yaml.integer_too_large`` an integer literal too long to even convert (the loader
                        reports it as ``values.``/``schema.integer_too_large``)
=====================  ==========================================================

plus one warning, kept in :attr:`SourceMap.notes <reconciler.model.SourceMap>` and
turned into findings by :func:`note_findings`: ``yaml.ambiguous``, a plain scalar that
YAML 1.1 would have read differently (``country: NO``).

How: libyaml (``CSafeLoader`` when available) only *composes* the node tree —
aliases are shared node objects there, so composing is linear in the file
size. Our loader's resolver tags every untagged plain scalar ``_PLAIN``, and we
construct the values ourselves from the nodes, which is where duplicate keys,
tags, key types and the expansion budget are checked and where each node's
line is recorded. Merge keys (``<<: *base``) are supported; explicit keys win
over merged ones.

Scalars (:func:`resolve_plain`): the YAML 1.2 core schema, with numbers only as JSON
writes them. ``true``/``false`` (also ``True``/``TRUE``/``False``/``FALSE``) are booleans;
``null``/``Null``/``NULL``/``~``/nothing is null; ``-12``, ``3.5``, ``1e3`` and the 1.2
``0o17``/``0x1F`` forms are numbers; everything else is the string written — ``NO``,
``off``, ``yes``, ``+441632960001``, ``0644``, ``17:30``, ``1_000`` and dates included.
:func:`needs_quoting` tells a YAML *writer* which strings must be quoted.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import ConfigError
from reconciler.model import Finding, JsonPath, Severity, SourceMap, YamlNote, format_path
from reconciler.repository.cache import ResultCache
from reconciler.repository.cache import digest as content_digest

#: Largest YAML file we read, in bytes.
MAX_BYTES = 1024 * 1024
#: Budget of constructed nodes per document; every alias expansion spends its subtree's size.
MAX_NODES = 200_000
#: Deepest nesting we accept (keeps recursion far from Python's limit).
MAX_DEPTH = 100
#: The API stores integers as 64-bit signed numbers; the builder notes every integer outside this range.
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Composes only; every untagged plain scalar gets the tag ``_PLAIN`` so we resolve it (YAML 1.2)."""

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

_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_T}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MERGE_TAG = f"{_T}merge"
_STR, _SEQ, _MAP = f"{_T}str", f"{_T}seq", f"{_T}map"


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
    # Resolved on every call, not cached: git-sync swaps the repository by flipping a symlink.
    # (The loader resolves the root once per run instead: one consistent snapshot.)
    return Path(resolve_inside(path, os.path.realpath(root), relative_name(path, root)))


def resolve_inside(path: str | os.PathLike, real_root: str, rel: str) -> str:
    """``realpath(path)``, which must be ``real_root`` (already resolved) or inside it."""
    try:
        resolved = os.path.realpath(path, strict=True)
    except FileNotFoundError:
        raise ConfigError("dangling symlink or missing file", file=rel, code="path.not_file") from None
    except PermissionError as exc:
        raise unreadable(exc, rel) from None
    except (OSError, RuntimeError) as exc:  # symlink loop
        raise ConfigError(f"cannot resolve path: {exc.__class__.__name__}", file=rel,
                          code="path.symlink_escape") from None
    if resolved != real_root and not resolved.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ConfigError("symlink points outside the repository; refusing to read it",
                          file=rel, code="path.symlink_escape")
    return resolved


def unreadable(exc: OSError, rel: str) -> ConfigError:
    """``path.unreadable``: the file or directory exists but cannot be read (permissions, I/O)."""
    reason = exc.strerror or type(exc).__name__
    return ConfigError(f"cannot read it: {reason}", file=rel, code="path.unreadable")


def read_text(path: Path, root: Path) -> str:
    """Read a repository file safely: inside ``root``, regular, at most MAX_BYTES, UTF-8."""
    rel = relative_name(path, root)
    return decode(read_resolved(os.fspath(check_inside(path, root)), rel), rel)


def read_resolved(resolved: str, rel: str) -> bytes:
    """The bytes of ``resolved`` (a path already checked to be inside the repository).

    Opened without following a symlink and without blocking (a FIFO does not
    hang the run), then checked on the open descriptor: regular, at most MAX_BYTES.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(resolved, flags)
    except FileNotFoundError:
        raise ConfigError("dangling symlink or missing file", file=rel, code="path.not_file") from None
    except OSError as exc:                   # permissions, an I/O error
        raise unreadable(exc, rel) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError("not a regular file", file=rel, code="path.not_file")
        if st.st_size > MAX_BYTES:
            raise ConfigError(f"file is {st.st_size} bytes; the limit is {MAX_BYTES}", file=rel,
                              code="yaml.too_large")
        # Plain os.read calls: no buffered file object per file (6,000 of them in a fleet's run).
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:             # the file may grow between stat and read
            try:
                chunk = os.read(fd, MAX_BYTES + 1 - size)
            except OSError as exc:           # an I/O error
                raise unreadable(exc, rel) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"file is larger than the limit of {MAX_BYTES} bytes", file=rel,
                          code="yaml.too_large")
    return data


def decode(data: bytes, rel: str) -> str:
    """UTF-8 (a BOM is allowed), or a located ``yaml.encoding`` error."""
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
        data_json, lines, key_lines, notes, big_ints = hit
        return json.loads(data_json), SourceMap(file=file, lines=lines, key_lines=key_lines, notes=notes,
                                                big_ints=big_ints)
    data, smap = _parse_guarded(text, file, require_mapping=require_mapping)
    try:
        data_json = json.dumps(data)
    except (TypeError, ValueError):           # pragma: no cover - the builder only makes JSON data
        return data, smap
    if len(_PARSED) >= _PARSE_CACHE_SIZE:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = (data_json, smap.lines, smap.key_lines, smap.notes, smap.big_ints)
    return data, smap


#: text -> (data as JSON text, lines, key_lines, notes); errors are not cached (they carry the file name).
_PARSED: dict[tuple[str, bool], tuple[str, Any, Any, Any, Any]] = {}
_PARSE_CACHE_SIZE = 512


def _parse_guarded(text: str, file: str, *, require_mapping: bool, record: bool = True) -> tuple[Any, SourceMap]:
    """:func:`_parse_uncached`, every failure a located ConfigError (never a traceback for input)."""
    try:
        return _parse_uncached(text, file, require_mapping=require_mapping, record=record)
    except ConfigError:
        raise
    except (RecursionError, MemoryError):
        raise ConfigError("document is nested too deeply or too large to read", file=file, line=1,
                          code="yaml.too_deep") from None
    except Exception as exc:                   # anything else from the YAML layer is about this input
        raise ConfigError(f"YAML reader failed: {type(exc).__name__}: {str(exc)[:200]}", file=file, line=1,
                          code="yaml.syntax") from None


def _parse_uncached(text: str, file: str, *, require_mapping: bool, record: bool = True) -> tuple[Any, SourceMap]:
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


class DocumentReader:
    """Reads the documents of one run (the loader's ``configs/**``), fast and small at fleet scale.

    - Identical file contents (a fleet shares a few schemas) are parsed once and
      share ONE data object: callers must treat the data as read-only.
    - Data is built without a source map; the map is built only when a
      finding asks for a line (:class:`LazyLines`), by reading and parsing the
      file again. Only files with a finding pay for it, and the maps of a
      10,000-agent fleet are not all alive at once.
    - With a :class:`~reconciler.repository.cache.ResultCache`, a file the caller lets
      :meth:`load` keep (``storable``: schema files holding no sensitive constant) whose
      exact bytes an earlier run parsed is not parsed again (data and notes come from
      the cache). Values files, which may hold sensitive values, and files with aliases
      or errors are always parsed, and never written to disk.
    """

    def __init__(self, cache: ResultCache | None = None) -> None:
        self._by_digest: dict[bytes, tuple[Any, SourceMap]] = {}
        self._cache = cache

    def load(self, resolved: str, rel: str,
             storable: Callable[[Any], bool] | None = None) -> tuple[Any, SourceMap]:
        """Data and a lazy source map of the file at ``resolved`` (already checked to be inside the repository).

        ``storable``: this file may come from the on-disk cache, and its parse be kept there when
        ``storable(data)`` is true (None: never; the cache must never hold a sensitive value)."""
        raw = read_resolved(resolved, rel)
        digest = content_digest(raw)
        cached = self._by_digest.get(digest)
        if cached is None:
            cached = self._by_digest[digest] = self._parse(raw, rel, digest, storable)
        data, parsed = cached
        if parsed.lines:                     # built eagerly (aliases)
            return data, SourceMap(file=rel, lines=parsed.lines, key_lines=parsed.key_lines, notes=parsed.notes,
                                   big_ints=parsed.big_ints, digest=digest)
        source = _MapSource(resolved, rel, digest)
        return data, SourceMap(file=rel, lines=LazyLines(source, "lines"), key_lines=LazyLines(source, "key_lines"),
                               notes=parsed.notes, big_ints=parsed.big_ints, digest=digest)

    def _parse(self, raw: bytes, rel: str, digest: bytes,
               storable: Callable[[Any], bool] | None) -> tuple[Any, SourceMap]:
        # A text with aliases gets its map at once: an alias's lines (and its notes') are the alias's.
        # (b"*" is in UTF-8 bytes exactly when "*" is in the text.) Such texts are never cached on disk.
        eager = b"*" in raw
        disk = None if eager or storable is None else self._cache
        if disk is not None:
            hit = disk.parsed(digest, rel)      # only ever a successful parse of these very bytes
            if hit is not None:
                return hit
        data, smap = _parse_guarded(decode(raw, rel), rel, require_mapping=True, record=eager)
        if eager:
            return data, smap
        smap = SourceMap(rel, notes=smap.notes, big_ints=smap.big_ints)
        if disk is not None and storable is not None and storable(data):
            disk.remember_parsed(digest, data, smap)
        return data, smap


class _MapSource:
    """Builds one file's source map on first use, from the file as it was read (same digest)."""

    __slots__ = ("resolved", "rel", "digest", "maps")

    def __init__(self, resolved: str, rel: str, digest: bytes) -> None:
        self.resolved, self.rel, self.digest = resolved, rel, digest
        self.maps: dict[str, Mapping[JsonPath, int]] | None = None

    def get(self, which: str) -> Mapping[JsonPath, int]:
        if self.maps is None:
            self.maps = self._build()
        return self.maps[which]

    def _build(self) -> dict[str, Mapping[JsonPath, int]]:
        empty: dict[str, Mapping[JsonPath, int]] = {"lines": {}, "key_lines": {}}
        try:
            raw = read_resolved(self.resolved, self.rel)
            if content_digest(raw) != self.digest:
                return empty                 # changed since it was read: no line beats a wrong line
            _, smap = _parse_guarded(decode(raw, self.rel), self.rel, require_mapping=True)
        except ConfigError:                  # pragma: no cover - it parsed a moment ago
            return empty
        return {"lines": smap.lines, "key_lines": smap.key_lines}


class LazyLines(Mapping):
    """One of a source map's two tables, built on first access (see :class:`DocumentReader`)."""

    __slots__ = ("_source", "_which")

    def __init__(self, source: _MapSource, which: str) -> None:
        self._source, self._which = source, which

    def __getitem__(self, key: JsonPath) -> int:
        return self._source.get(self._which)[key]

    def __iter__(self) -> Iterator[JsonPath]:
        return iter(self._source.get(self._which))

    def __len__(self) -> int:
        return len(self._source.get(self._which))

    def __contains__(self, key: object) -> bool:
        return key in self._source.get(self._which)

    def get(self, key: JsonPath, default: Any = None) -> Any:
        return self._source.get(self._which).get(key, default)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _compose(text: str, file: str) -> yaml.Node | None:
    loader = _Loader(text)
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

    def build(self, node: yaml.Node, path: JsonPath, line: int | None = None) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self.error(f"document expands to more than {MAX_NODES} nodes (alias expansion "
                             "\"billion laughs\"?); refusing it", node, "yaml.alias_limit")
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
                if plainly_text(node.value):
                    return node.value            # text in YAML 1.2 and 1.1 alike: no resolution, no note
                value = resolve_plain(node.value)
                message = ambiguity(node.value, value)
                if message is not None and id(node) not in self.noted:      # an alias repeats its anchor
                    self.noted.add(id(node))
                    self.notes.append(YamlNote(self.lines.get(path, _line(node)), path, node.value, message))
                return self.number(value, path)
            if node.tag in _SCALAR_TAGS:
                return self.number(resolve_tagged(node.tag, node.value), path)
        except ScalarError as exc:
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
        if node.tag == f"{_T}str" or (node.tag == _PLAIN and plainly_text(node.value)):
            # Interned: a fleet repeats the same keys in every file, and one shared string per key
            # instead of one per occurrence saved ~40 MB of a 10,000-agent plan.
            return sys.intern(node.value)
        if node.tag == _PLAIN:
            try:
                value = resolve_plain(node.value)
            except ScalarError:
                value = None
            if isinstance(value, str):
                message = ambiguity(node.value, value)
                if message is not None:
                    self.notes.append(YamlNote(_line(node), parent + (value,), node.value, message, True))
                return value
        elif node.tag not in _SCALAR_TAGS:
            raise self.error(f"tag {node.tag!r} is not allowed (plain YAML data only)", node, "yaml.tag")
        raise self.error(f"key {node.value!r} is not a string (JSON needs string keys); quote it",
                         node, "yaml.non_string_key")


def _is_merge(node: yaml.Node) -> bool:
    return node.tag == _MERGE_TAG or (node.tag == _PLAIN and node.value == "<<")


def note_findings(smap: SourceMap, *, agent: str | None = None, env: str | None = None) -> list[Finding]:
    """The ``yaml.ambiguous`` warnings of one parsed file, as findings."""
    return [Finding(Severity.WARNING, "yaml.ambiguous", note.message, file=smap.file, line=note.line,
                    path=format_path(note.path) or None, agent=agent, env=env) for note in smap.notes]


# SafeConstructor's scalar constructors only read node.value; one shared instance serves them.
_SCALARS = yaml.SafeLoader("")


# ---- scalars: YAML 1.2 core, numbers only as JSON writes them ---------------------------------

_PLAIN = "tag:reconciler:plain"           # what our resolver gives every untagged plain scalar
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
#: First characters of every plain scalar that YAML 1.2 (as read here) or YAML 1.1 (PyYAML's implicit
#: resolvers, keyed by first character) may read as something other than the text.
_MAYBE_NOT_TEXT = frozenset("!&*+-.0123456789<=FNOTYfnoty~")
_LETTERS = frozenset("FNOTYfnoty")          # ... where only whole words count (booleans, nulls)


def plainly_text(text: str) -> bool:
    """True when plain ``text`` is that string under YAML 1.2 and 1.1 alike (no note, no resolution).

    Most of a fleet's scalars (keys, names, sentences): skips :func:`resolve_plain` and
    :func:`ambiguity`, which give the same answer for them (``tests/test_fleet_caches.py``).
    """
    if not text:
        return False
    if text[0] in _LETTERS:
        return text not in _SPECIAL_WORDS
    return text[0] not in _MAYBE_NOT_TEXT
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_JSON_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_JSON_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
# Explicit tags (``!!int 12``) take the YAML 1.2 core forms.
_CORE_INT = re.compile(r"[-+]?[0-9]+\Z")
_CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NON_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
#: YAML 1.1's booleans as PyYAML (the common 1.1 reader) has them: the spec's y/n are left out.
_YAML11_BOOLS = {**{w: True for w in ("yes", "Yes", "YES", "on", "On", "ON")},
                 **{w: False for w in ("no", "No", "NO", "off", "Off", "OFF")}}
_YAML11 = yaml.resolver.Resolver()
_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
_SPECIAL_WORDS = frozenset(_YAML11_BOOLS) | frozenset(_BOOLS) | _NULLS


class ScalarError(ValueError):
    """A scalar that cannot be JSON data: ``code`` is its ``yaml.*`` code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def resolve_plain(text: str) -> Any:
    """What an untagged plain scalar means here: YAML 1.2 core, numbers only in JSON's grammar.

    ``true``/``false`` (and ``True``/``TRUE``/``False``/``FALSE``) are booleans; ``null``,
    ``Null``, ``NULL``, ``~`` and nothing are null; ``-12``, ``3.5``, ``1e3`` (JSON
    numbers) and ``0o17``/``0x1F`` are numbers; everything else is the string written.
    Raises :class:`ScalarError` for ``.nan``/``.inf`` (not JSON numbers).
    """
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _JSON_INT.match(text):
        return int(text)
    if _JSON_FLOAT.match(text):
        return _finite(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _NON_FINITE.match(text):
        raise ScalarError(f"{text} is not a JSON number (NaN and infinity cannot be sent); "
                          "quote it for a string", "yaml.non_finite")
    return text


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ScalarError(f"{text} is too large for a JSON number (it would become infinity)",
                          "yaml.non_finite")
    return value


def yaml11_reading(text: str) -> Any:
    """What a YAML 1.1 reader (PyYAML, many older tools) makes of a plain scalar; dates stay text."""
    if text in _YAML11_BOOLS:
        return _YAML11_BOOLS[text]
    tag = _YAML11.resolve(yaml.ScalarNode, text, (True, False))
    if tag in (f"{_T}str", f"{_T}timestamp"):
        return _Date(text) if tag.endswith("timestamp") else text
    if tag not in yaml.SafeLoader.yaml_constructors:      # `=` (!!value), `<<` (!!merge): no data type
        return _Token(text)
    node = yaml.ScalarNode(tag, text)
    return yaml.SafeLoader.yaml_constructors[tag](_SCALARS, node)


class _Date(str):
    """A plain scalar YAML 1.1 reads as a date or timestamp."""


class _Token(str):
    """A plain scalar YAML 1.1 resolves to a tag that is no data type (``=`` value, ``<<`` merge)."""


def ambiguity(text: str, value: Any) -> str | None:
    """The ``yaml.ambiguous`` message when YAML 1.1 reads plain ``text`` other than as ``value``.

    Remembered per (text, value): a fleet repeats the same numbers, booleans and nulls in
    thousands of files, and asking PyYAML's 1.1 resolver each time was ~5 % of a cold load.
    """
    return _ambiguity(text, type(value), value)


@functools.lru_cache(maxsize=8192)
def _ambiguity(text: str, kind: type, value: Any) -> str | None:
    try:
        old = yaml11_reading(text)
    except (ValueError, TypeError, OverflowError):        # pragma: no cover - 1.1 constructors are total
        return None
    if type(old) is type(value) and old == value:
        return None
    if isinstance(value, str):
        return (f"{_quote(text)} is read as the string {json.dumps(text, ensure_ascii=False)} (YAML 1.2); "
                "quote it to make that explicit")
    return (f"{text} is read as the {_TYPE_NAMES[type(value)]} {json.dumps(value)} (YAML 1.2); "
            f"YAML 1.1 reads {_describe11(old)}: quote it if you mean the text")


def _describe11(old: Any) -> str:
    if isinstance(old, _Date):
        return "a date"
    if isinstance(old, str):
        return f"the string {json.dumps(old, ensure_ascii=False)}"
    return f"the {_TYPE_NAMES.get(type(old), 'value')} {json.dumps(old)}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def schema_hint(text: str, expected: str) -> str | None:
    """For a value read as a string that fails ``type: expected``: how to write what was meant."""
    old = yaml11_reading(text)
    if expected == "boolean" and isinstance(old, bool):
        return f"{_quote(text)} is a string; write {json.dumps(old)} for a boolean"
    if expected in ("integer", "number") and isinstance(old, (int, float)) and not isinstance(old, bool):
        digits = text.lstrip("+").replace("_", "")
        if re.fullmatch(r"0[0-9]+", digits):
            return (f"{_quote(text)} is a string; a number has no leading zero (write {int(digits, 10)}, "
                    f"or 0o{digits.lstrip('0') or '0'} for octal)")
        if _JSON_FLOAT.match(digits):
            return f"{_quote(text)} is a string; write {digits} for a number"
        return f"{_quote(text)} is a string (YAML 1.1 would have read {json.dumps(old)}); write the number you mean"
    return None


def resolve_tagged(tag: str, text: str) -> Any:
    """A scalar with an explicit core tag (``!!int 12``); a literal the tag cannot take is a ScalarError."""
    kind = tag[len(_T):]
    if kind in ("str", "timestamp"):
        return text                        # dates stay as written: values must be JSON
    if kind == "null":
        if text in _NULLS:
            return None
    elif kind == "bool":
        if text in _BOOLS:
            return _BOOLS[text]
    elif kind == "int":
        if _CORE_INT.match(text):
            return int(text)
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
    elif kind == "float":
        if _NON_FINITE.match(text):
            raise ScalarError(f"!!float {text} is not a JSON number (NaN and infinity cannot be sent)",
                              "yaml.non_finite")
        if _CORE_FLOAT.match(text) or _CORE_INT.match(text):
            return _finite(text)
    raise ScalarError(f"!!{kind} {_quote(text)}: not a valid {kind} literal (YAML 1.2 core); "
                      "fix the value or drop the tag", "yaml.bad_literal")


#: Texts a YAML 1.1 *or* 1.2 reader could take for something other than a string.
def needs_quoting(text: str) -> bool:
    """True when ``text`` written as a plain YAML scalar would not read back as that string.

    Covers YAML 1.2 core resolution (as this module reads it, and as strict 1.2
    readers do: ``+12``, ``0644``), the YAML 1.1 set (booleans ``yes``/``NO``/``off``,
    base-60 ``17:30``, ``1_000``, dates, ``.inf``) and text plain style cannot hold
    (leading/trailing spaces, indicators, ``: `` / `` #``, line breaks, an empty string).
    For writers (import/export): quote whenever this says so.
    """
    if not isinstance(text, str) or text == "" or text != text.strip() or "\n" in text:
        return True
    try:
        if not isinstance(resolve_plain(text), str):
            return True
    except ScalarError:
        return True
    if _CORE_INT.match(text) or _CORE_FLOAT.match(text.replace("_", "")) or text.startswith(("0o", "0x")):
        return True
    if ambiguity(text, text) is not None:
        return True
    if text[0] in "-?:,[]{}#&*!|>'\"%@`" or ": " in text or " #" in text or text.endswith(":"):
        return True
    return any(ord(c) < 0x20 or c in "\x7f\ufeff" for c in text)
