"""With faults on (10 % 500s, 5 % 429s with Retry-After, 50 ms latency) an apply of 50 agents converges,
and a following plan (the CLI, with the faults still on) is in sync."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from e2e_helpers import API_KEY, cli_json, make_repo

from reconciler import engine
from reconciler.apply import executor
from reconciler.api import AgentsApi
from reconciler.planning import reading
from reconciler.planning.plan import OutcomeState

AGENTS = tuple(f"fleet-{i:02d}" for i in range(50))


@pytest.mark.slow
def test_apply_of_50_agents_converges_under_faults(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("POLYAI_API_KEY", API_KEY)
    for agent in AGENTS:
        emulator.seed(agent)
    root = make_repo(tmp_path / "repo", emulator.url, agents=AGENTS, concurrency=16)
    emulator.set_faults(latency_ms=50, error_rate=0.10, rate_limit_rate=0.05, retry_after_s=1)

    options = engine.RunOptions()
    snapshot, agents = reading.read_repository(root, options)
    settings, desired = snapshot.settings, snapshot.desired
    # Short backoffs keep the test quick; the retry loop and the shared rate gate are the real ones.
    settings = dataclasses.replace(settings, api=dataclasses.replace(
        settings.api, backoffs=(0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0), max_retry_seconds=60))

    async def apply():
        async with AgentsApi.from_settings(settings) as api:
            read = await reading.read_live(api, dataclasses.replace(snapshot, settings=settings), agents)
            plan = engine.plan_snapshot(read.snapshot, read.live, read.agents, target=api.target)
            assert plan.summary()["changes"] == 150
            return await executor.apply_plan(plan, api, settings=settings, desired=desired,
                                             allow_live=True, planned_at=read.planned_at,
                                             started_at_monotonic=read.planned_at)

    result = asyncio.run(apply())
    failed = [(o.agent, o.env, o.errors) for o in result.outcomes if o.state is not OutcomeState.APPLIED]
    assert not failed and result.ok
    statuses = [r["status"] for r in emulator.requests()]
    assert statuses.count(429) > 0 and sum(s >= 500 for s in statuses) > 0    # the faults really happened
    assert 400 not in statuses

    code, report = cli_json(root, "plan", str(root))
    assert code == 0, report["summary"]
    assert report["summary"]["in_sync"] == 150
