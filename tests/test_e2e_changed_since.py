"""`--changed-since GIT_REF`: only agents whose files changed (a real git repository in tmp_path)."""

from __future__ import annotations

import os
import subprocess

import pytest
from e2e_helpers import cli, cli_json, make_repo, methods, values, write_env


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(root), "PATH": os.environ.get("PATH", os.defpath)})


@pytest.fixture
def repo(tmp_path, emulator):
    for agent in ("alpha", "beta", "gamma"):
        emulator.seed(agent)
    root = make_repo(tmp_path / "repo", emulator.url, agents=("alpha", "beta", "gamma"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    cli(root, "apply", str(root), "--auto-approve", check_codes=(0,))
    emulator.reset_stats()
    return root


def planned_agents(report):
    return sorted({r["agent"] for r in report["results"]})


def test_only_agents_with_changed_files_are_planned(repo, emulator):
    write_env(repo, "beta", "live", vals=values("live", max_hold=5))            # unstaged edit
    code, report = cli_json(repo, "plan", str(repo), "--changed-since", "HEAD")
    assert code == 2 and planned_agents(report) == ["beta"]
    assert methods(emulator.requests()) == ["GET"]                               # only beta was read

    git(repo, "commit", "-q", "-am", "beta: hold 5")
    code, report = cli_json(repo, "plan", str(repo), "--changed-since", "HEAD~1")
    assert planned_agents(report) == ["beta"]
    code, report = cli_json(repo, "plan", str(repo), "--changed-since", "HEAD")
    assert code == 0 and report["results"] == []                                 # nothing changed since HEAD


def test_untracked_new_files_count_as_changed(repo, emulator):
    emulator.seed("delta")
    write_env(repo, "delta", "sandbox")
    code, report = cli_json(repo, "plan", str(repo), "--changed-since", "HEAD")
    assert planned_agents(report) == ["delta"]


def test_a_policy_or_settings_change_concerns_every_agent(repo):
    (repo / "policies").mkdir()
    (repo / "policies" / "hygiene.yaml").write_text(
        "name: hygiene\nseverity: warning\nmatch: {agents: ['*'], environments: ['*']}\n"
        "rules:\n  - id: titles\n    schema_hygiene: {}\n", encoding="utf-8")
    code, report = cli_json(repo, "plan", str(repo), "--changed-since", "HEAD")
    assert planned_agents(report) == ["alpha", "beta", "gamma"]


def test_agent_and_changed_since_intersect(repo):
    write_env(repo, "beta", "live", vals=values("live", max_hold=5))
    code, report = cli_json(repo, "plan", str(repo), "--changed-since", "HEAD", "--agent", "alpha")
    assert code == 0 and report["results"] == []


def test_a_bad_ref_is_a_clear_error(repo):
    proc = cli(repo, "plan", str(repo), "--changed-since", "no-such-ref", check_codes=(1,))
    assert "--changed-since" in proc.stderr and "no-such-ref" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
