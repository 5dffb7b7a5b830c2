"""PUT schema / PATCH variables: validation, shallow merge, lastUpdated, body errors."""

import time

import httpx
import pytest

from test_emulator_routes import assert_error

PAGE = "/v1/agents/a/real-time-configs/sandbox"
PHONE_SCHEMA = {
    "type": "object",
    "properties": {
        "fallback_number": {"type": "string", "pattern": r"^\+[1-9]\d{1,14}$"},
        "hours": {"type": "object", "properties": {"open": {"type": "string"}, "close": {"type": "string"}}},
        "enabled": {"type": "boolean"},
    },
    "additionalProperties": False,
}


@pytest.fixture
def api(emulator):
    emulator.seed("a")
    with httpx.Client(base_url=emulator.url, headers={"x-api-key": emulator.api_key}) as client:
        yield client


def put_schema(api, schema, page=PAGE):
    return api.put(page + "/schema", json={"schema": schema})


def patch(api, variables, page=PAGE):
    return api.patch(page + "/variables", json={"variables": variables})


def test_put_schema_returns_and_stores_the_page(api, emulator):
    r = put_schema(api, PHONE_SCHEMA)
    assert r.status_code == 200
    assert r.json()["schema"] == PHONE_SCHEMA and r.json()["clientEnv"] == "sandbox"
    assert emulator.peek("a", "sandbox") == r.json()
    assert emulator.peek("a", "live")["schema"] == {}          # environments are independent


@pytest.mark.parametrize("schema", [
    {"type": "strnig"},
    {"properties": {"x": {"type": 5}}},
    {"type": "object", "properties": {"p": {"type": "string", "pattern": "([unclosed"}}},
    {"patternProperties": {"(": {}}},
    {"required": "name"},
    {"minLength": -1},
])
def test_put_invalid_draft7_schema_is_rejected_and_changes_nothing(api, emulator, schema):
    before = emulator.peek("a", "sandbox")
    assert_error(put_schema(api, schema), 400, "REAL_TIME_CONFIG_INVALID_SCHEMA")
    assert emulator.peek("a", "sandbox") == before


def test_put_is_accepted_even_when_current_variables_stop_validating(api, emulator):
    assert patch(api, {"extra": 1, "fallback_number": "nope"}).status_code == 200
    r = put_schema(api, PHONE_SCHEMA)
    assert r.status_code == 200
    assert r.json()["variables"] == {"extra": 1, "fallback_number": "nope"}


def test_patch_is_a_shallow_merge_that_replaces_nested_objects_whole(api):
    assert patch(api, {"hours": {"open": "09:00", "close": "17:00"}, "enabled": True}).status_code == 200
    r = patch(api, {"hours": {"open": "08:00"}})
    assert r.status_code == 200
    assert r.json()["variables"] == {"hours": {"open": "08:00"}, "enabled": True}
    r = patch(api, {})
    assert r.json()["variables"] == {"hours": {"open": "08:00"}, "enabled": True}
    r = patch(api, {"enabled": None})                        # null is a value, not a delete
    assert r.json()["variables"] == {"hours": {"open": "08:00"}, "enabled": None}


def test_patch_validates_the_merged_result_against_the_current_schema(api, emulator):
    assert put_schema(api, PHONE_SCHEMA).status_code == 200
    assert patch(api, {"fallback_number": "+442071234567"}).status_code == 200
    before = emulator.peek("a", "sandbox")
    body = assert_error(patch(api, {"fallback_number": "07700 900123", "enabled": "yes", "orphan": 1}),
                        400, "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA")
    for path in ("fallback_number", "enabled", "orphan"):
        assert path in body["error_message"]
    assert "07700" not in body["error_message"]               # values are never echoed
    assert emulator.peek("a", "sandbox") == before            # nothing changed, lastUpdated included


def test_an_orphan_key_blocks_every_later_patch(api, emulator):
    emulator.seed("a", pages={"sandbox": {"schema": PHONE_SCHEMA, "variables": {"old_key": 1}}})
    body = assert_error(patch(api, {"enabled": True}), 400, "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA")
    assert "old_key" in body["error_message"]


def test_patch_names_nested_failing_paths(api):
    schema = {"type": "object", "properties": {"sites": {"type": "array", "items": {
        "type": "object", "required": ["phone"], "properties": {"phone": {"type": "string", "pattern": r"^\+"}}}}}}
    assert put_schema(api, schema).status_code == 200
    body = assert_error(patch(api, {"sites": [{"phone": "+1"}, {"phone": "0"}, {}]}), 400,
                        "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA")
    assert "sites[1].phone" in body["error_message"]
    assert "sites[2]" in body["error_message"] and "'phone' is a required property" in body["error_message"]


def test_a_catastrophic_pattern_is_cut_short_with_a_400(api, emulator):
    # validate refuses what its probe finds catastrophic, and so does the PUT (one decision) ...
    refused = {"type": "object", "properties": {"p": {"type": "string", "pattern": "^(a|a)*$"}}}
    assert "backtracks catastrophically" in assert_error(
        put_schema(api, refused), 400, "REAL_TIME_CONFIG_INVALID_SCHEMA")["error_message"]
    # ... and one the probe misses (its runs of one character never pass '^foo') is cut short at the PATCH
    schema = {"type": "object", "properties": {"p": {"type": "string", "pattern": "^foo((a|a)*)\\1$"}}}
    assert put_schema(api, schema).status_code == 200
    before = emulator.peek("a", "sandbox")
    started = time.monotonic()
    body = assert_error(patch(api, {"p": "foo" + "a" * 40 + "!"}), 400, "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA")
    assert time.monotonic() - started < 5
    assert "took too long" in body["error_message"]
    assert emulator.peek("a", "sandbox") == before


def test_last_updated_increases_on_every_write_only(api, emulator):
    stamps = [emulator.peek("a", "sandbox")["lastUpdated"]]
    for i in range(20):                                       # faster than the clock's millisecond
        r = patch(api, {"n": i}) if i % 2 else put_schema(api, {"type": "object"})
        assert r.status_code == 200
        stamps.append(r.json()["lastUpdated"])
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert api.get(PAGE).json()["lastUpdated"] == stamps[-1]  # reads do not move it
    assert api.get("/v1/agents/a/real-time-configs").json()["configPages"][0]["lastUpdated"] == stamps[-1]
    assert_error(put_schema(api, {"type": 1}), 400, "REAL_TIME_CONFIG_INVALID_SCHEMA")
    assert emulator.peek("a", "sandbox")["lastUpdated"] == stamps[-1]
    assert emulator.peek("a", "live")["lastUpdated"] == stamps[0]


def test_writes_to_unknown_agents_and_envs_fail_cleanly(api):
    assert_error(patch(api, {"a": 1}, page="/v1/agents/ghost/real-time-configs/live"), 404, "AGENT_NOT_FOUND")
    assert_error(put_schema(api, {}, page="/v1/agents/ghost/real-time-configs/live"), 404, "AGENT_NOT_FOUND")
    assert_error(patch(api, {"a": 1}, page="/v1/agents/a/real-time-configs/prod"), 400,
                 "REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT")
    assert_error(put_schema(api, {}, page="/v1/agents/a_b/real-time-configs/live"), 400, "INVALID_AGENT_ID")


@pytest.mark.parametrize("method, suffix, content", [
    ("PATCH", "/variables", b"{not json"),
    ("PATCH", "/variables", b""),
    ("PATCH", "/variables", b"[1, 2]"),
    ("PATCH", "/variables", b'"variables"'),
    ("PATCH", "/variables", b'{"vars": {}}'),
    ("PATCH", "/variables", b'{"variables": [1]}'),
    ("PATCH", "/variables", b'{"variables": {"x": NaN}}'),
    ("PATCH", "/variables", b"\xff\xfe{}"),
    ("PATCH", "/variables", b'{"variables": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("PUT", "/schema", b'{"schema": true}'),
    ("PUT", "/schema", b'{"schema": null}'),
    ("PUT", "/schema", b"{}"),
    ("PUT", "/schema", b"null"),
])
def test_malformed_bodies_are_400_with_the_envelope(api, emulator, method, suffix, content):
    before = emulator.peek("a", "sandbox")
    r = api.request(method, PAGE + suffix, content=content, headers={"content-type": "application/json"})
    assert_error(r, 400, "INVALID_REQUEST_BODY")
    assert emulator.peek("a", "sandbox") == before


def test_bodies_over_one_mebibyte_are_413(api, emulator):
    big = {"variables": {"blob": "x" * (1024 * 1024)}}
    assert_error(api.patch(PAGE + "/variables", json=big), 413, "REQUEST_TOO_LARGE")

    def chunks():                                             # no Content-Length: counted while reading
        yield b'{"variables": {"blob": "'
        for _ in range(17):
            yield b"y" * 65536
        yield b'"}}'

    assert_error(api.patch(PAGE + "/variables", content=chunks()), 413, "REQUEST_TOO_LARGE")
    assert emulator.peek("a", "sandbox")["variables"] == {}
    assert patch(api, {"blob": "z" * 1000}).status_code == 200
