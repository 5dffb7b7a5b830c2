"""Keeps benchmarks/http_bench.py from rotting: run it tiny, check it reads every agent once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "http_bench.py"


def test_http_bench_runs_and_counts_requests():
    proc = subprocess.run([sys.executable, str(BENCH), "--agents", "12", "--concurrency", "4", "--repeat", "1",
                           "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["requests"] == 12 and result["cpu_ms_per_request"] > 0
    assert "ms CPU per request" in proc.stdout
