"""An on-disk cache of parse and validation results: ``.reconciler/cache/results.sqlite``, safe in a hostile repository.

Reading a fleet's YAML is most of a run's local phase (libyaml composing, our
node walk building data). A schema file whose exact bytes were parsed by an
earlier run of the same tool needs neither: :class:`ResultCache` keeps, per content
digest, the parsed data with its ``yaml.ambiguous`` notes and big integers as JSON,
and :class:`reconciler.repository.reader.DocumentReader` asks it before parsing (as its
:class:`~reconciler.repository.reader.ParseStore`, handed over by the loader). Only
schema files are kept (never a values file: its data may hold a sensitive value),
and only a successful parse of an alias-free schema none of whose sensitive
properties carries a ``const``/``default``/``enum``/``examples``; every other file
is parsed every time, so findings, lines and messages are exactly those of an
uncached run. :mod:`reconciler.checks.validation` keeps two more kinds: ``valid`` (these
values bytes are valid under these schema bytes: only that verdict, keyed by the
two digests, so invalid values always get the full validator's located, masked
messages) and ``schema`` (a schema file's unplaced problems, except a
clock-measured ``regex_timeout``, and never for a schema with sensitive constants).

Opened and closed by the loader (:func:`reconciler.repository.loader.results_cache`) for
``reconciler validate``, ``plan``, ``apply`` and ``drift`` (``--no-cache`` or
``RECONCILER_NO_CACHE=1`` turn it off); the library and the daemon run uncached unless
asked (:func:`reconciler.checks.validation.validate_repository`'s ``use_cache``). This is
the only module that speaks SQLite; where the cache lives and why it may be trusted
(directories, key, fingerprint) is :mod:`reconciler.repository.cachetrust`.

Trust (the repository may be hostile: a pull request from a fork, run by CI):

- Every entry is authenticated: HMAC-SHA256 over (fingerprint, kind, digest,
  payload) with a random key kept OUTSIDE the repository
  (``$XDG_CACHE_HOME/rtc-reconciler/cache.key``, else ``~/.cache/…``; created
  0600 with ``O_EXCL``). A committed or planted entry fails the check and is a miss:
  it can never change what the tool believes a file holds, nor skip a check.
- Entries are keyed by a 256-bit BLAKE2b digest of the file's bytes and by a
  fingerprint of everything that changes a result (:data:`CACHE_FORMAT`, the
  tool's version, the source of the modules that parse, Python, PyYAML and
  libyaml); entries of another fingerprint are never read.
- No pickle, no marshal: payloads are JSON.
- No sensitive value is ever stored: a value (or a schema constant) of a property
  marked ``x-sensitive: true`` or ``writeOnly: true`` never rests on disk (values
  files are not kept at all, see above). Deleted entries are overwritten with zeros
  (``secure_delete``) and the write-ahead log is truncated after a purge, so what
  an older version stored does not linger in free pages either. Entries of another
  fingerprint (an older format may have kept values files) are deleted as soon as a
  run opens the cache, even a run that writes nothing; a full run (no ``--agent``
  or ``--env``) also deletes the parse entries of files it no longer read.
- ``.reconciler`` and ``.reconciler/cache`` must be real directories (never a
  symlink) owned by the current user, the cache directory 0700; the database and
  its ``-wal``/``-shm``/``-journal`` files regular files owned by the user, 0600
  (a git checkout makes 0644 files: a committed cache is refused before SQLite
  reads a byte). The database may only hold our one table (no trigger, no
  view), and is opened with ``trusted_schema=OFF``.
- Bounded: an entry over :data:`MAX_ENTRY_BYTES` is not kept; past
  :data:`MAX_TOTAL_BYTES` the oldest entries are deleted.

Whatever goes wrong (read-only checkout, no home directory, disk full, a locked
or corrupt database), the run goes on uncached with identical results: one
``debug`` log line on the ``reconciler.cache`` logger, never an error.
Concurrent runs share the database (WAL, a busy timeout; new entries are
written in one transaction when the run's loading is done).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.checks import masking
from reconciler.model import SourceMap, YamlNote
from reconciler.repository import cachetrust

DB_NAME = "results.sqlite"
#: ``RECONCILER_NO_CACHE=1``: never read or write the cache.
NO_CACHE_ENV = "RECONCILER_NO_CACHE"
#: Largest payload kept (bytes of JSON); bigger documents are parsed every time.
MAX_ENTRY_BYTES = 256 * 1024
#: Bytes of payload kept in all; past this the oldest entries go first.
MAX_TOTAL_BYTES = 64 * 1024 * 1024
#: New entries are written once this many bytes of them wait (and at the end of the run).
FLUSH_BYTES = 4 * 1024 * 1024
#: A database file larger than this is not ours (pruning keeps it far below): refused unread.
MAX_FILE_BYTES = 4 * MAX_TOTAL_BYTES
#: How long a run waits for another run's write lock before it gives up writing.
BUSY_TIMEOUT_S = 2.0
#: The one table. A database holding anything else is refused, so a new layout needs a new DB_NAME.
_SCHEMA = ("CREATE TABLE entries (fp BLOB NOT NULL, kind TEXT NOT NULL, digest BLOB NOT NULL, "
           "payload BLOB NOT NULL, mac BLOB NOT NULL, created INTEGER NOT NULL, "
           "PRIMARY KEY (fp, kind, digest)) WITHOUT ROWID")
_PARSE = "parse"

log = logging.getLogger("reconciler.cache")


def disabled_by_env() -> bool:
    """True when ``RECONCILER_NO_CACHE`` is set to anything but empty, ``0``, ``false`` or ``no``."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def storable_schema(data: Any) -> bool:
    """True when the parse of a schema file may be kept: no sensitive ``const``/``default``/``enum``/``examples``
    in it (a schema is otherwise no secret; a values file never is storable)."""
    return isinstance(data, Mapping) and not masking.sensitive_values({}, data)


def open_cache(root: Path) -> ResultCache | None:
    """The cache of the repository at ``root``, or None (disabled, or unusable here: logged at debug)."""
    if disabled_by_env():
        return None
    try:
        real_root = os.path.realpath(root)
        key = cachetrust.load_key(real_root)
        directory = cachetrust.private_dir(real_root)
        db = _connect(directory)
        try:
            return ResultCache(db, key, cachetrust.fingerprint())
        except BaseException:
            db.close()
            raise
    except Exception as exc:      # cachetrust.Unusable, OSError, sqlite3.Error, ...: whatever it is, the run goes on uncached
        log.debug("on-disk cache not used: %s: %s", type(exc).__name__, exc)
        return None


class ResultCache:
    """Parse results by content digest, authenticated; new entries written by :meth:`close`."""

    def __init__(self, db: sqlite3.Connection, key: bytes, fp: bytes) -> None:
        self._db: sqlite3.Connection | None = db
        self._key, self._fp = key, fp
        self._pending: list[tuple[bytes, str, bytes, bytes, bytes, int]] = []
        self._pending_bytes = self.written = 0
        self._writable = True
        self.hits = self.misses = 0
        self._asked: set[bytes] = set()      # digests of the parse entries this run asked for or kept
        self._read_all = False
        _purge_other_fingerprints(db, fp)
        # A new cache (or one of another version) has nothing to read: a cold run asks nothing of it.
        self._empty = db.execute("SELECT 1 FROM entries WHERE fp = ? LIMIT 1", (fp,)).fetchone() is None

    # ---- parse results ----

    def parsed(self, content: bytes, file: str) -> tuple[Any, SourceMap] | None:
        """Data and map (notes, big integers; lines built on demand) of ``file``, whose bytes have digest ``content``."""
        self._asked.add(content)
        doc = self.get(_PARSE, content)
        if doc is None:
            return None
        try:
            notes = tuple(YamlNote(int(n[0]), tuple(n[1]), str(n[2]), str(n[3]), bool(n[4])) for n in doc["notes"])
            smap = SourceMap(file, notes=notes, big_ints=tuple(tuple(p) for p in doc["big_ints"]), digest=content)
            return doc["data"], smap
        except (ValueError, TypeError, KeyError, IndexError):     # pragma: no cover - authenticated: ours
            return None

    def remember_parsed(self, content: bytes, data: Any, smap: SourceMap) -> None:
        """Keep a successful parse (written at :meth:`close`); too big or not JSON: not kept.

        Only for data that holds no sensitive value (a schema, see :func:`storable_schema`): the caller decides."""
        self._asked.add(content)
        if smap.big_ints is None:             # pragma: no cover - yamlsafe always records them
            return
        self.put(_PARSE, content, {"data": data, "big_ints": [list(p) for p in smap.big_ints],
                                   "notes": [[n.line, list(n.path), n.text, n.message, n.key] for n in smap.notes]})

    @property
    def asked(self) -> frozenset[bytes]:
        """Digests of the parse entries this run asked for or kept so far."""
        return frozenset(self._asked)

    def also_asked(self, digests: Iterable[bytes]) -> None:
        """Count parse entries another process of this run asked for (:meth:`asked` there) as asked here."""
        self._asked.update(digests)

    def read_everything(self) -> None:
        """This run read every file of the repository (no ``--agent``/``--env``): at :meth:`close`, parse
        entries it did not ask for (files deleted or edited since) are deleted."""
        self._read_all = True

    # ---- validation results (kept as JSON by reconciler.checks.validation) ----

    def get(self, kind: str, content: bytes) -> Any:
        """The JSON value stored under ``kind`` and ``content`` (a digest), or None."""
        payload = self._get(kind, content)
        if payload is None:
            return None
        try:
            value = json.loads(payload)
        except ValueError:                    # pragma: no cover - authenticated: ours
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, kind: str, content: bytes, value: Any) -> None:
        """Keep the JSON ``value`` under ``kind`` and ``content`` (written at :meth:`close`)."""
        try:
            payload = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError):       # pragma: no cover - callers store JSON data
            return
        self._put(kind, content, payload)

    # ---- storage ----

    def _mac(self, kind: str, content: bytes, payload: bytes) -> bytes:
        return hmac.digest(self._key, b"\0".join((self._fp, kind.encode(), content, payload)), "sha256")

    def _get(self, kind: str, content: bytes) -> bytes | None:
        if self._db is None or self._empty:
            self.misses += 1
            return None
        try:
            row = self._db.execute("SELECT payload, mac FROM entries WHERE fp = ? AND kind = ? AND digest = ?",
                                   (self._fp, kind, content)).fetchone()
        except sqlite3.Error as exc:
            self._give_up("reading", exc)
            return None
        if row is None:
            self.misses += 1
            return None
        payload, mac = row
        if not (isinstance(payload, bytes) and isinstance(mac, bytes)
                and hmac.compare_digest(mac, self._mac(kind, content, payload))):
            log.debug("cache entry %s failed authentication: ignored", content.hex()[:16])
            self.misses += 1
            return None
        return payload

    def _put(self, kind: str, content: bytes, payload: bytes) -> None:
        if self._db is None or not self._writable or len(payload) > MAX_ENTRY_BYTES:
            return
        self._pending.append((self._fp, kind, content, payload, self._mac(kind, content, payload), int(time.time())))
        self._pending_bytes += len(payload)
        if self._pending_bytes > FLUSH_BYTES:      # a cold run of a large fleet: bounded memory
            self._flush(self._db, tidy=False)

    def _flush(self, db: sqlite3.Connection, *, tidy: bool) -> None:
        rows, self._pending, self._pending_bytes = self._pending, [], 0
        stale = self._stale(db) if tidy else []
        if not self._writable or not (rows or stale or (tidy and self.written)):
            return
        try:
            _write(db, self._fp, rows, tidy=tidy, stale=stale)
            self.written += len(rows)
        except sqlite3.Error as exc:          # locked by another run past the timeout, disk full, ...
            log.debug("on-disk cache not written: %s", exc)
            self._writable = False

    def _stale(self, db: sqlite3.Connection) -> list[bytes]:
        """Digests of our parse entries a full run did not ask for: their files are gone (or were edited)."""
        if not self._read_all or not self._writable:
            return []
        try:
            stored = db.execute("SELECT digest FROM entries WHERE fp = ? AND kind = ?", (self._fp, _PARSE)).fetchall()
        except sqlite3.Error as exc:
            log.debug("on-disk cache not pruned: %s", exc)
            return []
        return [d for (d,) in stored if d not in self._asked]

    def close(self) -> None:
        """Write the new entries (then drop other fingerprints' and prune, in the same transaction) and close."""
        db, self._db = self._db, None
        if db is None:
            return
        try:
            self._flush(db, tidy=True)
        finally:
            try:
                db.close()
            except sqlite3.Error:             # pragma: no cover - nothing left to lose
                pass
        log.debug("on-disk cache: %d hits, %d misses, %d entries written", self.hits, self.misses, self.written)

    def _give_up(self, doing: str, exc: Exception) -> None:
        log.debug("on-disk cache dropped while %s: %s", doing, exc)
        db, self._db = self._db, None
        self._pending = []
        if db is not None:
            db.close()


def _write(db: sqlite3.Connection, fp: bytes, rows: list[tuple[bytes, str, bytes, bytes, bytes, int]], *,
           tidy: bool, stale: Sequence[bytes] = ()) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.executemany("DELETE FROM entries WHERE fp = ? AND kind = ? AND digest = ?",
                       [(fp, _PARSE, d) for d in stale])
        if tidy:
            db.execute("DELETE FROM entries WHERE fp != ?", (fp,))    # another version's: never read again
            _prune(db)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _purge_other_fingerprints(db: sqlite3.Connection, fp: bytes) -> None:
    """Delete every entry of another fingerprint now (an older version's may hold what this one never keeps),
    then truncate the write-ahead log so no copy of them lingers there. Locked or read-only: left for the next run."""
    try:
        other = (db.execute("SELECT 1 FROM entries WHERE fp < ? LIMIT 1", (fp,)).fetchone()     # primary key ranges:
                 or db.execute("SELECT 1 FROM entries WHERE fp > ? LIMIT 1", (fp,)).fetchone())  # no table scan
        if not other:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM entries WHERE fp != ?", (fp,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        log.debug("another version's cache entries not deleted yet: %s", exc)


def _prune(db: sqlite3.Connection) -> None:
    """Past MAX_TOTAL_BYTES of payload, delete the oldest entries down to three quarters of it."""
    total = db.execute("SELECT COALESCE(SUM(length(payload)), 0) FROM entries").fetchone()[0]
    if total <= MAX_TOTAL_BYTES:
        return
    doomed = []
    for fp, kind, content, size in db.execute(
            "SELECT fp, kind, digest, length(payload) FROM entries ORDER BY created, digest").fetchall():
        if total <= MAX_TOTAL_BYTES * 3 // 4:
            break
        doomed.append((fp, kind, content))
        total -= size
    db.executemany("DELETE FROM entries WHERE fp = ? AND kind = ? AND digest = ?", doomed)


def _connect(directory: str) -> sqlite3.Connection:
    path = os.path.join(directory, DB_NAME)
    try:                                     # ours from the start: 0600 (SQLite gives -wal/-shm the same mode)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
    except FileExistsError:
        pass
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            st = os.lstat(name)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):
            raise cachetrust.Unusable(f"{name} is a symlink or not a regular file; refusing it")
        cachetrust.check_owner(name, st, private=True)
        if st.st_size > MAX_FILE_BYTES:
            raise cachetrust.Unusable(f"{name} is larger than a cache ever grows; refusing it")
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA trusted_schema = OFF")
        db.execute("PRAGMA secure_delete = ON")     # a deleted entry's bytes are overwritten, not left in free pages
        db.execute("PRAGMA cell_size_check = ON")
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_ENTRY_BYTES + 4096)
        if not db.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchone():
            db.execute(_SCHEMA.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
        tables = db.execute("SELECT type, name, sql FROM sqlite_schema").fetchall()
        if tables != [("table", "entries", _SCHEMA)]:
            raise cachetrust.Unusable("the cache database holds something we did not write; refusing it")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    except BaseException as exc:
        db.close()
        if isinstance(exc, sqlite3.DatabaseError) and getattr(exc, "sqlite_errorcode", None) in _CORRUPT:
            _remove(path)                   # ours (checked above) and unreadable: the next run starts afresh
        raise
    return db


_CORRUPT = (11, 26)            # SQLITE_CORRUPT, SQLITE_NOTADB


def _remove(path: str) -> None:
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            os.unlink(name)
        except OSError:
            pass
