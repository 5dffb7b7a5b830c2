"""One pass of the daemon: reconcile ONE agent's whole desired state against a fresh read.

Called by the worker tasks of :mod:`reconciler.daemon.loop` for every key the
work queue hands out (a file event, a resync or a requeue only says *which*
agent to look at; the pass is level-triggered, so a missed or duplicated event
never matters). It is a driver over the same engine as the CLI:
:func:`reconciler.api.live.fetch_live` (one GET), :func:`reconciler.engine.plan_snapshot`
(the one road to a plan: planner + change policies), :func:`reconciler.daemon.decide.decide` (sync mode,
self-heal, contested keys) and :func:`reconciler.apply.executor.apply_plan` (PUT
strictly before PATCH, never a PATCH without its PUT).

A pass ends in one of four ways (STYLE §8): ``in_sync``; ``wait`` (requeue
soon: the page kept moving under us); ``terminal`` (an invalid file or an API
refusal: stalled until the files change or the next resync); ``transient``
(the API is unreachable or failing: back off). The page states, the state
record and the metrics are written in a ``finally`` block.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from reconciler import engine, errors
from reconciler.api.live import fetch_live
from reconciler.apply import executor, verify
from reconciler.daemon import findings as findings_module, history, state as state_module, windowholds
from reconciler.daemon.decide import Cause, Decision, PageStatus, decide
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.repository import Snapshot
from reconciler.daemon.status import Board, PageState, error_of, now_iso
from reconciler.daemon.writehold import WriteHold
from reconciler.model import ClientEnv, Finding
from reconciler.planning.plan import EnvPlan, Outcome, OutcomeState, Plan
from reconciler.planning.snapshot import LivePages
from reconciler.settings import EnvironmentSettings


class Ending(enum.StrEnum):
    IN_SYNC = "in_sync"
    WAIT = "wait"
    TERMINAL = "terminal"
    TRANSIENT = "transient"


@dataclasses.dataclass
class Context:
    """What every pass shares (owned by the loop)."""

    api: executor.AgentsApi
    board: Board
    record: state_module.StateRecord
    metrics: Metrics
    log: logging.Logger
    snapshot: Callable[[], Snapshot]
    record_changed: Callable[[], None]
    """Ask the loop to persist the state record soon."""
    hold: WriteHold = dataclasses.field(default_factory=WriteHold)
    """Daemon-wide: first write alone; no write after an unexpected answer until the repository changes."""
    wake_at: Callable[[str, float | None], None] = lambda agent, at: None
    """Queue an agent again at a unix time (its held pages' window opens), or cancel that (None)."""
    notify: Callable[[Snapshot, Sequence[Decision], dict[ClientEnv, Outcome]], None] = lambda *_: None
    """Tell the notifier what a pass found and did (:mod:`reconciler.daemon.notifying`); never blocks."""


async def reconcile_agent(ctx: Context, agent: str, event_at: float | None = None) -> Ending:
    snap = ctx.snapshot()
    # Guard: the agent left the repository (or this shard): forget it; nothing live is ever deleted.
    if agent not in snap.desired.agents:
        ctx.board.forget(agent)
        ctx.record.forget_agent(agent)
        ctx.record_changed()
        return Ending.IN_SYNC
    # 1. One GET of the agent's pages (a failed read comes back as a value, not an exception).
    started = time.monotonic()
    live, failed = await fetch_live(ctx.api, [agent])
    # 2. Plan it on the road every command takes (planner, then the change policies).
    plan = engine.plan_snapshot(snap.of_agent(agent), LivePages(live, failed), [agent], target=ctx.api.target)
    # 3. Decide per page what this daemon may do (sync mode, self-heal, contested keys).
    decisions = [_decide(ctx, snap, env_plan) for env_plan in plan.results]
    ctx.wake_at(agent, windowholds.earliest(decisions))        # a held page is written when its window opens
    # 4. Write what the decisions allow, then record every page (also when something raised).
    outcomes: dict[ClientEnv, Outcome] = {}
    try:
        outcomes = await _execute(ctx, snap, plan, decisions, started)
    finally:
        ending = _record(ctx, snap, agent, decisions, outcomes, failed.get(agent))
    # 5. Notifications: queued for the notifier's own task, after the page states are recorded.
    ctx.notify(snap, decisions, outcomes)
    if event_at is not None and any(o.state is OutcomeState.APPLIED for o in outcomes.values()):
        ctx.metrics.reconcile_seconds.observe(time.monotonic() - event_at)
    return ending


def _decide(ctx: Context, snap: Snapshot, env_plan: EnvPlan) -> Decision:
    agent, env = env_plan.agent, env_plan.env
    desired_env = snap.desired.agents[agent].envs.get(env)
    contested = {k: h for (a, e, k), h in ctx.record.contested.items() if a == agent and e == env.value}
    now = time.time()
    reverts = {k: ctx.record.recent_reverts((agent, env.value, k), now) for k in env_plan.variables_patch}
    decision = decide(env_plan, _env_settings(snap, env), ctx.record.pages.get((agent, env.value)),
                      snap.hashes.get((agent, env)), desired_env.values if desired_env else None,
                      contested, reverts)
    _book_contested(ctx, decision, desired_env.values if desired_env else None, reverts)
    return windowholds.hold(decision, snap.settings.governance, ctx.log)


def _book_contested(ctx: Context, decision: Decision, desired_values: Any, reverts: dict[str, int]) -> None:
    agent, env = decision.env_plan.agent, decision.env_plan.env.value
    for key in decision.cleared:
        if ctx.record.contested.pop((agent, env, key), None) is not None:
            ctx.log.info(f"{agent}/{env}: key {key!r} no longer contested", extra={
                "event": "uncontested", "agent": agent, "env": env, "keys": [key]})
    for key in decision.newly_contested:
        ctx.record.contested[(agent, env, key)] = state_module.value_hash((desired_values or {}).get(key))
        ctx.log.warning(
            f"{agent}/{env}: key {key!r} is contested: reverted {reverts.get(key, 0)} times within "
            f"{state_module.CONTEST_WINDOW / 60:.0f} minutes and changed out of band again; no longer reverted "
            "until the repository's value changes or live returns to it",
            extra={"event": "contested", "agent": agent, "env": env, "keys": [key], "count": reverts.get(key, 0)})
    if decision.cleared or decision.newly_contested:
        ctx.record_changed()


def _env_settings(snap: Snapshot, env: ClientEnv) -> EnvironmentSettings:
    for candidate in snap.settings.environments:
        if candidate.name is env:
            return candidate
    return EnvironmentSettings(env)


async def _execute(ctx: Context, snap: Snapshot, plan: Plan, decisions: Sequence[Decision],
                   started: float) -> dict[ClientEnv, Outcome]:
    if not any(d.writes for d in decisions):
        return {}
    if _writes_held(ctx, snap):
        return {d.env_plan.env: ctx.hold.held_outcome(d.env_plan) for d in decisions if d.writes}
    for d in decisions:
        if d.writes:
            _put(ctx, snap, d, PageStatus.APPLYING)
    decided = dataclasses.replace(plan, results=tuple(d.env_plan for d in decisions))
    # The plan was made from a read moments ago in this pass: that read is the pre-write read.
    repository = snap.of_agent(decided.agents[0])
    result = await executor.apply_plan(decided, ctx.api, settings=repository.settings, desired=repository.desired,
                                       allow_live=True, planned_at=started, started_at_monotonic=started,
                                       gate=ctx.hold.gate)
    _hold_if_unexpected(ctx, snap, result.outcomes)
    if history.record(ctx.record, result, revision=revision_id(snap), keep=snap.settings.governance.history_keep,
                      time=now_iso()):
        ctx.record_changed()
    return {o.env: o for o in result.outcomes}


def revision_id(snap: Snapshot) -> str | None:
    """The commit id of the snapshot's revision (None: not a git checkout)."""
    return snap.source_revision.id if snap.source_revision is not None else snap.revision


def _writes_held(ctx: Context, snap: Snapshot) -> bool:
    """Whether writes are held for this snapshot (a repository change lifts the hold)."""
    # The hold follows the desired state read, not the snapshot object: naming its revision is no change.
    was, held = ctx.board.writes_held, ctx.hold.check(snap.desired)
    ctx.board.writes_held = held
    if was is not None and held is None:
        ctx.log.info("the repository changed: writes resume (the first one alone)", extra={"event": "writes_resumed"})
    return held is not None


def _hold_if_unexpected(ctx: Context, snap: Snapshot, outcomes: Sequence[Outcome]) -> None:
    for outcome in outcomes:
        if any(e.code == verify.UNEXPECTED_RESULT for e in outcome.errors):
            ctx.metrics.unexpected_results.labels(env=outcome.env.value).inc()
    if ctx.hold.observe(outcomes, snap.desired) is not None:
        ctx.board.writes_held = ctx.hold.detail
        held = ctx.hold.detail or {}
        ctx.log.error(ctx.board.held_line(), extra={"event": "writes_held", "agent": held.get("agent"),
                                                    "env": held.get("env"), "code": held.get("code")})


def _record(ctx: Context, snap: Snapshot, agent: str, decisions: Sequence[Decision],
            outcomes: dict[ClientEnv, Outcome], fetch_error: errors.ApiError | None) -> Ending:
    """Page states, state record and metrics after a pass; returns how the pass ended."""
    ending = Ending.TRANSIENT if fetch_error is not None and _transient_error(fetch_error) else Ending.IN_SYNC
    for d in decisions:
        outcome = outcomes.get(d.env_plan.env)
        page = _page_after(ctx, snap, d, outcome)
        if page.status is PageStatus.ERROR and ending is Ending.IN_SYNC:
            ending = Ending.TERMINAL
        if outcome is not None and outcome.state is OutcomeState.FAILED:
            code = outcome.errors[0].code if outcome.errors else ""
            ending = Ending.WAIT if code == "apply.page_changed" else (
                Ending.TRANSIENT if _transient_code(code) else ending)
    return ending


def _page_after(ctx: Context, snap: Snapshot, d: Decision, outcome: Outcome | None) -> PageState:
    agent, env = d.env_plan.agent, d.env_plan.env
    status, error = d.status, None
    if status is PageStatus.ERROR:
        error = _first(d.env_plan.errors)
    elif outcome is not None and outcome.state is OutcomeState.APPLIED:
        _applied(ctx, snap, d, outcome)
    elif outcome is not None and outcome.state.is_failure:
        status, error = PageStatus.ERROR, _first(outcome.errors + outcome.warnings)
        if outcome.state is OutcomeState.FAILED:
            ctx.metrics.applies.labels(env=env.value, result="failed").inc()
        return _put(ctx, snap, d, status, error, outcome.errors + outcome.warnings)
    elif status is PageStatus.IN_SYNC:
        _remember(ctx, snap, d.env_plan, d.env_plan.live_last_updated, applied=False)
    return _put(ctx, snap, d, status, error)


def _applied(ctx: Context, snap: Snapshot, d: Decision, outcome: Outcome) -> None:
    agent, env = d.env_plan.agent, d.env_plan.env
    _remember(ctx, snap, d.env_plan, outcome.last_updated, applied=True)
    ctx.metrics.applies.labels(env=env.value, result="applied").inc()
    now = time.time()
    if d.self_heal:
        ctx.metrics.self_heals.labels(env=env.value).inc()
        for key in outcome.patched_keys:
            ctx.record.record_revert((agent, env.value, key), now)
    cause = "self_heal" if d.self_heal else d.cause.value
    revision = snap.source_revision
    ctx.log.info(f"{agent}/{env.value}: applied ({cause}"
                 f"{f', revision {revision.short}' if revision else ''}): "
                 f"{'schema PUT, ' if outcome.schema_put else ''}keys patched {list(outcome.patched_keys)}",
                 extra={"event": "applied", "agent": agent, "env": env.value, "keys": list(outcome.patched_keys),
                        "schema_put": outcome.schema_put, "cause": cause,
                        "revision": revision.id if revision else None})


def _remember(ctx: Context, snap: Snapshot, env_plan: EnvPlan, last_updated: str | None, *, applied: bool) -> None:
    key = (env_plan.agent, env_plan.env.value)
    digest = snap.hashes.get((env_plan.agent, env_plan.env))
    if digest is None:
        return
    old = ctx.record.pages.get(key)
    applied_at = now_iso() if applied else (old.applied_at if old else None)
    # The revision moves with the content: kept while the page's desired content is the same.
    moved = applied or old is None or old.desired_hash != digest
    source = snap.source_revision.to_json() if snap.source_revision is not None else None
    new = state_module.PageRecord(digest, last_updated, applied_at, source if moved else old.revision)
    if new != old:
        ctx.record.pages[key] = new
        ctx.record_changed()


def _put(ctx: Context, snap: Snapshot, d: Decision, status: PageStatus,
         error: dict[str, Any] | None = None, failed: Sequence[Finding] = ()) -> PageState:
    agent, env = d.env_plan.agent, d.env_plan.env
    settings = _env_settings(snap, env)
    previous = ctx.board.get(agent, env)
    record = ctx.record.pages.get((agent, env.value))
    drift = () if status is not PageStatus.DRIFT else _drift_items(d.env_plan)
    page = PageState(agent=agent, env=env, sync=settings.sync.value, self_heal=settings.self_heal,
                     status=status, drift=drift, contested=d.contested,
                     last_applied=record.applied_at if record else None, last_attempted=now_iso(),
                     last_error=error,
                     findings=findings_module.located(d.env_plan.errors + d.env_plan.warnings + tuple(failed)),
                     revision=record.revision if record else None, cause=_cause(snap, d, record, drift),
                     history=history.of_page(ctx.record, agent, env.value), window_hold=d.hold)
    ctx.board.put(page)
    if status is not PageStatus.APPLYING:
        _log_transition(ctx, previous, page, d.cause)
    return page


def _cause(snap: Snapshot, d: Decision, record: state_module.PageRecord | None,
           drift: tuple) -> dict[str, Any] | None:
    """Who moved, and from which revision: the one not yet applied, or the one live was moved away from."""
    if not drift or d.cause is Cause.NONE:
        return None
    if d.cause is Cause.REPOSITORY:
        revision = snap.source_revision.id if snap.source_revision is not None else None
    else:
        revision = (record.revision or {}).get("id") if record is not None else None
    return {"kind": d.cause.value, "revision": revision}


def _drift_items(env_plan: EnvPlan) -> tuple[dict[str, Any], ...]:
    schema = ({**item.to_json(), "document": "schema"} for item in env_plan.schema_diff)
    variables = ({**item.to_json(), "document": "variables"} for item in env_plan.variables_diff)
    return tuple(schema) + tuple(variables)


def _log_transition(ctx: Context, previous: PageState | None, page: PageState, cause: Cause) -> None:
    was = previous.status if previous else None
    extra = {"agent": page.agent, "env": page.env.value}
    if page.status is PageStatus.ERROR and (was is not PageStatus.ERROR or previous.findings != page.findings
                                            or previous.last_error != page.last_error):
        findings_module.log_errors(ctx.log, page.agent, page.env.value, page.findings, page.last_error)
    elif page.status is PageStatus.DRIFT and was is not PageStatus.DRIFT:
        why = "manual sync" if page.sync == "manual" else (
            "contested keys" if page.contested else "out-of-band edit, selfHeal is off")
        revision = (page.cause or {}).get("revision")
        ctx.log.warning(f"{page.agent}/{page.env.value}: drift ({why}"
                        f"{f', revision {revision[:12]}' if revision else ''}); not written",
                        extra={**extra, "event": "drift", "cause": cause.value, "revision": revision})
    elif page.status is PageStatus.IN_SYNC and was in (PageStatus.ERROR, PageStatus.DRIFT):
        ctx.log.info(f"{page.agent}/{page.env.value}: in sync", extra={**extra, "event": "in_sync"})


def _first(findings: Sequence[Finding]) -> dict[str, Any] | None:
    return error_of(findings[0]) if findings else None


def _transient_error(exc: errors.ApiError) -> bool:
    return isinstance(exc, (errors.ServerError, errors.TransportError, errors.RateLimitedError))


def _transient_code(code: str) -> bool:
    """Failures worth a quick retry: no answer, 5xx, 429 (a refusal of the request itself is not)."""
    if code.startswith("api.REAL_TIME_CONFIG_"):
        return False
    return not (code.startswith("api.http_4") and code != "api.http_429") and code.startswith("api.")
