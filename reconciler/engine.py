"""The plan / apply / drift runs as library functions; the CLI (``cli/plan.py``) stays thin.

One run, in one direction (STYLE "the flow runs one way")::

    settings -> validate_repository ┐ (side by side: a worker thread validates
             fetch_live (ONE GET   ┘  while the agents are read)
             per listed agent)   -> select agents -> planner.plan -> policy.check_plan
             -> [approve live] -> executor.apply_plan

Called by ``reconciler.cli.plan`` (and usable from the daemon or a script).
Loading, validating, planning, policy, HTTP and rendering belong to their own
modules; this one only wires them and decides which agents a run covers
(``--agent``, ``--changed-since``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from reconciler import errors, executor
from reconciler.model import AGENT_ID_PATTERN, ClientEnv, DesiredState, LiveAgent
from reconciler.plan import ApplyResult, Plan
from reconciler.settings import Settings

_AGENT_ID = re.compile(AGENT_ID_PATTERN)

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


@dataclasses.dataclass(frozen=True)
class Planned:
    """A plan and what it was made from."""

    plan: Plan
    settings: Settings
    desired: DesiredState
    planned_at: float
    """``time.monotonic()`` just before live state was read."""


def run_plan(root: Path | str, options: RunOptions = RunOptions(), *, progress: Progress | None = None) -> Planned:
    """validate + read live + diff + policies: the ``plan`` and ``drift`` commands."""
    async def go() -> Planned:
        settings = load_run_settings(Path(root), options)
        async with _client(settings) as api:
            return await validate_and_plan(api, settings, Path(root), options, progress=progress)
    return asyncio.run(go())


def run_apply(root: Path | str, options: RunOptions = RunOptions(), *, approve_live: ApproveLive | bool = False,
              progress: Progress | None = None) -> ApplyResult:
    """Plan, then execute: the ``apply`` command.

    ``approve_live``: True (``--auto-approve``), False (refuse live), or a
    callback asked once when the plan would write ``live``. Waiting for a
    human restarts the run's clock, so every page is re-read before it is
    written (see :mod:`reconciler.executor`).
    """
    started = time.monotonic()

    async def go() -> ApplyResult:
        settings = load_run_settings(Path(root), options)
        async with _client(settings) as api:
            planned = await validate_and_plan(api, settings, Path(root), options, progress=progress)
            desired = planned.desired
            allow_live, run_start = _decide_live(planned.plan, approve_live, started)
            report = None if progress is None else (lambda done, total: progress("apply", done, total))
            return await executor.apply_plan(planned.plan, api, settings=settings, desired=desired,
                                             allow_live=allow_live, planned_at=planned.planned_at,
                                             started_at_monotonic=run_start, progress=report)
    return asyncio.run(go())


def load_run_settings(root: Path, options: RunOptions) -> Settings:
    """Settings for a run that talks to the API (an invalid reconciler.yaml stops it before any request)."""
    from reconciler import settings as settings_module

    return settings_module.load_settings(root, api_url=options.api_url, concurrency=options.concurrency)


def prepare(root: Path, options: RunOptions) -> tuple[Settings, DesiredState, tuple[str, ...]]:
    """Settings, the validated repository and the agents this run covers (no network)."""
    from reconciler import validation

    settings = load_run_settings(root, options)
    desired = validation.validate_repository(root, agents=options.agents or None, envs=options.envs or None,
                                              today=options.today)
    return settings, desired, select_agents(root, desired, options)


async def validate_and_plan(api: executor.AgentsApi, settings: Settings, root: Path, options: RunOptions, *,
                            progress: Progress | None = None) -> Planned:
    """Validate the repository while live state is read, then plan: CPU and round trips overlap.

    Validation is CPU-bound and reading live state mostly waits on the network,
    so the agents the directory listing names are read (GET only: nothing is
    written before the plan exists) while a worker thread validates. At fleet
    scale this hides most of the round trips (see the README's performance
    section). An agent the listing missed is read afterwards; a read agent the
    run does not cover is dropped.
    """
    from reconciler import validation

    changed = changed_agents(root, options.changed_since) if options.changed_since else None
    guess = _listed_agents(root, options, changed)
    planned_at = time.monotonic()
    reading = asyncio.ensure_future(_read_live(api, guess, settings, progress))
    try:
        desired = await asyncio.to_thread(validation.validate_repository, root, agents=options.agents or None,
                                          envs=options.envs or None, today=options.today)
        agents = select_agents(root, desired, options, changed=changed)
    except BaseException:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        raise
    live, fetch_errors = await reading
    missing = tuple(a for a in agents if a not in live and a not in fetch_errors)
    if missing:
        more, more_errors = await _read_live(api, missing, settings, progress)
        live, fetch_errors = {**live, **more}, {**fetch_errors, **more_errors}
    live = {a: live[a] for a in agents if a in live}
    fetch_errors = {a: fetch_errors[a] for a in agents if a in fetch_errors}
    return _plan_from(api, settings, desired, agents, options, planned_at, live, fetch_errors)


async def plan_with(api: executor.AgentsApi, settings: Settings, desired: DesiredState,
                    agents: tuple[str, ...], options: RunOptions, *, progress: Progress | None = None) -> Planned:
    """Read live (one GET per agent) for an already validated repository, plan, then the change policies."""
    planned_at = time.monotonic()
    live, fetch_errors = await _read_live(api, agents, settings, progress)
    return _plan_from(api, settings, desired, agents, options, planned_at, live, fetch_errors)


def _plan_from(api, settings: Settings, desired: DesiredState, agents: tuple[str, ...], options: RunOptions,
               planned_at: float, live, fetch_errors) -> Planned:
    from reconciler import planner, policy

    plan = planner.plan(desired, live, settings, fetch_errors=fetch_errors, agents=agents,
                        envs=options.envs or None, target=getattr(api, "target", "local"))
    plan = policy.check_plan(plan, desired.root, allow_large_change=options.allow_large_change,
                             today=options.today)
    return Planned(plan=plan, settings=settings, desired=desired, planned_at=planned_at)


def _listed_agents(root: Path, options: RunOptions, changed: frozenset[str] | None) -> tuple[str, ...]:
    """The agents a run will most likely cover, from the directory listing alone (no YAML read)."""
    try:
        names = sorted(p.name for p in (root / "configs").iterdir() if _AGENT_ID.match(p.name) and p.is_dir())
    except OSError:
        return ()
    return tuple(a for a in names if (not options.agents or a in options.agents)
                 and (changed is None or a in changed))


async def _read_live(api, agents, settings: Settings, progress: Progress | None):
    from reconciler.api import fetch_live

    if not agents:
        return {}, {}
    reader = api if progress is None else _CountingReader(api, len(agents), progress)
    return await fetch_live(reader, agents, concurrency=settings.concurrency)


_NOT_COMPUTED = frozenset({"\0"})


def select_agents(root: Path, desired: DesiredState, options: RunOptions, *,
                  changed: frozenset[str] | None = _NOT_COMPUTED) -> tuple[str, ...]:
    """The agents of this run, sorted: all, or ``--agent``, narrowed by ``--changed-since``.

    ``changed``: :func:`changed_agents` already computed for this run (git is asked once).
    """
    known = sorted(desired.agents)
    if options.agents:
        unknown = [a for a in options.agents if a not in desired.agents]
        if unknown:
            raise errors.ConfigError(f"unknown agent(s) {', '.join(unknown)}: no configs/<agent> directory "
                                     f"(known: {', '.join(known) or 'none'})", code="cli.unknown_agent")
        known = sorted(set(options.agents))
    if options.changed_since:
        if changed is _NOT_COMPUTED:
            changed = changed_agents(root, options.changed_since)
        if changed is not None:
            known = [a for a in known if a in changed]
    return tuple(known)


def changed_agents(root: Path, ref: str) -> frozenset[str] | None:
    """Agents whose files changed since ``ref``; None when every agent is concerned.

    Compares the working tree (committed, staged, unstaged and untracked files)
    with ``ref``, so a PR checkout and a local edit behave alike. A change under
    ``policies/`` or to ``reconciler.yaml`` concerns every agent.
    """
    paths = _git(root, "diff", "--name-only", "--relative", ref, "--", *WATCHED_PATHS)
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
    """Forwards ``get_agent`` and reports read progress (fetch_live knows nothing of progress bars)."""

    def __init__(self, api: executor.AgentsApi, total: int, progress: Progress) -> None:
        self._api, self._total, self._progress, self._done = api, total, progress, 0

    async def get_agent(self, agent: str) -> LiveAgent:
        try:
            return await self._api.get_agent(agent)
        finally:
            self._done += 1
            self._progress("read", self._done, self._total)


def live_changes(plan: Plan) -> tuple[str, ...]:
    """Agents whose ``live`` page the plan would write."""
    return tuple(r.agent for r in plan.results if r.env is ClientEnv.LIVE and r.status.needs_apply and r.has_writes)
