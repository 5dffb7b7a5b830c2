"""benchmarks/import_bench.py keeps working (N=3, no latency): one GET per agent, then plan in sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "import_bench.py"


def test_import_bench_runs_and_meets_its_request_targets() -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--agents", "3", "--latency-ms", "0"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| import | " in proc.stdout and "| 0 | 3 |" in proc.stdout
    assert "targets: import and plan exit 0 with exactly N requests each: met" in proc.stdout
