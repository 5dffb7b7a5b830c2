"""`reconciler drift` as a read-only report (issue 9), over the emulator, with a real git repository.

Causes come from ``git log`` of each page's files vs the page's ``lastUpdated``:
a change committed after the last apply is ``repository``, a UI edit after the
last commit is ``out_of_band``, no git is ``unknown``. Change rules (blast
radius) are not evaluated; a page that differs and has an error counts in both.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest
from e2e_helpers import SCHEMA, cli, cli_json, make_repo, values, write_env, writes

AGENTS = ("acme", "bella", "cora")
BLAST = """name: blast-radius
severity: error
match: {environments: [live]}
rules:
  - {id: live-changes, blast_radius: {max_agents: 1}}
"""


def git(root, *args, when: dt.datetime | None = None):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    if when is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def commit_all(root, message, when):
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, when=when)


@pytest.fixture
def repo(tmp_path, emulator):
    for agent in AGENTS:
        emulator.seed(agent)
    root = make_repo(tmp_path / "repo", emulator.url, agents=AGENTS)
    (root / "policies").mkdir()
    (root / "policies" / "blast-radius.yaml").write_text(BLAST)
    # Apply first (every page written now), with a commit made an hour earlier.
    git(root, "init", "-q")
    commit_all(root, "initial", dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    cli(root, "apply", str(root), "--auto-approve", "--allow-large-change", check_codes=(0,))
    emulator.reset_stats()
    return root


def result(report, agent, env):
    return next(r for r in report["results"] if r["agent"] == agent and r["env"] == env)


def test_in_sync_is_exit_0_with_the_summary_keys(repo, emulator):
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 0
    assert report["summary"] == {"agents": 3, "in_sync": 9, "drift": 0, "errors": 0}
    for key in ("tool_version", "created_at", "changed_since"):
        assert key in report
    assert all(r["live_last_updated"] for r in report["results"])
    assert writes(emulator.requests()) == []


def test_a_ui_edit_after_the_last_commit_is_out_of_band(repo, emulator):
    emulator.edit_page("acme", "live", variables=values("live", greeting="typed in the UI"))
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 2
    r = result(report, "acme", "live")
    assert r["cause"] == "out_of_band" and r["status"] == "changes"
    assert r["live_last_updated"] == emulator.peek("acme", "live")["lastUpdated"]
    assert report["summary"]["drift"] == 1
    assert writes(emulator.requests()) == []


def test_a_merged_but_unapplied_change_is_repository(repo, emulator):
    write_env(repo, "bella", "sandbox", vals=values("sandbox", max_hold=301))
    commit_all(repo, "raise hold", dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 2 and result(report, "bella", "sandbox")["cause"] == "repository"
    proc = cli(repo, "drift", str(repo), check_codes=(2,))
    assert "Legend: ~ path: live value → repository value" in proc.stdout
    assert "Changed in the repository, not yet applied (cause: repository):" in proc.stdout
    assert "~ max_hold: 120 → 301" in proc.stdout                 # live → repository


def test_causes_are_grouped_in_text_and_markdown(repo, emulator):
    write_env(repo, "bella", "sandbox", vals=values("sandbox", max_hold=301))
    commit_all(repo, "raise hold", dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))
    emulator.edit_page("acme", "live", variables={k: v for k, v in values("live").items() if k != "sites"})
    text = cli(repo, "drift", str(repo), check_codes=(2,)).stdout
    assert text.index("(cause: repository):") < text.index("bella / sandbox") < text.index("(cause: out_of_band):")
    assert text.index("(cause: out_of_band):") < text.index("acme / live")
    # A list deleted in the UI reads as "missing live", not as an addition.
    assert "- sites: " in text and "(missing live)" in text
    md = cli(repo, "drift", str(repo), "--format", "markdown", check_codes=(2,)).stdout
    assert "#### Changed in the repository" in md and "#### Changed live outside the repository" in md
    assert "Legend:" in md


def test_no_git_is_unknown(repo, emulator):
    import shutil

    shutil.rmtree(repo / ".git")
    emulator.edit_page("acme", "live", variables=values("live", greeting="typed in the UI"))
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 2 and result(report, "acme", "live")["cause"] == "unknown"


def test_blast_radius_never_turns_drift_into_an_error(repo, emulator):
    for agent in AGENTS:
        emulator.edit_page(agent, "live", variables=values("live", greeting=f"{agent} edited"))
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 2
    assert report["summary"] == {"agents": 3, "in_sync": 6, "drift": 3, "errors": 0}
    assert not any(e["code"] == "policy.blast_radius" for r in report["results"] for e in r["errors"])
    # ... while plan still applies the rule, since it limits writes.
    code, report = cli_json(repo, "plan", str(repo), "--env", "live")
    assert code == 1 and report["summary"]["errors"] == 3


def test_drift_plus_an_orphan_error_counts_both(repo, emulator):
    assert SCHEMA["additionalProperties"] is False
    # In the UI: an extra key the (closed) schema forbids, and a changed value.
    emulator.edit_page("cora", "sandbox", variables=values("sandbox", greeting="ui", ui_only=1))
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 1
    r = result(report, "cora", "sandbox")
    assert r["status"] == "error" and r["cause"] == "out_of_band"
    assert r["variables"]["orphans"] == ["ui_only"]
    assert [d["path"] for d in r["variables"]["diff"]] == ["greeting"]
    assert report["summary"] == {"agents": 3, "in_sync": 8, "drift": 1, "errors": 1}
    # Promotion order blocks nothing in a read-only report: cora's later environments are compared.
    assert result(report, "cora", "pre-release")["status"] == "in_sync"


def test_drift_does_not_offer_allow_large_change(repo):
    proc = cli(repo, "drift", str(repo), "--allow-large-change", check_codes=(1,))
    assert "No such option" in proc.stderr


def test_github_drift_annotations_are_warnings_at_the_key(repo, emulator):
    emulator.edit_page("acme", "live", variables=values("live", max_hold=5))
    out = cli(repo, "drift", str(repo), "--format", "github", check_codes=(2,)).stdout
    lines = [line for line in out.splitlines() if line.startswith("::warning") and ",title=drift" in line]
    assert len(lines) == 1
    line_no = next(i for i, text in enumerate((repo / "configs/acme/live/values.yaml").read_text().splitlines(), 1)
                   if text.startswith("max_hold:"))
    assert lines[0].startswith(f"::warning file=configs/acme/live/values.yaml,line={line_no},title=drift (out_of_band)::")
