"""Injected faults: latency, 500/503, 429 + Retry-After, dropped connections; state never corrupted."""

import time

import httpx
import pytest

from test_emulator_routes import assert_error

PAGE = "/v1/agents/a/real-time-configs/sandbox"


@pytest.fixture
def api(emulator):
    emulator.seed("a")
    with httpx.Client(base_url=emulator.url, headers={"x-api-key": emulator.api_key}) as client:
        yield client


def test_latency_and_jitter_delay_v1_but_not_hooks(api, emulator):
    emulator.set_faults(latency_ms=150, jitter_ms=50)
    started = time.monotonic()
    assert api.get(PAGE).status_code == 200
    assert 0.15 <= time.monotonic() - started < 2
    started = time.monotonic()
    emulator.stats()
    assert time.monotonic() - started < 0.15


def test_error_rate_answers_5xx_envelopes_and_never_writes(api, emulator):
    emulator.set_faults(error_rate=1)
    statuses = set()
    for i in range(12):
        r = api.patch(PAGE + "/variables", json={"variables": {"n": i}})
        assert r.status_code in (500, 503)
        statuses.add(r.status_code)
        assert_error(r, r.status_code, "INTERNAL_SERVER_ERROR" if r.status_code == 500 else "SERVICE_UNAVAILABLE")
    assert statuses == {500, 503}
    assert emulator.peek("a", "sandbox")["variables"] == {}
    assert emulator.stats()["total"] == 12


def test_rate_limit_answers_429_with_retry_after(api, emulator):
    emulator.set_faults(rate_limit_rate=1, retry_after_s=3)
    r = api.put(PAGE + "/schema", json={"schema": {"type": "object"}})
    assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert r.headers["Retry-After"] == "3"
    assert emulator.peek("a", "sandbox")["schema"] == {}
    emulator.set_faults(rate_limit_rate=1)                    # omitted retry_after_s is 0
    assert api.get(PAGE).headers["Retry-After"] == "0"


def test_drop_closes_the_connection_without_a_response(api, emulator):
    emulator.set_faults(drop_rate=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.patch(PAGE + "/variables", json={"variables": {"x": 1}})
    assert emulator.peek("a", "sandbox")["variables"] == {}
    assert emulator.requests()[-1]["status"] is None
    emulator.set_faults()
    assert api.get(PAGE).status_code == 200                   # the server is fine afterwards


def test_partial_rates_mix_faults_and_successes(api, emulator):
    emulator.set_faults(error_rate=0.5)
    codes = [api.patch(PAGE + "/variables", json={"variables": {f"k{i}": i}}).status_code for i in range(60)]
    assert set(codes) <= {200, 500, 503} and 200 in codes and len(set(codes)) > 1
    stored = emulator.peek("a", "sandbox")["variables"]
    assert set(stored) == {f"k{i}" for i, code in enumerate(codes) if code == 200}


def test_hooks_are_never_faulted(emulator):
    emulator.set_faults(error_rate=1, drop_rate=1, rate_limit_rate=1)
    emulator.seed("b")
    assert emulator.peek("b", "live")["variables"] == {}
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("body", [{"error_rate": 2}, {"drop_rate": -0.1}, {"latency_ms": "5"},
                                  {"retry_after_s": 1.5}, {"nonsense": 1}])
def test_invalid_fault_settings_are_400(emulator, body):
    r = httpx.put(emulator.url + "/_emulator/faults", json=body)
    assert_error(r, 400, "INVALID_REQUEST_BODY")
