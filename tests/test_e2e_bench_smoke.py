"""Keeps benchmarks/plan_bench.py from rotting: run it with N=5 and check its request counts.

Wall-time targets are not asserted here (a loaded CI machine is no benchmark);
the request counts are exact and must hold at any N: plan = N GETs, an apply
of one changed variable per agent = N GETs + N PATCHes, the naive baseline = 3N GETs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "plan_bench.py"


def test_benchmark_runs_with_five_agents_and_counts_requests_exactly():
    proc = subprocess.run([sys.executable, str(BENCH), "--agents", "5", "--latency-ms", "5", "--concurrency", "4",
                           "--json"], capture_output=True, text=True, timeout=180)
    assert proc.returncode in (0, 1), proc.stderr      # 1 = a wall-time target missed on a busy machine
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["plan"]["requests"] == 5 and result["plan"]["exit"] == 0
    assert result["apply"]["by_method"] == {"GET": 5, "PATCH": 5} and result["apply"]["exit"] == 0
    assert result["naive"]["requests"] == 15
    assert "| reconciler plan (in sync)" in proc.stdout
