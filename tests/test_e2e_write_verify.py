"""Every write's answer is checked against the predicted page, and the first write of a run goes alone.

The emulator's write-semantics faults stand for a real service that does not do
what the reference says: ``patch_replaces`` (PATCH replaces the variables
instead of merging) and ``trim_strings`` (values rewritten on the way in).
``reconciler apply`` must write one page, say ``apply.unexpected_result`` with
the masked difference, write nothing else, exit 1 — and never show a sensitive
value or any 8-character piece of one.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from e2e_helpers import ENVS, SCHEMA, cli, values, write_env, write_settings, writes

#: SCHEMA plus one sensitive property.
SECRET_SCHEMA = copy.deepcopy(SCHEMA)
SECRET_SCHEMA["properties"]["api_token"] = {"type": "string", "x-sensitive": True, "title": "Token",
                                            "description": "Partner API token"}
AGENTS = ("vw-alpha", "vw-beta", "vw-gamma")
TOKEN = "tok-Q7xZ2mK9pL4vR8nW3sT6yB1c"
#: A new token with surrounding spaces: ``trim_strings`` would store it changed.
NEW_TOKEN = "  tok-H5jD8fG2kS9aP4qE7wU1iO3z  "


def _repo(root: Path, url: str, **overrides) -> Path:
    write_settings(root, url, concurrency=8)
    for agent in AGENTS:
        for env in ENVS:
            write_env(root, agent, env, schema=SECRET_SCHEMA, vals=values(env, api_token=TOKEN, **overrides))
    return root


def _converged(emulator, tmp_path: Path) -> Path:
    """Every agent applied with the fault-free emulator; the request log then emptied."""
    for agent in AGENTS:
        emulator.seed(agent)
    root = _repo(tmp_path / "repo", emulator.url)
    cli(root, "apply", ".", "--auto-approve", check_codes=(0,))
    emulator.reset_stats()
    return root


def _fragments(secret: str, size: int = 8) -> set[str]:
    text = secret.strip()
    return {text[i:i + size] for i in range(len(text) - size + 1)}


def _assert_no_secret(text: str) -> None:
    for secret in (TOKEN, NEW_TOKEN):
        leaked = sorted(f for f in _fragments(secret) if f in text)
        assert not leaked, f"fragments of a sensitive value in the output: {leaked}"


def _unexpected(report: dict) -> list[tuple[dict, dict]]:
    return [(r, e) for r in report["results"] for e in r.get("outcome", {}).get("errors", [])
            if e["code"] == "apply.unexpected_result"]


def _apply_json(root: Path):
    proc = cli(root, "apply", ".", "--auto-approve", "--format", "json", check_codes=(0, 1))
    _assert_no_secret(proc.stdout + proc.stderr)
    return proc, json.loads(proc.stdout)


def test_patch_that_replaces_instead_of_merging_stops_the_run_after_one_page(emulator, tmp_path):
    root = _converged(emulator, tmp_path)
    for agent in AGENTS:                      # one changed key per page: nine PATCHes of `greeting` planned
        for env in ENVS:
            write_env(root, agent, env, schema=SECRET_SCHEMA,
                      vals=values(env, api_token=TOKEN, greeting=f"Welcome to {env}"))
    emulator.set_faults(patch_replaces=True)

    proc, report = _apply_json(root)

    assert proc.returncode == 1
    sent = writes(emulator.requests())
    assert len(sent) == 1 and sent[0][0] == "PATCH"          # the canary, and nothing after it
    [(result, error)] = _unexpected(report)
    assert sent[0][1] == f"/v1/agents/{result['agent']}/real-time-configs/{result['env']}/variables"
    message = error["message"]
    assert "variables.max_hold: missing from the answer (planned 120)" in message
    assert "variables.api_token: missing from the answer (value hidden)" in message
    assert result["outcome"]["state"] == "failed" and result["outcome"]["patched_keys"] == ["greeting"]
    states = [r["outcome"]["state"] for r in report["results"]]
    assert states.count("failed") == 1 and states.count("skipped") == len(states) - 1
    assert report["ok"] is False
    assert "apply.unexpected_result" in proc.stderr and "not attempted: 8 page(s)" in proc.stderr
    # The emulator really replaced: the check saw what happened, it did not cause it.
    page = emulator.peek(result["agent"], result["env"])
    assert set(page["variables"]) == {"greeting"}


def test_values_rewritten_on_the_way_in_stop_the_run_and_stay_masked(emulator, tmp_path):
    root = _converged(emulator, tmp_path)
    for agent in AGENTS:
        for env in ENVS:
            write_env(root, agent, env, schema=SECRET_SCHEMA,
                      vals=values(env, api_token=NEW_TOKEN, greeting=f"  Hi from {env} "))
    emulator.set_faults(trim_strings=True)

    proc, report = _apply_json(root)

    assert proc.returncode == 1
    assert len(writes(emulator.requests())) == 1
    [(result, error)] = _unexpected(report)
    env = result["env"]
    assert f'variables.greeting: planned "  Hi from {env} ", the answer has "Hi from {env}"' in error["message"]
    assert "variables.api_token: changed (value hidden)" in error["message"]
    assert sorted(result["outcome"]["patched_keys"]) == ["api_token", "greeting"]

    # Again, as text: the page written is planned again, its canary comes back trimmed again; masked.
    emulator.reset_stats()
    proc = cli(root, "apply", ".", "--auto-approve", check_codes=(1,))
    _assert_no_secret(proc.stdout + proc.stderr)
    assert "apply.unexpected_result" in proc.stdout and "(value hidden)" in proc.stdout
    assert "writes stopped" in proc.stderr
    assert len(writes(emulator.requests())) == 1

    emulator.set_faults()
    emulator.reset_stats()
    proc = cli(root, "apply", ".", "--auto-approve", check_codes=(0,))      # the fault is gone: it converges
    _assert_no_secret(proc.stdout + proc.stderr)
    assert len(writes(emulator.requests())) == 9


def test_without_a_fault_every_write_is_verified_and_nothing_extra_is_sent(emulator, tmp_path):
    root = _converged(emulator, tmp_path)
    for agent in AGENTS:
        for env in ENVS:
            write_env(root, agent, env, schema=SECRET_SCHEMA, vals=values(env, api_token=TOKEN, max_hold=300))

    proc, report = _apply_json(root)

    assert proc.returncode == 0 and report["ok"] is True
    assert {r["outcome"]["state"] for r in report["results"]} == {"applied"}
    # The check reads the write's own answer and the canary only orders the writes: one GET per agent
    # and one PATCH per page, then one GET per written agent after the run (another writer, issue 22).
    methods = [r["method"] for r in emulator.requests()]
    assert methods[:3] == ["GET"] * 3 and sorted(methods[3:]) == ["GET"] * 3 + ["PATCH"] * 9


@pytest.mark.parametrize("setting", ["patch_replaces", "trim_strings"])
def test_fault_switches_are_booleans(emulator, setting):
    assert emulator.set_faults(**{setting: True})[setting] is True
    assert emulator.set_faults()[setting] is False
