"""`reconciler import`: live pages -> YAML files, then `plan` is exactly in sync (over the loopback emulator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2e_helpers import cli, write_settings
from reconciler import engine
from reconciler.adoption import importer as adoption
from reconciler.repository import yamlsafe

CANARY = "canary-5e11-7d0c-secret"

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["greeting", "api_token"],
    "properties": {
        "greeting": {"type": "string", "title": "Greeting", "description": "First words.\nSecond line."},
        "answer": {"type": "string", "enum": ["NO", "yes", "off"]},
        "mode": {"type": ["string", "null"]},
        "pin_code": {"type": "string", "pattern": "^0[0-9]{3}$"},
        "fallback_number": {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$"},
        "close_at": {"type": "string"},
        "script": {"type": "string"},
        "ratio": {"type": "number"},
        "api_token": {"type": "string", "x-sensitive": True},
        "credentials": {"type": "object", "properties": {"user": {"type": "string"},
                                                          "password": {"type": "string", "writeOnly": True}}},
        "sites": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "phone": {"type": "string"},
            "hours": {"type": "object", "additionalProperties": {"type": "string"}}}}},
    },
}


def _variables(env: str) -> dict[str, Any]:
    return {
        "greeting": f"Hello from {env}",
        "answer": "NO",
        "mode": None,
        "api_token": f"{CANARY}-{env}",
        "pin_code": "0644",
        "fallback_number": "+441632960001",
        "close_at": "17:30",
        "script": "Line one\n  indented: yes\n\n# not a comment\nlast line\n",
        "ratio": 0.5,
        "credentials": {"user": "off", "password": f"{CANARY}-pw"},
        "sites": [{"name": "London", "phone": "+442079460000", "hours": {"mon": "09:00-17:30", "sat": "null"}},
                  {"name": "Leeds", "phone": "+441134960000", "hours": {}}],
    }


def _seed_fleet(emulator, agents=("imp-a", "imp-b")) -> None:
    for agent in agents:
        emulator.seed(agent, pages={env: {"schema": SCHEMA, "variables": _variables(env)}
                                    for env in ("sandbox", "pre-release", "live")})


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted((root / "configs").rglob("*")) if p.is_file()}


def test_import_then_plan_is_in_sync_and_apply_writes_nothing(emulator, tmp_path: Path) -> None:
    _seed_fleet(emulator)
    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    emulator.reset_stats()
    proc = cli(root, "import", "imp-a", "imp-b", "ghost-agent", check_codes=(1,))
    # One GET per agent, the unknown one included; nothing else.
    reads = [r["path"] for r in emulator.requests()]
    assert sorted(reads) == sorted(f"/v1/agents/{a}/real-time-configs" for a in ("imp-a", "imp-b", "ghost-agent"))
    assert "ghost-agent" in proc.stderr and "404" in proc.stderr
    assert "FAILED: ghost-agent" in proc.stdout
    files = _files(root)
    assert len(files) == 12 and not any("ghost" in f for f in files)
    values = files["configs/imp-a/live/values.yaml"]
    assert 'answer: "NO"\n' in values and 'pin_code: "0644"\n' in values and 'close_at: "17:30"\n' in values
    assert 'fallback_number: "+441632960001"\n' in values and "script: |\n  Line one\n    indented: yes\n" in values
    assert "# api_token: pin: sensitive — kept in live only, not imported\n" in values
    assert "# credentials: pin: sensitive — kept in live only, not imported\n" in values
    # Keys in live order.
    assert list(yamlsafe.parse_yaml(files["configs/imp-a/live/schema.yaml"], "s")[0]["properties"]) == \
        list(SCHEMA["properties"])
    # Sensitive values never reach the repository nor the output.
    assert not [f for f, text in files.items() if CANARY in text]
    assert CANARY not in proc.stdout + proc.stderr

    emulator.reset_stats()
    plan = cli(root, "plan", ".", "--format", "json", check_codes=(0,))
    doc = json.loads(plan.stdout)
    assert {r["status"] for r in doc["results"]} == {"in_sync"}
    assert all(r["variables"]["orphans"] == [] for r in doc["results"])
    assert CANARY not in plan.stdout
    cli(root, "apply", ".", "--auto-approve", check_codes=(0,))
    assert [r for r in emulator.requests() if r["method"] != "GET"] == []


def test_sensitive_live_value_changed_later_is_not_drift(emulator, tmp_path: Path) -> None:
    _seed_fleet(emulator, ("imp-s",))
    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    cli(root, "import", "imp-s", check_codes=(0,))
    changed = dict(_variables("live"), api_token="rotated-in-the-ui")
    emulator.edit_page("imp-s", "live", variables=changed)
    proc = cli(root, "drift", ".", check_codes=(0,))
    assert "in sync" in proc.stdout and "rotated" not in proc.stdout
    # A non-sensitive edit made in the UI still shows as drift.
    emulator.edit_page("imp-s", "live", variables=dict(changed, greeting="edited in the UI"))
    cli(root, "drift", ".", check_codes=(2,))


def test_existing_files_are_kept_without_force_and_replaced_with_it(emulator, tmp_path: Path) -> None:
    _seed_fleet(emulator, ("imp-f",))
    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    cli(root, "import", "imp-f", check_codes=(0,))
    target = root / "configs/imp-f/sandbox/values.yaml"
    target.write_text("greeting: local edit\n", encoding="utf-8")
    before = _files(root)
    proc = cli(root, "import", "imp-f", check_codes=(1,))
    assert "--force" in proc.stderr and "already exist" in proc.stderr
    assert _files(root) == before                     # nothing at all written for that agent
    cli(root, "import", "imp-f", "--force", check_codes=(0,))
    assert "Hello from sandbox" in target.read_text(encoding="utf-8")
    assert not list(root.rglob("*.tmp"))


def test_env_filter_and_agents_file(emulator, tmp_path: Path) -> None:
    _seed_fleet(emulator, ("imp-x", "imp-y"))
    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    (tmp_path / "agents.txt").write_text("# fleet\nimp-x\n\nimp-y  # second\n", encoding="utf-8")
    cli(root, "import", "--agents-file", str(tmp_path / "agents.txt"), "--env", "live", check_codes=(0,))
    assert sorted(_files(root)) == [f"configs/{a}/live/{f}.yaml" for a in ("imp-x", "imp-y")
                                    for f in ("schema", "values")]
    cli(root, "plan", ".", check_codes=(0,))


def test_import_reports_policy_findings_as_information(emulator, tmp_path: Path) -> None:
    emulator.seed("imp-p", pages={"live": {"schema": {"type": "object"}, "variables": {"fallback_number": "12"}}})
    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    (root / "policies").mkdir()
    (root / "policies" / "phones.yaml").write_text(
        "name: phones\nseverity: error\nrules:\n  - id: e164\n    paths: [fallback_number]\n    e164: {}\n",
        encoding="utf-8")
    proc = cli(root, "import", "imp-p", check_codes=(0,))
    assert "validate (information" in proc.stdout and "policy.e164" in proc.stdout


def test_bad_agent_id_is_a_usage_error(tmp_path: Path, emulator) -> None:
    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    proc = cli(root, "import", "ok-agent", "bad/../id", check_codes=(1,))
    assert "error:" in proc.stderr
    assert not (root / "configs").exists()


# ---- property: any page imports to files that plan in sync ----------------------------------------

_keys = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12)
_strings = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["NO", "off", "0644", "+441632960001", "17:30", "null", "*x", "&y", "!z", " a", "b ", "x\ny\n", "1e3", "~"])
_scalars = (st.none() | st.booleans() | st.integers(-(2 ** 53), 2 ** 53)
            | st.floats(allow_nan=False, allow_infinity=False, width=64) | _strings)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
                       max_leaves=12)


@st.composite
def _pages(draw) -> dict[str, dict[str, Any]]:
    pages = {}
    for env in draw(st.lists(st.sampled_from(["sandbox", "pre-release", "live"]), min_size=1, max_size=3, unique=True)):
        variables = draw(st.dictionaries(_keys, _values, max_size=5))
        props = {k: {"title": draw(_strings), "description": draw(_strings)} for k in variables}
        secret = draw(st.sampled_from([None, *variables])) if variables else None
        if secret is not None:
            props[secret]["x-sensitive"] = True
        schema = {"type": "object", "properties": props, "required": sorted(variables)[:1]}
        pages[env] = {"schema": schema, "variables": variables}
    return pages


@pytest.fixture
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYAI_API_KEY", "test-key")
    monkeypatch.delenv("RECONCILER_API_URL", raising=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(pages=_pages())
def test_any_imported_page_plans_in_sync_with_no_writes(emulator, tmp_path_factory, _api_key, pages) -> None:
    emulator.seed("gen-agent", pages=pages)
    root = tmp_path_factory.mktemp("gen")
    write_settings(root, emulator.url)
    report = adoption.import_live(root, ["gen-agent"])
    assert report.ok, report
    emulator.reset_stats()
    planned = engine.run_plan(root)
    statuses = {r.env.value: r.status.value for r in planned.plan.results}
    assert all(statuses[env] == "in_sync" for env in pages), (statuses, planned.plan.findings)
    assert not planned.plan.has_changes and not planned.plan.has_errors
    assert all(r.orphans == () for r in planned.plan.results)
    assert emulator.stats()["total"] == 1              # the one GET; no write


def test_a_secret_inside_the_schema_itself_is_flagged(emulator, tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"token": {"type": "string", "writeOnly": True, "default": "d3f"}}}
    emulator.seed("imp-w", pages={"sandbox": {"schema": schema, "variables": {"token": "t0k"}}})
    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    proc = cli(root, "import", "imp-w", check_codes=(0,))
    assert "sensitive property carries a value in the schema" in proc.stderr
    assert "t0k" not in (root / "configs/imp-w/sandbox/values.yaml").read_text(encoding="utf-8")
    cli(root, "plan", ".", check_codes=(0,))
