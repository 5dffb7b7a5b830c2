"""x-api-key checks and the /_emulator stats counters and request log."""

import httpx
import pytest

from reconciler.emulator import create_app
from reconciler.emulator.server import ThreadedServer
from test_emulator_routes import assert_error

LIST = "/v1/agents/a/real-time-configs"


@pytest.fixture
def keyed_server(tmp_path):
    server = ThreadedServer(create_app(tmp_path / "keyed.db", auto_create=True, api_keys=["k1", "k2"])).start()
    yield server.url
    server.stop()


def test_missing_or_empty_key_is_401_on_every_v1_route(emulator):
    emulator.seed("a")
    for method, path in [("GET", LIST), ("GET", LIST + "/live"), ("PUT", LIST + "/live/schema"),
                         ("PATCH", LIST + "/live/variables"), ("GET", "/v1/agents/a/telephony/connectors")]:
        assert_error(httpx.request(method, emulator.url + path), 401, "UNAUTHORIZED")
        assert_error(httpx.request(method, emulator.url + path, headers={"x-api-key": ""}), 401, "UNAUTHORIZED")


def test_auth_comes_before_any_other_check_and_changes_nothing(emulator):
    emulator.seed("a")
    assert_error(httpx.get(emulator.url + "/v1/agents/bad_id/real-time-configs/nowhere"), 401, "UNAUTHORIZED")
    assert_error(httpx.patch(emulator.url + LIST + "/sandbox/variables", json={"variables": {"x": 1}}),
                 401, "UNAUTHORIZED")
    assert emulator.peek("a", "sandbox")["variables"] == {}


def test_without_configured_keys_any_non_empty_key_is_accepted(emulator):
    emulator.seed("a")
    assert httpx.get(emulator.url + LIST, headers={"x-api-key": "anything"}).status_code == 200


def test_configured_keys_are_the_only_ones_accepted(keyed_server):
    assert httpx.get(keyed_server + LIST, headers={"x-api-key": "k1"}).status_code == 200
    assert httpx.get(keyed_server + LIST, headers={"x-api-key": "k2"}).status_code == 200
    body = assert_error(httpx.get(keyed_server + LIST, headers={"x-api-key": "k3-secret"}), 401, "UNAUTHORIZED")
    assert "k3-secret" not in str(body)
    assert httpx.get(keyed_server + "/_emulator/stats").status_code == 200   # hooks need no key


def test_stats_count_every_v1_request_by_route_template_including_rejections(emulator):
    emulator.seed("a")
    key = {"x-api-key": emulator.api_key}
    httpx.get(emulator.url + LIST, headers=key)
    httpx.get(emulator.url + "/v1/agents/b/real-time-configs", headers=key)      # 404
    httpx.get(emulator.url + LIST)                                              # 401
    httpx.get(emulator.url + LIST + "/live", headers=key)
    httpx.put(emulator.url + LIST + "/live/schema", json={"schema": {}}, headers=key)
    httpx.patch(emulator.url + LIST + "/live/variables", json={"variables": {}}, headers=key)
    httpx.patch(emulator.url + LIST + "/live/variables", content=b"nope", headers=key)  # 400
    httpx.get(emulator.url + "/v1/agents/a/telephony/connectors", headers=key)
    httpx.get(emulator.url + "/_emulator/stats")                                # hooks are not counted
    stats = emulator.stats()
    assert stats == {"total": 8, "by_route": {
        "GET /v1/agents/{agentId}/real-time-configs": 3,
        "GET /v1/agents/{agentId}/real-time-configs/{clientEnv}": 1,
        "PUT /v1/agents/{agentId}/real-time-configs/{clientEnv}/schema": 1,
        "PATCH /v1/agents/{agentId}/real-time-configs/{clientEnv}/variables": 2,
        "GET /v1/agents/{agentId}/telephony/connectors": 1,
    }}
    log = emulator.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log[:3]] == [
        ("GET", LIST, 200), ("GET", "/v1/agents/b/real-time-configs", 404), ("GET", LIST, 401)]
    assert log[4]["route"] == "PUT /v1/agents/{agentId}/real-time-configs/{clientEnv}/schema"
    emulator.reset_stats()
    assert emulator.stats() == {"total": 0, "by_route": {}}
    assert emulator.requests() == []
    assert emulator.peek("a", "live")["schema"] == {}                          # state survives a stats reset


def test_reset_empties_agents_counters_and_faults(emulator):
    emulator.seed("a")
    emulator.page("a", "live")
    emulator.set_faults(latency_ms=5)
    httpx.post(emulator.url + "/_emulator/reset").raise_for_status()
    assert emulator.stats()["total"] == 0
    assert httpx.get(emulator.url + "/_emulator/faults").json()["latency_ms"] == 0
    assert httpx.get(emulator.url + "/_emulator/agents/a").status_code == 404


def test_edit_page_hook_replaces_wholesale_without_validation(emulator):
    emulator.seed("a", pages={"live": {"schema": {"additionalProperties": False}, "variables": {"x": 1, "y": 2}}})
    before = emulator.peek("a", "live")["lastUpdated"]
    page = emulator.edit_page("a", "live", variables={"z": 3})
    assert page["variables"] == {"z": 3} and page["schema"] == {"additionalProperties": False}
    assert page["lastUpdated"] > before
    assert emulator.page("a", "live") == page
    page = emulator.edit_page("a", "live", schema={"type": "object"})
    assert page["variables"] == {"z": 3} and page["schema"] == {"type": "object"}


@pytest.mark.parametrize("body", [{"agentId": "bad id"}, {"agentId": 3}, {"agentId": "a", "pages": {"prod": {}}},
                                  {"agentId": "a", "pages": {"live": {"schema": []}}},
                                  {"agentId": "a", "connectors": [1]}])
def test_seed_hook_rejects_malformed_seeds(emulator, body):
    r = httpx.post(emulator.url + "/_emulator/agents", json=body)
    assert r.status_code == 400 and r.json()["success"] is False
