"""The daemon's view of the fleet: one :class:`PageState` per agent x environment, and ``/status``.

Written by :mod:`reconciler.daemon.reconcile` at the end of every pass (and
before writes, as ``applying``); read by the HTTP surface (``/status``, ``/``)
and the metrics collector. The ``/status`` document's shape is
``status.schema.json`` beside this module (``format_version`` 1; additive
changes keep it). Every value in it comes from the plan's diff items and
findings, which are already masked (DESIGN.md §4).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections import Counter
from typing import Any

from reconciler.daemon.decide import PageStatus
from reconciler.daemon.sharding import Shard
from reconciler.model import ClientEnv, Finding

FORMAT_VERSION = 1


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_of(finding: Finding) -> dict[str, Any]:
    error = {"code": finding.code, "message": finding.message, "file": finding.file, "line": finding.line}
    if finding.request_id is not None:
        error["request_id"] = finding.request_id        # a failed API request's correlation id
    return error


@dataclasses.dataclass(frozen=True)
class PageState:
    agent: str
    env: ClientEnv
    sync: str
    self_heal: bool
    status: PageStatus
    drift: tuple[dict[str, Any], ...] = ()
    contested: tuple[str, ...] = ()
    last_applied: str | None = None
    last_attempted: str | None = None
    last_error: dict[str, Any] | None = None
    findings: tuple[dict[str, Any], ...] = ()
    """Every finding of the page, located as ``validate`` reports them."""
    revision: Any = None
    """The revision (JSON) the page was last applied or found in sync from; None when unknown."""
    cause: dict[str, Any] | None = None
    """Drift only: ``{"kind": repository|out_of_band, "revision": id}``."""
    history: tuple[dict[str, Any], ...] = ()
    """The daemon's last applies of the page, oldest first (:mod:`reconciler.daemon.history`)."""
    window_hold: Any = None
    """A sync window or ``suspend`` holds the page's writes: ``{"kind", "reason", "until", "message"}``."""

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "env": self.env.value, "sync": self.sync, "self_heal": self.self_heal,
                "status": self.status.value, "drift": list(self.drift), "contested": list(self.contested),
                "last_applied": self.last_applied, "last_attempted": self.last_attempted,
                "last_error": self.last_error, "findings": list(self.findings), "revision": self.revision,
                "cause": self.cause, "history": list(self.history),
                "window_hold": dict(self.window_hold) if self.window_hold is not None else None}


class Board:
    """Every page's state plus the daemon-wide facts (ready, shard, revision, last full sync)."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.pages: dict[tuple[str, ClientEnv], PageState] = {}
        self.ready = False
        self.revision: str | None = None
        self.last_full_sync: float | None = None
        """Wall-clock seconds of the end of the last full sync."""
        self.writes_held: dict[str, Any] | None = None
        """Why the daemon writes nothing (:mod:`reconciler.daemon.writehold`); None: it may write."""
        self.source: Any = None
        """The source's status (``to_json()``: git clone or folder), set by the loop."""
        self.applying: Any = None
        """The :class:`~reconciler.daemon.revision.Revision` of the snapshot being applied."""
        self.gate: Any = None
        """The :class:`~reconciler.daemon.holds.Gate` (its ``held`` revision, if any)."""

    def put(self, page: PageState) -> None:
        self.pages[(page.agent, page.env)] = page

    def get(self, agent: str, env: ClientEnv) -> PageState | None:
        return self.pages.get((agent, env))

    def forget(self, agent: str) -> None:
        for key in [k for k in self.pages if k[0] == agent]:
            del self.pages[key]

    def summary(self) -> dict[str, int]:
        counts = Counter(p.status.value for p in self.pages.values())
        return {s.value: counts.get(s.value, 0) for s in PageStatus}

    def held_line(self) -> str:
        """One line saying writes are held and why ("" when they are not), for ``/readyz``."""
        held = self.writes_held
        if held is None:
            return ""
        return (f"writes held since {held['since']}: {held['code']} on {held['agent']}/{held['env']}; "
                "they resume after the next repository change or a restart")

    def contested_count(self) -> int:
        return sum(len(p.contested) for p in self.pages.values())

    def document(self) -> dict[str, Any]:
        """The ``/status`` JSON document."""
        last = None
        if self.last_full_sync is not None:
            stamp = _dt.datetime.fromtimestamp(self.last_full_sync, tz=_dt.timezone.utc)
            last = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        order = {env: i for i, env in enumerate(ClientEnv)}
        pages = sorted(self.pages.values(), key=lambda p: (p.agent, order[p.env]))
        return {"format_version": FORMAT_VERSION, "ready": self.ready, "shard": str(self.shard),
                "revision": self.revision, "last_full_sync": last, "summary": self.summary(),
                "writes_held": self.writes_held, "results": [p.to_json() for p in pages],
                "source": self.source.to_json() if self.source is not None else None,
                "applied_revision": self.applying.to_json() if self.applying is not None else None,
                "held": self.gate.held.to_json() if self.gate is not None and self.gate.held else None}
