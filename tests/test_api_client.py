"""AgentsApi over real sockets: the emulator served by uvicorn on 127.0.0.1.

Covers the typed calls, the headers, error mapping on real answers, retries on
5xx / 429 / dropped connections (counted at the server), the shared rate gate,
and that the API key never reaches a message, a repr or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from reconciler import errors
from reconciler.api import AgentsApi
from reconciler.api.client import agent_path
from reconciler.model import ClientEnv, LiveAgent

KEY = "sk-DISTINCTIVE-7f3a9c0e"          # must never show up in any output
FAST = (0.01, 0.02, 0.05)
SCHEMA = {"type": "object", "properties": {"hours": {"type": "string"}, "n": {"type": "integer"}},
          "additionalProperties": False}


def client(emulator, **kw) -> AgentsApi:
    kw.setdefault("backoffs", FAST)
    return AgentsApi(emulator.url, api_key=kw.pop("api_key", KEY), **kw)


def run(coro):
    return asyncio.run(coro)


def test_get_agent_reads_every_environment_in_one_request(emulator):
    emulator.seed("a1", pages={"sandbox": {"schema": SCHEMA, "variables": {"hours": "9-5"}},
                               "live": {"variables": {"n": 3}}})

    async def go():
        async with client(emulator) as api:
            return await api.get_agent("a1"), api.request_count

    agent, count = run(go())
    assert isinstance(agent, LiveAgent) and agent.agent == "a1"
    assert set(agent.pages) == set(ClientEnv)
    assert agent.pages[ClientEnv.SANDBOX].schema == SCHEMA
    assert agent.pages[ClientEnv.SANDBOX].variables == {"hours": "9-5"}
    assert agent.pages[ClientEnv.LIVE].variables == {"n": 3}
    assert agent.pages[ClientEnv.LIVE].last_updated
    assert count == 1
    assert emulator.stats()["total"] == 1
    assert [r["path"] for r in emulator.requests()] == ["/v1/agents/a1/real-time-configs"]


def test_put_then_patch_round_trip_and_get_page(emulator):
    emulator.seed("a1")

    async def go():
        async with client(emulator) as api:
            put = await api.put_schema("a1", ClientEnv.PRE_RELEASE, SCHEMA)
            patched = await api.patch_variables("a1", "pre-release", {"hours": "8-6"})
            again = await api.patch_variables("a1", "pre-release", {"n": 2})
            return put, patched, again, await api.get_page("a1", ClientEnv.PRE_RELEASE)

    put, patched, again, page = run(go())
    assert put.schema == SCHEMA and put.env is ClientEnv.PRE_RELEASE
    assert patched.variables == {"hours": "8-6"}
    assert again.variables == {"hours": "8-6", "n": 2}          # shallow merge
    assert page == again
    assert [(r["method"], r["path"]) for r in emulator.requests()] == [
        ("PUT", "/v1/agents/a1/real-time-configs/pre-release/schema"),
        ("PATCH", "/v1/agents/a1/real-time-configs/pre-release/variables"),
        ("PATCH", "/v1/agents/a1/real-time-configs/pre-release/variables"),
        ("GET", "/v1/agents/a1/real-time-configs/pre-release"),
    ]


def test_list_connectors(emulator):
    connector = {"connectorId": "c1", "name": "main", "accountId": "acc", "projectId": "p",
                 "clientEnv": "live", "variantId": "v", "asrLangCode": "en-GB", "ttsLangCode": "en-GB",
                 "voiceName": "x", "disableHandoff": False}
    emulator.seed("a1", connectors=[connector])

    async def go():
        async with client(emulator) as api:
            return await api.list_connectors("a1")

    assert run(go()) == [connector]


@pytest.mark.parametrize(("call", "cls", "code"), [
    (lambda api: api.get_agent("nobody"), errors.NotFoundError, None),
    (lambda api: api.get_page("a1", "staging"), errors.UnknownEnvironmentError,
     "REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT"),
    (lambda api: api.put_schema("a1", "sandbox", {"type": "no-such-type"}), errors.InvalidSchemaError,
     "REAL_TIME_CONFIG_INVALID_SCHEMA"),
    (lambda api: api.patch_variables("a1", "sandbox", {"hours": 5}), errors.InvalidForSchemaError,
     "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA"),
])
def test_4xx_become_typed_errors_and_are_not_retried(emulator, call, cls, code):
    emulator.seed("a1", pages={"sandbox": {"schema": SCHEMA}})

    async def go():
        async with client(emulator) as api:
            await call(api)

    with pytest.raises(cls) as info:
        run(go())
    exc = info.value
    assert exc.status in (400, 404) and exc.method and exc.path.startswith("/v1/agents/")
    assert exc.error_id                                   # the emulator's correlation id
    if code:
        assert exc.error_code == code
    assert isinstance(exc.__cause__, httpx.HTTPStatusError)
    assert emulator.stats()["total"] == 1                 # never retried


def test_agent_ids_cannot_escape_their_path_segment():
    assert agent_path("a/../../x", "real-time-configs") == "/v1/agents/a%2F..%2F..%2Fx/real-time-configs"


def test_5xx_are_retried_until_success_counted_at_the_server(emulator):
    emulator.seed("a1")
    emulator.set_faults(error_rate=0.5)

    async def go():
        async with client(emulator, backoffs=(0.01,) * 30, max_retry_seconds=30) as api:
            for _ in range(20):
                await api.get_agent("a1")
            return api.request_count

    count = run(go())
    log = emulator.requests()
    assert count == len(log) == emulator.stats()["total"]
    assert sum(r["status"] == 200 for r in log) == 20
    assert any(r["status"] in (500, 503) for r in log)   # P(no fault in 20 draws at 50 %) ≈ 1e-6


def test_dropped_connections_are_retried_and_writes_stay_idempotent(emulator):
    emulator.seed("a1", pages={"live": {"schema": SCHEMA}})
    emulator.set_faults(drop_rate=0.4)

    async def go():
        async with client(emulator, backoffs=(0.01,) * 30, max_retry_seconds=30) as api:
            for i in range(20):
                await api.patch_variables("a1", "live", {"n": i})
            return api.request_count

    count = run(go())
    emulator.set_faults()
    assert emulator.peek("a1", "live")["variables"] == {"n": 19}
    log = emulator.requests()
    assert count == len(log) > 20                         # P(no drop in 20 draws at 40 %) ≈ 4e-5
    assert sum(r["status"] == 200 for r in log) == 20


def test_attempts_are_bounded_and_the_transport_error_is_chained(emulator, caplog):
    emulator.seed("a1")
    emulator.set_faults(drop_rate=1.0)

    async def go():
        async with client(emulator, backoffs=(0.01, 0.01, 0.01)) as api:
            try:
                await api.get_agent("a1")
            finally:
                assert api.request_count == 4

    with caplog.at_level(logging.WARNING, logger="reconciler.api"), pytest.raises(errors.TransportError) as info:
        run(go())
    assert isinstance(info.value.__cause__, httpx.TransportError)
    assert info.value.status is None and info.value.path == "/v1/agents/a1/real-time-configs"
    assert emulator.stats()["total"] == 4                 # len(backoffs) + 1
    lines = [r.getMessage() for r in caplog.records if r.name == "reconciler.api"]
    assert len(lines) == 3
    assert lines[0].startswith("attempt 1/4 failed; will retry in 0.0s: GET /v1/agents/a1/real-time-configs "
                               "(connection error: ")


def test_a_429_closes_the_gate_for_every_other_request_of_the_client(emulator):
    """After a 429 with Retry-After: 1, no request of any agent reaches the server for that second."""
    for agent in ("a1", "a2"):
        emulator.seed(agent)
    emulator.set_faults(rate_limit_rate=1.0, retry_after_s=1)

    async def go():
        async with client(emulator) as api:
            first = asyncio.create_task(api.get_agent("a1"))
            while api.gate.pauses == 0:              # until the client has read the 429
                await asyncio.sleep(0.005)
            closed_for = api.gate.remaining()
            started = time.monotonic()
            emulator.set_faults()                    # the server would now answer anything
            second = asyncio.create_task(api.get_agent("a2"))   # another agent, same run
            await asyncio.sleep(max(0.0, closed_for - 0.2))
            during_pause = emulator.stats()["total"]
            await asyncio.gather(first, second)
            return during_pause, time.monotonic() - started, closed_for, api.gate.pauses

    during_pause, elapsed, closed_for, pauses = run(go())
    assert 0.5 < closed_for <= 1.0 and pauses == 1
    assert during_pause == 1                         # a2 waited on the gate instead of going out
    assert elapsed >= closed_for - 0.01
    log = emulator.requests()
    assert [r["status"] for r in log] == [429, 200, 200]
    assert {r["path"] for r in log[1:]} == {"/v1/agents/a1/real-time-configs", "/v1/agents/a2/real-time-configs"}


def test_many_agents_converge_under_429s_and_5xx(emulator):
    agents = [f"agent-{i}" for i in range(30)]
    for agent in agents:
        emulator.seed(agent)
    emulator.set_faults(error_rate=0.1, rate_limit_rate=0.05, retry_after_s=0, latency_ms=5)

    async def go():
        async with client(emulator, backoffs=(0.01,) * 10, concurrency=8) as api:
            return await asyncio.gather(*(api.patch_variables(a, "sandbox", {"k": a}) for a in agents))

    pages = run(go())
    emulator.set_faults()
    assert [p.variables for p in pages] == [{"k": a} for a in agents]
    assert all(emulator.peek(a, "sandbox")["variables"] == {"k": a} for a in agents)


def test_missing_key_for_a_remote_url_fails_before_sending(emulator):
    with pytest.raises(errors.ConfigError, match="POLYAI_API_KEY is not set"):
        AgentsApi(emulator.url, api_key=None)
    with pytest.raises(errors.ConfigError, match=r"read from the POLYAI_API_KEY environment variable only .*"
                                                 r"accepts any non-empty key, e.g. POLYAI_API_KEY=dev"):
        AgentsApi(emulator.url, api_key="")
    assert emulator.stats()["total"] == 0


def test_the_key_never_appears_in_errors_reprs_or_logs(emulator, caplog):
    """Provoke every error kind with a distinctive key; it must not leak anywhere."""
    emulator.seed("a1", pages={"sandbox": {"schema": SCHEMA}})
    caught: list[BaseException] = []

    async def provoke(api, call):
        try:
            await call(api)
        except errors.ApiError as exc:
            caught.append(exc)

    async def go():
        async with client(emulator, backoffs=(0.01,)) as api:
            for call in (lambda a: a.get_agent("nobody"),                         # 404
                         lambda a: a.get_page("a1", "staging"),                   # 400 unknown env
                         lambda a: a.put_schema("a1", "sandbox", {"type": 7}),    # 400 invalid schema
                         lambda a: a.patch_variables("a1", "sandbox", {"x": 1})):  # 400 invalid for schema
                await provoke(api, call)
            for faults in ({"error_rate": 1.0}, {"rate_limit_rate": 1.0, "retry_after_s": 0},
                           {"drop_rate": 1.0}):
                emulator.set_faults(**faults)
                await provoke(api, lambda a: a.get_agent("a1"))
            emulator.set_faults()
            logs_repr = repr(api)
        async with AgentsApi("http://127.0.0.1:9", api_key=KEY, backoffs=(0.01,)) as dead:   # refused
            await provoke(dead, lambda a: a.get_agent("a1"))
        return logs_repr

    with caplog.at_level(logging.DEBUG):
        api_repr = run(go())
    kinds = {type(e) for e in caught}
    assert kinds >= {errors.NotFoundError, errors.UnknownEnvironmentError, errors.InvalidSchemaError,
                     errors.InvalidForSchemaError, errors.ServerError, errors.RateLimitedError,
                     errors.TransportError}
    for exc in caught:
        for text in (str(exc), repr(exc), exc.message, str(exc.__cause__), repr(exc.__cause__)):
            assert KEY not in text
    assert KEY not in api_repr
    assert caplog.records and all(KEY not in r.getMessage() for r in caplog.records)
    assert KEY not in caplog.text


def test_a_wrong_key_is_an_auth_error_without_the_key(tmp_path, caplog):
    from reconciler.emulator import create_app

    app = create_app(tmp_path / "e.db", api_keys=["the-right-one"])

    async def go():
        async with AgentsApi("http://emulator", api_key=KEY, transport=httpx.ASGITransport(app=app)) as api:
            await api.get_agent("a1")

    with caplog.at_level(logging.DEBUG), pytest.raises(errors.AuthError) as info:
        run(go())
    assert info.value.status == 401 and info.value.error_code == "UNAUTHORIZED"
    assert KEY not in str(info.value) and KEY not in caplog.text


def test_a_client_of_many_connections_costs_about_one_tls_context_to_build():
    """32 connections share one TLS context: the CA bundle is loaded once, not per connection
    (~50-80 ms of CPU each), so building the client costs what a one-connection client does."""
    def cpu_to_build(concurrency: int) -> float:
        async def build() -> float:
            started = time.process_time()
            api = AgentsApi("https://127.0.0.1:9", api_key="k", concurrency=concurrency)
            spent = time.process_time() - started
            await api.aclose()
            return spent
        return min(asyncio.run(build()) for _ in range(3))

    one, many = cpu_to_build(1), cpu_to_build(32)
    assert many < 4 * one + 0.02, (one, many)          # one context per pool: ~16x


def test_in_flight_requests_never_exceed_concurrency_across_pools(emulator):
    emulator.set_faults(latency_ms=50)
    for i in range(30):
        emulator.seed(f"pooled-{i}")

    async def run():
        async with AgentsApi(emulator.url, api_key="test-key", concurrency=12) as api:
            await asyncio.gather(*(api.get_agent(f"pooled-{i}") for i in range(30)))
            return api.request_count

    started = time.perf_counter()
    assert asyncio.run(run()) == 30
    # 30 requests at 50 ms with 12 at once need 3 rounds: more than 2 rounds proves the bound holds,
    # fewer than 30 rounds proves the pools run side by side.
    assert 0.1 < time.perf_counter() - started < 1.5
