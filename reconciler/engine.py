"""The plan / apply / drift runs as library functions; the CLI (``cli/plan.py``) stays thin.

One run, in one direction (STYLE "the flow runs one way")::

    settings -> read (repository snapshot + live pages, ONE GET per agent) -> plan_snapshot
             -> [approve live] -> executor.apply_plan

:func:`plan_snapshot` is the one road to a :class:`~reconciler.planning.plan.Plan`:
the planner, then the change policies. ``plan``, ``apply``, ``drift``, saved plans
(``apply --plan``) and the daemon's passes all call it, each with the values its
own reader made (:mod:`reconciler.planning.reading` for the CLI, overlapping the
local work with the live reads; :mod:`reconciler.daemon.repository` for the daemon).

Variants: ``run_drift`` (read-only planner, no change rules, causes from git),
``write_plan_file`` (``plan --save-plan``) and ``run_apply_saved``
(``apply --plan``: plan again, compare with the file, write only if nothing moved).
Governance: ``plan``/``drift`` note the sync windows, every apply (``rollback``
too) refuses a held page before any write (:mod:`reconciler.apply.windows`),
and records what it wrote (:mod:`reconciler.apply.history`).

Called by ``reconciler.cli.plan`` and the daemon (usable from a script). Loading,
validating, planning, policy, HTTP and rendering belong to their own modules;
this one only wires them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from reconciler import errors, interruption
from reconciler.aio import interleaved, run_async
from reconciler.api.client import AgentsApi as HttpAgentsApi
from reconciler.apply import executor, history, lock as applylock, wholeplan, windows, writers
from reconciler.apply.executor import AgentsApi
from reconciler.checks import policy, validation, warnfilter
from reconciler.model import ClientEnv, DesiredState, Finding, Severity
from reconciler.planning import drift, planfile, planner, reading
from reconciler.planning.plan import ApplyResult, Plan
from reconciler.planning.reading import Progress, Reading, RunOptions
from reconciler.planning.snapshot import LivePages, RepositorySnapshot
from reconciler.report import json as json_report
from reconciler.report.common import RunInfo
from reconciler.repository import gitinfo, loader
from reconciler.settings import Settings
from reconciler.stopsignals import StopOnSignals

__all__ = ["ApproveLive", "Interrupted", "Planned", "Progress", "RunOptions", "client_for", "execute_planned",
           "held_by_windows", "live_changes", "plan_desired", "plan_snapshot", "run_apply", "run_apply_saved",
           "run_drift", "run_plan", "utc_clock", "with_unreachable", "write_plan_file"]

T = TypeVar("T")

#: ``approve_live(plan) -> bool``: asked once, only when the plan has changes for ``live``.
ApproveLive = Callable[[Plan], bool]


@dataclasses.dataclass(frozen=True)
class Planned:
    """A plan and what it was made from."""

    plan: Plan
    settings: Settings
    desired: DesiredState
    planned_at: float
    """``time.monotonic()`` just before live state was read."""
    read_at: str = ""
    """Wall-clock time (ISO 8601 UTC) just before live state was read: a report's ``created_at``."""
    file_hashes: Mapping[str, str] | None = None
    """SHA-256 of every file the plan read (``plan --save-plan`` asks for them), else None."""
    agents: tuple[str, ...] = ()
    """The agents the run covered (:func:`reconciler.planning.selection.select_agents`)."""
    sent_at: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """``time.monotonic()`` when each agent's live read was sent, where known (the re-read rule)."""


class Interrupted(errors.ReconcilerError):
    """Ctrl-C / SIGTERM arrived before the first write: nothing was applied."""


def plan_snapshot(snapshot: RepositorySnapshot, live: LivePages, agents: Sequence[str], *, target: str,
                  envs: Sequence[ClientEnv] | None = None, allow_large_change: bool = False,
                  today: _dt.date | None = None, read_only: bool = False) -> Plan:
    """The one road to a plan: the planner on the snapshot and the live pages, then the change policies.

    ``agents``: the agents the run covers (a refused agent directory is planned as
    ``error``); ``envs``: only these environments (None: all). ``read_only`` (the drift
    report): every page compared on its own, and no change policies (they limit
    writes, and a report writes nothing). Pure: no I/O, no clock (``today`` is the
    caller's, for waiver expiry).
    """
    plan = planner.plan(snapshot.desired, live.agents, snapshot.settings, fetch_errors=live.errors, agents=agents,
                        envs=envs, target=target, read_only=read_only)
    if not read_only:
        plan = policy.check_plan(plan, snapshot.desired.root, allow_large_change=allow_large_change, today=today,
                                 policy_set=snapshot.policies)
    return warnfilter.filter_plan(plan, snapshot.settings.warnings)     # reconciler.yaml's warnings: section


def run_plan(root: Path | str, options: RunOptions = RunOptions(), *, progress: Progress | None = None,
             hash_files: bool = False) -> Planned:
    """validate + read live + diff + policies: the ``plan`` command.

    ``hash_files``: also hash every file the plan read (for a saved plan).
    """
    async def go() -> Planned:
        settings = reading.load_settings(Path(root), options)
        async with _client(settings) as api:
            planned = _planned(api, await reading.read_overlapped(api, settings, Path(root), options,
                                                                  progress=progress), options)
            plan = windows.annotate(with_unreachable(planned.plan, api), settings.governance, utc_clock())
        hashes = loader.file_hashes(Path(root), planned.agents) if hash_files else None
        return dataclasses.replace(planned, plan=plan, file_hashes=hashes)
    return run_async(go())


def run_drift(root: Path | str, options: RunOptions = RunOptions(), *, progress: Progress | None = None) -> Planned:
    """The read-only drift report: every page compared (errors keep their diff), no change rules, causes.

    Blast radius and other change rules limit *writes*; a report writes
    nothing, so they are not evaluated (``--allow-large-change`` means nothing here).
    """
    async def go() -> Planned:
        settings = reading.load_settings(Path(root), options)
        async with _client(settings) as api:
            read = await reading.read_overlapped(api, settings, Path(root), options, progress=progress)
            planned = _planned(api, read, options, read_only=True)
            plan = windows.annotate(with_unreachable(planned.plan, api), settings.governance, utc_clock())
        return dataclasses.replace(planned, plan=drift.with_causes(plan, planned.desired, Path(root)))
    return run_async(go())


def write_plan_file(planned: Planned, path: Path, options: RunOptions) -> None:
    """``plan --save-plan FILE``: the plan file of :mod:`reconciler.planning.planfile` (no sensitive value in it)."""
    key = planfile.plan_key(planned.settings, create=True)
    report = json_report.document(planned.plan, command="plan",
                                  info=RunInfo(created_at=planned.read_at, changed_since=options.changed_since))
    doc = planfile.build(planned.plan, report=report, key=key, file_hashes=planned.file_hashes or {},
                         revision=gitinfo.revision(planned.settings.root),
                         allow_large_change=options.allow_large_change)
    planfile.write(path, doc)
    interruption.note_file(path)


def run_apply_saved(root: Path | str, plan_file: Path, options: RunOptions = RunOptions(), *,
                    approve_live: ApproveLive | bool = False, progress: Progress | None = None,
                    signals: StopOnSignals | None = None) -> ApplyResult:
    """``apply --plan FILE``: re-read the repository and every page; write only if nothing moved.

    Refusals (another target, a newer format, a corrupt or edited file) raise
    :class:`~reconciler.planning.planfile.PlanFileError`; anything that moved raises
    :class:`~reconciler.planning.planfile.StalePlanError` listing every difference.
    Both happen before the first write, so a refused plan sends nothing.
    """
    started = time.monotonic()
    saved = planfile.load(plan_file)
    root = Path(root)
    settings = reading.load_settings(root, options)
    planfile.check_target(saved, "local" if settings.api.is_local else settings.api.url.rstrip("/"))
    key = planfile.plan_key(settings, create=False)
    planfile.verify_signature(saved, key)
    envs = tuple(ClientEnv(e) for e in saved.envs)
    replay = dataclasses.replace(options, agents=saved.agents, envs=envs, changed_since=None,
                                 allow_large_change=saved.allow_large_change)

    async def go() -> ApplyResult:
        known = set(loader.agent_names(root))
        # Validation takes turns with the event loop, so SIGINT/SIGTERM stop it like the reads after it.
        desired = await _stoppable(interleaved(validation.iter_validate_repository(
            root, agents=[a for a in saved.agents if a in known] or None, envs=envs or None,
            today=options.today, use_cache=options.cache)), signals)
        if desired is None:
            raise Interrupted("interrupted before any write: nothing was applied")
        hashes = loader.file_hashes(root, saved.agents)
        agents = tuple(a for a in saved.agents if a in desired.agents)
        async with _client(settings) as api:
            read = await _stoppable(reading.read_live(api, reading.snapshot_of(settings, desired), agents,
                                                      progress=progress), signals)
            if read is None:
                raise Interrupted("interrupted before any write: nothing was applied")
            planned = _planned(api, read, replay)
            moved = planfile.differences(saved, planned.plan, hashes, key)
            if moved:
                raise planfile.StalePlanError(moved)
            planned = held_by_windows(planned, options)      # refused before any write, or noted
            allow_live, writes_start = wholeplan.approve(planned.plan, approve_live, started)   # whole or nothing
            return await _execute(api, planned, allow_live, writes_start, progress, signals)

    with applylock.hold(root):
        return run_async(go())


def run_apply(root: Path | str, options: RunOptions = RunOptions(), *, approve_live: ApproveLive | bool = False,
              progress: Progress | None = None, signals: StopOnSignals | None = None) -> ApplyResult:
    """Plan, then execute: the ``apply`` command.

    ``approve_live``: True (``--auto-approve``), False (refuse live), or a
    callback asked once when the plan would write ``live``. Waiting for a
    human restarts the run's clock, so every page is re-read before it is
    written (see :mod:`reconciler.apply.executor`).

    Two applies of one checkout never interleave: the whole run holds
    ``.reconciler/apply.lock`` (:mod:`reconciler.apply.lock`; a second run raises
    ``LockedError`` before any request). ``signals``: while reading and writing
    (not while a human is asked), the first SIGINT/SIGTERM stops the run —
    before the first write it raises :class:`Interrupted`; afterwards the
    environment being written finishes, the others are "not attempted", and the
    result comes back as usual (``signals.received`` says which signal).
    """
    started = time.monotonic()

    async def go() -> ApplyResult:
        settings = reading.load_settings(Path(root), options)
        async with _client(settings) as api:
            read = await _stoppable(reading.read_overlapped(api, settings, Path(root), options, progress=progress),
                                    signals)
            if read is None:
                raise Interrupted("interrupted before any write: nothing was applied")
            planned = held_by_windows(_planned(api, read, options), options)   # refused before any write, or noted
            return await _execute(api, planned, approve_live, started, progress, signals)

    with applylock.hold(Path(root)):
        return run_async(go())


async def plan_desired(api: AgentsApi, settings: Settings, desired: DesiredState, agents: tuple[str, ...],
                       options: RunOptions) -> Planned:
    """Read live for a repository already validated (``rollback``'s scratch copy) and plan it."""
    read = await reading.read_live(api, reading.snapshot_of(settings, desired), agents)
    return _planned(api, read, options)


async def execute_planned(api: AgentsApi, planned: Planned, approve_live: ApproveLive | bool, started: float,
                          progress: Progress | None = None, signals: StopOnSignals | None = None, *,
                          command: str = "apply", rolled_back_to: str | None = None) -> ApplyResult:
    """The end of every CLI apply (``rollback`` included): ask for live, write, record the history."""
    return await _execute(api, planned, approve_live, started, progress, signals, command=command,
                          rolled_back_to=rolled_back_to)


def _planned(api: AgentsApi, read: Reading, options: RunOptions, *, read_only: bool = False) -> Planned:
    """The plan of what was read (:func:`plan_snapshot`), as a :class:`Planned`."""
    plan = plan_snapshot(read.snapshot, read.live, read.agents, target=api.target, envs=options.envs or None,
                         allow_large_change=options.allow_large_change, today=options.today, read_only=read_only)
    return Planned(plan=plan, settings=read.snapshot.settings, desired=read.snapshot.desired,
                   planned_at=read.planned_at, read_at=read.read_at, agents=read.agents,
                   sent_at=read.live.sent_at)


async def _execute(api: AgentsApi, planned: Planned, approve_live: ApproveLive | bool, started: float,
                   progress: Progress | None, signals: StopOnSignals | None, *, command: str = "apply",
                   rolled_back_to: str | None = None) -> ApplyResult:
    """Ask for live (if it must), then write, stoppable by a signal between environments; then the history."""
    allow_live, run_start = _decide_live(planned.plan, approve_live, started)
    report = None if progress is None else (lambda done, total: progress("apply", done, total))
    stop = signals.install() if signals is not None else None
    try:
        result = await executor.apply_plan(planned.plan, api, settings=planned.settings, desired=planned.desired,
                                           allow_live=allow_live, planned_at=planned.planned_at,
                                           sent_at=planned.sent_at,
                                           started_at_monotonic=run_start, progress=report, stop=stop)
    finally:
        if signals is not None:
            signals.remove()
    history.record_result(planned.settings.root, result, keep=planned.settings.governance.history_keep,
                          time=_utc_now(), command=command, rolled_back_to=rolled_back_to)
    result = await writers.other_writers(api, result, planned.settings.concurrency)   # no lock in the API
    return dataclasses.replace(result, plan=with_unreachable(result.plan, api))


async def _stoppable(work: Awaitable[T], signals: StopOnSignals | None) -> T | None:
    """``await work``, or None (work cancelled) if a signal arrives first."""
    if signals is None:
        return await work
    stop = signals.install()
    try:
        task = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done() and not stop.is_set():
            return task.result()
        # A signal, even one that came as the work finished: before any write, so stop here.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None
    finally:
        signals.remove()


def utc_clock() -> _dt.datetime:
    """The one place a run reads the wall clock for sync windows (the windows module is given it)."""
    return _dt.datetime.now(_dt.timezone.utc)


def held_by_windows(planned: Planned, options: RunOptions) -> Planned:
    """:func:`reconciler.apply.windows.gate`: raises ``HeldError`` (nothing written) or notes overrides."""
    plan = windows.gate(planned.plan, planned.settings.governance, utc_clock(),
                        ignore_windows=options.ignore_windows)
    return planned if plan is planned.plan else dataclasses.replace(planned, plan=plan)


def with_unreachable(plan: Plan, api: AgentsApi) -> Plan:
    """The plan with a run-wide ``api.unreachable`` finding when the client's circuit breaker opened."""
    breaker = api.breaker
    if not breaker.trips:
        return plan
    finding = Finding(Severity.ERROR, "api.unreachable", breaker.first_trip or breaker.summary())
    return dataclasses.replace(plan, findings=plan.findings + (finding,))


def _decide_live(plan: Plan, approve_live: ApproveLive | bool, started: float) -> tuple[bool, float]:
    """(may live be written, when this run's writes are considered to start)."""
    if isinstance(approve_live, bool):
        return approve_live, started
    if not live_changes(plan):
        return False, started
    answer = approve_live(plan)
    # A human may have taken minutes: anything read before now must be re-read before it is written.
    return answer, time.monotonic()


def _client(settings: Settings) -> HttpAgentsApi:
    return HttpAgentsApi.from_settings(settings)


def client_for(settings: Settings) -> HttpAgentsApi:
    """The Agents API client of ``settings`` (an async context manager)."""
    return _client(settings)


def _utc_now() -> str:
    return utc_clock().isoformat(timespec="seconds").replace("+00:00", "Z")


def live_changes(plan: Plan) -> tuple[str, ...]:
    """Agents whose ``live`` page the plan would write."""
    return tuple(r.agent for r in plan.results if r.env is ClientEnv.LIVE and r.status.needs_apply and r.has_writes)
