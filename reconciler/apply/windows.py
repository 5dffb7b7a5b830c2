"""Sync windows and suspend: may this page be written at time T, and if not, until when? Pure.

Asked by :mod:`reconciler.engine` (``apply`` refuses a held page's writes;
``plan``/``drift`` say when it opens) and by the daemon's passes. The clock is
always passed in (an aware ``datetime``), never read here.

Rules (``windows`` and ``suspend`` in ``reconciler.yaml``, see
:mod:`reconciler.governance`), for one page (agent x environment):

- ``suspend`` covering the page: never written (not overridable); drift is still reported;
- a ``deny`` window that is open now holds the page until every open deny window
  has closed (and, if the page has allow windows, one of them is open);
- if allow windows cover the page, it is written only while one of them is open;
- ``manualSync: true`` on the windows holding a page lets a CLI ``apply
  --ignore-windows`` write it anyway (the report says so).

A window is open from each start its cron expression gives (wall-clock time in
its ``timeZone``) for its ``duration``. Starts are listed from the longest
duration before now to :data:`HORIZON` after it; a page that does not open
within the horizon is held "until further notice".
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler import errors, governance
from reconciler.apply import cron
from reconciler.model import ClientEnv, Finding, Severity
from reconciler.planning.plan import Plan

#: How far ahead the next opening is looked for.
HORIZON = _dt.timedelta(days=35)
_UTC = _dt.timezone.utc


@dataclass(frozen=True)
class Interval:
    """One opening of one window, in UTC: ``start <= t < end``."""

    start: _dt.datetime
    end: _dt.datetime
    window: governance.WindowRule

    def contains(self, when: _dt.datetime) -> bool:
        return self.start <= when < self.end


@dataclass(frozen=True)
class Hold:
    """Why a page may not be written now, and until when."""

    reason: str
    """E.g. ``deny window "0 9 * * mon-fri" for 8h (Europe/London)`` or ``suspended``."""
    until: _dt.datetime | None
    """When writes may resume (UTC); None: not within the horizon, or suspended."""
    overridable: bool
    """``apply --ignore-windows`` may write it (``manualSync: true`` on the windows holding it)."""
    suspended: bool = False

    def text(self) -> str:
        if self.suspended:
            return "suspended (suspend in reconciler.yaml): nothing is written; drift is still reported"
        return f"held by {self.reason} until {iso(self.until) if self.until else 'further notice'}"


def iso(when: _dt.datetime) -> str:
    return when.astimezone(_UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Calendar:
    """The windows' openings around ``now``, computed once; :meth:`hold` answers per page."""

    def __init__(self, rules: governance.Governance, now: _dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.rules, self.now = rules, now.astimezone(_UTC)
        self._intervals = {w: tuple(_openings(w, self.now)) for w in rules.windows}

    def hold(self, agent: str, env: ClientEnv | str) -> Hold | None:
        """None when the page may be written now, else why not and until when."""
        if any(scope.matches(agent, env) for scope in self.rules.suspend):
            return Hold("suspend", None, overridable=False, suspended=True)
        windows = [w for w in self.rules.windows if w.scope.matches(agent, env)]
        if not windows:
            return None
        intervals = [i for w in windows for i in self._intervals[w]]
        if _free(intervals, windows, self.now):
            return None
        denying = [i.window for i in intervals if i.window.kind == "deny" and i.contains(self.now)]
        allows = [w for w in windows if w.kind == "allow"]
        if denying:
            reason = "; ".join(dict.fromkeys(f"deny window {w.describe()}" for w in denying))
            overridable = all(w.manual_sync for w in denying)
        else:
            reason = "allow windows (outside every one of them)"
            overridable = any(w.manual_sync for w in allows)
        return Hold(reason, _next_free(intervals, windows, self.now), overridable)


def _openings(window: governance.WindowRule, now: _dt.datetime) -> Iterable[Interval]:
    tz = cron.zone(window.time_zone)
    length = _dt.timedelta(seconds=window.duration)
    schedule = cron.parse(window.schedule)
    first, last = now - length - _dt.timedelta(days=1), now + HORIZON + _dt.timedelta(days=1)
    for wall in schedule.times_between(first.astimezone(tz).date(), last.astimezone(tz).date()):
        start = wall.replace(tzinfo=tz).astimezone(_UTC)
        if start + length > now - _dt.timedelta(days=1) and start <= now + HORIZON:
            yield Interval(start, start + length, window)


def _free(intervals: list[Interval], windows: list[governance.WindowRule], when: _dt.datetime) -> bool:
    if any(i.window.kind == "deny" and i.contains(when) for i in intervals):
        return False
    if any(w.kind == "allow" for w in windows):
        return any(i.window.kind == "allow" and i.contains(when) for i in intervals)
    return True


def _next_free(intervals: list[Interval], windows: list[governance.WindowRule],
               now: _dt.datetime) -> _dt.datetime | None:
    candidates = sorted({i.end for i in intervals if i.window.kind == "deny" and i.end > now} |
                        {i.start for i in intervals if i.window.kind == "allow" and i.start > now})
    return next((c for c in candidates if _free(intervals, windows, c)), None)


# --- what the commands do with it --------------------------------------------------------------


def annotate(plan: Plan, rules: governance.Governance, now: _dt.datetime) -> Plan:
    """``plan``/``drift``: a ``window.held`` / ``window.suspended`` warning on every page that differs and is held."""
    if not (rules.windows or rules.suspend):
        return plan
    calendar = Calendar(rules, now)
    results = []
    for r in plan.results:
        hold = calendar.hold(r.agent, r.env) if (r.differs or r.has_writes) else None
        if hold is not None:
            code = "window.suspended" if hold.suspended else "window.held"
            r = dataclasses.replace(r, warnings=r.warnings + (
                Finding(Severity.WARNING, code, hold.text(), agent=r.agent, env=r.env.value),))
        results.append(r)
    return dataclasses.replace(plan, results=tuple(results))


class HeldError(errors.ReconcilerError):
    """``apply`` would write a page a window or ``suspend`` holds: refused before any write."""


def gate(plan: Plan, rules: governance.Governance, now: _dt.datetime, *, ignore_windows: bool) -> Plan:
    """``apply``: the plan unchanged (plus a ``window.overridden`` line per page written anyway), or
    :class:`HeldError` when a page it would write is held and may not be overridden."""
    if not (rules.windows or rules.suspend):
        return plan
    calendar = Calendar(rules, now)
    held = [(r, h) for r in plan.results if r.status.needs_apply and r.has_writes
            for h in (calendar.hold(r.agent, r.env),) if h is not None]
    refused = [(r, h) for r, h in held if not (ignore_windows and h.overridable)]
    if refused:
        pages = "; ".join(f"{r.agent}/{r.env.value} {h.text()}" for r, h in refused)
        hint = (" (--ignore-windows writes through windows with manualSync: true, never through suspend)"
                if any(not h.suspended for _, h in refused) else "")
        raise HeldError(f"apply refused, nothing written: {pages}{hint}")
    overridden = tuple(Finding(Severity.WARNING, "window.overridden",
                               f"{r.agent}/{r.env.value}: {h.text()}; written anyway (--ignore-windows, "
                               "manualSync: true)") for r, h in held)
    return dataclasses.replace(plan, findings=plan.findings + overridden)
