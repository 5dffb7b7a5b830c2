"""Executor: walk a :class:`~reconciler.planning.plan.Plan` and converge the live Agents API.

Called by :func:`reconciler.engine.run_apply` (``reconciler apply``) and the
daemon. It decides nothing about *what* to send — the planner already wrote
that into the plan — it only sends it, in the plan's order, and records one
frozen :class:`~reconciler.planning.plan.Outcome` per agent x environment instead of
throwing (STYLE §7). HTTP, retries and rate limiting are the api client's job;
rendering the result is ``reconciler.report``'s.

Rules, per agent (agents run concurrently, at most ``settings.concurrency``):

- environments in the plan's order (promotion order); per environment the
  schema ``PUT`` first, then the variables ``PATCH``; the PATCH is never sent
  unless its PUT succeeded. A PUT only when ``schema_put`` is set, a PATCH only
  with a non-empty ``variables_patch``.
- a plan ``error`` -> ``blocked``; a failed write -> ``failed``; ``live`` with
  changes but no approval -> ``refused``. Each of these stops the agent: its
  later environments are ``skipped``. Other agents go on.
- **re-read rule** (DESIGN §3, "never overwrite a change the plan did not
  see"): when the plan's live state is older than this run's start
  (``planned_at < started_at_monotonic``, or ``planned_at`` unknown), the page
  is re-read right before the first write to each environment and its
  ``lastUpdated`` compared with ``EnvPlan.live_last_updated``. If it moved,
  the agent is re-planned once (one fresh ``GET`` of the agent) and the new
  plan is executed, with a warning; if it moves again the environment fails
  and nothing is overwritten. A plan made moments ago in the same run (the
  CLI's ``apply --auto-approve``) is not re-read while that agent's read is
  under ``writers.REREAD_AFTER`` seconds old (``sent_at``: each agent's own
  read, so the agents read last in a large fleet are not taken for stale): the
  fetch it was made from *is* the read, which keeps an apply at N GETs + the writes. The CLI restarts
  the clock after waiting for a human "yes", so an interactive apply re-reads.
- **every request body is serialised before the first write** (strict JSON: no
  NaN/infinity): if one cannot be, nothing of the run is sent (``apply.blocked``),
  so an apply never fails half-way for a reason known in advance.
- **every write is verified, and the first one goes alone** (:mod:`reconciler.apply.verify`,
  :mod:`reconciler.apply.canary`): each PUT/PATCH answer is compared with the page the
  plan predicted; a difference fails that page (``apply.unexpected_result``, masked)
  and halts the run: no write starts after it (each later page is ``skipped``), what
  is in flight finishes. Until one page write has been verified, pages are written
  one at a time, so an API that does not merge as documented changes one page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from reconciler import errors, interruption
from reconciler.apply import outcomes, verify, writers
from reconciler.apply.canary import WriteGate
from reconciler.checks import masking
from reconciler.model import ClientEnv, DesiredState, Finding, LiveAgent, LivePage, Severity
from reconciler.planning import planner
from reconciler.planning.plan import ApplyResult, EnvPlan, Outcome, OutcomeState, Plan, Status
from reconciler.settings import Settings

#: ``replan(agent, fresh_live) -> env plans`` for that agent (same environments, same order).
Replan = Callable[[str, LiveAgent], Sequence[EnvPlan]]
#: ``progress(agents_done, agents_total)``, called after each agent finishes.
Progress = Callable[[int, int], None]


class Breaker(Protocol):
    """The client's run-wide circuit breaker, as its drivers read it (``reconciler.api.breaker``)."""

    trips: int
    """How many times it opened."""
    first_trip: str | None
    """Why it first opened (one line naming the target), or None."""
    cooldown: float | None
    """Seconds an open breaker waits before a request may try again (None: stays open)."""

    def summary(self) -> str: ...


class AgentsApi(Protocol):
    """The Agents API client as the engine, the executor and the daemon use it (``reconciler.api`` implements it)."""

    @property
    def target(self) -> str:
        """What a plan names as its target: ``local`` or the base URL."""
        ...

    @property
    def base_url(self) -> str: ...

    @property
    def breaker(self) -> Breaker: ...

    async def get_agent(self, agent: str) -> LiveAgent: ...
    async def get_page(self, agent: str, env: ClientEnv) -> LivePage: ...
    async def put_schema(self, agent: str, env: ClientEnv, schema: Mapping[str, Any]) -> Any: ...
    async def patch_variables(self, agent: str, env: ClientEnv, variables: Mapping[str, Any]) -> Any: ...


@dataclasses.dataclass
class _Run:
    """Everything one apply shares between its agents."""

    api: AgentsApi
    allow_live: bool
    reread: bool
    replan: Replan
    semaphore: asyncio.Semaphore
    stop: asyncio.Event | None = None
    """Set by a signal (Ctrl-C / SIGTERM): start no new environment; the one being written finishes."""
    gate: WriteGate = dataclasses.field(default_factory=WriteGate)
    """First write alone; halted once a write's answer was not the predicted page (fail closed)."""
    planned_at: float | None = None
    """``time.monotonic()`` of the plan's live read: older than a few seconds, pages are re-read (writers.py)."""
    sent_at: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """When each agent's own read was sent, where known: judged instead of ``planned_at`` for that agent."""

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()


#: Why an environment was not started after Ctrl-C / SIGTERM.
INTERRUPTED = "not attempted: the apply was interrupted"


class _PageMoved(Exception):
    """The page's lastUpdated is not the one the plan saw."""

    def __init__(self, seen: str | None, now: str | None) -> None:
        self.seen, self.now = seen, now
        super().__init__(f"lastUpdated {seen} → {now}")


async def apply_plan(plan: Plan, api: AgentsApi, *, settings: Settings, desired: DesiredState,
                     allow_live: bool, planned_at: float | None = None,
                     sent_at: Mapping[str, float] | None = None, started_at_monotonic: float | None = None, replan: Replan | None = None,
                     progress: Progress | None = None, stop: asyncio.Event | None = None,
                     gate: WriteGate | None = None) -> ApplyResult:
    """Execute ``plan`` against ``api``; return the (possibly re-planned) plan and one outcome per result.

    ``planned_at``: ``time.monotonic()`` when the live state behind the plan was
    read (None: unknown); ``sent_at``: when each agent's read was sent (``time.monotonic()``), so an
    agent read late in a long read is judged by its own read. ``started_at_monotonic``: start of this
    run (default: now). Pages are re-read before writing when the plan is older than the run.
    ``stop``: once set, no further environment is started (each is ``skipped``,
    "not attempted: interrupted"); a PUT already sent is always followed by its PATCH.
    ``gate``: shared by several runs (the daemon's passes); default: one for this run.
    """
    started = time.monotonic() if started_at_monotonic is None else started_at_monotonic
    if any(f.blocks for f in plan.findings):
        # A run-wide error (settings, malformed policy file): nothing is trustworthy, send nothing.
        return ApplyResult(plan, tuple(outcomes.without_writes(r, "a run-wide error blocks every write") for r in plan.results))
    unsendable = _unsendable_body(plan)
    if unsendable is not None:
        # Serialised before the first write: a body that cannot be sent would otherwise fail half-way.
        return ApplyResult(plan, tuple(outcomes.without_writes(r, unsendable) for r in plan.results))
    run = _Run(api=api, allow_live=allow_live, reread=planned_at is None or planned_at < started,
               replan=replan or _planner_replan(plan, desired, settings),
               semaphore=asyncio.Semaphore(max(1, settings.concurrency)), stop=stop, gate=gate or WriteGate(),
               planned_at=planned_at, sent_at=sent_at or {})
    agents = plan.agents
    slots: list[tuple[tuple[Outcome, ...], tuple[EnvPlan, ...]] | None] = [None] * len(agents)
    done = 0

    async def one(index: int, agent: str) -> None:
        nonlocal done
        async with run.semaphore:
            slots[index] = await _apply_agent(run, plan.for_agent(agent))
        done += 1
        if progress is not None:
            progress(done, len(agents))

    await asyncio.gather(*(one(i, a) for i, a in enumerate(agents)))
    recorded = tuple(o for slot in slots if slot for o in slot[0])
    executed = tuple(p for slot in slots if slot for p in slot[1])
    return ApplyResult(dataclasses.replace(plan, results=executed), recorded)


async def _apply_agent(run: _Run, plans: tuple[EnvPlan, ...]) -> tuple[tuple[Outcome, ...], tuple[EnvPlan, ...]]:
    """One agent, environments in plan order; returns its outcomes and the env plans it executed."""
    done: list[Outcome] = []
    stop: str | None = None              # why later environments are skipped
    replanned: Finding | None = None     # the warning, once the agent was re-planned
    i = 0
    while i < len(plans):
        env_plan = plans[i]
        if stop is None and run.stopping and env_plan.has_writes and env_plan.status is Status.CHANGES:
            stop = INTERRUPTED                   # checked between environments only: never mid PUT/PATCH
        if stop is None and run.gate.halted and env_plan.has_writes and env_plan.status is Status.CHANGES:
            stop = verify.HALTED
        if stop is not None and env_plan.status is not Status.UNMANAGED:
            outcome: Outcome | _Replanned = outcomes.skipped(env_plan, stop)
        else:
            outcome = (_settle_without_writes(env_plan, run.allow_live)
                       or await _gated_write(run, plans, i, replanned=replanned is not None))
        if isinstance(outcome, _Replanned):
            # Execute the fresh plan from this environment on (earlier ones are done).
            plans, replanned = plans[:i] + outcome.rest, outcome.warning
            continue
        if replanned is not None:
            # The warning goes on the environment that saw the change; later ones only carry the flag.
            note = () if any(o.replanned for o in done) else (replanned,)
            outcome = dataclasses.replace(outcome, replanned=True, warnings=outcome.warnings + note)
        done.append(outcome)
        if stop is None and outcome.state.is_failure:
            stop = f"not attempted: {env_plan.env} {outcome.state}"
        i += 1
    return tuple(done), plans


@dataclasses.dataclass(frozen=True)
class _Replanned:
    """The page moved: the agent's remaining env plans, planned again, and the warning to report."""

    rest: tuple[EnvPlan, ...]
    warning: Finding


async def _gated_write(run: _Run, plans: tuple[EnvPlan, ...], i: int, *, replanned: bool) -> Outcome | _Replanned:
    """One page's writes, in turn until a first write was verified; an unexpected answer halts the run."""
    async with run.gate.turn():
        if run.gate.halted:                       # decided while this page waited for its turn
            return outcomes.skipped(plans[i], verify.HALTED)
        outcome = await _write_env(run, plans, i, replanned=replanned)
        if isinstance(outcome, Outcome) and outcome.state is OutcomeState.APPLIED:
            run.gate.passed()
        elif isinstance(outcome, Outcome) and any(e.code == verify.UNEXPECTED_RESULT for e in outcome.errors):
            run.gate.halt()
        return outcome


async def _write_env(run: _Run, plans: tuple[EnvPlan, ...], i: int, *, replanned: bool) -> Outcome | _Replanned:
    """Re-read the page when the rule says so, then write it; a moved page asks for one re-plan."""
    env_plan = plans[i]
    try:
        if run.reread or writers.needs_reread(run.sent_at.get(env_plan.agent, run.planned_at)):
            await _check_unchanged(run.api, env_plan)
        return await _write(run.api, env_plan)
    except _PageMoved as moved:
        if replanned:
            return _moved_again(env_plan, moved)
        try:
            return _Replanned(await _replan_agent(run, plans[i:]), _replanned_warning(env_plan, moved))
        except errors.ApiError as exc:
            return outcomes.failed(env_plan, exc)
    except errors.ApiError as exc:
        return outcomes.failed(env_plan, exc)


def _settle_without_writes(env_plan: EnvPlan, allow_live: bool) -> Outcome | None:
    """The outcome of an environment that needs no request; None when it must be written."""
    if env_plan.status is Status.ERROR:
        first = env_plan.errors[0].message if env_plan.errors else "the plan has errors for it"
        return outcomes.outcome(env_plan, OutcomeState.BLOCKED, Severity.ERROR, "apply.blocked",
                        f"not applied, the plan has errors: {first}")
    if env_plan.status is Status.UNMANAGED:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.UNMANAGED)
    if env_plan.status is Status.SKIPPED:
        return outcomes.skipped(env_plan, "skipped in the plan")
    if not env_plan.has_writes:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.IN_SYNC)
    if env_plan.env is ClientEnv.LIVE and not allow_live:
        return outcomes.outcome(env_plan, OutcomeState.REFUSED, Severity.ERROR, "apply.live_refused",
                        "live not written: pass --auto-approve (or answer yes on a terminal) to write live")
    return None


async def _check_unchanged(api: AgentsApi, env_plan: EnvPlan) -> None:
    """Re-read the page; raise :class:`_PageMoved` when its lastUpdated is not the planned one."""
    page = await api.get_page(env_plan.agent, env_plan.env)
    if page.last_updated != env_plan.live_last_updated:
        raise _PageMoved(env_plan.live_last_updated, page.last_updated)


async def _write(api: AgentsApi, env_plan: EnvPlan) -> Outcome:
    """PUT the schema (if any), then — only if that succeeded as predicted — PATCH the variables (if any)."""
    agent, env = env_plan.agent, env_plan.env
    put_done = False
    last_updated = env_plan.live_last_updated
    try:
        if env_plan.schema_put is not None:
            with interruption.writing(f"{agent}/{env} schema PUT"):
                answer = await api.put_schema(agent, env, env_plan.schema_put)
            last_updated, put_done = _last_updated(answer, last_updated), True
            if (unexpected := outcomes.unexpected(env_plan, "schema PUT", verify.after_put(env_plan), answer)) is not None:
                return dataclasses.replace(unexpected, schema_put=True, last_updated=last_updated)
        if env_plan.variables_patch:
            with interruption.writing(f"{agent}/{env} variables PATCH"):
                answer = await api.patch_variables(agent, env, env_plan.variables_patch)
            last_updated = _last_updated(answer, last_updated)
            predicted = verify.after_patch(env_plan, put_done=put_done)
            if (unexpected := outcomes.unexpected(env_plan, "variables PATCH", predicted, answer)) is not None:
                return dataclasses.replace(unexpected, schema_put=put_done, last_updated=last_updated,
                                           patched_keys=tuple(env_plan.variables_patch))
    except errors.ApiError as exc:
        return dataclasses.replace(outcomes.failed(env_plan, exc), schema_put=put_done, last_updated=last_updated)
    return Outcome(agent, env, OutcomeState.APPLIED, schema_put=put_done,
                   patched_keys=tuple(env_plan.variables_patch), last_updated=last_updated)


async def _replan_agent(run: _Run, rest: tuple[EnvPlan, ...]) -> tuple[EnvPlan, ...]:
    """One fresh GET of the agent, then the planner again for the environments not yet done."""
    agent = rest[0].agent
    fresh = {p.env: p for p in run.replan(agent, await run.api.get_agent(agent))}
    return tuple(_keep_blocks(fresh.get(old.env, old), old) for old in rest)


def _keep_blocks(new: EnvPlan, old: EnvPlan) -> EnvPlan:
    """A re-plan never unblocks an environment (e.g. a blast-radius error decided on the whole plan)."""
    if old.status is not Status.ERROR:
        return new
    extra = tuple(f for f in old.errors if f not in new.errors)
    return dataclasses.replace(new, status=Status.ERROR, errors=new.errors + extra)


def _planner_replan(plan: Plan, desired: DesiredState, settings: Settings) -> Replan:
    """The default re-plan: the pure planner, for one agent and the plan's environments."""
    def replan(agent: str, live: LiveAgent) -> Sequence[EnvPlan]:
        envs = tuple(r.env for r in plan.for_agent(agent))
        fresh = planner.plan(desired, {agent: live}, settings, agents=[agent], envs=envs, target=plan.target)
        return fresh.for_agent(agent)
    return replan


def _unsendable_body(plan: Plan) -> str | None:
    """Why some request body of this run cannot be sent as JSON (NaN, infinity, non-JSON data), or None."""
    for result in plan.results:
        for what, body in (("schema PUT", result.schema_put), ("variables PATCH", result.variables_patch)):
            if not body:
                continue
            try:
                json.dumps(body, allow_nan=False)
            except (TypeError, ValueError, RecursionError) as exc:
                reason = "NaN or infinity is not a JSON number" if "Out of range" in str(exc) else \
                    f"{type(exc).__name__}: not JSON data"
                return (f"nothing was sent: the {what} of {result.agent}/{result.env.value} cannot be "
                        f"serialised ({reason})")
    return None


def _moved_again(env_plan: EnvPlan, moved: _PageMoved) -> Outcome:
    return outcomes.outcome(env_plan, OutcomeState.FAILED, Severity.ERROR, "apply.page_changed",
                    f"page changed again after re-planning (lastUpdated {moved.seen} → {moved.now}); "
                    "nothing overwritten — run apply again once the edits in the UI have stopped")


def _replanned_warning(env_plan: EnvPlan, moved: _PageMoved) -> Finding:
    return Finding(Severity.WARNING, "apply.replanned",
                   f"page changed since it was planned (lastUpdated {moved.seen} → {moved.now}); re-planned",
                   agent=env_plan.agent, env=str(env_plan.env))


def _last_updated(answer: Any, default: str | None) -> str | None:
    """lastUpdated of a write's answer, whether the client returns a LivePage or the raw ConfigPage."""
    if isinstance(answer, LivePage):
        return answer.last_updated
    if isinstance(answer, Mapping):
        return answer.get("lastUpdated", default)
    return default
