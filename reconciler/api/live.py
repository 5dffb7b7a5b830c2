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
    order = list(dict.fromkeys(agents))
    slots = asyncio.Semaphore(max(1, concurrency))

    async def read(agent: str) -> LiveAgent | ApiError:
        async with slots:
            try:
                return await api.get_agent(agent)
            except ApiError as exc:
                return exc

    results = await asyncio.gather(*(read(a) for a in order))
    live: dict[str, LiveAgent] = {}
    failed: dict[str, ApiError] = {}
    for agent, result in zip(order, results):
        if isinstance(result, ApiError):
            failed[agent] = result
        else:
            live[agent] = result
    return live, failed
