"""Benchmark: the daemon (``reconciler watch``) on the loopback emulator.

In one run (defaults: N = 1,000 agents x 3 environments, latency 20 ms, concurrency 16):

1. time to ready: the first full sync of N agents that are already in sync,
   against the floor ceil(N / C) x latency (and the requests it sent: N GETs);
2. edit-to-live: 50 single-value edits, one at a time (file written -> the
   emulator shows the new value), p50 / p99 (targets 0.5 s / 2 s), and the
   requests per edit (target: one GET and one PATCH, for that agent only);
3. idle: the daemon's CPU time over 10 quiet seconds (target ~0: no busy polling);
4. a resync of N in-sync agents: requests (target: N GETs), the daemon's CPU
   time per page during it, and the planner's own CPU per page (target
   <= 0.5 ms), measured in-process over the same repository;
5. peak RSS (VmHWM) of the daemon at N and at --rss-agents (default 10,000;
   target <= 500 MB at 10,000);
6. push-to-live through the GitHub webhook against a local bare repository
   (``benchmarks/push_bench.py``; default 200 agents, 30 pushes; targets p50 <= 1.0 s,
   p99 <= 2.5 s).

The emulator runs as ``reconciler emulator`` (a subprocess); the agents are
seeded in sync through its hooks, so nothing is written before measuring.
Usage: ``python benchmarks/watch_bench.py [--agents N] [--latency-ms L]
[--concurrency C] [--edits E] [--rss-agents M | --rss-agents 0] [--push-agents P | --push-agents 0]
[--pushes K] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import push_bench  # noqa: E402
from fleet import ENVS, agent_id, dump, schema_for, values, write_repo  # noqa: E402
from plan_bench import Emulator  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def seed_in_sync(emu: Emulator, n: int) -> None:
    """Every agent's three pages as the repository has them (through the hooks: not counted, no latency)."""
    for i in range(n):
        pages = {env: {"schema": schema_for(i), "variables": values(i, env)} for env in ENVS}
        emu.http.post("/_emulator/agents", json={"agentId": agent_id(i), "pages": pages}).raise_for_status()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Daemon:
    def __init__(self, root: Path, concurrency: int, resync: str, log: Path) -> None:
        env = dict(os.environ, POLYAI_API_KEY=os.environ.get("POLYAI_API_KEY", "bench-key"))
        self.log = log
        self.started = time.monotonic()
        with open(log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "reconciler", "watch", str(root), "--listen",
                                          "127.0.0.1:0", "--resync", resync, "--concurrency", str(concurrency),
                                          "--log-format", "json"], stdout=out, stderr=out, env=env,
                                         stdin=subprocess.DEVNULL)
        self.url = self._wait(lambda: (m := re.search(r"listening on (http://[0-9.:]+)", log.read_text()))
                              and m.group(1), 120, "listening")
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def _wait(self, predicate, timeout: float, what: str, interval: float = 0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"daemon exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise SystemExit(f"timed out waiting for {what}")

    def wait_ready(self, timeout: float = 1800) -> float:
        self._wait(lambda: self.http.get("/readyz").status_code == 200, timeout, "/readyz", interval=0.05)
        return time.monotonic() - self.started

    def events(self, name: str) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()
                if line.startswith("{") and f'"event": "{name}"' in line]

    def stop(self) -> int:
        self.http.close()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def by_method(stats: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for route, count in stats["by_route"].items():
        out[route.split()[0]] = out.get(route.split()[0], 0) + count
    return out


def edit(root: Path, i: int, revision: int) -> None:
    path = root / "configs" / agent_id(i) / "sandbox" / "values.yaml"
    path.write_text(dump(values(i, "sandbox", revision=revision)), encoding="utf-8")


def measure_edits(emu: Emulator, root: Path, n: int, count: int) -> dict:
    latencies, per_edit, stray = [], [], 0
    for k in range(count):
        i = (k * 7919) % n
        emu.reset_stats()
        want = f"[rev {k + 1}]"
        started = time.monotonic()
        edit(root, i, k + 1)
        deadline = started + 30
        while time.monotonic() < deadline:
            page = emu.http.get(f"/_emulator/agents/{agent_id(i)}").json()["configPages"]
            if next(p for p in page if p["clientEnv"] == "sandbox")["variables"]["greeting"].endswith(want):
                break
            time.sleep(0.005)
        else:
            raise SystemExit(f"edit {k} never went live")
        latencies.append(time.monotonic() - started)
        time.sleep(0.05)
        requests = emu.http.get("/_emulator/requests").json()["requests"]
        per_edit.append(by_method(emu.stats()))
        stray += sum(1 for r in requests if f"/agents/{agent_id(i)}/" not in r["path"] + "/")
    latencies.sort()
    exact = sum(1 for m in per_edit if m == {"GET": 1, "PATCH": 1})
    return {"count": count, "p50_s": round(statistics.median(latencies), 3),
            "p99_s": round(latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)], 3),
            "max_s": round(latencies[-1], 3), "exactly_one_get_one_patch": exact,
            "requests_for_other_agents": stray}


def planner_cpu_per_page_ms(root: Path) -> float:
    """The planner + change policies of every agent against live == desired, one agent at a time (as a resync)."""
    from reconciler import engine
    from reconciler.daemon.repository import Options, load_full
    from reconciler.daemon.sharding import Shard
    from reconciler.model import LiveAgent, LivePage
    from reconciler.planning.snapshot import LivePages

    snap = load_full(root, Shard(0, 1), Options(api_url=None, concurrency=None, resync=None), None)
    lives = {a: LiveAgent(a, {env: LivePage(env, e.schema, e.values, "2026-01-01T00:00:00.000Z")
                             for env, e in d.envs.items()}) for a, d in snap.desired.agents.items()}
    pages = 0
    started = time.process_time()
    for agent in snap.desired.agents:
        plan = engine.plan_snapshot(snap.of_agent(agent), LivePages({agent: lives[agent]}), [agent], target="local")
        pages += len(plan.results)
    return 1000 * (time.process_time() - started) / pages


def run_one(n: int, latency_ms: int, concurrency: int, edits: int, workdir: Path, full: bool) -> dict:
    emu = Emulator(workdir / "emulator.db", 0)
    root = workdir / "repo"
    root.mkdir()
    try:
        write_repo(root, n, emu.url, concurrency)
        seed_in_sync(emu, n)
        emu.faults(latency_ms)
        emu.reset_stats()
        daemon = Daemon(root, concurrency, "1h", workdir / "watch.log")
        ready_s = daemon.wait_ready()
        sync_s = daemon.events("full_sync")[0]["seconds"]
        first = {"wall_s": round(ready_s, 2), "sync_s": sync_s, "requests": by_method(emu.stats()),
                 "load_s": round(daemon.events("ready")[0]["seconds"] - sync_s, 2),
                 "floor_s": round(math.ceil(n / concurrency) * latency_ms / 1000, 2)}
        result: dict = {"agents": n, "latency_ms": latency_ms, "concurrency": concurrency, "first_sync": first}
        if full:
            result["edits"] = measure_edits(emu, root, n, edits)
            time.sleep(1)
            cpu0 = cpu_seconds(daemon.proc.pid)
            time.sleep(10)
            result["idle_cpu_s_per_10s"] = round(cpu_seconds(daemon.proc.pid) - cpu0, 3)
        result["peak_rss_mb"] = round(peak_rss_mb(daemon.proc.pid), 1)
        result["stop_exit"] = daemon.stop()
        if full:
            result["resync"] = measure_resync(emu, root, n, concurrency, workdir)
    finally:
        emu.close()
    return result


def measure_resync(emu: Emulator, root: Path, n: int, concurrency: int, workdir: Path) -> dict:
    """Restart with a short resync period; measure the first resync after ready (all agents in sync)."""
    daemon = Daemon(root, concurrency, "15s", workdir / "watch-resync.log")
    try:
        daemon.wait_ready()
        emu.reset_stats()
        cpu0 = cpu_seconds(daemon.proc.pid)
        daemon._wait(lambda: len(daemon.events("full_sync")) >= 2, 600, "a resync", interval=0.05)
        cpu = cpu_seconds(daemon.proc.pid) - cpu0
        stats = by_method(emu.stats())
        seconds = daemon.events("full_sync")[1]["seconds"]
    finally:
        daemon.stop()
    return {"seconds": seconds, "requests": stats, "daemon_cpu_ms_per_page": round(1000 * cpu / (3 * n), 3),
            "planner_cpu_ms_per_page": round(planner_cpu_per_page_ms(root), 3)}


def table(r: dict, big: dict | None, push: dict | None = None) -> str:
    f, e, s = r["first_sync"], r["edits"], r["resync"]
    rows = [
        ("time to ready (first full sync, all in sync)",
         f"{f['wall_s']} s wall = start-up + {f['load_s']} s load/validate + {f['sync_s']} s sync",
         f"{f['requests']}", f"floor ceil(N/C) x latency = {f['floor_s']} s"),
        ("edit-to-live p50 / p99 / max", f"{e['p50_s']} / {e['p99_s']} / {e['max_s']} s",
         f"{e['exactly_one_get_one_patch']}/{e['count']} edits = 1 GET + 1 PATCH; "
         f"{e['requests_for_other_agents']} requests for other agents", "p50 <= 0.5 s, p99 <= 2 s"),
        ("idle CPU over 10 s", f"{r['idle_cpu_s_per_10s']} s", "-", "~0"),
        ("resync of N in-sync agents", f"{s['seconds']} s", f"{s['requests']}", "N GETs"),
        ("· planner CPU per page", f"{s['planner_cpu_ms_per_page']} ms", "-", "<= 0.5 ms"),
        ("· daemon CPU per page during the resync", f"{s['daemon_cpu_ms_per_page']} ms", "-", "-"),
        (f"peak RSS at N={r['agents']}", f"{r['peak_rss_mb']} MB", "-", "-"),
    ]
    if big:
        rows.append((f"peak RSS at N={big['agents']}", f"{big['peak_rss_mb']} MB "
                     f"(ready after {big['first_sync']['wall_s']} s)", f"{big['first_sync']['requests']}",
                     "<= 500 MB at 10,000"))
    if push:
        rows.append(push_bench.row(push))
    out = ["| measure | result | requests | target |", "| --- | --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--rss-agents", type=int, default=10000, help="second run for peak RSS only (0: skip)")
    parser.add_argument("--push-agents", type=int, default=200, help="agents of the push-to-live run (0: skip)")
    parser.add_argument("--pushes", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        result = run_one(args.agents, args.latency_ms, args.concurrency, args.edits, Path(tmp) / "main", True)
        big = None
        if args.rss_agents:
            shutil.rmtree(Path(tmp) / "main", ignore_errors=True)
            big = run_one(args.rss_agents, args.latency_ms, args.concurrency, 0, Path(tmp) / "big", False)
            shutil.rmtree(Path(tmp) / "big", ignore_errors=True)
        push = None
        if args.push_agents:
            push = push_bench.measure_pushes(args.push_agents, args.latency_ms, args.concurrency, args.pushes,
                                             Path(tmp) / "push")
    result["load_average_at_start"] = [round(x, 2) for x in load]
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(table(result, big, push))
    print(f"\nload average (1/5/15 min): {result['load_average_at_start']} at start, "
          f"{result['load_average_at_end']} at end; {os.cpu_count()} cores")
    if args.json:
        print(json.dumps({"main": result, "rss": big, "push": push}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
