"""Read the YAML documents of one run (the loader's ``configs/**``), fast and small at fleet scale.

Called by :mod:`reconciler.repository.loader` only, which hands :class:`DocumentReader`
a :class:`ParseStore` when the run uses the on-disk cache (the loader opens and closes
it: :mod:`reconciler.repository.cache`). This module knows nothing of where a store
keeps its entries. Reading one file safely is :mod:`reconciler.repository.safepath`'s
job, parsing it :mod:`reconciler.repository.yamlbuild`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from reconciler.errors import ConfigError
from reconciler.model import JsonPath, SourceMap
from reconciler.repository import safepath, yamlbuild


def content_digest(raw: bytes) -> bytes:
    """The content key of a file's bytes (256-bit BLAKE2b: collisions are out of an attacker's reach).

    Kept in :attr:`SourceMap.digest <reconciler.model.SourceMap>`; the on-disk cache keys its entries by it."""
    return hashlib.blake2b(raw, digest_size=32).digest()


class ParseStore(Protocol):
    """Parse results of earlier runs, by content digest (the on-disk cache is one)."""

    def parsed(self, content: bytes, file: str) -> tuple[Any, SourceMap] | None:
        """Data and map (notes, big integers) of ``file``, whose bytes have digest ``content``; None: not kept."""

    def remember_parsed(self, content: bytes, data: Any, smap: SourceMap) -> None:
        """Keep a successful parse of data that holds no sensitive value."""


class DocumentReader:
    """Reads the documents of one run (the loader's ``configs/**``), fast and small at fleet scale.

    - Identical file contents (a fleet shares a few schemas) are parsed once and
      share ONE data object: callers must treat the data as read-only.
    - Data is built without a source map; the map is built only when a
      finding asks for a line (:class:`LazyLines`), by reading and parsing the
      file again. Only files with a finding pay for it, and the maps of a
      10,000-agent fleet are not all alive at once.
    - With a :class:`ParseStore` (the on-disk cache), a file the caller lets
      :meth:`load` keep (``storable``: schema files holding no sensitive constant) whose
      exact bytes an earlier run parsed is not parsed again (data and notes come from
      the cache). Values files, which may hold sensitive values, and files with aliases
      or errors are always parsed, and never written to disk.
    """

    def __init__(self, store: ParseStore | None = None) -> None:
        self._by_digest: dict[bytes, tuple[Any, SourceMap]] = {}
        self._store = store

    def load(self, resolved: str, rel: str,
             storable: Callable[[Any], bool] | None = None) -> tuple[Any, SourceMap]:
        """Data and a lazy source map of the file at ``resolved`` (already checked to be inside the repository).

        ``storable``: this file may come from the on-disk cache, and its parse be kept there when
        ``storable(data)`` is true (None: never; the cache must never hold a sensitive value)."""
        raw = safepath.read_resolved(resolved, rel)
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
        disk = None if eager or storable is None else self._store
        if disk is not None:
            hit = disk.parsed(digest, rel)      # only ever a successful parse of these very bytes
            if hit is not None:
                return hit
        data, smap = yamlbuild.parse_document(safepath.decode(raw, rel), rel, require_mapping=True, record=eager)
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
            raw = safepath.read_resolved(self.resolved, self.rel)
            if content_digest(raw) != self.digest:
                return empty                 # changed since it was read: no line beats a wrong line
            _, smap = yamlbuild.parse_document(safepath.decode(raw, self.rel), self.rel, require_mapping=True)
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
