"""`reconciler connectors`: what the emulator was seeded with, one GET per agent, per environment."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_helpers import cli, write_settings
from reconciler.adoption import connectors


def _connector(cid: str, name: str, env: str, **kw) -> dict:
    base = {"connectorId": cid, "name": name, "accountId": "acc-1", "projectId": "proj-1", "clientEnv": env,
            "variantId": "default", "asrLangCode": "en-GB", "ttsLangCode": "en-GB", "voiceName": "Amy",
            "disableHandoff": False}
    return {**base, **kw}


def _repo(tmp_path: Path, url: str, agents: tuple[str, ...]) -> Path:
    root = tmp_path / "repo"
    write_settings(root, url)
    for agent in agents:
        (root / "configs" / agent / "live").mkdir(parents=True)
        (root / "configs" / agent / "live" / "values.yaml").write_text("{}\n", encoding="utf-8")
    return root


def test_connectors_lists_what_was_seeded_one_get_per_agent(emulator, tmp_path: Path) -> None:
    emulator.seed("con-a", connectors=[
        _connector("c-2", "Main line", "live", voiceName="Brian", disableHandoff=True),
        _connector("c-1", "Test line", "sandbox", asrLangCode="en-US", ttsLangCode="es-ES", variantId="v2")])
    emulator.seed("con-b", connectors=[])
    root = _repo(tmp_path, emulator.url, ("con-a", "con-b", "con-missing"))
    emulator.reset_stats()
    proc = cli(root, "connectors", ".", "--format", "json", check_codes=(1,))
    paths = sorted(r["path"] for r in emulator.requests())
    assert paths == sorted(f"/v1/agents/{a}/telephony/connectors" for a in ("con-a", "con-b", "con-missing"))
    doc = json.loads(proc.stdout)
    assert doc["format_version"] == 1 and doc["command"] == "connectors"
    by_agent = {a["agent"]: a for a in doc["agents"]}
    assert by_agent["con-b"] == {"agent": "con-b", "error": None, "connectors": []}
    assert "404" in by_agent["con-missing"]["error"]
    first, second = by_agent["con-a"]["connectors"]             # sandbox before live
    assert first == {"connector_id": "c-1", "name": "Test line", "env": "sandbox", "variant": "v2",
                     "asr_language": "en-US", "tts_language": "es-ES", "voice": "Amy", "handoff": True,
                     "account_id": "acc-1", "project_id": "proj-1"}
    assert (second["name"], second["voice"], second["handoff"]) == ("Main line", "Brian", False)


def test_connectors_text_for_one_agent(emulator, tmp_path: Path) -> None:
    emulator.seed("con-t", connectors=[_connector("c-9", "Support", "pre-release")])
    root = _repo(tmp_path, emulator.url, ("con-t", "con-other"))
    emulator.reset_stats()
    proc = cli(root, "connectors", ".", "--agent", "con-t", check_codes=(0,))
    assert emulator.stats()["total"] == 1
    assert "con-t:\n  pre-release:\n    Support  variant default  languages en-GB → en-GB  voice Amy  handoff on" \
        in proc.stdout
    assert "con-other" not in proc.stdout


def test_render_text_reports_errors_and_counts() -> None:
    listing = connectors.Listing("local", (connectors.AgentConnectors("a", error="not found (404)"),
                                           connectors.AgentConnectors("b")))
    text = connectors.render_text(listing)
    assert "a: error: not found (404)" in text and "b: no connectors" in text and "1 error(s)" in text
    assert not listing.ok


def test_an_agent_outside_configs_is_unknown_before_any_request(emulator, tmp_path: Path) -> None:
    root = _repo(tmp_path, emulator.url, ("con-k",))
    emulator.reset_stats()
    proc = cli(root, "connectors", ".", "--agent", "nobody", check_codes=(1,))
    assert "unknown agent(s) 'nobody': no configs/<agent> directory (known: con-k)" in proc.stderr
    assert emulator.stats()["total"] == 0
