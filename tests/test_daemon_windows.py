"""`reconciler watch` as a subprocess, sync windows and suspend (issue 23): a deny window computed around the
test's own clock holds the daemon's write (0 PUT/PATCH), `/status` and `/metrics` say until when, and the
write goes out as soon as the window closes (a pass scheduled at that moment, the resync being a minute
away); `suspend` holds the writes and `/status` still reports the drift."""

from __future__ import annotations

import datetime as dt
import math
import time

import pytest

from tests.daemon_helpers import Watch, v1_writes, wait_until, write_settings
from tests.e2e_helpers import make_repo, values

pytestmark = pytest.mark.slow
UTC = dt.timezone.utc
#: Seconds from the test's start to the window's end: enough for the daemon to start and hold under load.
OPENS_IN = 10


def _repo(tmp_path, emulator, agent: str, extra: str, resync: str):
    root = make_repo(tmp_path / "repo", emulator.url, agents=(agent,))
    write_settings(root, emulator.url, "  sandbox: {sync: auto, selfHeal: true}\n", resync=resync)
    (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text() + extra, encoding="utf-8")
    emulator.seed(agent)
    return root


def _deny_window_ending_at(end: dt.datetime) -> str:
    """A deny window open now and closing at ``end``: it starts at the last minute boundary but one
    (cron has minutes) and lasts until ``end`` (a duration in seconds, at least a minute)."""
    start = end.replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    duration = int((end - start).total_seconds())
    return (f"windows:\n  - kind: deny\n    schedule: '{start.minute} {start.hour} {start.day} {start.month} *'\n"
            f"    duration: {duration}\n    envs: [sandbox]\n")


def _metric(text: str, prefix: str) -> float | None:
    line = next((x for x in text.splitlines() if x.startswith(prefix)), None)
    return float(line.rsplit(" ", 1)[1]) if line else None


def test_a_deny_window_holds_the_write_and_it_goes_out_when_the_window_closes(tmp_path, emulator):
    end = (dt.datetime.now(UTC) + dt.timedelta(seconds=OPENS_IN)).replace(microsecond=0)
    until = end.isoformat().replace("+00:00", "Z")
    root = _repo(tmp_path, emulator, "win-o", _deny_window_ending_at(end), resync="60s")
    emulator.reset_stats()
    with Watch(root) as watch:
        watch.wait_ready()
        page = watch.page("win-o", "sandbox")
        assert time.time() < end.timestamp(), "the daemon took longer to start than the window lasted"
        assert page["status"] == "drift" and page["drift"]
        hold = page["window_hold"]
        assert hold["kind"] == "window" and hold["until"] == until and hold["reason"].startswith("deny window")
        assert until in hold["message"]
        assert not any(path.endswith("/sandbox/variables") or path.endswith("/sandbox/schema")
                       for _, path in v1_writes(emulator.requests()))                  # 0 PUT, 0 PATCH
        metrics = watch.get("/metrics").text
        assert _metric(metrics, 'reconciler_held_pages{env="sandbox",kind="window"}') == 1.0
        assert _metric(metrics, 'reconciler_held_until_timestamp_seconds{agent="win-o",env="sandbox"}') \
            == end.timestamp()
        assert "held by window until" in watch.get("/").text
        held = next(x for x in watch.logs() if x["event"] == "held")
        assert (held["agent"], held["env"], held["until"]) == ("win-o", "sandbox", until)
        # The resync is a minute away: only the pass scheduled at the window's end can write this soon.
        wait_until(lambda: emulator.peek("win-o", "sandbox")["variables"] == values("sandbox"),
                   timeout=OPENS_IN + 6, interval=0.05, what="the write once the window closed")
        written = time.time()
        assert end.timestamp() <= written < end.timestamp() + 5
        page = watch.wait_page("win-o", "sandbox", "in_sync")
        assert page["window_hold"] is None
        assert _metric(watch.get("/metrics").text, 'reconciler_held_pages{env="sandbox",kind="window"}') == 0.0
        patches = [x for x in v1_writes(emulator.requests()) if x[1].endswith("/sandbox/variables")]
        assert len(patches) == 1


def test_suspend_holds_writes_and_status_still_reports_the_drift(tmp_path, emulator):
    root = _repo(tmp_path, emulator, "sus-d", "suspend:\n  - agents: sus-d\n    envs: [sandbox]\n", resync="1s")
    emulator.reset_stats()
    with Watch(root) as watch:
        watch.wait_ready()
        full_syncs = len([x for x in watch.logs() if x["event"] == "full_sync"])
        wait_until(lambda: len([x for x in watch.logs() if x["event"] == "full_sync"]) >= full_syncs + 2,
                   timeout=15, what="two more resync passes")
        page = watch.page("sus-d", "sandbox")
        assert page["status"] == "drift"
        assert {d["path"] for d in page["drift"] if d["document"] == "variables"} >= {"greeting"}
        assert page["window_hold"]["kind"] == "suspend" and page["window_hold"]["until"] is None
        assert "suspended" in page["window_hold"]["message"]
        assert not any("/sandbox/" in path for _, path in v1_writes(emulator.requests()))
        assert emulator.peek("sus-d", "sandbox")["variables"] == {}
        assert _metric(watch.get("/metrics").text, 'reconciler_held_pages{env="sandbox",kind="suspend"}') == 1.0
        assert math.isclose(_metric(watch.get("/metrics").text,
                                    'reconciler_held_pages{env="sandbox",kind="window"}'), 0.0)
        assert "suspended: nothing is written" in watch.get("/").text
