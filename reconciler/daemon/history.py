"""The daemon's apply history: per page, its last N writes, kept in the state record and shown in ``/status``.

Called by :mod:`reconciler.daemon.reconcile` after every write of a pass
(:func:`record`) and when a page's state is put on the board (:func:`of_page`).
The entries are the CLI's (:func:`reconciler.apply.history.entries_of`):
the revision applied, the time, ``command: "watch"``, the outcome (``applied``
or ``failed``), whether the schema was PUT, the *names* of the changed
top-level keys (never a value: nothing sensitive can rest in the record or
show in ``/status``) and the correlation id of a failed request. Each page
keeps its last ``history.keep`` entries (default 10), oldest first; the
record survives restarts (:mod:`reconciler.daemon.state`).
"""

from __future__ import annotations

from typing import Any

from reconciler.apply import history
from reconciler.daemon.state import StateRecord
from reconciler.planning.plan import ApplyResult

COMMAND = "watch"


def record(state: StateRecord, result: ApplyResult, *, revision: str | None, keep: int, time: str) -> int:
    """Append one entry per page ``result`` wrote or tried to write; the number of entries made."""
    entries = history.entries_of(result, revision=revision, time=time, command=COMMAND)
    for entry in entries:
        kept = state.history.setdefault((entry.agent, entry.env), [])
        kept.append(entry.to_json())
        del kept[:-keep]
    return len(entries)


def of_page(state: StateRecord, agent: str, env: str) -> tuple[dict[str, Any], ...]:
    """The page's entries, oldest first (as ``/status`` shows them)."""
    return tuple(state.history.get((agent, env), ()))
