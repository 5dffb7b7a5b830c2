"""Bounded reads of every file a user hands us: regular files only, a size bound while reading, bounded nesting.

Used by every reader of a file that comes from the user, outside the
repository walk (which has its own, :func:`reconciler.repository.yamlsafe.read_resolved`,
built the same way): saved plan files (``apply --plan``, ``show``), reports
given to ``github``, the GitHub event file, ADK JSON files, ``--agents-file``,
the plan key. Each read:

- opens without blocking (a FIFO never hangs the run) and checks the *open
  descriptor* with ``fstat``: only a regular file is read (never a directory,
  a FIFO, ``/dev/zero`` or another device);
- counts the bytes it reads and stops at the bound (``st_size`` is not
  trusted: a file may grow, a device reports 0);
- for JSON, refuses nesting deeper than :data:`MAX_DEPTH` (a 200,000-deep
  document is an error at its file, not a ``RecursionError``).

Every refusal is a :class:`~reconciler.errors.ConfigError` naming the file,
with codes ``file.not_regular``, ``file.too_large``, ``file.unreadable``,
``file.encoding``, ``file.not_json`` and ``file.too_deep``; callers may re-raise
it as their own kind (a plan file's ``PlanFileError``).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError

#: Nesting accepted in a JSON document (a plan file nests a schema a few levels down).
MAX_DEPTH = 256
#: Bytes read per ``os.read`` call.
CHUNK = 1024 * 1024

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def read_bytes(path: Path | str, *, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them, or a ConfigError."""
    source = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ConfigError(f"cannot read the {what}: {exc.strerror or type(exc).__name__}", file=source,
                          code="file.unreadable") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise ConfigError(f"the {what} is {kind}, not a regular file; nothing read", file=source,
                              code="file.not_regular")
        chunks, size = [], 0
        while True:
            try:
                chunk = os.read(fd, min(CHUNK, limit + 1 - size))
            except OSError as exc:
                raise ConfigError(f"cannot read the {what}: {exc.strerror or type(exc).__name__}", file=source,
                                  code="file.unreadable") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ConfigError(f"the {what} is larger than {_size(limit)}; not read further", file=source,
                                  code="file.too_large")
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_text(path: Path | str, *, limit: int, what: str = "file") -> str:
    """:func:`read_bytes`, decoded as UTF-8 (a BOM allowed)."""
    data = read_bytes(path, limit=limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the {what} is not valid UTF-8 (offset {exc.start})", file=str(path),
                          code="file.encoding") from None


def load_json(path: Path | str, *, limit: int, what: str = "file",
              loads: Callable[[str], Any] = json.loads) -> Any:
    """The JSON document in ``path``: bounded read, then parsed, nesting at most :data:`MAX_DEPTH`."""
    text = read_text(path, limit=limit, what=what)
    return parse_json(text, source=str(path), what=what, loads=loads)


def parse_json(text: str, *, source: str, what: str = "file", loads: Callable[[str], Any] = json.loads) -> Any:
    """``loads(text)`` with nesting checked first (a cheap scan), so no parser ever recurses too deep."""
    depth = nesting(text)
    if depth > MAX_DEPTH:
        raise ConfigError(f"the {what} nests deeper than {MAX_DEPTH} levels; not parsed", file=source,
                          code="file.too_deep")
    try:
        return loads(text)
    except RecursionError:                 # a custom hook that recursed: still a clear error
        raise ConfigError(f"the {what} nests too deep to read", file=source, code="file.too_deep") from None
    except ValueError as exc:
        where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ConfigError(f"the {what} is not JSON: {getattr(exc, 'msg', exc)}{where}", file=source,
                          line=getattr(exc, "lineno", None), code="file.not_json") from None


def nesting(text: str) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, strings skipped (a bound, not a validation).

    The scan stays in C: strings dropped by a regular expression, then one level of innermost
    ``[]`` pairs removed per pass (at most MAX_DEPTH + 1 passes).
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0                            # cannot be deeper than the bound: skip the scan
    brackets = "".join(_BRACKETS.findall(_STRING.sub("", text))).translate(_SAME)
    for level in range(MAX_DEPTH + 1):
        fewer = brackets.replace("[]", "")
        if fewer == brackets:               # empty, or unbalanced: the parser says what is wrong
            return level
        brackets = fewer
    return MAX_DEPTH + 1


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")
_SAME = str.maketrans("{}", "[]")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
