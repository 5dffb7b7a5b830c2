"""Safe YAML reading with a source map: the only way the reconciler parses a YAML file.

Called by settings (``reconciler.yaml``), the policy loader (``policies/*.yaml``),
``promote`` and the YAML writer's self-check; the loader's ``configs/**`` take the
same parse through :class:`~reconciler.repository.reader.DocumentReader`. :func:`load_yaml` returns plain JSON-like
data (dict / list / str / int / float / bool / None) plus a
:class:`~reconciler.model.SourceMap`, or raises a
:class:`~reconciler.errors.ConfigError` located at file:line with a stable ``code``:

=====================  ==========================================================
``path.symlink_escape`` the file resolves outside the repository root (never read)
``path.not_file``       not a regular file (directory, FIFO, device)
``path.unreadable``     exists but cannot be read (permissions, I/O error)
``yaml.too_large``      over :data:`safepath.MAX_BYTES`
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
``yaml.alias_limit``    alias expansion over :data:`yamlbuild.MAX_NODES` ("billion laughs") or recursive
``yaml.too_deep``       nesting deeper than :data:`yamlbuild.MAX_DEPTH`
``yaml.integer_too_large`` an integer literal too long to even convert (the loader
                        reports it as ``values.``/``schema.integer_too_large``)
=====================  ==========================================================

plus one warning, kept in :attr:`SourceMap.notes <reconciler.model.SourceMap>` and
turned into findings by :func:`note_findings`: ``yaml.ambiguous``, a plain scalar that
YAML 1.1 would have read differently (``country: NO``).

The work is split by job: :mod:`~reconciler.repository.safepath` reads the file
(inside the repository, regular, bounded, UTF-8), :mod:`~reconciler.repository.yamlbuild`
composes and builds the data, :mod:`~reconciler.repository.yamlscalars` resolves scalars
(YAML 1.2 core, JSON-only numbers) and :mod:`~reconciler.repository.yamlhints` tells a
writer what to quote. The loader reads ``configs/**`` through
:class:`reconciler.repository.reader.DocumentReader` instead (same parse, lazy maps).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.model import Finding, Severity, SourceMap, format_path
from reconciler.repository import safepath, yamlbuild


def load_yaml(path: Path, root: Path, *, require_mapping: bool = True) -> tuple[Any, SourceMap]:
    """Parse one YAML file under ``root`` into JSON-like data and its source map."""
    rel = safepath.relative_name(path, root)
    text = safepath.read_text(path, root)
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
    data, smap = yamlbuild.parse_document(text, file, require_mapping=require_mapping)
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


def note_findings(smap: SourceMap, *, agent: str | None = None, env: str | None = None) -> list[Finding]:
    """The ``yaml.ambiguous`` warnings of one parsed file, as findings."""
    return [Finding(Severity.WARNING, "yaml.ambiguous", note.message, file=smap.file, line=note.line,
                    path=format_path(note.path) or None, agent=agent, env=env) for note in smap.notes]
