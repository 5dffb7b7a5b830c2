"""`reconciler watch` as a subprocess: a deny window holds the daemon's writes (0 PATCH) and lets them through
when it closes; a key live owns is not reverted with selfHeal: true. Windows follow the test's own clock."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.daemon_helpers import Watch, v1_writes, wait_until, write_settings
from tests.e2e_helpers import make_repo, values, write_env

pytestmark = pytest.mark.slow
UTC = dt.timezone.utc


def _repo(tmp_path, emulator, agent, extra: str):
    root = make_repo(tmp_path / "repo", emulator.url, agents=(agent,))
    write_settings(root, emulator.url, "  sandbox: {sync: auto, selfHeal: true}\n", resync="1s")
    (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text() + extra, encoding="utf-8")
    emulator.seed(agent)
    return root


def test_a_deny_window_holds_the_daemons_writes_until_it_closes(tmp_path, emulator):
    now = dt.datetime.now(UTC)
    if now.second > 40:                                   # keep at least 20 s of window to observe the hold
        time.sleep(61 - now.second)
        now = dt.datetime.now(UTC)
    window = f"windows:\n  - kind: deny\n    schedule: '{now.minute} {now.hour} * * *'\n    duration: 1m\n"
    root = _repo(tmp_path, emulator, "win-d", window)
    emulator.reset_stats()
    with Watch(root) as watch:
        watch.wait_ready()
        wait_until(lambda: any(x["event"] == "held" for x in watch.logs()), timeout=15, what="the hold")
        held = next(x for x in watch.logs() if x["event"] == "held")
        assert held["env"] == "sandbox" and held["until"].endswith("Z")
        assert v1_writes(emulator.requests()) == []                        # 0 PUT, 0 PATCH inside the window
        assert watch.page("win-d", "sandbox")["status"] == "drift"
        wait_until(lambda: emulator.peek("win-d", "sandbox")["variables"] == values("sandbox"), timeout=75,
                   what="the write once the window closed")
    assert dt.datetime.now(UTC) >= now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


def test_a_live_owned_key_is_not_reverted_with_self_heal(tmp_path, emulator):
    root = _repo(tmp_path, emulator, "own-d", "ownership:\n  - agents: own-d\n    liveOwns: [after_hours_enabled]\n")
    for env in ("sandbox", "pre-release", "live"):
        mine = {k: v for k, v in values(env).items() if k != "after_hours_enabled"}
        write_env(root, "own-d", env, vals=mine)
    with Watch(root) as watch:
        watch.wait_ready()
        wait_until(lambda: emulator.peek("own-d", "sandbox")["variables"].get("greeting"), timeout=15,
                   what=f"the first sync; logs: {watch.text()[-2000:]}")
        emulator.edit_page("own-d", "sandbox", variables=values("sandbox", after_hours_enabled=True,
                                                                greeting="UI edit"))
        # The plain key is reverted (selfHeal), the owned one keeps the UI's value.
        wait_until(lambda: emulator.peek("own-d", "sandbox")["variables"]["greeting"] == "Hello from sandbox",
                   timeout=15, what="the revert of greeting")
        time.sleep(2.5)                                                   # two more resync passes
        assert emulator.peek("own-d", "sandbox")["variables"]["after_hours_enabled"] is True
        assert watch.page("own-d", "sandbox")["status"] == "in_sync"
