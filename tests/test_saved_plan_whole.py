"""A reviewed plan is all-or-nothing: without approval for its live changes nothing is written,
and the same plan file still applies afterwards (real processes, the loopback emulator, a pty)."""

from __future__ import annotations

import sys

import pytest
from e2e_helpers import cli, make_repo, values, write_env, writes
from test_e2e_interactive import Terminal


@pytest.fixture
def repo(tmp_path, emulator):
    emulator.seed("acme")
    root = make_repo(tmp_path / "repo", emulator.url, agents=("acme",))
    cli(root, "apply", "--auto-approve", check_codes=(0,))
    for env in ("sandbox", "pre-release", "live"):
        write_env(root, "acme", env, vals=values(env, max_hold=300))
    return root


def _save(repo, emulator):
    path = repo.parent / "reviewed.json"
    cli(repo, "plan", "--save-plan", str(path), check_codes=(2,))
    emulator.reset_stats()
    return path


def test_a_saved_plan_with_live_changes_and_no_approval_writes_nothing_and_stays_usable(repo, emulator):
    plan = _save(repo, emulator)
    proc = cli(repo, "apply", "--plan", str(plan), check_codes=(1,))
    assert "nothing was written, and the plan file is still usable" in proc.stderr
    assert "--auto-approve" in proc.stderr and "acme" in proc.stderr
    assert writes(emulator.requests()) == []
    assert emulator.peek("acme", "sandbox")["variables"]["max_hold"] == 120
    # The very same reviewed plan applies whole once approved.
    proc = cli(repo, "apply", "--plan", str(plan), "--auto-approve", check_codes=(0,))
    assert "Apply: 3 applied" in proc.stdout
    assert all(emulator.peek("acme", env)["variables"]["max_hold"] == 300
               for env in ("sandbox", "pre-release", "live"))


def test_a_saved_plan_without_live_changes_needs_no_approval(repo, emulator):
    write_env(repo, "acme", "live", vals=values("live"))
    plan = _save(repo, emulator)
    cli(repo, "apply", "--plan", str(plan), check_codes=(0,))
    assert ("PATCH", "/v1/agents/acme/real-time-configs/sandbox/variables") in writes(emulator.requests())


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_an_interactive_no_refuses_the_whole_saved_plan(repo, emulator):
    plan = _save(repo, emulator)
    term = Terminal("apply", "--plan", str(plan), cwd=repo)
    term.expect("Only 'yes' is accepted")
    term.send("no")
    assert term.finish() == 1, term.seen
    assert "not approved: nothing was written" in term.seen
    assert writes(emulator.requests()) == []
    term = Terminal("apply", "--plan", str(plan), cwd=repo)
    term.expect("Only 'yes' is accepted")
    term.send("yes")
    assert term.finish() == 0, term.seen
    assert emulator.peek("acme", "sandbox")["variables"]["max_hold"] == 300
