"""End to end (CLI subprocess, loopback emulator): a key live owns, edited in the UI, is neither drift nor
reverted by apply; import leaves it out; validate refuses it in values.yaml; policies and plan show it."""

from __future__ import annotations

import copy
import json

import yaml

from e2e_helpers import SCHEMA, cli, cli_json, values, write_env, writes

OWNED_SCHEMA = copy.deepcopy(SCHEMA)
OWNED_SCHEMA["properties"]["emergency_closure"] = {"type": "boolean", "title": "Closed", "description": "UI"}
OWNERSHIP = "ownership:\n  - agents: ['own-*']\n    envs: [live]\n    liveOwns: [emergency_closure, /sites/0/phone]\n"


def _repo(tmp_path, emulator, agent, ownership=OWNERSHIP):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "reconciler.yaml").write_text(f"api:\n  url: {emulator.url}\n{ownership}", encoding="utf-8")
    write_env(root, agent, "live", schema=OWNED_SCHEMA, vals=_repo_values())
    return root


def _repo_values(**overrides):
    return values("live", sites=[{"name": "London"}], **overrides)   # the first site's phone: live's


def test_a_live_owned_key_edited_in_the_ui_is_not_drift_and_not_reverted(tmp_path, emulator):
    agent = "own-" + tmp_path.name[-8:].replace("_", "x").lower()
    emulator.seed(agent)
    repo = _repo(tmp_path, emulator, agent)
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    # The contact centre closes in the UI (and edits the first site's phone, also live-owned).
    page = emulator.peek(agent, "live")["variables"]
    edited = {**page, "emergency_closure": True, "sites": [{"name": "London", "phone": "+441632960999"}]}
    emulator.edit_page(agent, "live", variables=edited)
    emulator.reset_stats()

    code, report = cli_json(repo, "drift", str(repo))
    assert code == 0 and report["summary"]["drift"] == 0, report
    [result] = [r for r in report["results"] if r["env"] == "live"]
    assert result["variables"]["live_owned"] == ["emergency_closure", "/sites/0/phone"]
    assert result["variables"]["orphans"] == []

    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert writes(emulator.requests()) == []
    assert emulator.peek(agent, "live")["variables"] == edited          # the UI's values stay

    # A repository change elsewhere is applied, and the owned keys still keep live's values.
    write_env(repo, agent, "live", schema=OWNED_SCHEMA, vals=_repo_values(max_hold=300))
    proc = cli(repo, "plan", str(repo), check_codes=(2,))
    assert "live owns (never compared or written): emergency_closure, /sites/0/phone" in proc.stdout
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    after = emulator.peek(agent, "live")["variables"]
    assert after["max_hold"] == 300 and after["emergency_closure"] is True
    assert after["sites"][0]["phone"] == "+441632960999"

    # Without the rule the same UI edit is drift (the test can fail).
    (repo / "reconciler.yaml").write_text(f"api:\n  url: {emulator.url}\n", encoding="utf-8")
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 2 and report["summary"]["drift"] == 1


def test_import_leaves_owned_keys_out_and_validate_refuses_them(tmp_path, emulator):
    agent = "own-imp" + tmp_path.name[-6:].replace("_", "x").lower()
    live_values = {**values("live"), "emergency_closure": False}
    emulator.seed(agent, {"live": {"schema": OWNED_SCHEMA, "variables": live_values}})
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "reconciler.yaml").write_text(f"api:\n  url: {emulator.url}\n{OWNERSHIP}", encoding="utf-8")
    cli(repo, "import", agent, "--repo", str(repo), check_codes=(0,))
    text = (repo / "configs" / agent / "live" / "values.yaml").read_text()
    assert "# emergency_closure: owned by live" in text and "/sites/0/phone" in text.splitlines()[0]
    assert "emergency_closure" not in yaml.safe_load(text)
    cli(repo, "validate", str(repo), check_codes=(0,))
    code, report = cli_json(repo, "plan", str(repo))
    assert code == 0, report

    # An owned key written into values.yaml is a validation error at its line.
    (repo / "configs" / agent / "live" / "values.yaml").write_text(text + "emergency_closure: true\n")
    proc = cli(repo, "validate", str(repo), check_codes=(1,))
    line = len(text.splitlines()) + 1
    assert f"values.yaml:{line}" in proc.stdout + proc.stderr and "values.live_owned" in proc.stdout + proc.stderr

    # `policies` shows the rule and the pages it covers.
    proc = cli(repo, "policies", str(repo), "--format", "json", check_codes=(0, 1))
    doc = json.loads(proc.stdout)
    assert doc["ownership"][0]["liveOwns"] == ["emergency_closure", "/sites/0/phone"]
    assert doc["ownership"][0]["matched"] == [{"agent": agent, "env": "live"}]
    assert "live owns emergency_closure, /sites/0/phone" in cli(repo, "policies", str(repo), check_codes=(0, 1)).stdout
