"""`reconciler watch` as a subprocess: symlink flips, an API down at start, SIGTERM mid-apply, sharding."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from reconciler.daemon.sharding import shard_of
from tests.daemon_helpers import Watch, free_port, paths_of, set_value, v1_writes, wait_until
from tests.e2e_helpers import API_KEY, make_repo, values

pytestmark = pytest.mark.slow

BASE = "/v1/agents/{}/real-time-configs"


def test_git_sync_symlink_flip_is_picked_up_and_only_changed_agents_are_replanned(tmp_path, emulator):
    a, b = "flip-a", "flip-b"
    rev1 = make_repo(tmp_path / "worktrees" / "rev1", emulator.url, agents=(a, b))
    rev2 = tmp_path / "worktrees" / "rev2"
    shutil.copytree(rev1, rev2)
    set_value(rev2, a, "sandbox", "greeting", "From the new checkout")
    link = tmp_path / "repo"
    link.symlink_to(rev1)
    for agent in (a, b):
        emulator.seed(agent)
    with Watch(link, "--state-dir", str(tmp_path / "state")) as watch:
        watch.wait_ready()
        time.sleep(0.3)
        emulator.reset_stats()
        # git-sync's swap: a new symlink renamed over the old one (atomic).
        tmp_link = tmp_path / "repo.tmp"
        tmp_link.symlink_to(rev2)
        os.replace(tmp_link, link)
        wait_until(lambda: emulator.peek(a, "sandbox")["variables"]["greeting"] == "From the new checkout",
                   timeout=20, what="the flipped checkout live")
        time.sleep(0.5)
        assert paths_of(emulator.requests()) == [f"GET {BASE.format(a)}", f"PATCH {BASE.format(a)}/sandbox/variables"]
        assert any(x["event"] == "flip" for x in watch.logs())
        # Edits in the new checkout are watched too.
        set_value(rev2, b, "sandbox", "max_hold", 42)
        wait_until(lambda: emulator.peek(b, "sandbox")["variables"]["max_hold"] == 42, timeout=20,
                   what="an edit after the flip live")


def test_api_down_at_start_keeps_readyz_503_then_converges_when_it_comes_up(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    root = make_repo(tmp_path / "repo", url, agents=("down-a",))
    with Watch(root) as watch:
        for _ in range(4):
            assert watch.get("/healthz").status_code == 200
            assert watch.get("/readyz").status_code == 503
            time.sleep(0.5)
        emulator = subprocess.Popen([sys.executable, "-m", "reconciler", "emulator", "--port", str(port),
                                     "--db", str(tmp_path / "emu.db"), "--auto-create"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert "listening on" in emulator.stdout.readline()
            watch.wait_ready(timeout=60)
            with httpx.Client(base_url=url, timeout=10) as client:
                pages = client.get("/_emulator/agents/down-a").json()["configPages"]
            by_env = {p["clientEnv"]: p["variables"] for p in pages}
            assert by_env["sandbox"] == values("sandbox") and by_env["pre-release"] == values("pre-release")
            assert by_env["live"] == {}
            assert watch.page("down-a", "sandbox")["status"] == "in_sync"
            assert 'reconciler_api_requests_total{code="error",method="GET"}' in watch.get("/metrics").text
        finally:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait(20)


def test_sigterm_mid_apply_exits_0_and_never_leaves_a_put_without_its_patch(tmp_path, emulator):
    agents = tuple(f"term-{i}" for i in range(8))
    root = make_repo(tmp_path / "repo", emulator.url, agents=agents)
    for agent in agents:
        emulator.seed(agent)
    emulator.set_faults(latency_ms=300)
    watch = Watch(root, "--concurrency", "3", "--state-dir", str(tmp_path / "state"))
    try:
        wait_until(lambda: any(m == "PUT" for m, _ in v1_writes(emulator.requests())), timeout=30,
                   what="a first PUT")
        started = time.monotonic()
        code = watch.stop(signal.SIGTERM, timeout=25)
        assert code == 0 and time.monotonic() - started < 20
    finally:
        if watch.proc.poll() is None:
            watch.proc.kill()
    emulator.set_faults()
    sent = v1_writes(emulator.requests())
    puts = [path.removesuffix("/schema") for m, path in sent if m == "PUT"]
    patches = [path.removesuffix("/variables") for m, path in sent if m == "PATCH"]
    assert puts and all(page in patches for page in puts), sent
    for page in puts:
        assert sent.index(("PUT", page + "/schema")) < sent.index(("PATCH", page + "/variables"))
    assert len(puts) < 2 * len(agents)                     # it really stopped mid-way
    record = json.loads((tmp_path / "state" / "watch-state.json").read_text())
    assert record["format_version"] == 1 and record["pages"]
    assert any(x["event"] == "stopped" for x in watch.logs())


def test_two_shards_split_the_fleet_disjointly_and_completely(tmp_path, emulator):
    agents = tuple(f"shard-{i}" for i in range(10))
    root = make_repo(tmp_path / "repo", emulator.url, agents=agents)
    for agent in agents:
        emulator.seed(agent)
    watches = [Watch(root, "--shard", f"{i}/2", "--state-dir", str(tmp_path / f"state{i}")) for i in range(2)]
    try:
        owned = []
        for i, watch in enumerate(watches):
            watch.wait_ready()
            doc = watch.status()
            assert doc["shard"] == f"{i}/2"
            owned.append({r["agent"] for r in doc["results"]})
        assert owned[0].isdisjoint(owned[1]) and owned[0] | owned[1] == set(agents)
        assert owned[0] and owned[1]
        assert owned[0] == {a for a in agents if shard_of(a, 2) == 0}
        gets = [p for p in paths_of(emulator.requests()) if p.startswith("GET")]
        assert sorted(gets) == sorted(f"GET {BASE.format(a)}" for a in agents)   # each agent read once
        for agent in agents:
            assert emulator.peek(agent, "sandbox")["variables"] == values("sandbox")
    finally:
        for watch in watches:
            assert watch.stop() == 0
    assert API_KEY not in "".join(w.text() for w in watches)
