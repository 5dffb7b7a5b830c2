"""`reconciler watch` as a subprocess: a key live owns is not reverted with selfHeal: true.
(Sync windows and suspend in the daemon: tests/test_daemon_windows.py.)"""

from __future__ import annotations

import time

import pytest

from tests.daemon_helpers import Watch, wait_until, write_settings
from tests.e2e_helpers import make_repo, values, write_env

pytestmark = pytest.mark.slow


def _repo(tmp_path, emulator, agent, extra: str):
    root = make_repo(tmp_path / "repo", emulator.url, agents=(agent,))
    write_settings(root, emulator.url, "  sandbox: {sync: auto, selfHeal: true}\n", resync="1s")
    (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text() + extra, encoding="utf-8")
    emulator.seed(agent)
    return root


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
