"""Keeps benchmarks/http_bench.py from rotting: run it tiny, check both wires read every agent once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "http_bench.py"


def test_http_bench_runs_both_wires_and_counts_requests():
    proc = subprocess.run([sys.executable, str(BENCH), "--agents", "12", "--concurrency", "4", "--repeat", "1",
                           "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr           # 1 = the CPU target missed (tiny N, loaded machine)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for wire in ("httpx", "aiohttp"):
        assert result[wire]["requests"] == 12 and result[wire]["cpu_ms_per_request"] > 0
        assert f"  {wire}" in proc.stdout
    assert result["import_aiohttp_ms"] > 0 and "target aiohttp <= httpx / 2" in proc.stdout
