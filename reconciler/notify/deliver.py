"""Send a run's events to the subscribed targets: ``apply --notify`` and ``drift --notify``.

Called by ``cli/plan.py`` after the run's report (so it never delays or
changes a write): events (:mod:`reconciler.notify.events`) -> what to send
(:mod:`reconciler.notify.dedupe`) -> posts (:mod:`reconciler.notify.sender`)
-> the state remembers what was delivered. Every problem is a line in the
returned :class:`Delivery`, never an exception: notifications never fail a run.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler import governance
from reconciler.notify import dedupe, events, sender
from reconciler.notify.events import Event
from reconciler.planning.plan import ApplyResult, Plan
from reconciler.repository import gitinfo


@dataclass
class Delivery:
    sent: int = 0
    duplicates: int = 0
    rate_limited: int = 0
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        failed = f", {len(self.failed)} failed ({'; '.join(self.failed)})" if self.failed else ""
        limited = f", {self.rate_limited} held by the rate limit" if self.rate_limited else ""
        return f"notify: {self.sent} sent, {self.duplicates} already sent for this revision{limited}{failed}"


def notify_apply(root: Path, rules: governance.Notifications | None, result: ApplyResult) -> Delivery:
    """``apply --notify``: ``applied`` / ``apply_failed`` / ``unexpected_result`` per page."""
    return deliver(root, rules, events.from_apply(result, gitinfo.revision(root)))


def notify_drift(root: Path, rules: governance.Notifications | None, plan: Plan) -> Delivery:
    """``drift --notify``: ``drift_detected`` per page that differs."""
    return deliver(root, rules, events.from_drift(plan, gitinfo.revision(root)))


def deliver(root: Path, rules: governance.Notifications | None, happened: list[Event], *,
            environ: Mapping[str, str] = os.environ, now: float | None = None) -> Delivery:
    """Send what is due; ``now`` (unix seconds) for the rate limit, else the clock."""
    out = Delivery()
    if rules is None:
        out.failed.append("no notifications in reconciler.yaml")
        return out
    now = time.time() if now is None else now
    state = dedupe.load(root)
    subscribed = sum(len(rules.targets_for(e.trigger, e.agent, e.env)) for e in happened)
    todo, limited = dedupe.select(happened, rules, state, now)
    out.duplicates, out.rate_limited = subscribed - len(todo) - len(limited), len(limited)
    if todo:
        stamp = _dt.datetime.fromtimestamp(now, _dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        for (target, event), (ok, what) in zip(todo, asyncio.run(_send_all(todo, environ, stamp))):
            if ok:
                out.sent += 1
                dedupe.remember(state, target.name, event, now)
            else:
                out.failed.append(what)
        dedupe.save(root, state)
    return out


async def _send_all(todo: list[tuple[governance.Target, Event]], environ: Mapping[str, str],
                    stamp: str) -> list[tuple[bool, str]]:
    """Each notification in turn, as the daemon sends one (:func:`reconciler.notify.sender.send`)."""
    async with sender.http_client() as client:
        return [await sender.send(client, target, event, environ, sent_at=stamp) for target, event in todo]
