"""Reading live state (reconciler.api.live) and ``url: local`` (reconciler.api.transport).

fetch_live runs against the loopback emulator and is checked with the
emulator's own counters: N agents -> exactly N requests, all on the
all-environments route. ``local`` goes through AgentsApi.from_settings, i.e.
the real emulator app behind httpx.ASGITransport, in a temporary directory.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from reconciler import errors
from reconciler.api import AgentsApi, fetch_live
from reconciler.api.client import LOCAL_DUMMY_KEY
from reconciler.api.transport import local_db_path
from reconciler.model import ClientEnv
from reconciler.settings import ApiSettings, Settings

KEY = "sk-live-test-41"
ALL_ENVS_ROUTE = "GET /v1/agents/{agentId}/real-time-configs"


def run(coro):
    return asyncio.run(coro)


def test_one_request_per_agent_results_in_input_order(emulator):
    agents = [f"agent-{i:02d}" for i in range(25)]
    for i, agent in enumerate(agents):
        emulator.seed(agent, pages={"live": {"variables": {"i": i}}})
    order = list(reversed(agents))

    async def go():
        async with AgentsApi(emulator.url, api_key=KEY, backoffs=(0.01,)) as api:
            return await fetch_live(api, order, concurrency=8), api.request_count

    (live, failed), count = run(go())
    assert failed == {}
    assert list(live) == order
    assert all(live[a].pages[ClientEnv.LIVE].variables == {"i": agents.index(a)} for a in agents)
    assert all(set(live[a].pages) == set(ClientEnv) for a in agents)
    stats = emulator.stats()
    assert count == stats["total"] == 25
    assert stats["by_route"] == {ALL_ENVS_ROUTE: 25}          # never one call per environment


def test_a_failing_agent_is_returned_not_raised_and_others_go_on(emulator):
    emulator.seed("good-1")
    emulator.seed("good-2")

    async def go():
        async with AgentsApi(emulator.url, api_key=KEY, backoffs=(0.01,)) as api:
            return await fetch_live(api, ["good-1", "missing", "good-2", "good-1"], concurrency=2)

    live, failed = run(go())
    assert list(live) == ["good-1", "good-2"]
    assert list(failed) == ["missing"]
    assert isinstance(failed["missing"], errors.NotFoundError)
    assert failed["missing"].path == "/v1/agents/missing/real-time-configs"
    assert emulator.stats()["total"] == 3                     # a repeated id is read once


def test_reads_run_concurrently_up_to_the_limit(emulator):
    agents = [f"a{i}" for i in range(12)]
    for agent in agents:
        emulator.seed(agent)
    emulator.set_faults(latency_ms=200)

    async def timed(concurrency: int) -> float:
        async with AgentsApi(emulator.url, api_key=KEY, concurrency=16) as api:
            started = time.monotonic()
            live, failed = await fetch_live(api, agents, concurrency=concurrency)
            assert len(live) == 12 and not failed
            return time.monotonic() - started

    wide = run(timed(12))         # one wave: ~0.2 s
    narrow = run(timed(3))        # four waves: >= 0.8 s
    assert narrow >= 0.8
    assert wide < narrow - 0.3


def local_settings(root) -> Settings:
    return Settings(root=root, api=ApiSettings(url="local", backoffs=(0.01,)), concurrency=4,
                    api_key="sk-real-key-not-for-local")


def test_local_mode_runs_the_emulator_in_process_and_persists(tmp_path):
    settings = local_settings(tmp_path)

    async def write():
        async with AgentsApi.from_settings(settings) as api:
            assert api.target == "local"
            assert api._wire.headers["x-api-key"] == LOCAL_DUMMY_KEY   # the real key is not sent
            await api.put_schema("new-agent", ClientEnv.SANDBOX, {"type": "object"})
            return await api.patch_variables("new-agent", ClientEnv.SANDBOX, {"x": 1})

    async def read():
        async with AgentsApi.from_settings(settings) as api:
            live, failed = await fetch_live(api, ["new-agent", "other"], concurrency=2)
            return live, failed, api.request_count

    page = run(write())
    assert page.variables == {"x": 1}
    assert local_db_path(tmp_path).is_file()
    live, failed, count = run(read())                          # a new client: state came from the file
    assert not failed and count == 2
    assert live["new-agent"].pages[ClientEnv.SANDBOX].variables == {"x": 1}
    assert live["other"].pages[ClientEnv.SANDBOX].variables == {}   # auto-created on first use


def test_local_mode_errors_are_typed_too(tmp_path):
    async def go():
        async with AgentsApi.from_settings(local_settings(tmp_path)) as api:
            await api.put_schema("a", ClientEnv.LIVE, {"type": "not-a-type"})

    with pytest.raises(errors.InvalidSchemaError):
        run(go())


def test_from_settings_needs_a_key_for_a_remote_url_and_a_real_url(tmp_path):
    remote = Settings(root=tmp_path, api=ApiSettings(url="https://api.us.poly.ai"))
    with pytest.raises(errors.ConfigError, match="POLYAI_API_KEY is not set"):
        AgentsApi.from_settings(remote)
    bad = Settings(root=tmp_path, api=ApiSettings(url="api.poly.ai"), api_key=KEY)
    with pytest.raises(errors.ConfigError, match="api.url"):
        AgentsApi.from_settings(bad)

    async def ok():
        settings = Settings(root=tmp_path, api=ApiSettings(url="https://api.eu.poly.ai/", timeout=5),
                            api_key=KEY, concurrency=7)
        async with AgentsApi.from_settings(settings) as api:
            return api.target, api._wire.timeout, api.request_count

    assert run(ok()) == ("https://api.eu.poly.ai", 5.0, 0)
    assert not (tmp_path / ".reconciler").exists()             # nothing local was created
