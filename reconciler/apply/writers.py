"""Concurrent writers made visible: the Agents API has no lock, so an apply checks after itself.

Two applies from two checkouts against one target both used to report success
while one silently overwrote the other (issue 22). The API offers no lock and
no ETag; ``lastUpdated`` is the only concurrency token. So:

- before each environment's first write, the executor re-reads the page when
  the agent's own read is older than :data:`REREAD_AFTER` seconds
  (:func:`needs_reread`; the time its GET was sent, else the start of the
  plan's read) and re-plans if it moved (the re-read rule of
  :mod:`reconciler.apply.executor`). Judging each agent by its own read keeps
  a large apply at one GET per agent: 1,000 agents read at concurrency 32 take
  ~2 s and are written in the same order at the same pace, so each page is
  written ~2-3 s after its own read, while measured from the start of the
  whole read 876 of 1,000 pages passed 5 s and were read again
  (``benchmarks/plan_bench.py``: 2,876 GETs instead of 2,000);
- after the run, :func:`other_writers` reads every page this run wrote once
  more (one GET per agent): a page whose ``lastUpdated`` is no longer the one
  our last write produced was written by someone else during (or right after)
  this apply. Each becomes an error finding ``apply.other_writer``
  ("changed by another writer during this apply"), so the command exits 1.

A single writer is the daemon's job (``reconciler watch``: one writer per
shard); the CLI can only make a second writer visible. Called by
:func:`reconciler.engine` after :func:`reconciler.apply.executor.apply_plan`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from reconciler import errors
from reconciler.model import Finding, Severity
from reconciler.planning.plan import ApplyResult, OutcomeState

#: A plan read longer ago than this (seconds) is re-read before each environment's first write.
REREAD_AFTER = 5.0
CODE = "apply.other_writer"


def needs_reread(planned_at: float | None, now: float | None = None) -> bool:
    """Whether the plan's live read is too old to write from without looking again."""
    return planned_at is None or (time.monotonic() if now is None else now) - planned_at > REREAD_AFTER


async def other_writers(api: Any, result: ApplyResult, concurrency: int = 8) -> ApplyResult:
    """``result`` with an error finding per written page whose lastUpdated moved after our last write."""
    written = [o for o in result.outcomes if o.state is OutcomeState.APPLIED and o.last_updated]
    agents = sorted({o.agent for o in written})
    if not agents:
        return result
    gate = asyncio.Semaphore(max(1, concurrency))

    async def read(agent: str) -> Any:
        async with gate:
            try:
                return await api.get_agent(agent)
            except errors.ApiError:
                return None                   # cannot tell: the apply's own outcome stands

    live = dict(zip(agents, await asyncio.gather(*(read(a) for a in agents))))
    findings = []
    for outcome in written:
        agent_live = live.get(outcome.agent)
        page = agent_live.pages.get(outcome.env) if agent_live is not None else None
        if page is None or page.last_updated == outcome.last_updated:
            continue
        findings.append(Finding(
            Severity.ERROR, CODE, f"{outcome.agent}/{outcome.env.value}: changed by another writer during this "
            f"apply (our last write left lastUpdated {outcome.last_updated}; it is now {page.last_updated}); "
            "the API has no lock: run one writer (the daemon, one per shard) or plan again and compare",
            agent=outcome.agent, env=outcome.env.value))
    if not findings:
        return result
    return dataclasses.replace(result, plan=dataclasses.replace(result.plan,
                                                                findings=result.plan.findings + tuple(findings)))
