"""Where ``url: local`` points: the embedded emulator app and its state file.

Called by :meth:`reconciler.api.client.AgentsApi.from_settings`, which wraps the
app in ``httpx.ASGITransport`` (httpx stays in ``client.py``). The emulator is
imported lazily, so a run against the real API never loads FastAPI. What the
emulator does with the file (SQLite, schema, WAL) is the emulator's business.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from reconciler.repository import statedir

#: State of ``url: local``, relative to the config repository (never committed).
LOCAL_STATE = Path(".reconciler") / "local.db"


def local_db_path(root: Path) -> Path:
    return Path(root) / LOCAL_STATE


def local_app(root: Path) -> Any:
    """The emulator's ASGI app over ``<root>/.reconciler/local.db`` (agents created on first use)."""
    from reconciler.emulator import create_app   # deferred: FastAPI + SQLite, only for url: local

    db = local_db_path(root)
    statedir.ensure(root)
    keep_private(db)
    return create_app(db, auto_create=True)


def keep_private(db: Path) -> None:
    """Make the store 0600 before SQLite opens it (its -wal/-shm files take the same mode).

    ``local.db`` is the embedded emulator's *live* store, the stand-in for the remote service: it
    holds what apply sent, sensitive values included (docs/repository.md), so only the user reads it.
    """
    os.close(os.open(db, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600))
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o600)
