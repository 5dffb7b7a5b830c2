"""Emulator read routes, identifiers and the error envelope, over real HTTP on loopback."""

import asyncio
import re

import httpx
import pytest

from reconciler.emulator import create_app

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENVELOPE_KEYS = {"success", "error", "error_id", "error_code", "error_message", "data"}


def get(emulator, path, **kw):
    kw.setdefault("headers", {"x-api-key": emulator.api_key})
    return httpx.get(emulator.url + path, **kw)


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["success"] is False and body["data"] is None
    assert body["error_code"] == code
    assert body["error_id"] == response.headers["X-PolyAI-Correlation-Id"]
    assert body["error"] and body["error_message"]
    return body


def test_new_agent_has_three_empty_pages_stamped_at_creation(emulator):
    seeded = emulator.seed("agent-1")
    r = get(emulator, "/v1/agents/agent-1/real-time-configs")
    assert r.status_code == 200
    pages = r.json()["configPages"]
    assert [p["clientEnv"] for p in pages] == ["sandbox", "pre-release", "live"]
    for page in pages:
        assert set(page) == {"clientEnv", "variables", "schema", "lastUpdated"}
        assert page["schema"] == {} and page["variables"] == {}
        assert STAMP.match(page["lastUpdated"])
    assert len({p["lastUpdated"] for p in pages}) == 1
    assert pages == seeded["configPages"]


def test_get_one_page(emulator):
    emulator.seed("a", pages={"pre-release": {"schema": {"type": "object"}, "variables": {"k": [1, {"x": None}]}}})
    r = get(emulator, "/v1/agents/a/real-time-configs/pre-release")
    assert r.status_code == 200
    assert r.json()["clientEnv"] == "pre-release"
    assert r.json()["schema"] == {"type": "object"}
    assert r.json()["variables"] == {"k": [1, {"x": None}]}


def test_connectors_are_listed_with_every_field(emulator):
    full = {"connectorId": "c1", "name": "Main line", "accountId": "acc", "projectId": "p", "clientEnv": "live",
            "variantId": "v", "asrLangCode": "en-GB", "ttsLangCode": "en-GB", "voiceName": "Amy",
            "disableHandoff": True}
    emulator.seed("a", connectors=[full, {"connectorId": "c2"}])
    r = get(emulator, "/v1/agents/a/telephony/connectors")
    assert r.status_code == 200
    connectors = r.json()["connectors"]
    assert connectors[0] == full
    assert set(connectors[1]) == set(full)
    assert connectors[1]["connectorId"] == "c2" and connectors[1]["disableHandoff"] is False
    emulator.seed("b")
    assert get(emulator, "/v1/agents/b/telephony/connectors").json() == {"connectors": []}


@pytest.mark.parametrize("path", ["/v1/agents/ghost/real-time-configs", "/v1/agents/ghost/real-time-configs/live",
                                  "/v1/agents/ghost/telephony/connectors"])
def test_unknown_agent_is_404(emulator, path):
    assert_error(get(emulator, path), 404, "AGENT_NOT_FOUND")


@pytest.mark.parametrize("agent", ["bad_id", "a.b", "a%20b", "%C3%A9t%C3%A9"])
def test_agent_id_outside_the_pattern_is_400(emulator, agent):
    assert_error(get(emulator, f"/v1/agents/{agent}/real-time-configs"), 400, "INVALID_AGENT_ID")
    assert_error(get(emulator, f"/v1/agents/{agent}/telephony/connectors"), 400, "INVALID_AGENT_ID")


@pytest.mark.parametrize("env", ["prod", "Live", "pre_release", "draft"])
def test_unknown_client_env_is_400(emulator, env):
    emulator.seed("a")
    body = assert_error(get(emulator, f"/v1/agents/a/real-time-configs/{env}"), 400,
                        "REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT")
    assert "sandbox" in body["error_message"]


def test_unknown_route_and_method_use_the_envelope(emulator):
    assert_error(get(emulator, "/v1/nothing/here"), 404, "NOT_FOUND")
    assert_error(get(emulator, "/elsewhere", headers={}), 404, "NOT_FOUND")
    r = httpx.delete(emulator.url + "/v1/agents/a/real-time-configs", headers={"x-api-key": emulator.api_key})
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "GET"


def test_every_response_has_a_fresh_correlation_id(emulator):
    emulator.seed("a")
    ok = get(emulator, "/v1/agents/a/real-time-configs")
    hook = httpx.get(emulator.url + "/_emulator/stats")
    ids = {ok.headers["X-PolyAI-Correlation-Id"], hook.headers["X-PolyAI-Correlation-Id"]}
    assert len(ids) == 2 and all(ids)


def test_openapi_marks_hooks_as_not_live(emulator):
    spec = httpx.get(emulator.url + "/openapi.json").json()
    assert "/v1/agents/{agentId}/real-time-configs/{clientEnv}/schema" in spec["paths"]
    tags = spec["paths"]["/_emulator/reset"]["post"]["tags"]
    assert any("not part of the live API" in t for t in tags)


def test_in_process_use_through_asgi_transport_auto_creates(tmp_path):
    asyncio.run(_in_process(tmp_path))


async def _in_process(tmp_path):
    app = create_app(tmp_path / "nested" / ".reconciler" / "local.db", auto_create=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://local",
                                 headers={"x-api-key": "k"}) as client:
        r = await client.get("/v1/agents/fresh/real-time-configs/live")
        assert r.status_code == 200 and r.json()["variables"] == {}
        r = await client.patch("/v1/agents/other/real-time-configs/sandbox/variables", json={"variables": {"a": 1}})
        assert r.status_code == 200 and r.json()["variables"] == {"a": 1}
    assert (tmp_path / "nested" / ".reconciler" / "local.db").exists()


def test_an_unexpected_failure_is_a_500_envelope_not_a_crash(tmp_path):
    app = create_app(tmp_path / "broken.db")
    app.state.emulator.store.close()                          # every store call now fails inside the app
    transport = httpx.ASGITransport(app=app)

    async def call():
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return await client.get("/v1/agents/a/real-time-configs", headers={"x-api-key": "k"})

    assert_error(asyncio.run(call()), 500, "INTERNAL_SERVER_ERROR")
