"""Reading live state: one ``GET /v1/agents/{agentId}/real-time-configs`` per agent.

Called by the plan/apply/drift commands (and the daemon) before planning. All
environments of an agent come in that one call (DESIGN.md §1): never one call
per environment. Agents are read concurrently, at most ``concurrency`` at once;
the client's retries and shared rate gate still apply to each read.

An agent that cannot be read is *returned* as its typed error, not raised, so
one broken agent does not stop the others; the planner turns it into an
``error`` status for that agent. Anything that is not an ``ApiError`` (a bug)
still propagates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Protocol

from reconciler.errors import ApiError
from reconciler.model import LiveAgent


class _ReadsAgents(Protocol):
    async def get_agent(self, agent: str) -> LiveAgent: ...


async def fetch_live(api: _ReadsAgents, agents: Iterable[str], *, concurrency: int = 16
                     ) -> tuple[dict[str, LiveAgent], dict[str, ApiError]]:
    """Read every agent once; ``(live by agent, errors by agent)``, both in input order.

    A repeated agent id is read once.
    """
    reads = LiveReads(api, concurrency=concurrency)
    try:
        return await reads.results(agents)
    finally:
        await reads.aclose()


class LiveReads:
    """Reads of agents started as they become known, at most ``concurrency`` at once.

    The plan commands start an agent's read as soon as the loader has accepted
    its directory, while the rest of the repository is still being read and
    validated (:func:`reconciler.planning.reading.read_overlapped`): the network wait then
    hides behind the local work instead of following it. Each agent is read
    once, whoever asks; :meth:`results` waits for the agents a run covers.
    """

    def __init__(self, api: _ReadsAgents, *, concurrency: int = 16) -> None:
        self._api = api
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._tasks: dict[str, asyncio.Task[LiveAgent | ApiError]] = {}
        self.sent_at: dict[str, float] = {}
        """``time.monotonic()`` when each agent's read was sent: what it returns is at least that recent
        (the executor's re-read rule judges each agent's read by it, :mod:`reconciler.apply.writers`)."""

    @property
    def started(self) -> int:
        return len(self._tasks)

    def start(self, agent: str) -> None:
        """Begin reading ``agent`` (no-op when already started). Call from the event loop's thread."""
        if agent not in self._tasks:
            self._tasks[agent] = asyncio.ensure_future(self._read(agent))

    async def _read(self, agent: str) -> LiveAgent | ApiError:
        async with self._slots:
            self.sent_at[agent] = time.monotonic()
            try:
                return await self._api.get_agent(agent)
            except ApiError as exc:
                return exc

    async def results(self, agents: Iterable[str]) -> tuple[dict[str, LiveAgent], dict[str, ApiError]]:
        """``(live by agent, errors by agent)`` of ``agents``, in their order (started here if need be)."""
        order = list(dict.fromkeys(agents))
        for agent in order:
            self.start(agent)
        results = await asyncio.gather(*(self._tasks[a] for a in order))
        live: dict[str, LiveAgent] = {}
        failed: dict[str, ApiError] = {}
        for agent, result in zip(order, results):
            if isinstance(result, ApiError):
                failed[agent] = result
            else:
                live[agent] = result
        return live, failed

    async def aclose(self) -> None:
        """Cancel the reads nobody collected (an error, a signal) and wait for them to end."""
        pending = [task for task in self._tasks.values() if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
