"""`reconciler watch` as a subprocess: out-of-band (UI) edits — self-heal, drift kept, contested keys."""

from __future__ import annotations

import time

import pytest

from tests.daemon_helpers import Watch, set_value, v1_writes, wait_until, write_settings
from tests.e2e_helpers import make_repo, values

pytestmark = pytest.mark.slow

A = "heal-a"


def _repo(tmp_path, emulator, self_heal: bool):
    root = make_repo(tmp_path / "repo", emulator.url, agents=(A,))
    write_settings(root, emulator.url, f"  sandbox: {{sync: auto, selfHeal: {str(self_heal).lower()}}}\n"
                                       "  pre-release: {sync: auto}\n  live: {sync: manual}\n", resync="1s")
    emulator.seed(A)
    return root


def _ui_edit(emulator, greeting: str) -> None:
    emulator.edit_page(A, "sandbox", variables=values("sandbox", greeting=greeting))


def _greeting(emulator) -> str:
    return emulator.peek(A, "sandbox")["variables"]["greeting"]


def _metric(watch, name: str) -> float:
    for line in watch.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_self_heal_true_reverts_an_out_of_band_edit_at_resync(tmp_path, emulator):
    root = _repo(tmp_path, emulator, self_heal=True)
    with Watch(root) as watch:
        watch.wait_ready()
        _ui_edit(emulator, "Changed in the UI")
        wait_until(lambda: _greeting(emulator) == "Hello from sandbox", timeout=15, what="the revert")
        # The emulator shows the revert as soon as the PATCH lands; the daemon counts it right after.
        wait_until(lambda: _metric(watch, 'reconciler_self_heals_total{env="sandbox"}') == 1, timeout=10,
                   what="the self-heal counted")
        healed = [x for x in watch.logs() if x["event"] == "applied" and x.get("cause") == "self_heal"]
        assert healed and healed[0]["keys"] == ["greeting"] and healed[0]["env"] == "sandbox"
        assert watch.wait_page(A, "sandbox", "in_sync")


def test_self_heal_false_reports_drift_and_keeps_it_also_across_a_restart(tmp_path, emulator):
    root = _repo(tmp_path, emulator, self_heal=False)
    with Watch(root) as watch:
        watch.wait_ready()
        emulator.reset_stats()
        _ui_edit(emulator, "Changed in the UI")
        page = watch.wait_page(A, "sandbox", "drift")
        assert [d["path"] for d in page["drift"]] == ["greeting"]
        assert page["drift"][0]["live"] == "Changed in the UI"
        time.sleep(2.5)                                   # two resyncs or more
        assert _greeting(emulator) == "Changed in the UI"
        assert v1_writes(emulator.requests()) == []
    assert watch.proc.returncode == 0
    # A restart remembers what it applied: the UI edit is still out of band, still not reverted.
    with Watch(root) as again:
        again.wait_ready()
        assert again.page(A, "sandbox")["status"] == "drift"
        time.sleep(2.5)
        assert _greeting(emulator) == "Changed in the UI"
        assert v1_writes(emulator.requests()) == []
        # Until the repository changes that page: then the repository's page is applied.
        set_value(root, A, "sandbox", "max_hold", 90)
        wait_until(lambda: emulator.peek(A, "sandbox")["variables"]["max_hold"] == 90, timeout=15,
                   what="the repository change live")
        assert _greeting(emulator) == "Hello from sandbox"
        assert again.wait_page(A, "sandbox", "in_sync")


def test_contested_key_stops_being_reverted_and_is_reported(tmp_path, emulator):
    root = _repo(tmp_path, emulator, self_heal=True)
    with Watch(root) as watch:
        watch.wait_ready()
        for n in range(3):
            _ui_edit(emulator, f"Human edit {n}")
            wait_until(lambda: _greeting(emulator) == "Hello from sandbox", timeout=15, what=f"revert {n}")
        _ui_edit(emulator, "Human edit 3")
        page = wait_until(lambda: (p := watch.page(A, "sandbox"))["contested"] and p, timeout=15,
                          what="greeting contested")
        assert page["contested"] == ["greeting"] and page["status"] == "drift"
        time.sleep(2.5)
        assert _greeting(emulator) == "Human edit 3"      # no longer fought over
        assert _metric(watch, "reconciler_contested_keys") == 1
        assert _metric(watch, 'reconciler_self_heals_total{env="sandbox"}') == 3
        warning = [x for x in watch.logs() if x["event"] == "contested"]
        assert len(warning) == 1 and warning[0]["level"] == "warning"
        assert (warning[0]["agent"], warning[0]["env"], warning[0]["keys"], warning[0]["count"]) == \
            (A, "sandbox", ["greeting"], 3)
        # The repository's value for the key changes: reverting resumes with the new value.
        set_value(root, A, "sandbox", "greeting", "New greeting from git")
        wait_until(lambda: _greeting(emulator) == "New greeting from git", timeout=15, what="repo value live")
        page = watch.wait_page(A, "sandbox", "in_sync")
        assert page["contested"] == []
        assert _metric(watch, "reconciler_contested_keys") == 0
