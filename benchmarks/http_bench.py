"""Benchmark: CPU per request of the API client (httpx, the one HTTP stack).

Serves the emulator on loopback (``reconciler emulator --port 0``, no latency,
its own process, so its CPU is not counted), seeds N agents of the realistic
fleet (``benchmarks/fleet.py``: 3 environments each), then reads every agent
once (``GET /v1/agents/{id}/real-time-configs``, what ``reconciler plan`` sends)
through the whole :class:`reconciler.api.AgentsApi` — retries, breaker, rate gate,
response parsing included — at concurrency C.

Measured ``--repeat`` times in this one process after a warm-up (imports and
connections made): CPU seconds of this process (``time.process_time``) per
request, and wall time; the median is printed. The figures of the transport
in ``reconciler/api/wire.py`` come from here.

Usage: ``python benchmarks/http_bench.py [--agents N] [--concurrency C] [--repeat R] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet  # noqa: E402  (benchmarks/ is not a package)
from plan_bench import Emulator  # noqa: E402

from reconciler.api import AgentsApi  # noqa: E402


async def read_all(url: str, agents: list[str], concurrency: int) -> dict:
    async with AgentsApi(url, api_key="bench-key", concurrency=concurrency) as api:
        await asyncio.gather(*(api.get_agent(a) for a in agents[:concurrency]))      # warm-up: connections
        wall, cpu = time.monotonic(), time.process_time()
        pages = await asyncio.gather(*(api.get_agent(a) for a in agents))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        assert all(len(p.pages) == 3 for p in pages), "every agent has 3 pages"
        return {"cpu_ms_per_request": 1000 * cpu / len(agents), "wall_seconds": wall,
                "requests": api.request_count - concurrency}


def measure(n: int, concurrency: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="http-bench-") as tmp:
        emu = Emulator(Path(tmp) / "emulator.db", 0)
        try:
            emu.seed(n)
            agents = [fleet.agent_id(i) for i in range(n)]
            runs = [asyncio.run(read_all(emu.url, agents, concurrency)) for _ in range(repeat)]
        finally:
            emu.close()
    return {"agents": n, "concurrency": concurrency, "repeat": repeat, "load_average": os.getloadavg()[0],
            "cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in runs),
            "wall_seconds": statistics.median(r["wall_seconds"] for r in runs),
            "requests": runs[0]["requests"], "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    args = parser.parse_args(argv)
    r = measure(args.agents, args.concurrency, args.repeat)
    print(f"{r['agents']} GETs at concurrency {r['concurrency']}, median of {r['repeat']} "
          f"(load average {r['load_average']:.1f}):")
    print(f"  {r['cpu_ms_per_request']:.3f} ms CPU per request, {r['wall_seconds']:.2f} s wall, "
          f"{r['requests']} requests")
    if args.json:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
