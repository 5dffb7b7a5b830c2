"""`make demo`'s daemon step runs as written and leaves the tracked example repository untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_watch_demo_shows_an_edit_going_live_and_stops_cleanly():
    tracked = {p: p.read_bytes() for p in (ROOT / "configs").rglob("*") if p.is_file()}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "watch_demo.py")], capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "live after" in proc.stdout and "stopped with SIGTERM: exit 0" in proc.stdout
    assert "in sync: the value is live" in proc.stdout
    assert {p: p.read_bytes() for p in tracked} == tracked
