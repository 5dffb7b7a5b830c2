"""Notifications from the daemon: what a pass found and did, sent without ever holding up a pass.

The same package as the CLI's ``--notify`` (:mod:`reconciler.notify`): the
events (:mod:`~reconciler.notify.events`), the de-duplication and rate limit
(:mod:`~reconciler.notify.dedupe`: once per target, trigger, page and git
revision) and the request (:func:`reconciler.notify.sender.send`). What is
different here is only *when*:

- :meth:`Notifier.after_pass` is called by :mod:`reconciler.daemon.reconcile`
  at the end of every pass (:func:`pass_events`: ``applied``, ``apply_failed``,
  ``unexpected_result``, ``drift_detected``, ``contested_key``) and
  :meth:`Notifier.revision_held` by the blast-radius gate
  (:mod:`reconciler.daemon.holds`). Both only decide and queue: each send runs
  in a task of its own, so a slow or failing target never delays a pass.
- An event being sent (or waiting for a retry) counts as sent for the
  de-duplication, so the passes that find the same failure meanwhile do not
  send it again. A failed send (after :data:`reconciler.notify.sender.BACKOFFS`)
  is logged by target name (never its URL) and retried after
  :data:`ROUND_BACKOFFS`; after the last one it is dropped unremembered, so a
  later pass that finds it again starts over.
- What was sent lives in the daemon's state record (``notifications``: keys,
  revisions, send times; no URL, no secret, no value), so a restart does not
  notify again for the same revision.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter

from reconciler import governance
from reconciler.daemon.decide import Decision, PageStatus
from reconciler.daemon.state import StateRecord
from reconciler.model import ClientEnv
from reconciler.notify import dedupe, events, sender
from reconciler.notify.events import Event
from reconciler.planning.plan import Outcome

#: Seconds before each new round of attempts at a failed notification (each round is up to 3 attempts).
ROUND_BACKOFFS = (5.0, 15.0, 60.0, 300.0)
#: Notifications being sent at once.
CONCURRENT_SENDS = 4


def pass_events(decisions: Sequence[Decision], outcomes: Mapping[ClientEnv, Outcome],
                revision: str | None) -> list[Event]:
    """What one pass of one agent has to tell, per page. Pure."""
    out: list[Event] = []
    for d in decisions:
        page, outcome = d.env_plan, outcomes.get(d.env_plan.env)
        written = events.of_outcome(outcome, page.errors, revision) if outcome is not None else None
        if written is not None:                                   # applied, apply_failed, unexpected_result
            out.append(written)
        elif d.status is PageStatus.ERROR and page.errors:        # the plan's errors blocked the page
            out.append(events.blocked(page, revision))
        elif d.status is PageStatus.DRIFT and page.differs:       # manual sync, selfHeal off, a window, contested
            out.append(events.drifted(page, revision))
        if d.newly_contested:
            out.append(events.contested(page.agent, page.env.value, d.newly_contested, revision))
    return out


class Notifier:
    """The daemon's notifications: decide at once, send in tasks, remember in the state record."""

    def __init__(self, record: StateRecord, registry: CollectorRegistry, log: logging.Logger,
                 record_changed: Callable[[], None], environ: Mapping[str, str] = os.environ) -> None:
        self.record, self.log, self.record_changed, self.environ = record, log, record_changed, environ
        self.results = Counter("reconciler_notifications", "Notifications by trigger and result "
                               "(sent, failed: one round of attempts, rate_limited)", ["trigger", "result"],
                               registry=registry)
        self._inflight: dict[str, tuple[str, str]] = {}
        """dedupe key -> (target name, revision) of the notifications being sent or waiting to retry."""
        self._limited: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None

    # -- what to send ------------------------------------------------------------------------

    def after_pass(self, snap: Any, decisions: Sequence[Decision], outcomes: Mapping[ClientEnv, Outcome]) -> None:
        rules = snap.settings.governance.notifications
        if rules is not None:
            self.emit(rules, pass_events(decisions, outcomes, _revision(snap)))

    def revision_held(self, hold: Any, snap: Any) -> None:
        """The blast-radius gate held ``hold.revision`` (once per revision)."""
        rules = snap.settings.governance.notifications
        if rules is not None:
            self.emit(rules, [events.revision_held(hold.revision.id, hold.pages, hold.reason)])

    def emit(self, rules: governance.Notifications, happened: list[Event]) -> None:
        """Queue what is due (not sent at its revision, not in flight, within the rate limit)."""
        if not happened:
            return
        now = time.time()
        todo, limited = dedupe.select(happened, rules, self._view(now), now)
        for target, event in limited:
            key = dedupe.key(target.name, event)
            if key not in self._limited:
                self._limited.add(key)
                self.results.labels(trigger=event.trigger, result="rate_limited").inc()
                self.log.warning(f"notification {event.trigger} of {event.agent}/{event.env} to {target.name} "
                                 f"held by the rate limit ({rules.rate_limit} per hour); a later pass sends it",
                                 extra=self._extra("notify_rate_limited", target, event))
        for target, event in todo:
            key = dedupe.key(target.name, event)
            self._limited.discard(key)
            self._inflight[key] = (target.name, event.revision or "-")
            task = asyncio.get_running_loop().create_task(self._deliver(target, event, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _view(self, now: float) -> dedupe.State:
        """The state as :func:`dedupe.select` must see it: what is in flight counts as sent."""
        state = self.record.notifications
        sent = {**state.sent, **{key: revision for key, (_, revision) in self._inflight.items()}}
        recent = {target: list(times) for target, times in state.recent.items()}
        for target, _ in self._inflight.values():
            recent.setdefault(target, []).append(now)
        return dedupe.State(sent, recent)

    # -- sending -------------------------------------------------------------------------------

    async def _deliver(self, target: governance.Target, event: Event, key: str) -> None:
        try:
            for pause in (*ROUND_BACKOFFS, None):
                if self._slots is None:
                    self._slots = asyncio.Semaphore(CONCURRENT_SENDS)
                async with self._slots:
                    ok, what = await sender.send(self._http(), target, event, self.environ, sent_at=_stamp())
                if ok:
                    dedupe.remember(self.record.notifications, target.name, event, time.time())
                    self.record_changed()
                    self.results.labels(trigger=event.trigger, result="sent").inc()
                    self.log.info(f"notified {target.name}: {event.trigger} of {event.agent}/{event.env}",
                                  extra=self._extra("notified", target, event))
                    return
                self.results.labels(trigger=event.trigger, result="failed").inc()
                later = f"retrying in {pause:g}s" if pause is not None else "giving up until a later pass finds it"
                self.log.warning(f"notification {event.trigger} of {event.agent}/{event.env} failed: {what}; {later}",
                                 extra=self._extra("notify_failed", target, event))
                if pause is None:
                    return
                await asyncio.sleep(pause)
        finally:
            if self._inflight.get(key) == (target.name, event.revision or "-"):
                del self._inflight[key]

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = sender.http_client()
        return self._client

    async def aclose(self) -> None:
        """Stop sending (what is unsent is not remembered: the next start sends it) and close the client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    @staticmethod
    def _extra(name: str, target: governance.Target, event: Event) -> dict[str, Any]:
        return {"event": name, "target": target.name, "trigger": event.trigger, "agent": event.agent,
                "env": event.env, "revision": event.revision}


def _revision(snap: Any) -> str | None:
    return snap.source_revision.id if snap.source_revision is not None else snap.revision


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
