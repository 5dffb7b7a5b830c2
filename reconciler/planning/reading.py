"""What a plan is made from, read: the repository snapshot and the live pages (the CLI's reader).

Called by :mod:`reconciler.engine` for ``plan``, ``apply``, ``drift`` and
``apply --plan``; the daemon has its own reader (:mod:`reconciler.daemon.repository`,
a snapshot kept between passes). Both hand the same two values
(:mod:`reconciler.planning.snapshot`) to the one road to a plan,
:func:`reconciler.engine.plan_snapshot`.

:func:`read_overlapped` validates the repository in steps that take turns with
the event loop (:mod:`reconciler.steps`; a large whole repository's second half
in a forked child, :func:`validate_beside_reads`) and starts each agent's read
(ONE GET, at most ``concurrency`` at a time) as soon as the loader accepts its
directory, so the network's wait hides behind the local work instead of following it.
:func:`read_live` reads the pages of a repository already validated. Both read
exactly the same agents: a refused agent directory is never read,
``--changed-since`` is decided (by git) before the first request, and an
``--agent`` naming no directory is refused before any request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from reconciler import aio, settings as settings_module
from reconciler.api.live import LiveReads, fetch_live
from reconciler.apply.executor import AgentsApi
from reconciler.checks import twoprocesses, validation
from reconciler.checks.validation import Checked
from reconciler.checks.policy import loader as policy_loader
from reconciler.model import ClientEnv, DesiredState, LiveAgent
from reconciler.planning import selection
from reconciler.planning.snapshot import LivePages, RepositorySnapshot
from reconciler.repository import loader
from reconciler.settings import Settings

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
    ignore_windows: bool = False
    """``apply --ignore-windows``: write through deny windows that have ``manualSync: true``."""


@dataclasses.dataclass(frozen=True)
class Reading:
    """Everything a run read before planning: the two inputs of a plan, and when they were read."""

    snapshot: RepositorySnapshot
    live: LivePages
    agents: tuple[str, ...]
    """The agents the run covers (:func:`reconciler.planning.selection.select_agents`)."""
    planned_at: float
    """``time.monotonic()`` just before live state was read."""
    read_at: str
    """Wall-clock time (ISO 8601 UTC) just before live state was read: a report's ``created_at``."""


def load_settings(root: Path, options: RunOptions) -> Settings:
    """``reconciler.yaml`` with the command line's overrides (``--api-url``, ``--concurrency``)."""
    return settings_module.load_settings(root, api_url=options.api_url, concurrency=options.concurrency)


def snapshot_of(settings: Settings, desired: DesiredState) -> RepositorySnapshot:
    """The repository snapshot of a validated desired state (its policies read from the same root)."""
    return RepositorySnapshot(settings=settings, desired=desired, policies=policy_loader.load_policies(desired.root))


def read_repository(root: Path, options: RunOptions) -> tuple[RepositorySnapshot, tuple[str, ...]]:
    """The repository snapshot and the agents this run covers, at once (no network)."""
    settings = load_settings(root, options)
    changed = selection.changed_agents(root, options.changed_since) if options.changed_since else None
    desired = twoprocesses.validate_repository(root, agents=options.agents or None, envs=options.envs or None,
                                                today=options.today, use_cache=options.cache)
    return snapshot_of(settings, desired), selection.select_agents(root, desired, options.agents, changed=changed)


async def read_overlapped(api: AgentsApi, settings: Settings, root: Path, options: RunOptions, *,
                          progress: Progress | None = None) -> Reading:
    """Validate the repository and read live at the same time (plan, apply and drift)."""
    changed = selection.changed_agents(root, options.changed_since) if options.changed_since else None
    planned_at, read_at = time.monotonic(), utc_now()
    reads = LiveReads(api if progress is None else CountingReader(api, progress, lambda: reads.started),
                      concurrency=settings.concurrency)

    def accepted(agent: str) -> None:
        if changed is None or agent in changed:
            reads.start(agent)

    early = all(os.path.isdir(root / loader.CONFIGS_DIR / a) for a in options.agents)
    try:
        desired = await validate_beside_reads(root, options, accepted if early else None)
        agents = selection.select_agents(root, desired, options.agents, changed=changed)
        readable = [a for a in agents if a in desired.agents]    # a refused agent directory is never read
        live, failed = await reads.results(readable) if readable else ({}, {})
    finally:
        await reads.aclose()
    return Reading(snapshot_of(settings, desired), LivePages(live, failed, dict(reads.sent_at)), agents,
                   planned_at, read_at)


async def validate_beside_reads(root: Path, options: RunOptions,
                                on_agent: Callable[[str], None] | None) -> DesiredState:
    """The plan commands' local phase, while the event loop runs the live reads.

    A large whole repository on two cores (:mod:`reconciler.checks.twoprocesses`): this process
    checks the first half of the agents in steps that take turns with the loop, a forked child
    the second half, each agent it accepts passed on to ``on_agent`` as it comes. Otherwise all
    of it here, in steps. ``on_agent`` starts an agent's read (never for a refused directory)."""
    envs = options.envs or None
    split = twoprocesses.halves(root) if not options.agents and twoprocesses.can_fork() else None
    if split is None:
        return await aio.interleaved(validation.iter_validate_repository(
            root, agents=options.agents or None, envs=envs, today=options.today, on_agent=on_agent,
            use_cache=options.cache))
    first, second = split
    child = twoprocesses.Child(root, second, envs, options.cache, stream=on_agent is not None)
    answer: asyncio.Future | None = None
    try:
        answer = asyncio.ensure_future(_child_answer(child, on_agent))
        with loader.results_cache(root, options.cache) as cache:
            mine = await aio.interleaved(validation.check_agents(root, first, envs, on_agent, cache))
            theirs = await answer
            if theirs is None:                # the child gave no answer: its half here
                theirs = (await aio.interleaved(validation.check_agents(root, second, envs, on_agent, cache)),
                          frozenset())
            checked = twoprocesses.join(cache, envs, mine, theirs)
    finally:
        if answer is not None:
            answer.cancel()
        asyncio.get_running_loop().remove_reader(child.fd)     # before its descriptor is closed
        child.end()
    return validation.finish(root, checked, options.today)


async def _child_answer(child: twoprocesses.Child, on_agent: Callable[[str], None] | None
                        ) -> tuple[Checked, frozenset[bytes]] | None:
    """Read ``child``'s pipe on the event loop (each agent it accepts to ``on_agent``) until it ends."""
    loop = asyncio.get_running_loop()
    ended = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(child.fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(child.fd)
            if not ended.done():
                ended.set_result(None)
            return
        for agent in child.feed(data):
            if on_agent is not None:
                on_agent(agent)

    os.set_blocking(child.fd, False)
    loop.add_reader(child.fd, readable)
    try:
        await ended
    finally:
        loop.remove_reader(child.fd)
    return child.answer()


async def read_live(api: AgentsApi, snapshot: RepositorySnapshot, agents: Sequence[str], *,
                    progress: Progress | None = None) -> Reading:
    """Read the live pages of ``agents`` (one GET each) for a repository already read."""
    planned_at, read_at = time.monotonic(), utc_now()
    readable = [a for a in agents if a in snapshot.desired.agents]    # a refused agent directory is never read
    reader = api if progress is None else CountingReader(api, progress, lambda: len(readable))
    live, failed = (await fetch_live(reader, readable, concurrency=snapshot.settings.concurrency)
                    if readable else ({}, {}))
    return Reading(snapshot, LivePages(live, failed), tuple(agents), planned_at, read_at)


class CountingReader:
    """Forwards ``get_agent`` and reports read progress (the live reads know nothing of progress bars).

    ``total()``: the reads known so far (it grows while the repository is still being loaded).
    """

    def __init__(self, api: AgentsApi, progress: Progress, total: Callable[[], int]) -> None:
        self._api, self._progress, self._total, self._done = api, progress, total, 0

    async def get_agent(self, agent: str) -> LiveAgent:
        try:
            return await self._api.get_agent(agent)
        finally:
            self._done += 1
            self._progress("read", self._done, max(self._total(), self._done))


def utc_now() -> str:
    """Now, ISO 8601 UTC to the second (``2026-12-01T01:02:03Z``)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
