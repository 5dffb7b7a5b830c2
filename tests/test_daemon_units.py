"""The daemon's pure parts: work queue, sharding, decisions, state record, event mapping."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.daemon import state
from reconciler.daemon.decide import Cause, PageStatus, decide
from reconciler.daemon.sharding import Shard, parse_shard, shard_of
from reconciler.daemon.watcher import agents_of
from reconciler.daemon.workqueue import WorkQueue
from reconciler.model import ClientEnv
from reconciler.planning.plan import EnvPlan, Status
from reconciler.settings import EnvironmentSettings, SyncMode

# -- work queue -------------------------------------------------------------------------------


def test_queue_dedupes_a_burst_and_defers_a_key_being_processed():
    async def go():
        q = WorkQueue()
        for _ in range(5):
            q.add("a", event_at=10.0)
        q.add("a", event_at=5.0)
        q.add("b")
        key, work = await q.get()
        assert (key, work.event_at) == ("a", 5.0)          # one pass for the burst, earliest event kept
        q.add("a")                                         # arrives mid-pass: waits behind it
        key2, _ = await q.get()
        assert key2 == "b"
        assert len(q) == 1 and q.processing == {"a", "b"}
        q.done("b")
        q.done("a")                                        # now "a" is queued again
        key3, _ = await q.get()
        assert key3 == "a"
        q.shutdown()
        assert await q.get() is None
    asyncio.run(go())


def test_queue_backoff_grows_and_is_forgotten_on_success():
    async def go():
        q = WorkQueue(base_delay=1.0, max_delay=8.0)
        delays = [q.backoff("a") for _ in range(6)]
        assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4 and all(d <= 9.6 for d in delays)
        q.forget("a")
        assert q.backoff("a") <= 1.2
        q.add_after("x", 0.01)
        key, _ = await asyncio.wait_for(q.get(), 2)
        assert key == "x"
    asyncio.run(go())


# -- sharding ----------------------------------------------------------------------------------

def test_shards_are_disjoint_complete_and_stable_across_processes():
    agents = [f"agent-{i}" for i in range(300)]
    owners = [[Shard(i, 3).owns(a) for i in range(3)] for a in agents]
    assert all(sum(row) == 1 for row in owners)
    assert all(sum(row[i] for row in owners) > 50 for i in range(3))
    code = "from reconciler.daemon.sharding import shard_of; print([shard_of(f'agent-{i}', 3) for i in range(50)])"
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin"}).stdout for seed in ("1", "2")}
    assert seen == {str([shard_of(f"agent-{i}", 3) for i in range(50)]) + "\n"}


@pytest.mark.parametrize("text", ["2/2", "-1/2", "a/b", "1", "0/0"])
def test_bad_shards_are_refused(text):
    with pytest.raises(ValueError):
        parse_shard(text)


# -- decisions ---------------------------------------------------------------------------------

AUTO = EnvironmentSettings(ClientEnv.SANDBOX, SyncMode.AUTO, self_heal=False)
HEAL = EnvironmentSettings(ClientEnv.SANDBOX, SyncMode.AUTO, self_heal=True)
MANUAL = EnvironmentSettings(ClientEnv.SANDBOX, SyncMode.MANUAL)


def _changes(**patch) -> EnvPlan:
    return EnvPlan("a", ClientEnv.SANDBOX, Status.CHANGES, variables_patch=patch, live_last_updated="t1")


def test_decisions_per_sync_mode_and_cause():
    record = state.PageRecord("h1", "t0")
    # No record: the repository wins (first start).
    d = decide(_changes(x=1), AUTO, None, "h1", {"x": 1}, {}, {})
    assert (d.status, d.cause, d.writes) == (PageStatus.IN_SYNC, Cause.REPOSITORY, True)
    # The repository moved: applied whatever selfHeal says.
    assert decide(_changes(x=1), AUTO, record, "h2", {"x": 1}, {}, {}).writes
    # Out of band: selfHeal false reports, true reverts.
    kept = decide(_changes(x=1), AUTO, record, "h1", {"x": 1}, {}, {})
    assert (kept.status, kept.cause, kept.writes) == (PageStatus.DRIFT, Cause.OUT_OF_BAND, False)
    healed = decide(_changes(x=1), HEAL, record, "h1", {"x": 1}, {}, {})
    assert healed.writes and healed.self_heal
    # Manual never writes.
    assert decide(_changes(x=1), MANUAL, None, "h1", {"x": 1}, {}, {}).status is PageStatus.DRIFT


def test_contested_keys_are_kept_out_of_writes_and_cleared_when_repo_or_live_moves():
    record = state.PageRecord("h1", "t0")
    third = decide(_changes(x=1, y=2), HEAL, record, "h1", {"x": 1, "y": 2}, {}, {"x": 3, "y": 1})
    assert third.newly_contested == ("x",) and dict(third.env_plan.variables_patch) == {"y": 2}
    assert third.status is PageStatus.DRIFT and third.contested == ("x",)
    at = {"x": state.value_hash(1)}
    still = decide(_changes(x=1), HEAL, record, "h1", {"x": 1}, at, {"x": 4})
    assert (still.writes, still.contested, still.status) == (False, ("x",), PageStatus.DRIFT)
    repo_moved = decide(_changes(x=5), HEAL, record, "h2", {"x": 5}, at, {})
    assert repo_moved.cleared == ("x",) and repo_moved.writes
    live_back = decide(EnvPlan("a", ClientEnv.SANDBOX, Status.IN_SYNC), HEAL, record, "h1", {"x": 1}, at, {})
    assert live_back.cleared == ("x",) and live_back.status is PageStatus.IN_SYNC


# -- state record ------------------------------------------------------------------------------

def test_state_record_round_trips_and_corruption_degrades_to_unknown(tmp_path: Path):
    path = tmp_path / "s" / "watch-state.json"
    record = state.StateRecord()
    record.pages[("a", "sandbox")] = state.PageRecord("h", "t", "2026-01-01T00:00:00Z")
    record.contested[("a", "sandbox", "k")] = "v"
    record.record_revert(("a", "sandbox", "k"), 1.0)
    state.save(record, path)
    loaded, warning = state.load(path)
    assert warning is None and loaded.pages == record.pages and loaded.contested == record.contested
    assert list(tmp_path.joinpath("s").iterdir()) == [path]         # no temporary file left behind
    assert state.load(tmp_path / "missing.json") == (state.StateRecord(), None)
    for junk in ("{not json", json.dumps({"format_version": 99}), json.dumps({"format_version": 1, "pages": 3})):
        path.write_text(junk)
        empty, warning = state.load(path)
        assert empty.pages == {} and "unknown" in warning


def test_content_hash_ignores_key_order():
    assert state.content_hash({"a": 1, "b": 2}, None) == state.content_hash({"b": 2, "a": 1}, None)
    assert state.content_hash({"a": 1}, None) != state.content_hash({"a": 2}, None)


# -- file events -------------------------------------------------------------------------------

def test_events_map_to_agents_or_to_everything(tmp_path: Path):
    root = tmp_path
    assert agents_of({str(root / "configs/acme/sandbox/values.yaml"), str(root / "configs/b")}, root) == {"acme", "b"}
    assert agents_of({str(root / "policies/p.yaml")}, root) is None
    assert agents_of({str(root / "reconciler.yaml")}, root) is None
    assert agents_of({str(root / ".reconciler/watch-state.json"), str(root / "README.md")}, root) == set()


# -- logs ----------------------------------------------------------------------------------------

def test_logs_are_json_off_a_terminal_and_text_when_asked():
    import io
    import logging

    from reconciler.daemon import logs

    stream = io.StringIO()                              # not a terminal
    log = logs.setup(None, stream)
    log.info("applied", extra={"event": "applied", "agent": "a", "env": "sandbox", "keys": ["k"],
                               "secret_value": "must-not-appear"})
    line = json.loads(stream.getvalue())
    assert (line["event"], line["agent"], line["env"], line["keys"], line["level"]) == \
        ("applied", "a", "sandbox", ["k"], "info")
    assert "time" in line and "must-not-appear" not in stream.getvalue()
    stream = io.StringIO()
    logs.setup("text", stream).warning("drift", extra={"agent": "a", "env": "live"})
    assert stream.getvalue().rstrip().endswith("drift  [agent=a env=live]") and "warning" in stream.getvalue()
    logging.getLogger("reconciler").handlers.clear()


# -- repository snapshots ------------------------------------------------------------------------

def test_reloading_one_agent_matches_a_full_load_and_only_its_fingerprint_moves(tmp_path: Path):
    from reconciler.daemon import repository
    from tests.daemon_helpers import set_value
    from tests.e2e_helpers import make_repo

    root = make_repo(tmp_path / "repo", "http://127.0.0.1:9", agents=("r-a", "r-b", "r-c"))
    options = repository.Options(api_url=None, concurrency=None, resync=None)
    full = repository.load_full(root, Shard(0, 1), options, None)
    set_value(root, "r-b", "sandbox", "max_hold", 7)
    partial = repository.load_agents(full, root, ["r-b"], Shard(0, 1))
    again = repository.load_full(root, Shard(0, 1), options, full.settings)
    assert partial.hashes == again.hashes and partial.fingerprints == again.fingerprints
    assert repository.changed_agents(full, again) == ("r-b",)
    assert partial.desired.agents["r-b"].envs[ClientEnv.SANDBOX].values["max_hold"] == 7
    (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text().replace("live: {sync: manual}",
                                                                                        "live: {sync: auto}"))
    assert repository.changed_agents(again, repository.load_full(root, Shard(0, 1), options, None)) is None
