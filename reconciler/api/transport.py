"""Where ``url: local`` points: the embedded emulator app and its state file.

Called by :meth:`reconciler.api.client.AgentsApi.from_settings`, which wraps the
app in ``httpx.ASGITransport`` (httpx stays in ``client.py``). The emulator is
imported lazily, so a run against the real API never loads FastAPI. What the
emulator does with the file (SQLite, schema, WAL) is the emulator's business.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.repository import statedir

#: State of ``url: local``, relative to the config repository (never committed).
LOCAL_STATE = Path(".reconciler") / "local.db"


def local_db_path(root: Path) -> Path:
    return Path(root) / LOCAL_STATE


def local_app(root: Path) -> Any:
    """The emulator's ASGI app over ``<root>/.reconciler/local.db`` (agents created on first use)."""
    from reconciler.emulator import create_app

    db = local_db_path(root)
    statedir.ensure(root)
    return create_app(db, auto_create=True)
