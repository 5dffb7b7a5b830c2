"""Concurrent writers made visible (reconciler/apply/writers.py), against the served emulator.

The API has no lock. An apply whose plan was read more than a few seconds before a write re-reads
that page first; and after the run, a page that another writer changed after our write makes the
apply say "changed by another writer during this apply" and exit 1 (before: both writers exited 0).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from daemon_helpers import wait_until
from e2e_helpers import API_KEY, SCHEMA, make_repo, values, write_env

from reconciler.apply import writers

AGENTS = ("cw-a1", "cw-a2", "cw-a3")


def _repo(tmp_path, url):
    root = make_repo(tmp_path / "repo", url, agents=(), concurrency=1)
    for agent in AGENTS:
        write_env(root, agent, "sandbox", schema=SCHEMA, vals=values("sandbox"))
    return root


def _acknowledged(emulator, method: str, agent: str) -> bool:
    return any(r["method"] == method and f"/{agent}/" in r["path"] and r["status"] == 200
               for r in emulator.requests())


def test_a_page_changed_by_another_writer_during_the_apply_is_reported_with_exit_1(tmp_path, emulator):
    for agent in AGENTS:
        emulator.seed(agent)
    root = _repo(tmp_path, emulator.url)
    # Each request takes 1.5 s, one at a time, and each agent needs a PUT and a PATCH: the third agent is
    # written ~9 s after its own read was sent (the reads, then the writes of the agents before it).
    emulator.set_faults(latency_ms=1500)
    env = {**os.environ, "POLYAI_API_KEY": API_KEY, "NO_COLOR": "1"}
    env.pop("RECONCILER_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", ".", "--auto-approve"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    out: dict[str, str] = {}
    reader = threading.Thread(target=lambda: out.update(zip(("stdout", "stderr"), proc.communicate(timeout=120))))
    reader.start()
    try:
        wait_until(lambda: _acknowledged(emulator, "PATCH", "cw-a1"), timeout=60, what="cw-a1 written")
        emulator.edit_page("cw-a1", "sandbox", variables={**values("sandbox"), "greeting": "the other writer"})
    finally:
        reader.join(130)
    assert proc.returncode == 1, out
    text = out["stdout"] + out["stderr"]
    assert "cw-a1/sandbox: changed by another writer during this apply" in text, text
    assert "cw-a2/sandbox: changed by another writer" not in text
    # the late agent's page was re-read right before its first write (its own read was > REREAD_AFTER old)
    log = [(r["method"], r["path"]) for r in emulator.requests() if "/cw-a3/" in r["path"]]
    first_write = next(i for i, (method, _) in enumerate(log) if method in ("PUT", "PATCH"))
    assert log[first_write - 1] == ("GET", "/v1/agents/cw-a3/real-time-configs/sandbox"), log
    assert writers.REREAD_AFTER <= 10


def test_each_agent_is_judged_by_its_own_read_so_a_long_apply_reads_each_agent_once_then_checks_once(
        tmp_path, emulator):
    # One request at a time, 1 s each: the fourth agent is written ~7 s after the first read was sent,
    # but each agent ~3 s after its OWN read (read, then the writes of the agents before it).
    agents = ("own-1", "own-2", "own-3", "own-4")
    for agent in agents:                               # in sync but for one variable: one PATCH each
        emulator.seed(agent, {"sandbox": {"schema": SCHEMA, "variables": values("sandbox")}})
    root = make_repo(tmp_path / "repo", emulator.url, agents=(), concurrency=1)
    for agent in agents:
        write_env(root, agent, "sandbox", schema=SCHEMA, vals=values("sandbox", greeting="from the repository"))
    emulator.set_faults(latency_ms=1000)
    env = {**os.environ, "POLYAI_API_KEY": API_KEY, "NO_COLOR": "1"}
    env.pop("RECONCILER_API_URL", None)
    before = len(emulator.requests())
    done = subprocess.run([sys.executable, "-m", "reconciler", "apply", ".", "--auto-approve"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    sent = [(r["method"], r["path"]) for r in emulator.requests()[before:]]
    # no page re-read: per agent one GET for the plan, one PATCH, one GET after the run (other writers)
    assert not [p for m, p in sent if m == "GET" and p.endswith("/sandbox")], sent
    for agent in agents:
        assert sent.count(("GET", f"/v1/agents/{agent}/real-time-configs")) == 2, sent
        assert sent.count(("PATCH", f"/v1/agents/{agent}/real-time-configs/sandbox/variables")) == 1, sent


def test_needs_reread_only_when_the_read_is_old():
    assert writers.needs_reread(None)
    assert not writers.needs_reread(100.0, now=100.0 + writers.REREAD_AFTER - 0.1)
    assert writers.needs_reread(100.0, now=100.0 + writers.REREAD_AFTER + 0.1)
