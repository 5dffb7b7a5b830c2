"""End to end (CLI subprocess, loopback emulator, a real git repository): apply writes one history entry per
page with the git revision; `history` lists them; `rollback --to <older commit>` puts the older values live,
and `drift` then reports the repository's difference."""

from __future__ import annotations

import json
import os
import subprocess

from e2e_helpers import cli, cli_json, make_repo, values, write_env, writes

AGENT = "hist"


def git(root, *args) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(root), "PATH": os.environ.get("PATH", os.defpath)}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _commit(root, message) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD")


def test_history_lists_applies_and_rollback_puts_the_older_values_live(tmp_path, emulator):
    emulator.seed(AGENT)
    root = make_repo(tmp_path / "repo", emulator.url, agents=(AGENT,))
    (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text() + "history:\n  keep: 3\n")
    git(root, "init", "-q")
    first = _commit(root, "first")
    cli(root, "apply", str(root), "--auto-approve", check_codes=(0,))
    write_env(root, AGENT, "live", vals=values("live", max_hold=300, greeting="Second greeting"))
    second = _commit(root, "second")
    cli(root, "apply", str(root), "--auto-approve", check_codes=(0,))
    assert emulator.peek(AGENT, "live")["variables"]["max_hold"] == 300

    proc = cli(root, "history", AGENT, str(root), "--env", "live", "--format", "json", check_codes=(0,))
    doc = json.loads(proc.stdout)
    assert doc["format_version"] == 1 and doc["command"] == "history"
    entries = doc["entries"]
    assert [(e["revision"], e["outcome"], e["command"]) for e in entries] == [(first, "applied", "apply"),
                                                                             (second, "applied", "apply")]
    assert entries[0]["schema_put"] is True and set(entries[1]["changed_keys"]) == {"max_hold", "greeting"}
    text = cli(root, "history", check_codes=(0,)).stdout
    assert f"{AGENT} / sandbox" in text and second[:12] in text
    stored = "".join(p.read_text() for p in (root / ".reconciler" / "history").rglob("*.json"))
    assert "Second greeting" not in stored and "Hello from" not in stored          # key names, never values
    assert (root / ".reconciler" / "history" / ".gitignore").read_text().endswith("*\n")

    # live needs approval: a non-interactive rollback without --auto-approve writes nothing.
    emulator.reset_stats()
    cli(root, "rollback", AGENT, str(root), "--env", "live", "--to", first, check_codes=(1,))
    assert writes(emulator.requests()) == []
    proc = cli(root, "rollback", AGENT, str(root), "--env", "live", "--to", first[:10], "--auto-approve",
               check_codes=(0,))
    assert writes(emulator.requests()) == [("PATCH", f"/v1/agents/{AGENT}/real-time-configs/live/variables")]
    assert emulator.peek(AGENT, "live")["variables"] == values("live")
    assert "now differs from live" in proc.stderr and first[:12] in proc.stderr
    assert (root / "configs" / AGENT / "live" / "values.yaml").read_text().count("300") == 1   # repo untouched

    code, report = cli_json(root, "drift", str(root), "--env", "live")
    assert code == 2 and report["summary"]["drift"] == 1
    [live] = report["results"]
    assert {d["path"] for d in live["variables"]["diff"]} == {"max_hold", "greeting"}

    entries = json.loads(cli(root, "history", AGENT, "--env", "live", "--format", "json", cwd=root,
                             check_codes=(0,)).stdout)["entries"]
    assert len(entries) == 3 and entries[-1]["command"] == "rollback" and entries[-1]["rolled_back_to"] == first
    # keep: 3 — a fourth entry pushes the oldest out.
    cli(root, "apply", str(root), "--auto-approve", "--env", "live", check_codes=(0,))
    entries = json.loads(cli(root, "history", AGENT, str(root), "--env", "live", "--format", "json",
                             check_codes=(0,)).stdout)["entries"]
    assert [e["revision"] for e in entries] == [second, second, second] and entries[0]["command"] == "apply"


def test_rollback_refuses_an_unknown_revision_and_a_page_absent_there(tmp_path, emulator):
    emulator.seed(AGENT)
    root = make_repo(tmp_path / "repo", emulator.url, agents=(AGENT,))
    git(root, "init", "-q")
    _commit(root, "first")
    emulator.reset_stats()
    proc = cli(root, "rollback", AGENT, str(root), "--env", "live", "--to", "no-such-ref", check_codes=(1,))
    assert "not a commit" in proc.stderr
    proc = cli(root, "rollback", "other", str(root), "--env", "live", "--to", "HEAD", check_codes=(1,))
    assert "nothing to roll back to" in proc.stderr and emulator.requests() == []
