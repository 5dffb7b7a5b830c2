"""Issue 11's smaller points: bodies serialised before any write, $ref forms, hidden directories,
and the emulator taking the ECMA-262 patterns validate takes."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
from e2e_helpers import SCHEMA, converge, desired_state, new_agent, values, writes

from reconciler.checks import validation, valuecheck
from reconciler.repository import loader
from reconciler.emulator import ecma
from reconciler.emulator import schemas as emulator_schemas
from reconciler.model import SourceMap
from reconciler.planning.plan import OutcomeState


def test_a_body_that_cannot_be_json_stops_the_run_before_the_first_write(emulator) -> None:
    good, bad = new_agent(emulator, "ok"), new_agent(emulator, "nan")
    spec = {good: {"sandbox": (SCHEMA, values("sandbox"))},
            bad: {"sandbox": ({"type": "object"}, {"ratio": math.inf})}}    # not reachable from YAML
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(spec))
    assert writes(emulator.requests()) == []                          # not even the good agent's PUT
    states = {(o.agent, o.state) for o in result.outcomes if o.env.value == "sandbox"}
    assert states == {(good, OutcomeState.BLOCKED), (bad, OutcomeState.BLOCKED)}
    message = next(f.message for o in result.outcomes for f in o.errors if o.agent == good)
    assert f"{bad}/sandbox" in message and "NaN or infinity" in message


REF_SCHEMA = {
    "type": "object",
    "definitions": {"anything": True, "nothing": False, "a%b": {"type": "integer"}, 'q"': {"type": "string"}},
    "properties": {"x": {"$ref": "#/definitions/anything"}, "y": {"$ref": "#/definitions/a%25b"},
                   "z": {"$ref": "#/definitions/q%22"}, "n": {"$ref": "#/definitions/nothing"}},
}


def test_refs_to_boolean_schemas_and_percent_encoded_pointers_resolve() -> None:
    assert validation.check_schema(REF_SCHEMA, SourceMap("schema.yaml")) == []
    smap = SourceMap("values.yaml", lines={(): 1, ("y",): 2, ("z",): 3, ("n",): 4})
    found = valuecheck.check_values({"x": [1], "y": "s", "z": 3, "n": 0}, smap, REF_SCHEMA)
    assert sorted(f.path for f in found) == ["n", "y", "z"]
    assert emulator_schemas.check_schema(REF_SCHEMA) is None            # the emulator agrees
    assert len(emulator_schemas.variables_errors(REF_SCHEMA, {"x": [1], "y": "s", "z": 3, "n": 0})) == 3
    broken = {"properties": {"w": {"$ref": "#/definitions/missing"}}}
    [finding] = validation.check_schema(broken, SourceMap("schema.yaml"))
    assert finding.code == "schema.bad_ref"


def test_a_hidden_directory_under_configs_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "configs" / ".acme" / "sandbox").mkdir(parents=True)
    (tmp_path / "configs" / "acme" / ".sandbox").mkdir(parents=True)
    (tmp_path / "configs" / "acme" / ".gitkeep").write_text("")         # hidden files stay silent
    state = loader.load_repository(tmp_path)
    hidden = sorted((f.code, f.severity.value, f.file) for f in state.findings if f.code == "repo.hidden_dir")
    assert hidden == [("repo.hidden_dir", "warning", "configs/.acme"),
                      ("repo.hidden_dir", "warning", "configs/acme/.sandbox")]
    assert "ignored hidden directory" in next(f.message for f in state.findings if f.code == "repo.hidden_dir")


def test_emulator_put_takes_ecma_patterns_python_re_refuses_and_refuses_non_ecma_ones() -> None:
    assert emulator_schemas.check_schema({"pattern": r"^\p{L}+$"}) is None
    assert emulator_schemas.check_schema({"patternProperties": {r"(?<year>\d{4})": {}}}) is None
    problem = emulator_schemas.check_schema({"properties": {"a": {"pattern": r"[\w-.]+"}}})
    assert problem is not None and "properties.a.pattern" in problem and "ECMA-262" in problem


def test_emulator_put_warns_where_python_re_would_match_differently(emulator) -> None:
    emulator.seed("warn-agent")
    with httpx.Client(base_url=emulator.url, timeout=30, headers={"x-api-key": "test-key"}) as client:
        url = "/v1/agents/warn-agent/real-time-configs/sandbox/schema"
        loud = client.put(url, json={"schema": {"properties": {"pin": {"type": "string", "pattern": r"^\d{4}$"}}}})
        quiet = client.put(url, json={"schema": {"properties": {"pin": {"pattern": r"^[0-9]{4}\$?"}}}})
    assert loud.status_code == 200 and quiet.status_code == 200
    assert loud.headers["warning"].startswith('299 - "properties.pin.pattern:')
    assert "\\\\d takes Unicode digits" in loud.headers["warning"] and "trailing newline" in loud.headers["warning"]
    assert "warning" not in quiet.headers
    assert ecma.python_re_notes(r"[\d]\$") == ["\\d takes Unicode digits in Python's re"]
