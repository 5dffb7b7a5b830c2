"""What happened, as notification events. Pure: no I/O, no clock.

Called by :mod:`reconciler.notify.deliver` with an apply result or a drift
plan. An event names a page, a trigger and the run's git revision, and
carries only what is already safe to show: finding codes and messages (masked
by whoever made them), key names, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model import Finding
from reconciler.planning.plan import ApplyResult, Outcome, OutcomeState, Plan

UNEXPECTED = "apply.unexpected_result"


@dataclass(frozen=True)
class Event:
    trigger: str
    agent: str
    env: str
    revision: str | None
    summary: str
    codes: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    """Top-level key names concerned (patched, drifted): names only."""


def from_apply(result: ApplyResult, revision: str | None) -> list[Event]:
    """``applied`` / ``apply_failed`` / ``unexpected_result`` per page of an apply."""
    out = []
    planned = {(r.agent, r.env): r for r in result.plan.results}
    for o in result.outcomes:
        if o.state is OutcomeState.APPLIED:
            out.append(Event("applied", o.agent, o.env.value, revision,
                             f"{o.agent}/{o.env.value}: applied" + _keys(o.patched_keys, o.schema_put),
                             keys=tuple(o.patched_keys)))
        elif o.state in (OutcomeState.FAILED, OutcomeState.BLOCKED):
            page = planned.get((o.agent, o.env))
            out.append(_failure(o, page.errors if page is not None else (), revision))
    return out


def _failure(o: Outcome, plan_errors: tuple[Finding, ...], revision: str | None) -> Event:
    """A failed write, or a page the plan's errors blocked (their codes say why; messages are masked)."""
    found = tuple(plan_errors) + tuple(o.errors)
    codes = tuple(dict.fromkeys(f.code for f in found))
    trigger = "unexpected_result" if UNEXPECTED in codes else "apply_failed"
    first = found[0].message if found else o.state.value
    return Event(trigger, o.agent, o.env.value, revision,
                 f"{o.agent}/{o.env.value}: apply {o.state.value}: {first}"[:500], codes=codes)


def from_drift(plan: Plan, revision: str | None) -> list[Event]:
    """``drift_detected`` per page of a drift report that differs."""
    out = []
    for r in plan.results:
        if r.differs:
            keys = tuple(dict.fromkeys([d.path.split(".")[0].split("[")[0] for d in r.variables_diff] +
                                       list(r.orphans)))
            cause = f" ({r.cause.value})" if r.cause else ""
            out.append(Event("drift_detected", r.agent, r.env.value, revision,
                             f"{r.agent}/{r.env.value}: live differs from the repository{cause}"
                             + (f"; keys: {', '.join(keys)}" if keys else "")
                             + ("; schema differs" if r.schema_diff else ""), keys=keys))
    return out


def _keys(keys: tuple[str, ...], schema_put: bool) -> str:
    parts = (["schema PUT"] if schema_put else []) + ([f"keys {', '.join(keys)}"] if keys else [])
    return f" ({'; '.join(parts)})" if parts else ""
