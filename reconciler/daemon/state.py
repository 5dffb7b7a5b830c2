"""The daemon's memory that survives restarts: what it last applied, per page, and contested keys.

Read once at start and written (atomically: temporary file, fsync, rename) by
the daemon's loop after passes that changed it, and at shutdown. Per agent x
environment it keeps the hash of the desired content the daemon last applied
(or found already in sync) and the ``lastUpdated`` that write produced. With
them a pass tells "the repository changed this page" (the desired hash moved)
from "someone changed it live" (the desired hash did not move, live differs),
so a restart with ``selfHeal: false`` never silently reverts a UI edit.
It also keeps each page's apply history (:mod:`reconciler.daemon.history`:
key names, never values) and what was notified
(:mod:`reconciler.daemon.notifying`), so neither is lost on a restart.

A missing file is a first start; a corrupt or unreadable one degrades to
"unknown" (an empty record plus a warning), never to a crash. Deciding what to
do with the record is :mod:`reconciler.daemon.decide`'s job.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.notify import dedupe
from reconciler.planning import canonical
from reconciler.repository import statedir

FORMAT_VERSION = 1
#: Reverts of one key that make it contested, and the window they must fall in (seconds).
CONTEST_REVERTS = 3
CONTEST_WINDOW = 600.0

PageKey = tuple[str, str]            # (agent, env)
KeyRef = tuple[str, str, str]        # (agent, env, top-level variable key)


def json_key(value: Any) -> str:
    """Key-order independent JSON text of a value (C speed; the same document always gives the same text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(schema: Any, values: Any, *, schema_text: str | None = None) -> str:
    """Hash of one page's desired content: it moves exactly when the repository's page does.

    Not the planner's canonical form (which also equates 1 and 1.0): a reformatting that only this
    hash sees makes the page count as changed by the repository, and the plan then finds it in sync.
    """
    text = (schema_text if schema_text is not None else json_key(schema)) + "\n" + json_key(values)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def value_hash(value: Any) -> str:
    return hashlib.sha256(canonical.canonical_text(value).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class PageRecord:
    desired_hash: str
    """:func:`content_hash` of the desired page the daemon last applied or found in sync."""
    last_updated: str | None
    """The page's ``lastUpdated`` right after that (what our write produced)."""
    applied_at: str | None = None
    """ISO 8601 time of the daemon's last acknowledged write to the page (None: never wrote it)."""
    revision: Mapping[str, Any] | None = None
    """The revision (``Revision.to_json()``) the page's desired content was last applied or found in sync from."""


@dataclass
class StateRecord:
    pages: dict[PageKey, PageRecord] = field(default_factory=dict)
    reverts: dict[KeyRef, list[float]] = field(default_factory=dict)
    """Wall-clock times of the self-heal reverts of each key within the window."""
    contested: dict[KeyRef, str] = field(default_factory=dict)
    """Contested keys -> :func:`value_hash` of the repository's value when the key became contested."""
    history: dict[PageKey, list[dict[str, Any]]] = field(default_factory=dict)
    """Per page, its last applies (``history.Entry.to_json()``), oldest first."""
    notifications: dedupe.State = field(default_factory=dedupe.State)
    """What was notified at which revision, and the last hour's sends per target (no URL, no value)."""

    def recent_reverts(self, ref: KeyRef, now: float) -> int:
        times = [t for t in self.reverts.get(ref, ()) if now - t <= CONTEST_WINDOW]
        if times:
            self.reverts[ref] = times
        else:
            self.reverts.pop(ref, None)
        return len(times)

    def record_revert(self, ref: KeyRef, now: float) -> None:
        self.reverts.setdefault(ref, []).append(now)

    def forget_agent(self, agent: str) -> None:
        for table in (self.pages, self.reverts, self.contested, self.history):
            for key in [k for k in table if k[0] == agent]:
                del table[key]

    # -- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "pages": {f"{a}/{e}": {"desired_hash": r.desired_hash, "last_updated": r.last_updated,
                                   "applied_at": r.applied_at, "revision": r.revision}
                      for (a, e), r in sorted(self.pages.items())},
            "reverts": {"/".join(k): v for k, v in sorted(self.reverts.items())},
            "contested": {"/".join(k): v for k, v in sorted(self.contested.items())},
            "history": {f"{a}/{e}": entries for (a, e), entries in sorted(self.history.items())},
            "notifications": self.notifications.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "StateRecord":
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unknown format_version {data.get('format_version')!r}")
        pages = {}
        for key, page in data["pages"].items():
            agent, env = key.split("/")
            pages[(agent, env)] = PageRecord(str(page["desired_hash"]), page.get("last_updated"),
                                             page.get("applied_at"), page.get("revision"))
        reverts = {_ref(k): [float(t) for t in v] for k, v in data.get("reverts", {}).items()}
        contested = {_ref(k): str(v) for k, v in data.get("contested", {}).items()}
        history = {_page(k): [dict(e) for e in v] for k, v in data.get("history", {}).items()}
        return cls(pages, reverts, contested, history, dedupe.State.from_json(data.get("notifications") or {}))


def _page(text: str) -> PageKey:
    agent, env = text.split("/")
    return agent, env


def _ref(text: str) -> KeyRef:
    agent, env, key = text.split("/", 2)
    return agent, env, key


def load(path: Path) -> tuple[StateRecord, str | None]:
    """The record at ``path`` and a warning; missing -> empty (first start), corrupt -> empty + warning."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return StateRecord(), None
    except OSError as exc:
        return StateRecord(), f"state record {path} unreadable ({exc.strerror or exc}); every page is 'unknown'"
    try:
        return StateRecord.from_json(json.loads(text)), None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return StateRecord(), (f"state record {path} is corrupt ({type(exc).__name__}); every page is 'unknown' "
                               "until it is next applied or found in sync")


def save(record: StateRecord, path: Path) -> None:
    write(record.to_json(), path)


def write(data: Mapping[str, Any], path: Path) -> None:
    """Write atomically: a reader (or a crash) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    statedir.ignore_if_inside(path)
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
