"""Benchmark: ``reconciler import`` of N agents, then ``plan`` in sync.

Seeds N agents (3 environments each, the realistic nested schema of the
e2e tests) into an emulator served on loopback with a fixed latency, runs
``reconciler import`` of all of them into an empty repository as a
subprocess, then ``reconciler plan``. Prints wall time and API requests of
both. Targets: import requests = N (one GET per agent), plan exit 0 with
requests = N (in sync, nothing to send).

Usage: ``python benchmarks/import_bench.py [--agents N] [--latency-ms L] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from e2e_helpers import SCHEMA, values  # noqa: E402
from reconciler.emulator import create_app  # noqa: E402
from reconciler.emulator.server import ThreadedServer  # noqa: E402

ENVS = ("sandbox", "pre-release", "live")


def _run(root: Path, *args: str) -> tuple[float, int]:
    env = dict(os.environ, POLYAI_API_KEY="bench-key", NO_COLOR="1")
    env.pop("RECONCILER_API_URL", None)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    return time.monotonic() - started, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="import-bench-"))
    server = ThreadedServer(create_app(tmp / "emulator.db")).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as hooks:
            agents = [f"bench-{i}" for i in range(opts.agents)]
            for agent in agents:
                pages = {env: {"schema": SCHEMA, "variables": values(env)} for env in ENVS}
                hooks.post("/_emulator/agents", json={"agentId": agent, "pages": pages}).raise_for_status()
            hooks.put("/_emulator/faults", json={"latency_ms": opts.latency_ms}).raise_for_status()
            root = tmp / "repo"
            root.mkdir()
            (root / "reconciler.yaml").write_text(f"api:\n  url: {server.url}\nconcurrency: {opts.concurrency}\n",
                                                  encoding="utf-8")
            rows = []
            for name, args in (("import", ("import", *agents, "--repo", ".")), ("plan after import", ("plan", "."))):
                hooks.post("/_emulator/stats/reset").raise_for_status()
                wall, code = _run(root, *args)
                rows.append((name, wall, code, hooks.get("/_emulator/stats").json()["total"]))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"N={opts.agents} latency={opts.latency_ms} ms concurrency={opts.concurrency}")
    print("| step | wall (s) | exit | requests |\n| --- | --- | --- | --- |")
    for name, wall, code, requests in rows:
        print(f"| {name} | {wall:.2f} | {code} | {requests} |")
    ok = all(code == 0 and requests == opts.agents for _, _, code, requests in rows)
    print("targets: import and plan exit 0 with exactly N requests each:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
