"""Reading one repository file safely: inside the repository, a regular file, bounded, UTF-8.

Called by the YAML entry points (:mod:`reconciler.repository.yamlsafe`), the run's
document reader (:mod:`reconciler.repository.reader`), the loader (symlinked
directories, unreadable listings, file hashes) and ``promote``. Every failure is a
:class:`~reconciler.errors.ConfigError` with a stable ``code`` and the file's relative
name: ``path.symlink_escape``, ``path.not_file``, ``path.unreadable``,
``yaml.too_large`` (over :data:`MAX_BYTES`) and ``yaml.encoding`` (not UTF-8).

What the bytes mean (YAML) is left to :mod:`reconciler.repository.yamlbuild`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.errors import ConfigError

#: Largest YAML file we read, in bytes.
MAX_BYTES = 1024 * 1024


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
