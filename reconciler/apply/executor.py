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
  CLI's ``apply --auto-approve``) is not re-read while that read is under
  ``writers.REREAD_AFTER`` seconds old: the fetch it was made from *is* the
  read, which keeps a quick apply at N GETs + the writes. The CLI restarts
  the clock after waiting for a human "yes", so an interactive apply re-reads.
- **every request body is serialised before the first write** (strict JSON: no
  NaN/infinity): if one cannot be, nothing of the run is sent (``apply.blocked``),
  so an apply never fails half-way for a reason known in advance.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from reconciler import errors, interruption
from reconciler.apply import writers
from reconciler.checks import masking
from reconciler.model import ClientEnv, DesiredState, Finding, LiveAgent, LivePage, Severity
from reconciler.planning.plan import ApplyResult, EnvPlan, Outcome, OutcomeState, Plan, Status
from reconciler.settings import Settings

#: ``replan(agent, fresh_live) -> env plans`` for that agent (same environments, same order).
Replan = Callable[[str, LiveAgent], Sequence[EnvPlan]]
#: ``progress(agents_done, agents_total)``, called after each agent finishes.
Progress = Callable[[int, int], None]


class AgentsApi(Protocol):
    """What the executor needs from ``reconciler.api`` (the client implements it)."""

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
    planned_at: float | None = None
    """``time.monotonic()`` of the plan's live read: older than a few seconds, pages are re-read (writers.py)."""

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
                     started_at_monotonic: float | None = None, replan: Replan | None = None,
                     progress: Progress | None = None, stop: asyncio.Event | None = None) -> ApplyResult:
    """Execute ``plan`` against ``api``; return the (possibly re-planned) plan and one outcome per result.

    ``planned_at``: ``time.monotonic()`` when the live state behind the plan was
    read (None: unknown). ``started_at_monotonic``: start of this run (default:
    now). Pages are re-read before writing when the plan is older than the run.
    ``stop``: once set, no further environment is started (each is ``skipped``,
    "not attempted: interrupted"); a PUT already sent is always followed by its PATCH.
    """
    started = time.monotonic() if started_at_monotonic is None else started_at_monotonic
    if any(f.blocks for f in plan.findings):
        # A run-wide error (settings, malformed policy file): nothing is trustworthy, send nothing.
        return ApplyResult(plan, tuple(_without_writes(r, "a run-wide error blocks every write") for r in plan.results))
    unsendable = _unsendable_body(plan)
    if unsendable is not None:
        # Serialised before the first write: a body that cannot be sent would otherwise fail half-way.
        return ApplyResult(plan, tuple(_without_writes(r, unsendable) for r in plan.results))
    run = _Run(api=api, allow_live=allow_live, reread=planned_at is None or planned_at < started,
               replan=replan or _planner_replan(plan, desired, settings),
               semaphore=asyncio.Semaphore(max(1, settings.concurrency)), stop=stop, planned_at=planned_at)
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
    outcomes = tuple(o for slot in slots if slot for o in slot[0])
    executed = tuple(p for slot in slots if slot for p in slot[1])
    return ApplyResult(dataclasses.replace(plan, results=executed), outcomes)


async def _apply_agent(run: _Run, plans: tuple[EnvPlan, ...]) -> tuple[tuple[Outcome, ...], tuple[EnvPlan, ...]]:
    """One agent, environments in plan order; returns its outcomes and the env plans it executed."""
    outcomes: list[Outcome] = []
    stop: str | None = None              # why later environments are skipped
    replanned: Finding | None = None     # the warning, once the agent was re-planned
    i = 0
    while i < len(plans):
        env_plan = plans[i]
        if stop is None and run.stopping and env_plan.has_writes and env_plan.status is Status.CHANGES:
            stop = INTERRUPTED                   # checked between environments only: never mid PUT/PATCH
        if stop is not None and env_plan.status is not Status.UNMANAGED:
            outcome: Outcome | _Replanned = _skipped(env_plan, stop)
        else:
            outcome = (_settle_without_writes(env_plan, run.allow_live)
                       or await _write_env(run, plans, i, replanned=replanned is not None))
        if isinstance(outcome, _Replanned):
            # Execute the fresh plan from this environment on (earlier ones are done).
            plans, replanned = plans[:i] + outcome.rest, outcome.warning
            continue
        if replanned is not None:
            # The warning goes on the environment that saw the change; later ones only carry the flag.
            note = () if any(o.replanned for o in outcomes) else (replanned,)
            outcome = dataclasses.replace(outcome, replanned=True, warnings=outcome.warnings + note)
        outcomes.append(outcome)
        if stop is None and outcome.state.is_failure:
            stop = f"not attempted: {env_plan.env} {outcome.state}"
        i += 1
    return tuple(outcomes), plans


@dataclasses.dataclass(frozen=True)
class _Replanned:
    """The page moved: the agent's remaining env plans, planned again, and the warning to report."""

    rest: tuple[EnvPlan, ...]
    warning: Finding


async def _write_env(run: _Run, plans: tuple[EnvPlan, ...], i: int, *, replanned: bool) -> Outcome | _Replanned:
    """Re-read the page when the rule says so, then write it; a moved page asks for one re-plan."""
    env_plan = plans[i]
    try:
        if run.reread or writers.needs_reread(run.planned_at):
            await _check_unchanged(run.api, env_plan)
        return await _write(run.api, env_plan)
    except _PageMoved as moved:
        if replanned:
            return _moved_again(env_plan, moved)
        try:
            return _Replanned(await _replan_agent(run, plans[i:]), _replanned_warning(env_plan, moved))
        except errors.ApiError as exc:
            return _failed(env_plan, exc)
    except errors.ApiError as exc:
        return _failed(env_plan, exc)


def _settle_without_writes(env_plan: EnvPlan, allow_live: bool) -> Outcome | None:
    """The outcome of an environment that needs no request; None when it must be written."""
    if env_plan.status is Status.ERROR:
        first = env_plan.errors[0].message if env_plan.errors else "the plan has errors for it"
        return _outcome(env_plan, OutcomeState.BLOCKED, Severity.ERROR, "apply.blocked",
                        f"not applied, the plan has errors: {first}")
    if env_plan.status is Status.UNMANAGED:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.UNMANAGED)
    if env_plan.status is Status.SKIPPED:
        return _skipped(env_plan, "skipped in the plan")
    if not env_plan.has_writes:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.IN_SYNC)
    if env_plan.env is ClientEnv.LIVE and not allow_live:
        return _outcome(env_plan, OutcomeState.REFUSED, Severity.ERROR, "apply.live_refused",
                        "live not written: pass --auto-approve (or answer yes on a terminal) to write live")
    return None


async def _check_unchanged(api: AgentsApi, env_plan: EnvPlan) -> None:
    """Re-read the page; raise :class:`_PageMoved` when its lastUpdated is not the planned one."""
    page = await api.get_page(env_plan.agent, env_plan.env)
    if page.last_updated != env_plan.live_last_updated:
        raise _PageMoved(env_plan.live_last_updated, page.last_updated)


async def _write(api: AgentsApi, env_plan: EnvPlan) -> Outcome:
    """PUT the schema (if any), then — only if that succeeded — PATCH the variables (if any)."""
    agent, env = env_plan.agent, env_plan.env
    put_done = False
    last_updated = env_plan.live_last_updated
    try:
        if env_plan.schema_put is not None:
            with interruption.writing(f"{agent}/{env} schema PUT"):
                last_updated = _last_updated(await api.put_schema(agent, env, env_plan.schema_put), last_updated)
            put_done = True
        if env_plan.variables_patch:
            with interruption.writing(f"{agent}/{env} variables PATCH"):
                last_updated = _last_updated(await api.patch_variables(agent, env, env_plan.variables_patch),
                                             last_updated)
    except errors.ApiError as exc:
        return dataclasses.replace(_failed(env_plan, exc), schema_put=put_done, last_updated=last_updated)
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
        from reconciler.planning import planner   # imported late: the executor is usable with any replan

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


def _without_writes(env_plan: EnvPlan, reason: str) -> Outcome:
    if env_plan.status is Status.UNMANAGED:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.UNMANAGED)
    if not env_plan.has_writes and env_plan.status is Status.IN_SYNC:
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.IN_SYNC)
    return _outcome(env_plan, OutcomeState.BLOCKED, Severity.ERROR, "apply.blocked", reason)


def _skipped(env_plan: EnvPlan, reason: str) -> Outcome:
    return _outcome(env_plan, OutcomeState.SKIPPED, Severity.WARNING, "apply.skipped", reason)


def _failed(env_plan: EnvPlan, exc: errors.ApiError) -> Outcome:
    if isinstance(exc, errors.UnreachableError):
        return _outcome(env_plan, OutcomeState.FAILED, Severity.ERROR, "api.unreachable",
                        f"not attempted: {exc.message}")
    # The server's message may quote what was sent: mask the whole of it, then shorten.
    return _outcome(env_plan, OutcomeState.FAILED, Severity.ERROR, api_error_code(exc),
                    masking.api_error_text(exc, _sent_secrets(env_plan)))


def _sent_secrets(env_plan: EnvPlan) -> list[Any]:
    """The sensitive values this environment's writes carry (PATCH body, sensitive schema constants)."""
    patch = env_plan.variables_patch
    if env_plan.masked_patch is not None:
        found = masking.masked_leaves(patch, env_plan.masked_patch)
    else:
        found = [patch[k] for k in env_plan.sensitive_keys if k in patch]
    if env_plan.schema_put is not None:
        found += masking.sensitive_values({}, env_plan.schema_put)
    return found


def _moved_again(env_plan: EnvPlan, moved: _PageMoved) -> Outcome:
    return _outcome(env_plan, OutcomeState.FAILED, Severity.ERROR, "apply.page_changed",
                    f"page changed again after re-planning (lastUpdated {moved.seen} → {moved.now}); "
                    "nothing overwritten — run apply again once the edits in the UI have stopped")


def _replanned_warning(env_plan: EnvPlan, moved: _PageMoved) -> Finding:
    return Finding(Severity.WARNING, "apply.replanned",
                   f"page changed since it was planned (lastUpdated {moved.seen} → {moved.now}); re-planned",
                   agent=env_plan.agent, env=str(env_plan.env))


def _outcome(env_plan: EnvPlan, state: OutcomeState, severity: Severity, code: str, message: str) -> Outcome:
    finding = Finding(severity, code, message, agent=env_plan.agent, env=str(env_plan.env))
    if severity is Severity.WARNING:
        return Outcome(env_plan.agent, env_plan.env, state, warnings=(finding,))
    return Outcome(env_plan.agent, env_plan.env, state, errors=(finding,))


def api_error_code(exc: errors.ApiError) -> str:
    """Stable finding code of an API failure: ``api.<ERROR_CODE>``, ``api.http_<status>``, ``api.transport``
    or ``api.unreachable`` (the circuit breaker stopped the run: nothing was sent)."""
    if isinstance(exc, errors.UnreachableError):
        return "api.unreachable"
    if exc.error_code:
        return f"api.{exc.error_code}"
    if exc.status is not None:
        return f"api.http_{exc.status}"
    return "api.transport"


def _last_updated(answer: Any, default: str | None) -> str | None:
    """lastUpdated of a write's answer, whether the client returns a LivePage or the raw ConfigPage."""
    if isinstance(answer, LivePage):
        return answer.last_updated
    if isinstance(answer, Mapping):
        return answer.get("lastUpdated", default)
    return default
