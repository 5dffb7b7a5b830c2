"""Property: no request, well-formed or not, makes the emulator answer 5xx (faults off)."""

import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

METHODS = st.sampled_from(["GET", "PUT", "PATCH", "POST", "DELETE", "HEAD", "OPTIONS"])
ENVS = st.sampled_from(["sandbox", "pre-release", "live"]) | st.text(max_size=12)
AGENTS = st.sampled_from(["a", "b-2", "ghost"]) | st.text(min_size=1, max_size=20)
TEMPLATES = [
    "/v1/agents/{a}/real-time-configs",
    "/v1/agents/{a}/real-time-configs/{e}",
    "/v1/agents/{a}/real-time-configs/{e}/schema",
    "/v1/agents/{a}/real-time-configs/{e}/variables",
    "/v1/agents/{a}/telephony/connectors",
    "/_emulator/agents",
    "/_emulator/agents/{a}",
    "/_emulator/agents/{a}/pages/{e}",
    "/_emulator/stats",
    "/_emulator/requests",
    "/v1/{a}",
    "/{a}/{e}",
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
SCHEMAS = st.sampled_from([
    {"type": "object", "properties": {"p": {"type": "string", "pattern": "^[a-z]+$"}}, "additionalProperties": False},
    {"type": "object", "patternProperties": {"^x": {"type": "integer"}}},
    {"$ref": "#/definitions/missing"},
    {"type": "object", "properties": {"n": {"type": "number", "multipleOf": 0.01}}},
]) | st.dictionaries(st.sampled_from(["type", "properties", "pattern", "required", "items", "enum"]), JSON, max_size=3)


def _path(template: str, agent: str, env: str) -> str:
    return template.format(a=quote(agent, safe=""), e=quote(env, safe=""))


@st.composite
def bodies(draw):
    kind = draw(st.sampled_from(["variables", "schema", "seed", "json", "bytes", "none"]))
    if kind == "variables":
        return json.dumps({"variables": draw(JSON)}).encode()
    if kind == "schema":
        return json.dumps({"schema": draw(SCHEMAS)}).encode()
    if kind == "seed":
        page = {"schema": draw(SCHEMAS), "variables": draw(JSON)}
        return json.dumps({"agentId": draw(AGENTS), "pages": {draw(ENVS): page}, "connectors": draw(JSON)}).encode()
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    return None


HEADERS = st.fixed_dictionaries({}, optional={
    "x-api-key": st.sampled_from(["test-key", "", "other"]),
    "content-type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
})


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=30) as c:   # one client: building an SSL context per example is slow
        yield c


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=METHODS, template=st.sampled_from(TEMPLATES), agent=AGENTS, env=ENVS, body=bodies(), headers=HEADERS)
def test_no_request_gets_a_5xx(emulator, client, method, template, agent, env, body, headers):
    emulator.seed("a", pages={"sandbox": {"schema": {"type": "object", "properties": {"p": {"type": "string"}}}}})
    url = emulator.url + _path(template, agent, env)
    r = client.request(method, url, content=body, headers=headers, timeout=30)
    assert r.status_code < 500, (method, url, body, r.text)
    assert r.headers["X-PolyAI-Correlation-Id"]
    if r.status_code >= 400 and method != "HEAD":
        assert r.json()["success"] is False
