"""What happened, as notification events. Pure: no I/O, no clock.

Called by :mod:`reconciler.notify.deliver` with an apply result or a drift
plan, and by the daemon (:mod:`reconciler.daemon.notifying`) per page of a
pass. An event names a page, a trigger and the git revision, and carries
only what is already safe to show: finding codes and messages (masked by
whoever made them), key names, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model import Finding
from reconciler.planning.plan import ApplyResult, EnvPlan, Outcome, OutcomeState, Plan

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
    planned = {(r.agent, r.env): r for r in result.plan.results}
    out = []
    for o in result.outcomes:
        page = planned.get((o.agent, o.env))
        event = of_outcome(o, page.errors if page is not None else (), revision)
        if event is not None:
            out.append(event)
    return out


def of_outcome(o: Outcome, plan_errors: tuple[Finding, ...], revision: str | None) -> Event | None:
    """The event of one page's apply outcome (None: nothing happened worth telling)."""
    if o.state is OutcomeState.APPLIED:
        return Event("applied", o.agent, o.env.value, revision,
                     f"{o.agent}/{o.env.value}: applied" + _keys(o.patched_keys, o.schema_put),
                     keys=tuple(o.patched_keys))
    if o.state in (OutcomeState.FAILED, OutcomeState.BLOCKED):
        return _failure(o, plan_errors, revision)
    return None


def _failure(o: Outcome, plan_errors: tuple[Finding, ...], revision: str | None) -> Event:
    """A failed write, or a page the plan's errors blocked (their codes say why; messages are masked)."""
    found = tuple(plan_errors) + tuple(o.errors)
    codes = tuple(dict.fromkeys(f.code for f in found))
    trigger = "unexpected_result" if UNEXPECTED in codes else "apply_failed"
    first = found[0].message if found else o.state.value
    return Event(trigger, o.agent, o.env.value, revision,
                 f"{o.agent}/{o.env.value}: apply {o.state.value}: {first}"[:500], codes=codes)


def blocked(r: EnvPlan, revision: str | None) -> Event:
    """``apply_failed`` for a page whose plan has errors (nothing was sent), as ``apply`` reports it."""
    return _failure(Outcome(r.agent, r.env, OutcomeState.BLOCKED), r.errors, revision)


def from_drift(plan: Plan, revision: str | None) -> list[Event]:
    """``drift_detected`` per page of a drift report that differs."""
    return [drifted(r, revision) for r in plan.results if r.differs]


def drifted(r: EnvPlan, revision: str | None) -> Event:
    """``drift_detected`` for one page that differs: top-level key names, never values."""
    keys = tuple(dict.fromkeys([d.path.split(".")[0].split("[")[0] for d in r.variables_diff] + list(r.orphans)))
    cause = f" ({r.cause.value})" if r.cause else ""
    return Event("drift_detected", r.agent, r.env.value, revision,
                 f"{r.agent}/{r.env.value}: live differs from the repository{cause}"
                 + (f"; keys: {', '.join(keys)}" if keys else "")
                 + ("; schema differs" if r.schema_diff else ""), keys=keys)


def contested(agent: str, env: str, keys: tuple[str, ...], revision: str | None) -> Event:
    """``contested_key`` (the daemon): keys it stops reverting because they keep changing out of band."""
    return Event("contested_key", agent, env, revision,
                 f"{agent}/{env}: keys {', '.join(keys)} contested: changed out of band again after being "
                 "reverted; no longer reverted until the repository's value changes", keys=keys)


#: ``revision_held`` concerns the whole replica, not one page: it names this agent and environment.
FLEET = "*"


def revision_held(revision: str, pages: int, reason: str) -> Event:
    """``revision_held`` (the daemon): a revision over the blast radius waits for approval."""
    return Event("revision_held", FLEET, FLEET, revision,
                 f"revision {revision[:12]} held: it would change {pages} pages; {reason}; "
                 f"approve with POST /approve/{revision}"[:500])


def _keys(keys: tuple[str, ...], schema_put: bool) -> str:
    parts = (["schema PUT"] if schema_put else []) + ([f"keys {', '.join(keys)}"] if keys else [])
    return f" ({'; '.join(parts)})" if parts else ""
