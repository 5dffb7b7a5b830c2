"""The plan / apply / drift runs as library functions; the CLI (``cli/plan.py``) stays thin.

One run, in one direction (STYLE "the flow runs one way")::

    settings -> validate_repository -> select agents -> fetch_live (ONE GET per agent)
             -> planner.plan -> policy.check_plan -> [approve live] -> executor.apply_plan

Variants: ``run_drift`` (read-only planner, no change rules, causes from git),
``write_plan_file`` (``plan --save-plan``) and ``run_apply_saved``
(``apply --plan``: plan again, compare with the file, write only if nothing moved).

Called by ``reconciler.cli.plan`` (and usable from the daemon or a script).
Loading, validating, planning, policy, HTTP and rendering belong to their own
modules; this one only wires them and decides which agents a run covers
(``--agent``, ``--changed-since``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as _dt
import os
import re
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from reconciler import errors, steps
from reconciler.apply import lock as applylock, executor, wholeplan
from reconciler.checks import warnfilter
from reconciler.repository import loader
from reconciler.aio import run_async
from reconciler.model import ClientEnv, DesiredState, Finding, LiveAgent, Severity
from reconciler.planning.plan import ApplyResult, Plan
from reconciler.settings import Settings
from reconciler.stopsignals import StopOnSignals

T = TypeVar("T")

#: Paths whose changes ``--changed-since`` looks at; policies/settings concern every agent.
WATCHED_PATHS = ("configs", "policies", "reconciler.yaml")

#: ``approve_live(plan) -> bool``: asked once, only when the plan has changes for ``live``.
ApproveLive = Callable[[Plan], bool]
#: ``progress(phase, done, total)`` with phase ``"read"`` or ``"apply"``.
Progress = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """What the command line can ask of a run (every field optional)."""

    agents: tuple[str, ...] = ()
    """Only these agents (``--agent``, repeatable); empty: all."""
    envs: tuple[ClientEnv, ...] = ()
    """Only these environments (``--env``); empty: all, in promotion order."""
    api_url: str | None = None
    """``--api-url``: overrides RECONCILER_API_URL and reconciler.yaml."""
    concurrency: int | None = None
    """``--concurrency``: agents at once (overrides reconciler.yaml)."""
    changed_since: str | None = None
    """``--changed-since REF``: only agents whose files changed since this git ref."""
    allow_large_change: bool = False
    """``--allow-large-change``: blast-radius policy findings do not block."""
    today: _dt.date | None = None
    """For waiver expiry; tests pin it."""
    cache: bool = False
    """Use the on-disk cache of parse results (``.reconciler/cache/``); the CLI's default, ``--no-cache`` off."""


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
    """The agents the run covered (:func:`select_agents`)."""


def run_plan(root: Path | str, options: RunOptions = RunOptions(), *, progress: Progress | None = None,
             hash_files: bool = False) -> Planned:
    """validate + read live + diff + policies: the ``plan`` command.

    ``hash_files``: also hash every file the plan read (for a saved plan).
    """
    async def go() -> Planned:
        settings = load_settings(Path(root), options)
        async with _client(settings) as api:
            planned = await read_and_plan(api, settings, Path(root), options, progress=progress)
            plan = with_unreachable(planned.plan, api)
        hashes = loader.file_hashes(Path(root), planned.agents) if hash_files else None
        return dataclasses.replace(planned, plan=plan, file_hashes=hashes)
    return run_async(go())


def run_drift(root: Path | str, options: RunOptions = RunOptions(), *, progress: Progress | None = None) -> Planned:
    """The read-only drift report: every page compared (errors keep their diff), no change rules, causes.

    Blast radius and other change rules limit *writes*; a report writes
    nothing, so they are not evaluated (``--allow-large-change`` means nothing here).
    """
    from reconciler.planning import drift

    async def go() -> Planned:
        settings = load_settings(Path(root), options)
        async with _client(settings) as api:
            planned = await read_and_plan(api, settings, Path(root), options, progress=progress, read_only=True)
            plan = with_unreachable(planned.plan, api)
        return dataclasses.replace(planned, plan=drift.with_causes(plan, planned.desired, Path(root)))
    return run_async(go())


def write_plan_file(planned: Planned, path: Path, options: RunOptions) -> None:
    """``plan --save-plan FILE``: the plan file of :mod:`reconciler.planning.planfile` (no sensitive value in it)."""
    from reconciler.planning import planfile
    from reconciler.repository import gitinfo
    from reconciler.report.common import RunInfo

    key = planfile.plan_key(planned.settings, create=True)
    info = RunInfo(created_at=planned.read_at, changed_since=options.changed_since)
    doc = planfile.build(planned.plan, key=key, info=info, file_hashes=planned.file_hashes or {},
                         revision=gitinfo.revision(planned.settings.root),
                         allow_large_change=options.allow_large_change)
    planfile.write(path, doc)


def run_apply_saved(root: Path | str, plan_file: Path, options: RunOptions = RunOptions(), *,
                    approve_live: ApproveLive | bool = False, progress: Progress | None = None,
                    signals: StopOnSignals | None = None) -> ApplyResult:
    """``apply --plan FILE``: re-read the repository and every page; write only if nothing moved.

    Refusals (another target, a newer format, a corrupt or edited file) raise
    :class:`~reconciler.planning.planfile.PlanFileError`; anything that moved raises
    :class:`~reconciler.planning.planfile.StalePlanError` listing every difference.
    Both happen before the first write, so a refused plan sends nothing.
    """
    from reconciler import settings as settings_module
    from reconciler.checks import validation
    from reconciler.planning import planfile

    started = time.monotonic()
    saved = planfile.load(plan_file)
    root = Path(root)
    settings = settings_module.load_settings(root, api_url=options.api_url, concurrency=options.concurrency)
    planfile.check_target(saved, "local" if settings.api.is_local else settings.api.url.rstrip("/"))
    key = planfile.plan_key(settings, create=False)
    planfile.verify_signature(saved, key)
    envs = tuple(ClientEnv(e) for e in saved.envs)
    replay = dataclasses.replace(options, agents=saved.agents, envs=envs, changed_since=None,
                                 allow_large_change=saved.allow_large_change)

    async def go() -> ApplyResult:
        known = set(loader.agent_names(root))
        # Validation takes turns with the event loop, so SIGINT/SIGTERM stop it like the reads after it.
        desired = await _stoppable(steps.interleaved(validation.iter_validate_repository(
            root, agents=[a for a in saved.agents if a in known] or None, envs=envs or None,
            today=options.today, use_cache=options.cache)), signals)
        if desired is None:
            raise Interrupted("interrupted before any write: nothing was applied")
        hashes = loader.file_hashes(root, saved.agents)
        agents = tuple(a for a in saved.agents if a in desired.agents)
        async with _client(settings) as api:
            planned = await _stoppable(plan_with(api, settings, desired, agents, replay, progress=progress),
                                       signals)
            if planned is None:
                raise Interrupted("interrupted before any write: nothing was applied")
            moved = planfile.differences(saved, planned.plan, hashes, key)
            if moved:
                raise planfile.StalePlanError(moved)
            allow_live, writes_start = wholeplan.approve(planned.plan, approve_live, started)   # whole or nothing
            return await _execute(api, planned, desired, allow_live, writes_start, progress, signals)

    with applylock.hold(root):
        return run_async(go())


class Interrupted(errors.ReconcilerError):
    """Ctrl-C / SIGTERM arrived before the first write: nothing was applied."""


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
        settings = load_settings(Path(root), options)
        async with _client(settings) as api:
            planned = await _stoppable(read_and_plan(api, settings, Path(root), options, progress=progress),
                                       signals)
            if planned is None:
                raise Interrupted("interrupted before any write: nothing was applied")
            return await _execute(api, planned, planned.desired, approve_live, started, progress, signals)

    with applylock.hold(Path(root)):
        return run_async(go())


async def _execute(api: Any, planned: Planned, desired: DesiredState, approve_live: ApproveLive | bool,
                   started: float, progress: Progress | None, signals: StopOnSignals | None) -> ApplyResult:
    """Ask for live (if it must), then write, stoppable by a signal between environments."""
    allow_live, run_start = _decide_live(planned.plan, approve_live, started)
    report = None if progress is None else (lambda done, total: progress("apply", done, total))
    stop = signals.install() if signals is not None else None
    try:
        result = await executor.apply_plan(planned.plan, api, settings=planned.settings, desired=desired,
                                           allow_live=allow_live, planned_at=planned.planned_at,
                                           started_at_monotonic=run_start, progress=report, stop=stop)
    finally:
        if signals is not None:
            signals.remove()
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
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    finally:
        signals.remove()


def with_unreachable(plan: Plan, api: object) -> Plan:
    """The plan with a run-wide ``api.unreachable`` finding when the client's circuit breaker opened."""
    breaker = getattr(api, "breaker", None)
    if breaker is None or not breaker.trips:
        return plan
    finding = Finding(Severity.ERROR, "api.unreachable", breaker.first_trip or breaker.summary())
    return dataclasses.replace(plan, findings=plan.findings + (finding,))


def load_settings(root: Path, options: RunOptions) -> Settings:
    """``reconciler.yaml`` with the command line's overrides (``--api-url``, ``--concurrency``)."""
    from reconciler import settings as settings_module

    return settings_module.load_settings(root, api_url=options.api_url, concurrency=options.concurrency)


def prepare(root: Path, options: RunOptions) -> tuple[Settings, DesiredState, tuple[str, ...]]:
    """Settings, the validated repository and the agents this run covers (no network)."""
    from reconciler.checks import validation

    settings = load_settings(root, options)
    desired = validation.validate_repository(root, agents=options.agents or None, envs=options.envs or None,
                                              today=options.today, use_cache=options.cache)
    return settings, desired, select_agents(root, desired, options)


async def read_and_plan(api: executor.AgentsApi, settings: Settings, root: Path, options: RunOptions, *,
                        progress: Progress | None = None, read_only: bool = False) -> Planned:
    """Validate the repository and read live at the same time, then plan (plan, apply and drift).

    The local phase runs in steps that take turns with the event loop
    (:mod:`reconciler.steps`); each agent the loader accepts is read at once
    (ONE GET, at most ``concurrency`` at a time), so the network's wait hides
    behind the local work instead of following it. What is read and
    planned is exactly what :func:`prepare` + :func:`plan_with` would read and
    plan: a refused agent directory is never read, ``--changed-since`` is
    decided (by git) before the first request, and an ``--agent`` naming no
    directory is refused before any request.
    """
    from reconciler.checks import validation
    from reconciler.api.live import LiveReads

    changed = changed_agents(root, options.changed_since) if options.changed_since else None
    planned_at = time.monotonic()
    read_at = _utc_now()
    reads = LiveReads(api if progress is None else _CountingReader(api, progress, lambda: reads.started),
                      concurrency=settings.concurrency)

    def accepted(agent: str) -> None:
        if changed is None or agent in changed:
            reads.start(agent)

    early = all(os.path.isdir(root / loader.CONFIGS_DIR / a) for a in options.agents)
    try:
        desired = await steps.interleaved(validation.iter_validate_repository(
            root, agents=options.agents or None, envs=options.envs or None, today=options.today,
            on_agent=accepted if early else None, use_cache=options.cache))
        agents = select_agents(root, desired, options, changed=changed)
        readable = [a for a in agents if a in desired.agents]    # a refused agent directory is never read
        live, fetch_errors = await reads.results(readable) if readable else ({}, {})
    finally:
        await reads.aclose()
    return _planned(api, settings, desired, agents, live, fetch_errors, options, read_only=read_only,
                    planned_at=planned_at, read_at=read_at)


async def plan_with(api: executor.AgentsApi, settings: Settings, desired: DesiredState,
                    agents: tuple[str, ...], options: RunOptions, *, progress: Progress | None = None,
                    read_only: bool = False) -> Planned:
    """Read live (one GET per agent), plan, then evaluate the change policies on the plan.

    ``read_only`` (drift): plan every page on its own and skip the change policies.
    """
    from reconciler.api import fetch_live

    planned_at = time.monotonic()
    read_at = _utc_now()
    readable = [a for a in agents if a in desired.agents]    # a refused agent directory is never read
    reader = api if progress is None else _CountingReader(api, progress, lambda: len(readable))
    live, fetch_errors = (await fetch_live(reader, readable, concurrency=settings.concurrency)
                          if readable else ({}, {}))
    return _planned(api, settings, desired, agents, live, fetch_errors, options, read_only=read_only,
                    planned_at=planned_at, read_at=read_at)


def _planned(api: executor.AgentsApi, settings: Settings, desired: DesiredState, agents: Sequence[str],
             live: Mapping[str, LiveAgent], fetch_errors: Mapping[str, errors.ApiError], options: RunOptions, *,
             read_only: bool, planned_at: float, read_at: str) -> Planned:
    """The plan of what was read, with the change policies, as a :class:`Planned` (both read paths end here)."""
    plan = plan_from_live(desired, live, fetch_errors, settings, agents, envs=options.envs or None,
                          target=getattr(api, "target", "local"), allow_large_change=options.allow_large_change,
                          today=options.today, read_only=read_only)
    return Planned(plan=plan, settings=settings, desired=desired, planned_at=planned_at, read_at=read_at,
                   agents=tuple(agents))


def plan_from_live(desired: DesiredState, live: Mapping[str, LiveAgent], fetch_errors: Mapping[str, errors.ApiError],
                   settings: Settings, agents: Sequence[str], *, envs: Sequence[ClientEnv] | None = None,
                   target: str = "local", allow_large_change: bool = False, today: _dt.date | None = None,
                   policy_set: object | None = None, read_only: bool = False) -> Plan:
    """The planner, then the change policies on its plan: shared by plan/apply/drift and the daemon's passes.

    ``policy_set``: policies already loaded (the daemon keeps them between passes); default: read them.
    ``read_only`` (the drift report): every page compared on its own, and no change policies
    (they limit writes, and a report writes nothing).
    """
    from reconciler.checks import policy
    from reconciler.planning import planner

    plan = planner.plan(desired, live, settings, fetch_errors=fetch_errors, agents=agents, envs=envs,
                        target=target, read_only=read_only)
    if not read_only:
        plan = policy.check_plan(plan, desired.root, allow_large_change=allow_large_change, today=today,
                                 policy_set=policy_set)
    return warnfilter.filter_plan(plan, settings.warnings)     # reconciler.yaml's warnings: section


_UNSET: Any = object()


def select_agents(root: Path, desired: DesiredState, options: RunOptions, *,
                  changed: frozenset[str] | None = _UNSET) -> tuple[str, ...]:
    """The agents of this run, sorted: all, or ``--agent``, narrowed by ``--changed-since``.

    "All" includes agent directories the loader refused (named only by a blocking
    finding): the planner reports them as errors, exactly as ``validate`` does.
    ``changed``: :func:`changed_agents` already computed for ``options.changed_since``.
    """
    refused = {f.agent for f in desired.findings if f.agent and f.blocks and f.agent not in desired.agents
               and os.path.lexists(root / "configs" / f.agent)}
    known = sorted(set(desired.agents) | refused)
    if options.agents:
        unknown = [a for a in options.agents if a not in desired.agents and a not in refused]
        if unknown:
            raise errors.ConfigError(f"unknown agent(s) {', '.join(unknown)}: no configs/<agent> directory "
                                     f"({known_agents(root)})", code="cli.unknown_agent")
        known = sorted(set(options.agents))
    if options.changed_since:
        if changed is _UNSET:
            changed = changed_agents(root, options.changed_since)
        if changed is not None:
            known = [a for a in known if a in changed]
    return tuple(known)


def known_agents(root: Path, limit: int = 10) -> str:
    """``known: acme-support, bella-pizza-sites, …`` — every agent directory, whatever the run selected."""
    names = loader.agent_names(root)
    if not names:
        return "known: none; configs/ has no agent directory"
    return "known: " + ", ".join(names[:limit]) + (f", … ({len(names)} in all)" if len(names) > limit else "")


def changed_agents(root: Path, ref: str) -> frozenset[str] | None:
    """Agents whose files changed since ``ref``; None when every agent is concerned.

    Compares the working tree (committed, staged, unstaged and untracked files)
    with ``ref``, so a PR checkout and a local edit behave alike. A change under
    ``policies/`` or to ``reconciler.yaml`` concerns every agent.
    """
    commit = resolve_commit(root, ref)
    paths = _git(root, "diff", "--name-only", "--relative", commit, "--", *WATCHED_PATHS)
    paths += _git(root, "ls-files", "--others", "--exclude-standard", "--", *WATCHED_PATHS)
    agents: set[str] = set()
    for line in paths:
        parts = PurePosixPath(line).parts
        if not parts:
            continue
        if parts[0] != "configs":
            return None
        if len(parts) >= 3:          # configs/<agent>/<env>/...; a stray file directly in configs/ is no agent
            agents.add(parts[1])
    return frozenset(agents)


def resolve_commit(root: Path, ref: str) -> str:
    """The commit id ``ref`` names, or a ConfigError: ``ref`` only ever reaches git as a revision.

    ``git rev-parse --verify --end-of-options REF^{commit}``: ``--end-of-options`` stops
    ``--output=FILE`` (or any other option spelling) from being read as an option, and
    ``^{commit}`` accepts branches, tags, ``HEAD~1``, ids… but nothing that is not a commit.
    The resolved hexadecimal id, not the user's text, is what later git commands receive.
    """
    try:
        [commit] = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except (errors.ConfigError, ValueError):
        raise errors.ConfigError(f"--changed-since: {ref!r} is not a commit in this repository "
                                 "(give a branch, tag or commit, e.g. origin/main or HEAD~1)",
                                 code="cli.changed_since") from None
    if not re.fullmatch(r"[0-9a-f]{40,64}", commit):       # pragma: no cover - rev-parse --verify prints an id
        raise errors.ConfigError(f"--changed-since: git gave {commit!r} for {ref!r}", code="cli.changed_since")
    return commit


def _git(root: Path, *args: str) -> list[str]:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise errors.ConfigError(f"--changed-since: cannot run git: {exc}", code="cli.changed_since") from exc
    if proc.returncode != 0:
        message = (proc.stderr.strip().splitlines() or ["git failed"])[0]
        raise errors.ConfigError(f"--changed-since: git {args[0]} failed: {message}", code="cli.changed_since")
    return [line for line in proc.stdout.splitlines() if line.strip()]


def _decide_live(plan: Plan, approve_live: ApproveLive | bool, started: float) -> tuple[bool, float]:
    """(may live be written, when this run's writes are considered to start)."""
    if isinstance(approve_live, bool):
        return approve_live, started
    if not live_changes(plan):
        return False, started
    answer = approve_live(plan)
    # A human may have taken minutes: anything read before now must be re-read before it is written.
    return answer, time.monotonic()


def _client(settings: Settings):
    from reconciler.api import AgentsApi

    return AgentsApi.from_settings(settings)


class _CountingReader:
    """Forwards ``get_agent`` and reports read progress (the live reads know nothing of progress bars).

    ``total()``: the reads known so far (it grows while the repository is still being loaded).
    """

    def __init__(self, api: executor.AgentsApi, progress: Progress, total: Callable[[], int]) -> None:
        self._api, self._progress, self._total, self._done = api, progress, total, 0

    async def get_agent(self, agent: str) -> LiveAgent:
        try:
            return await self._api.get_agent(agent)
        finally:
            self._done += 1
            self._progress("read", self._done, max(self._total(), self._done))


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def live_changes(plan: Plan) -> tuple[str, ...]:
    """Agents whose ``live`` page the plan would write."""
    return tuple(r.agent for r in plan.results if r.env is ClientEnv.LIVE and r.status.needs_apply and r.has_writes)
