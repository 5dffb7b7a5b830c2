"""End to end (CLI subprocess, loopback emulator): deny windows and suspend hold apply's writes; plan and
drift say when the window opens; --ignore-windows writes only through windows with manualSync: true.

Windows are computed around the test's own clock: a deny window that opened a minute ago for an hour.
"""

from __future__ import annotations

import datetime as dt

import pytest

from e2e_helpers import cli, cli_json, make_repo, writes

UTC = dt.timezone.utc


def _window(kind: str = "deny", manual: bool = False, opened_minutes_ago: int = 1, hours: int = 1) -> tuple[str, str]:
    start = dt.datetime.now(UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=opened_minutes_ago)
    end = start + dt.timedelta(hours=hours)
    text = (f"windows:\n  - kind: {kind}\n    schedule: '{start.minute} {start.hour} * * *'\n    duration: {hours}h\n"
            f"    envs: [live]\n    manualSync: {'true' if manual else 'false'}\n")
    return text, end.isoformat(timespec="seconds").replace("+00:00", "Z")


@pytest.fixture
def repo(tmp_path, emulator):
    emulator.seed("win")
    root = make_repo(tmp_path / "repo", emulator.url, agents=("win",))
    emulator.reset_stats()
    return root


def _settings(repo, extra: str) -> None:
    text = (repo / "reconciler.yaml").read_text(encoding="utf-8").split("windows:")[0].split("suspend:")[0]
    (repo / "reconciler.yaml").write_text(text + extra, encoding="utf-8")


def test_apply_inside_a_deny_window_is_refused_and_nothing_is_written(repo, emulator):
    text, until = _window(manual=False)
    _settings(repo, text)
    proc = cli(repo, "apply", str(repo), "--auto-approve", check_codes=(1,))
    assert "apply refused, nothing written" in proc.stderr and f"until {until}" in proc.stderr
    proc = cli(repo, "apply", str(repo), "--auto-approve", "--ignore-windows", check_codes=(1,))
    assert writes(emulator.requests()) == []                          # manualSync: false beats --ignore-windows
    # plan and drift say when the window opens (on the live page only).
    code, report = cli_json(repo, "plan", str(repo))
    live = next(r for r in report["results"] if r["env"] == "live")
    assert code == 2 and any(w["code"] == "window.held" and until in w["message"] for w in live["warnings"])
    assert not any(w["code"] == "window.held" for r in report["results"] if r["env"] != "live"
                   for w in r["warnings"])
    assert f"until {until}" in cli(repo, "drift", str(repo), check_codes=(2,)).stdout
    # Outside the window (it closed an hour ago) the same apply goes through.
    _settings(repo, _window(opened_minutes_ago=120)[0])
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert len(writes(emulator.requests())) == 6


def test_ignore_windows_with_manual_sync_writes_and_says_so(repo, emulator):
    text, _ = _window(manual=True)
    _settings(repo, text)
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(1,))
    assert writes(emulator.requests()) == []
    code, report = cli_json(repo, "apply", str(repo), "--auto-approve", "--ignore-windows", codes=(0,))
    assert [f["code"] for f in report["findings"]] == ["window.overridden"]
    assert "win/live" in report["findings"][0]["message"] and len(writes(emulator.requests())) == 6


def test_outside_every_allow_window_is_held_until_the_next_opens(repo, emulator):
    text, _ = _window(kind="allow", opened_minutes_ago=-120)          # opens in two hours
    _settings(repo, text)
    proc = cli(repo, "apply", str(repo), "--auto-approve", check_codes=(1,))
    assert "allow windows" in proc.stderr and writes(emulator.requests()) == []


def test_suspend_holds_writes_but_drift_is_still_reported(repo, emulator):
    _settings(repo, "suspend:\n  - agents: 'wi*'\n")
    proc = cli(repo, "apply", str(repo), "--auto-approve", "--ignore-windows", check_codes=(1,))
    assert "suspended" in proc.stderr and writes(emulator.requests()) == []
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 2 and report["summary"]["drift"] == 3
    assert all(any(w["code"] == "window.suspended" for w in r["warnings"]) for r in report["results"])
    # Without suspend the same apply goes through.
    _settings(repo, "")
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert len(writes(emulator.requests())) == 6
