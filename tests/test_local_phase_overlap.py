"""The local phase takes turns with the live reads (reconciler.steps, reading.read_overlapped).

What must hold: loading + validating as steps gives exactly what the one-shot
functions give; an agent's read starts as soon as the loader accepts its
directory (never for a refused one); and the event loop keeps running while the
steps run, so reads already started are answered meanwhile.
"""

import asyncio
import os
import time
from pathlib import Path

import pytest

from e2e_helpers import API_KEY, ENVS, make_repo, write_env
from reconciler import aio, engine, steps
from reconciler.checks import validation
from reconciler.planning import reading
from reconciler.repository import loader
from reconciler.api import AgentsApi
from reconciler.api.live import LiveReads


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _work(n: int, each: float):
    total = 0
    for i in range(n):
        _busy(each)
        total += i
        yield
    return total


def _count_turns(run) -> tuple[object, int]:
    """Run ``run()`` (a coroutine factory) beside a task that counts the loop iterations it gets."""
    async def main():
        turns = 0
        stop = False

        async def counter():
            nonlocal turns
            while not stop:
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(counter())
        await asyncio.sleep(0)
        turns = 0
        result = await run()
        stop = True
        await task
        return result, turns
    return asyncio.run(main())


def test_drain_returns_what_the_steps_return():
    assert steps.drain(_work(5, 0)) == 10


def test_interleaved_gives_the_event_loop_turns_while_the_steps_run():
    async def interleaved():
        return await aio.interleaved(_work(60, 0.001))

    async def drained():
        return steps.drain(_work(60, 0.001))

    result, turns = _count_turns(interleaved)
    assert result == sum(range(60))
    assert turns >= 10, turns             # ~60 ms of work in 4 ms slices: the loop ran in between
    result, turns = _count_turns(drained)
    assert (result, turns) == (sum(range(60)), 0)    # the contrast: one block, no turn for anyone


def test_on_agent_names_each_accepted_agent_before_its_files_are_read_and_never_a_refused_one(tmp_path):
    root = tmp_path / "repo"
    for agent in ("alpha", "beta", "gamma"):
        for env in ENVS:
            write_env(root, agent, env)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "configs" / "escape")          # refused: resolves outside the repository
    (root / "configs" / "Bad_Id").mkdir()                       # refused: not an agentId
    seen: list[str] = []
    gen = loader.iter_load_repository(root, on_agent=seen.append)
    while not seen:                                             # step to the first accepted agent
        next(gen)
    assert seen == ["alpha"]                                    # beta and gamma are not read yet
    desired = steps.drain(gen)
    assert seen == ["alpha", "beta", "gamma"] == sorted(desired.agents)
    assert {f.agent for f in desired.findings if f.blocks} >= {"escape", "Bad_Id"}


def test_steps_and_one_shot_validation_agree(tmp_path):
    root = make_repo(tmp_path / "repo", "local", agents=("one", "two"))
    write_env(root, "two", "live", vals={"greeting": 5})        # an invalid page
    one_shot = validation.validate_repository(root)
    stepped = steps.drain(validation.iter_validate_repository(root))
    assert one_shot.findings == stepped.findings and one_shot.findings
    assert one_shot.agents.keys() == stepped.agents.keys()


@pytest.fixture
def fleet(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url, agents=tuple(f"agent-{i:02d}" for i in range(12)),
                     concurrency=4)
    outside = tmp_path / "outside"
    (outside / "live").mkdir(parents=True)
    os.symlink(outside, root / "configs" / "escape")
    for i in range(12):
        emulator.seed(f"agent-{i:02d}", {"sandbox": {"schema": {"type": "object"}, "variables": {}}})
    return root


def test_overlapped_read_reads_each_accepted_agent_once_and_plans_like_a_sequential_read(fleet, emulator):
    os.environ.setdefault("POLYAI_API_KEY", API_KEY)
    options = engine.RunOptions()

    async def overlapped():
        settings = reading.load_settings(fleet, options)
        async with AgentsApi.from_settings(settings) as api:
            read = await reading.read_overlapped(api, settings, fleet, options)
            return read.agents, engine.plan_snapshot(read.snapshot, read.live, read.agents, target=api.target)

    async def sequential():
        snapshot, agents = reading.read_repository(fleet, options)
        async with AgentsApi.from_settings(snapshot.settings) as api:
            read = await reading.read_live(api, snapshot, agents)
            return read.agents, engine.plan_snapshot(read.snapshot, read.live, read.agents, target=api.target)

    emulator.reset_stats()
    first_agents, first = asyncio.run(overlapped())
    paths = sorted(r["path"] for r in emulator.requests())
    assert paths == sorted(f"/v1/agents/agent-{i:02d}/real-time-configs" for i in range(12))  # never "escape"
    second_agents, second = asyncio.run(sequential())
    assert first == second and first_agents == second_agents
    assert "escape" in first_agents and first.summary() == second.summary()


def test_overlapped_read_starts_no_read_for_an_unknown_agent_option(fleet, emulator):
    options = engine.RunOptions(agents=("agent-00", "nobody"))

    async def go():
        settings = reading.load_settings(fleet, options)
        async with AgentsApi.from_settings(settings) as api:
            return await reading.read_overlapped(api, settings, fleet, options)

    emulator.reset_stats()
    os.environ.setdefault("POLYAI_API_KEY", API_KEY)
    with pytest.raises(Exception) as info:
        asyncio.run(go())
    assert getattr(info.value, "code", "") == "cli.unknown_agent"
    assert emulator.requests() == []


def test_live_reads_are_shared_and_uncollected_ones_are_cancelled(emulator):
    class Slow:
        def __init__(self):
            self.calls: list[str] = []

        async def get_agent(self, agent):
            self.calls.append(agent)
            await asyncio.sleep(0.05 if agent != "never" else 30)
            return agent

    async def go():
        api = Slow()
        reads = LiveReads(api, concurrency=2)
        reads.start("a")
        reads.start("a")
        reads.start("never")
        live, failed = await asyncio.wait_for(reads.results(["a", "b"]), 5)
        await asyncio.wait_for(reads.aclose(), 5)                # "never" is cancelled, not awaited for 30 s
        return api.calls, live, failed

    calls, live, failed = asyncio.run(go())
    assert sorted(calls) == ["a", "b", "never"] and calls.count("a") == 1
    assert live == {"a": "a", "b": "b"} and failed == {}
