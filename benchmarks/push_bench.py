"""Benchmark: push-to-live through the GitHub webhook, against a local bare repository.

Used by ``benchmarks/watch_bench.py`` (printed with its other figures) and runnable alone:
``python benchmarks/push_bench.py [--agents 200] [--latency-ms 20] [--pushes 30]``.

A fleet of N agents (the schema of ``plan_bench.py``) is committed to a work clone and pushed to
``git init --bare``; the emulator (``reconciler emulator``, latency L) holds every page already in
sync; ``reconciler watch --git file://… --interval 1h`` runs as a process with a webhook secret. Each
push changes one sandbox value of one agent, is committed and pushed, then a signed ``push`` event is
POSTed to ``/hooks/github``: the clock runs from that POST until the emulator shows the value (so a
fetch, a read-only tree, a reload of the touched agent, one GET and one PATCH). Targets at N = 200,
20 ms: p50 <= 1.0 s, p99 <= 2.5 s.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import ENVS, agent_id, dump, schema_for, values, write_repo  # noqa: E402
from plan_bench import Emulator  # noqa: E402

SECRET = "bench-webhook-secret"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def signed_push() -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={digest}",
                  "Content-Type": "application/json"}


def measure_pushes(n: int, latency_ms: int, concurrency: int, pushes: int, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    emu = Emulator(workdir / "emulator.db", 0)
    work, bare = workdir / "work", workdir / "remote.git"
    work.mkdir()
    daemon = None
    try:
        write_repo(work, n, emu.url, concurrency)
        for i in range(n):
            pages = {env: {"schema": schema_for(i), "variables": values(i, env)} for env in ENVS}
            emu.http.post("/_emulator/agents", json={"agentId": agent_id(i), "pages": pages}).raise_for_status()
        git(workdir, "init", "--bare", "--quiet", "--initial-branch=main", str(bare))
        git(work, "init", "--quiet", "--initial-branch=main")
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", "fleet")
        git(work, "push", "--quiet", bare.as_uri(), "HEAD:main")
        emu.faults(latency_ms)
        log = workdir / "watch-git.log"
        env = dict(os.environ, POLYAI_API_KEY=os.environ.get("POLYAI_API_KEY", "bench-key"),
                   RECONCILER_WEBHOOK_SECRET=SECRET)
        with open(log, "w", encoding="utf-8") as out:
            daemon = subprocess.Popen([sys.executable, "-m", "reconciler", "watch", str(workdir), "--git",
                                       bare.as_uri(), "--interval", "1h", "--state-dir", str(workdir / "state"),
                                       "--listen", "127.0.0.1:0", "--concurrency", str(concurrency),
                                       "--log-format", "json"], stdout=out, stderr=out, env=env,
                                      stdin=subprocess.DEVNULL)
        url = _wait(lambda: (m := re.search(r"listening on (http://[0-9.:]+)", log.read_text())) and m.group(1),
                    daemon, 120)
        with httpx.Client(base_url=url, timeout=30) as http:
            _wait(lambda: http.get("/readyz").status_code == 200, daemon, 1800)
            fetched = _fetches(http)
            latencies = [_one_push(emu, http, work, bare, n, k) for k in range(pushes)]
            fetches = _fetches(http) - fetched
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(60)
        emu.close()
    latencies.sort()
    return {"agents": n, "latency_ms": latency_ms, "pushes": pushes,
            "p50_s": round(statistics.median(latencies), 3),
            "p99_s": round(latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)], 3),
            "max_s": round(latencies[-1], 3), "fetches": int(fetches)}


def _fetches(http: httpx.Client) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("reconciler_source_fetches_total "):
            return float(line.split()[1])
    return 0.0


def _one_push(emu: Emulator, http: httpx.Client, work: Path, bare: Path, n: int, k: int) -> float:
    i = (k * 7919) % n
    path = work / "configs" / agent_id(i) / "sandbox" / "values.yaml"
    path.write_text(dump(values(i, "sandbox", revision=k + 1)), encoding="utf-8")
    git(work, "commit", "--quiet", "-am", f"push {k + 1}")
    git(work, "push", "--quiet", bare.as_uri(), "HEAD:main")
    want = f"[rev {k + 1}]"
    body, headers = signed_push()
    started = time.monotonic()
    http.post("/hooks/github", content=body, headers=headers).raise_for_status()
    deadline = started + 30
    while time.monotonic() < deadline:
        pages = emu.http.get(f"/_emulator/agents/{agent_id(i)}").json()["configPages"]
        if next(p for p in pages if p["clientEnv"] == "sandbox")["variables"]["greeting"].endswith(want):
            return time.monotonic() - started
        time.sleep(0.005)
    raise SystemExit(f"push {k} never went live")


def _wait(predicate, proc: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daemon exited {proc.returncode}")
        try:
            value = predicate()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit("timed out waiting for the daemon")


def row(r: dict) -> tuple[str, str, str, str]:
    return (f"push-to-live through the webhook, N={r['agents']}, {r['pushes']} pushes (signed POST -> emulator "
            "shows it)", f"p50 {r['p50_s']} s, p99 {r['p99_s']} s, max {r['max_s']} s", f"{r['fetches']} fetches for {r['pushes']} pushes",
            "p50 <= 1.0 s, p99 <= 2.5 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pushes", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp:
        result = measure_pushes(args.agents, args.latency_ms, args.concurrency, args.pushes, Path(tmp))
    print("| measure | result | requests | target |\n| --- | --- | --- | --- |\n| " + " | ".join(row(result)) + " |")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
