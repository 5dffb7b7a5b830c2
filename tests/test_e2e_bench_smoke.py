"""Keeps benchmarks/plan_bench.py from rotting: run it tiny and check its request counts and figures.

Wall-time targets are not asserted here (a loaded CI machine is no benchmark);
the request counts are exact and must hold at any N: plan = N GETs, an apply
of one changed variable per agent = N GETs + N PATCHes + N GETs after the run (another writer
made visible, apply/writers.py), the naive baseline = 3 GETs
per sampled agent. Every figure of the issue is printed with its target and a mark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "plan_bench.py"


@pytest.mark.timeout(900)      # ~15 short subprocesses; slow only on a loaded machine
def test_benchmark_runs_with_five_agents_and_counts_requests_exactly():
    proc = subprocess.run([sys.executable, str(BENCH), "--agents", "5", "--latency-ms", "5", "--concurrency", "4",
                           "--small-agents", "3", "--small-latency-ms", "5", "--big", "13", "--repeat", "1",
                           "--naive-sample", "4", "--json"], capture_output=True, text=True, timeout=850)
    assert proc.returncode in (0, 1), proc.stderr      # 1 = a wall-time target missed (tiny N: the 20x ratio)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    main = result["main"]
    for label in ("uncached", "warm"):
        assert main[label]["requests"] == 5 and main[label]["exit"] == 0
        assert result["small"][label]["requests"] == 3
    assert main["apply"]["by_method"] == {"GET": 10, "PATCH": 5} and main["apply"]["exit"] == 0
    assert main["naive"]["requests"] == 12                  # 4 sampled agents x 3 environments
    for phases in (main["phases"], main["phases_warm"]):
        assert phases["files"] == 30 and phases["errors"] == 0     # the generated fleet is valid
    assert result["big"]["plan_requests"] == 13 and result["big"]["validate"]["peak_rss_mb"] > 0
    for figure in ("plan end to end, uncached, N=5x3", "plan end to end, warm cache, N=5x3",
                   "local phase, uncached: load + validate 30 files", "local phase, warm cache",
                   "warm cache, N=3x3", "reconciler validate, 3-agent example", "validate, uncached, N=13x3",
                   "plan, uncached, N=13x3", "plan, warm cache, N=13x3"):
        assert figure in proc.stdout
    assert proc.stdout.count("✔") + proc.stdout.count("✘") == len(result["met"]) == 15
