"""Sync windows and ``suspend`` in the daemon: a held page's writes wait, and a pass runs when the window opens.

Called by :mod:`reconciler.daemon.reconcile` for every decision of a pass
(:func:`hold`), which asks :class:`reconciler.apply.windows.Calendar` (the
same rules as ``apply``, the clock read here). A held page keeps its diff
and shows as ``drift``; its writes are removed and the decision carries the
hold as ``/status`` shows it (``window_hold``: :func:`to_json`).

:class:`Wakeups` (owned by the loop) puts an agent back on the work queue at
the moment its earliest held page may be written (the window closes, or an
allow window opens), so the write does not wait for the next resync. A
suspended page (``until`` unknown) waits for a change of ``reconciler.yaml``
or the resync, like a window that opens beyond the look-ahead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from reconciler import governance
from reconciler.apply import windows
from reconciler.daemon.decide import Decision, PageStatus

#: Seconds after the opening the pass runs: the window's end is exclusive, so a pass at it writes.
MARGIN = 0.05


def hold(decision: Decision, rules: governance.Governance, log: logging.Logger,
         now: _dt.datetime | None = None) -> Decision:
    """``decision``, or (held) the same page without its writes, status ``drift`` and ``hold`` set."""
    if not decision.writes or not (rules.windows or rules.suspend):
        return decision
    env_plan = decision.env_plan
    when = now or _dt.datetime.now(_dt.timezone.utc)
    found = windows.Calendar(rules, when).hold(env_plan.agent, env_plan.env)
    if found is None:
        return decision
    log.info(f"{env_plan.agent}/{env_plan.env.value}: {found.text()}", extra={
        "event": "held", "agent": env_plan.agent, "env": env_plan.env.value,
        "until": windows.iso(found.until) if found.until else None})
    unwritten = dataclasses.replace(env_plan, schema_put=None, variables_patch={}, masked_patch=None)
    return dataclasses.replace(decision, env_plan=unwritten, status=PageStatus.DRIFT, self_heal=False,
                               hold=to_json(found))


def to_json(found: windows.Hold) -> dict[str, Any]:
    """``window_hold`` of a page in ``/status`` (``until`` rounded up to the second, so a pass then writes)."""
    until = found.until
    if until is not None and until.microsecond:
        until = until.replace(microsecond=0) + _dt.timedelta(seconds=1)
    return {"kind": "suspend" if found.suspended else "window", "reason": found.reason,
            "until": windows.iso(until) if until else None, "message": found.text()}


def earliest(decisions: Iterable[Decision]) -> float | None:
    """Unix time at which the first held page of these decisions may be written (None: no such time)."""
    times = [_dt.datetime.fromisoformat(d.hold["until"].replace("Z", "+00:00")).timestamp()
             for d in decisions if d.hold is not None and d.hold.get("until")]
    return min(times) if times else None


class Wakeups:
    """One timer per agent: queue it again when its held pages may be written."""

    def __init__(self, wake: Callable[[str], None]) -> None:
        self._wake = wake
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def schedule(self, agent: str, at: float | None) -> None:
        """Queue ``agent`` at unix time ``at`` (replacing its previous timer); None: cancel it."""
        old = self._timers.pop(agent, None)
        if old is not None:
            old.cancel()
        if at is None:
            return
        delay = max(MARGIN, at - time.time() + MARGIN)
        self._timers[agent] = asyncio.get_running_loop().call_later(delay, self._fire, agent)

    def _fire(self, agent: str) -> None:
        self._timers.pop(agent, None)
        self._wake(agent)

    def cancel(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
