"""One-shot commands collect garbage rarely (a fleet's parsed data is a large acyclic tree); servers keep defaults."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import gc, sys
from reconciler.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("THRESHOLD", gc.get_threshold(), gc.get_freeze_count() > 0)
"""


def _threshold(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    return next(line for line in proc.stdout.splitlines() if line.startswith("THRESHOLD"))


def test_one_shot_commands_raise_the_collection_threshold_and_freeze_imports():
    assert _threshold("validate", str(REPO)) == "THRESHOLD (200000, 20, 20) True"


def test_long_running_commands_keep_the_default_collector():
    assert _threshold("watch", "--help") == "THRESHOLD (700, 10, 10) False"
    assert _threshold("emulator", "--help") == "THRESHOLD (700, 10, 10) False"
