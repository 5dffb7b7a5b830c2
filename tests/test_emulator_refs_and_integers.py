"""validate and the emulator agree on ``$ref`` (Draft 7, anchors included) and on the integer range (issue 20).

``$ref`` cases: tests/data/draft7_ref_cases.json (the topics of JSON-Schema-Test-Suite's draft7
``ref.json``): a schema both take validates each value as Draft 7 says, in validate and over
HTTP in the emulator's PUT + PATCH; a schema one refuses, the other refuses too (validate:
``schema.bad_ref`` at the schema check; the emulator: its PUT). Integers: one signed 64-bit
range, refused past either end by ``validate`` and by the emulator's PATCH and PUT alike.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.checks import schemacheck, validation, valuecheck
from reconciler.emulator import schemas as emulator_schemas
from reconciler.model import SourceMap
from tests.e2e_helpers import API_KEY, cli, write_env, write_settings

CASES = json.loads((Path(__file__).parent / "data" / "draft7_ref_cases.json").read_text(encoding="utf-8"))
GROUPS = [pytest.param(g["schema"], g["tests"], id=g["description"]) for g in CASES["groups"]]
REFUSED = [pytest.param(g["schema"], id=g["description"]) for g in CASES["refused"]]


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30, headers={"x-api-key": API_KEY})


def _page(client: httpx.Client) -> str:
    agent = f"refs-{uuid.uuid4().hex[:10]}"
    client.post("/_emulator/agents", json={"agentId": agent, "pages": {}, "connectors": []}).raise_for_status()
    return f"/v1/agents/{agent}/real-time-configs/sandbox"


def _validate_codes(schema: Any) -> set[str]:
    return {f.code for f in validation.check_schema(schema, SourceMap("schema.yaml")) if f.blocks}


@pytest.mark.parametrize("schema,tests", GROUPS)
def test_ref_cases_validate_like_draft7_in_both(emulator_server: str, schema: dict, tests: list) -> None:
    assert _validate_codes(schema) == set()
    with _client(emulator_server) as client:
        for test in tests:
            ours = not any(f.blocks for f in valuecheck.check_values(test["data"], SourceMap("v.yaml"), schema))
            if isinstance(test["data"], dict):          # over HTTP: PUT, then PATCH on a fresh page
                base = _page(client)
                put = client.put(f"{base}/schema", json={"schema": schema})
                assert put.status_code == 200, put.text
                patch = client.patch(f"{base}/variables", json={"variables": test["data"]})
                assert patch.status_code in (200, 400), patch.text
                theirs = patch.status_code == 200
            else:                                       # a PATCH carries an object: the emulator's check itself
                assert emulator_schemas.check_schema(schema) is None
                theirs = not emulator_schemas.variables_errors(schema, test["data"])
            assert ours is theirs is test["valid"], (schema, test)


@pytest.mark.parametrize("schema", REFUSED)
def test_refs_that_name_nothing_here_are_refused_by_both(emulator_server: str, schema: dict) -> None:
    assert "schema.bad_ref" in _validate_codes(schema)
    assert "schema.recursive_ref" not in _validate_codes(schema)
    with _client(emulator_server) as client:
        put = client.put(f"{_page(client)}/schema", json={"schema": schema})
    assert put.status_code == 400, put.text
    assert put.json()["error_code"] == "REAL_TIME_CONFIG_INVALID_SCHEMA"
    assert "$ref" in put.json()["error_message"]


def test_an_id_anchor_is_no_false_recursion_and_a_missing_one_is_a_bad_ref() -> None:
    anchored = {"allOf": [{"$ref": "#foo"}], "definitions": {"A": {"$id": "#foo", "type": "integer"}}}
    assert schemacheck.compute_schema_problems(anchored) == ()
    looped = {"$ref": "#self", "definitions": {"S": {"$id": "#self", "allOf": [{"$ref": "#self"}]}}}
    assert [p.code for p in schemacheck.compute_schema_problems(looped)] == ["schema.recursive_ref"]
    [problem] = schemacheck.compute_schema_problems({"allOf": [{"$ref": "#nosuch"}]})
    assert (problem.code, problem.path) == ("schema.bad_ref", ("allOf", 0, "$ref"))


# ---- one integer range ---------------------------------------------------------------------------

INT_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}}
EDGES = [(2 ** 63 - 1, True), (-(2 ** 63), True), (2 ** 63, False), (-(2 ** 63) - 1, False), (2 ** 64 + 1, False)]


@pytest.mark.parametrize("number,fits", EDGES, ids=[str(n) for n, _ in EDGES])
def test_one_integer_range_in_validate_and_the_emulator(emulator_server: str, tmp_path: Path,
                                                       number: int, fits: bool) -> None:
    write_settings(tmp_path, "local")
    write_env(tmp_path, "acme", "sandbox", schema=INT_SCHEMA, vals=False)
    (tmp_path / "configs/acme/sandbox/values.yaml").write_text(f"n: {number}\n", encoding="utf-8")
    proc = cli(tmp_path, "validate", ".")
    assert proc.returncode == (0 if fits else 1), proc.stdout
    assert ("values.integer_too_large" in proc.stdout) is not fits
    with _client(emulator_server) as client:
        base = _page(client)
        client.put(f"{base}/schema", json={"schema": INT_SCHEMA}).raise_for_status()
        patch = client.patch(f"{base}/variables", json={"variables": {"n": number}})
        assert patch.status_code == (200 if fits else 400), patch.text
        if not fits:
            assert patch.json()["error_code"] == "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA"
            assert str(number) not in patch.text                 # the value is not echoed
        put = client.put(f"{base}/schema", json={"schema": {**INT_SCHEMA, "maximum": number}})
        assert put.status_code == (200 if fits else 400), put.text
