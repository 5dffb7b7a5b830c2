"""Blast radius per revision: a commit that changes too many pages is held (0 writes) until approved or superseded."""

from __future__ import annotations

import time

import pytest

from tests.daemon_helpers import BLAST_ONE_AGENT, Watch, ready_watch, set_value, v1_writes, wait_until
from tests.git_helpers import SECRET, commit_and_push, deliver, git, metric, remote_with_clone

pytestmark = pytest.mark.slow

AGENTS = ("hold-a", "hold-b", "hold-c")


def _start(tmp_path, emulator) -> tuple:
    work, remote = remote_with_clone(tmp_path, emulator.url, AGENTS)
    (work / "policies").mkdir()
    (work / "policies" / "blast.yaml").write_text(BLAST_ONE_AGENT)
    commit_and_push(work, "Blast radius policy")
    for agent in AGENTS:
        emulator.seed(agent)
    daemon_dir = tmp_path / "daemon"
    daemon_dir.mkdir()
    watch = ready_watch(daemon_dir, "--git", remote, "--interval", "1h", extra_env={"RECONCILER_WEBHOOK_SECRET": SECRET})
    time.sleep(0.3)
    emulator.reset_stats()
    return work, watch


def _greet_all(work, text: str) -> str:
    for agent in AGENTS:
        set_value(work, agent, "sandbox", "greeting", text)
    return commit_and_push(work, f"Greet everyone: {text}")


def test_an_over_limit_revision_is_held_with_no_writes_then_approved_and_applied(tmp_path, emulator):
    work, watch = _start(tmp_path, emulator)
    with watch:
        sha = _greet_all(work, "Everyone at once")
        assert deliver(watch.http).status_code == 202
        held = wait_until(lambda: watch.status()["held"], what="the revision held")
        assert held["revision"]["id"] == sha and held["pages"] == 3
        assert "blast-radius/one-at-a-time" in held["reason"] and "limit is 1" in held["reason"]
        assert held["approve"] == f"POST /approve/{sha}"
        time.sleep(1.0)
        assert v1_writes(emulator.requests()) == []
        assert all(emulator.peek(a, "sandbox")["variables"]["greeting"] != "Everyone at once" for a in AGENTS)
        metrics = watch.get("/metrics").text
        assert metric(metrics, "reconciler_held_revisions_total") == 1
        assert metric(metrics, "reconciler_revision_held") == 1
        assert "held" in watch.get("/").text and sha[:12] in watch.get("/").text
        assert [x for x in watch.logs() if x["event"] == "revision_held"][0]["count"] == 3
        assert watch.http.post(f"/approve/{sha}").status_code == 401
        assert watch.http.post(f"/approve/{sha}", headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": f"Bearer {SECRET}"}
        assert watch.http.post("/approve/0123456789abcdef", headers=auth).status_code == 404
        assert v1_writes(emulator.requests()) == []
        assert watch.http.post(f"/approve/{sha[:10]}", headers=auth).status_code == 202
        wait_until(lambda: all(emulator.peek(a, "sandbox")["variables"]["greeting"] == "Everyone at once"
                               for a in AGENTS), timeout=20, what="the approved revision applied")
        assert watch.status()["held"] is None
        assert all(watch.page(a, "sandbox")["revision"]["id"] == sha for a in AGENTS)


def test_a_later_revision_within_the_limit_proceeds(tmp_path, emulator):
    work, watch = _start(tmp_path, emulator)
    with watch:
        before = git(work, "rev-parse", "HEAD")
        _greet_all(work, "Too many")
        deliver(watch.http)
        wait_until(lambda: watch.status()["held"], what="held")
        git(work, "revert", "--no-edit", "HEAD")                     # back to the applied content ...
        set_value(work, AGENTS[0], "sandbox", "greeting", "Just one")   # ... plus one page
        sha = commit_and_push(work, "Only one agent")
        deliver(watch.http)
        wait_until(lambda: emulator.peek(AGENTS[0], "sandbox")["variables"]["greeting"] == "Just one", timeout=20,
                   what="the small revision live")
        assert watch.status()["held"] is None and watch.status()["applied_revision"]["id"] == sha
        assert [p for _, p in v1_writes(emulator.requests())] == [
            f"/v1/agents/{AGENTS[0]}/real-time-configs/sandbox/variables"]
        assert before != sha


def test_a_revision_pushed_while_the_daemon_was_down_is_held_at_start(tmp_path, emulator):
    work, watch = _start(tmp_path, emulator)
    watch.stop()
    sha = _greet_all(work, "While it was down")
    emulator.reset_stats()
    again = Watch(tmp_path / "daemon", "--git", remote_url(tmp_path), "--interval", "1h",
                  extra_env={"RECONCILER_WEBHOOK_SECRET": SECRET})
    with again:
        again.wait_ready()
        held = again.status()["held"]
        assert held["revision"]["id"] == sha and held["pages"] == 3
        time.sleep(0.5)
        assert v1_writes(emulator.requests()) == []
        auth = {"Authorization": f"Bearer {SECRET}"}
        assert again.http.post(f"/approve/{sha}", headers=auth).status_code == 202
        wait_until(lambda: all(emulator.peek(a, "sandbox")["variables"]["greeting"] == "While it was down"
                               for a in AGENTS), timeout=20, what="applied after approval")


def remote_url(tmp_path) -> str:
    return (tmp_path / "remote.git").as_uri()
