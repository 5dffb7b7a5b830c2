"""The emulator's state in SQLite: agents, their three config pages, connectors.

Used only by the emulator's routes and hooks. One connection (WAL mode) guarded
by a lock; every write is one ``BEGIN IMMEDIATE … COMMIT`` transaction that does
its read-merge-write inside, so concurrent PATCHes on one page never lose a
write. ``synchronous=NORMAL`` in WAL mode keeps every committed write across a
process kill (``kill -9``); only an OS crash/power loss could lose the last
commits, which is not what the emulator is for.

The store knows nothing of HTTP: it returns plain dicts shaped like the API's
``ConfigPage`` and ``Connector`` and ``None`` for an unknown agent. Validation
happens in a callback the routes pass in, inside the write transaction, so a
rejected PATCH changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.model import ClientEnv

ENVS: tuple[str, ...] = ClientEnv.names()
CONNECTOR_FIELDS = ("connectorId", "name", "accountId", "projectId", "clientEnv", "variantId",
                    "asrLangCode", "ttsLangCode", "voiceName", "disableHandoff")

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS agents (
    agent_id   TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
    agent_id   TEXT NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
    client_env TEXT NOT NULL,
    schema     TEXT NOT NULL,
    variables  TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (agent_id, client_env)
);
CREATE TABLE IF NOT EXISTS connectors (
    agent_id TEXT NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (agent_id, position)
);
"""


def format_ms(ms: int) -> str:
    """Epoch milliseconds -> ``2026-11-21T05:00:00.123Z``."""
    stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _page(env: str, schema: str, variables: str, updated_ms: int) -> dict[str, Any]:
    return {"clientEnv": env, "variables": json.loads(variables), "schema": json.loads(schema),
            "lastUpdated": format_ms(updated_ms)}


def _connector(body: Mapping[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {name: None for name in CONNECTOR_FIELDS}
    defaults["disableHandoff"] = False
    return {**defaults, **body}


class Store:
    """Thread-safe SQLite store; cheap to share between the event loop's worker threads."""

    def __init__(self, db_path: str | Path) -> None:
        path = str(db_path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA_SQL)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute(f"BEGIN {mode}")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- agents ---------------------------------------------------------------

    def _ensure_agent(self, db: sqlite3.Connection, agent_id: str, create: bool) -> bool:
        if db.execute("SELECT 1 FROM agents WHERE agent_id = ?", (agent_id,)).fetchone():
            return True
        if not create:
            return False
        self._insert_agent(db, agent_id, {}, [])
        return True

    def _insert_agent(self, db: sqlite3.Connection, agent_id: str,
                      pages: Mapping[str, Mapping[str, Any]], connectors: list[Mapping[str, Any]]) -> None:
        created = _now_ms()
        db.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,))
        db.execute("INSERT INTO agents VALUES (?, ?)", (agent_id, created))
        for env in ENVS:
            seed = pages.get(env, {})
            db.execute("INSERT INTO pages VALUES (?, ?, ?, ?, ?)",
                       (agent_id, env, _dump(seed.get("schema", {})), _dump(seed.get("variables", {})), created))
        for position, body in enumerate(connectors):
            db.execute("INSERT INTO connectors VALUES (?, ?, ?)", (agent_id, position, _dump(_connector(body))))

    def seed_agent(self, agent_id: str, pages: Mapping[str, Mapping[str, Any]],
                   connectors: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create (or replace) an agent with given pages and connectors, unchecked."""
        with self._tx() as db:
            self._insert_agent(db, agent_id, pages, connectors)
            return self._pages(db, agent_id)

    def reset(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM agents")

    # -- reads ----------------------------------------------------------------

    def _pages(self, db: sqlite3.Connection, agent_id: str) -> list[dict[str, Any]]:
        rows = db.execute("SELECT client_env, schema, variables, updated_ms FROM pages WHERE agent_id = ?",
                          (agent_id,)).fetchall()
        by_env = {row[0]: _page(*row) for row in rows}
        return [by_env[env] for env in ENVS if env in by_env]

    def pages(self, agent_id: str, *, create: bool = False) -> list[dict[str, Any]] | None:
        """All pages in the order sandbox, pre-release, live; None for an unknown agent."""
        with self._tx("IMMEDIATE" if create else "DEFERRED") as db:
            if not self._ensure_agent(db, agent_id, create):
                return None
            return self._pages(db, agent_id)

    def page(self, agent_id: str, env: str, *, create: bool = False) -> dict[str, Any] | None:
        pages = self.pages(agent_id, create=create)
        if pages is None:
            return None
        return next(p for p in pages if p["clientEnv"] == env)

    def connectors(self, agent_id: str, *, create: bool = False) -> list[dict[str, Any]] | None:
        with self._tx("IMMEDIATE" if create else "DEFERRED") as db:
            if not self._ensure_agent(db, agent_id, create):
                return None
            rows = db.execute("SELECT body FROM connectors WHERE agent_id = ? ORDER BY position",
                              (agent_id,)).fetchall()
            return [json.loads(row[0]) for row in rows]

    # -- writes ---------------------------------------------------------------

    def update_page(self, agent_id: str, env: str, change: Callable[[dict[str, Any]], Mapping[str, Any]],
                    *, create: bool = False) -> dict[str, Any] | None:
        """Apply ``change(current_page) -> {"schema"?, "variables"?}`` in one transaction.

        ``change`` may raise to reject the write (nothing is stored). ``lastUpdated``
        moves to now, or 1 ms past its previous value if the clock has not advanced.
        """
        with self._tx() as db:
            if not self._ensure_agent(db, agent_id, create):
                return None
            row = db.execute("SELECT schema, variables, updated_ms FROM pages WHERE agent_id = ? AND client_env = ?",
                             (agent_id, env)).fetchone()
            current = _page(env, *row)
            new = change(current)
            schema = new.get("schema", current["schema"])
            variables = new.get("variables", current["variables"])
            updated = max(_now_ms(), row[2] + 1)
            db.execute("UPDATE pages SET schema = ?, variables = ?, updated_ms = ? WHERE agent_id = ? AND client_env = ?",
                       (_dump(schema), _dump(variables), updated, agent_id, env))
            return _page(env, _dump(schema), _dump(variables), updated)
