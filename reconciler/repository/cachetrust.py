"""Where the on-disk cache lives, and why its entries may be trusted: private directories, the key, the fingerprint.

Called by :mod:`reconciler.repository.cache` when it opens the cache (and by its
tests). Everything here refuses with :class:`Unusable` (the cache then goes unused,
the run goes on): a ``.reconciler`` or ``.reconciler/cache`` that is a symlink, not a
directory or another user's; a cache directory or file readable by others; a key
that would live inside the repository. The key (32 random bytes, 0600, made with
``O_EXCL``) lives under ``$XDG_CACHE_HOME/rtc-reconciler/`` (else ``~/.cache/…``), and
:func:`fingerprint` digests everything besides a file's bytes that decides a stored
result. Reading and writing entries (SQLite) is left to the cache module.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import secrets
import stat
import sys
from pathlib import Path

import yaml

import reconciler
from reconciler.repository import statedir

#: Bump when what is stored, or how a file's text becomes data, changes in a way the
#: fingerprint's source hashes would not see. 2: values files are no longer kept (format 1 kept them,
#: sensitive values included: its entries are purged when a run opens the cache).
CACHE_FORMAT = 2
#: The cache's place in the repository (``.reconciler/`` is never committed).
CACHE_DIR = (".reconciler", "cache")
_KEY_BYTES = 32
#: Source of the modules whose code decides a stored result (hashed into the fingerprint).
_OUR_MODULES = ("repository/yamlsafe.py", "repository/yamlbuild.py", "repository/yamlscalars.py",
                "repository/safepath.py", "repository/reader.py", "repository/cache.py", "model.py",
                "checks/validation.py", "checks/schemacheck.py", "checks/valuecheck.py", "checks/fastcheck.py",
                "checks/regexguard.py", "checks/regexsyntax.py", "checks/formats.py", "checks/schemarefs.py",
                "checks/masking.py", "checks/fullvalidator.py", "checks/draft7.schema.json", "checks/ecma.py",
                "checks/ecmaworker.py", "checks/anchors.py")
#: Installed packages that decide a stored result: each one's installed file (size, time) joins the fingerprint,
#: so an upgrade or a reinstall is another fingerprint (their versions would cost importlib.metadata's ~0.1 s).
_THEIR_MODULES = ("yaml", "yaml._yaml", "jsonschema", "jsonschema_rs", "regress", "referencing")


class Unusable(Exception):
    """The cache cannot be used here (the reason is logged at debug level; the run goes on uncached)."""


def private_dir(real_root: str) -> str:
    """``<root>/.reconciler/cache``: real directories owned by us, the cache one 0700 (made if missing),
    holding a ``.gitignore`` of ``*`` (as pytest's and ruff's caches do): never committed by ``git add .``."""
    parent = _own_dir(os.path.join(real_root, CACHE_DIR[0]), private=False)
    statedir.write_gitignore(Path(parent))        # .reconciler/ ignores itself, not only its cache/
    directory = _own_dir(os.path.join(parent, CACHE_DIR[1]), private=True)
    try:
        fd = os.open(os.path.join(directory, ".gitignore"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return directory
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(_GITIGNORE)
    return directory


_GITIGNORE = "# rtc-reconciler's cache of parse and validation results: never commit it\n*\n"


def _own_dir(path: str, *, private: bool) -> str:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise Unusable(f"{path} is a symlink or not a directory; refusing it")
    check_owner(path, st, private)
    return path


def check_owner(path: str, st: os.stat_result, private: bool) -> None:
    """Refuse what another user owns, and (``private``) what others may read or write."""
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise Unusable(f"{path} belongs to another user")
    if private and st.st_mode & 0o077:
        raise Unusable(f"{path} is readable or writable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                       "a cache is 0700/0600")


# ---- the key: outside the repository -------------------------------------------------------------

def key_path() -> str:
    """``$XDG_CACHE_HOME/rtc-reconciler/cache.key`` (an absolute XDG_CACHE_HOME), else ``~/.cache/…``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        raise Unusable("no home directory for the cache key")
    return os.path.join(base, "rtc-reconciler", "cache.key")


def load_key(real_root: str) -> bytes:
    """The HMAC key (made on first use: 32 random bytes, 0600, ``O_EXCL``); never inside the repository."""
    path = key_path()
    directory = os.path.dirname(path)
    real = os.path.realpath(directory)
    if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise Unusable("the cache key would live inside the repository; refusing it")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    temp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(_KEY_BYTES))
        try:
            os.link(temp, path)              # appears complete or not at all; a concurrent first run wins
        except FileExistsError:
            pass
    finally:
        os.unlink(temp)
    return _read_key(path)


def _read_key(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unusable(f"{path} is not a regular file")
        check_owner(path, st, private=True)
        key = fh.read(_KEY_BYTES + 1)
    if len(key) != _KEY_BYTES:
        raise Unusable(f"{path} is not a cache key ({len(key)} bytes)")
    return key


# ---- what a result depends on --------------------------------------------------------------------

def fingerprint() -> bytes:
    """A digest of everything besides a file's bytes that decides its parse result."""
    global _FINGERPRINT
    if _FINGERPRINT is None or _FINGERPRINT[0] != reconciler.__version__:
        parts = [f"format {CACHE_FORMAT}", f"reconciler {reconciler.__version__}",
                 f"python {sys.implementation.name} {sys.version}", f"pyyaml {yaml.__version__}",
                 f"libyaml {yaml.__with_libyaml__}"]   # its build: the yaml._yaml file of _THEIR_MODULES
        package = Path(reconciler.__file__).parent
        for name in _OUR_MODULES:
            try:
                parts.append(f"{name} {hashlib.blake2b((package / name).read_bytes()).hexdigest()}")
            except OSError:                  # pragma: no cover - installed without sources: the version decides
                parts.append(f"{name} ?")
        parts.extend(_installed(name) for name in _THEIR_MODULES)
        _FINGERPRINT = (reconciler.__version__, hashlib.blake2b("\n".join(parts).encode(), digest_size=16).digest())
    return _FINGERPRINT[1]


_FINGERPRINT: tuple[str, bytes] | None = None


def _installed(name: str) -> str:
    """The installed file of module ``name`` (found, not imported) with its size and time."""
    try:
        spec = importlib.util.find_spec(name)
        path = spec.origin if spec is not None and spec.origin else "?"
        st = os.stat(path)
    except (ImportError, ValueError, OSError):
        return f"{name} none"
    return f"{name} {path} {st.st_size} {st.st_mtime_ns}"
