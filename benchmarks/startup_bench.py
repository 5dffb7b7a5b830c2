"""Benchmark: start-up of the command line, as whole processes.

Runs ``reconciler --version`` and ``reconciler validate .`` on a copy of the
example repository (``reconciler.yaml``, ``configs/``, ``policies/``; one
warm-up run first, as a pre-commit hook would find its cache and an installed
package its byte-code — so ``PYTHONDONTWRITEBYTECODE`` is not passed on: with it
and no ``__pycache__`` yet, every run would compile ~50 of our modules again,
~0.1 s of CPU no installed copy pays) N times each
and prints the median wall time and CPU time (user + system, from
``wait4``) against the targets: ``--version`` ≤ 0.12 s, ``validate`` ≤ 0.25 s.
Then the slowest imports of one ``validate`` (``python -X importtime``),
the place to look when the figure grows. Exit 1 when a target is missed.

Usage: ``python benchmarks/startup_bench.py [--runs N] [--top K] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: (name, arguments after ``reconciler``, target in seconds)
CASES = (("--version", ("--version",), 0.12), ("validate", ("validate", "."), 0.25))
EXAMPLE = ("reconciler.yaml", "configs", "policies")


def command() -> list[str]:
    """The console script next to this interpreter, else ``python -m reconciler``."""
    script = Path(sys.executable).with_name("reconciler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def copy_example(into: Path) -> Path:
    for name in EXAMPLE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name)
        else:
            shutil.copy2(source, into / name)
    return into


def run_once(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowest_imports(cwd: Path, env: dict[str, str], top: int) -> list[tuple[int, str]]:
    """The ``top`` largest cumulative import times (µs) of one ``validate``, outermost first."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "reconciler", "validate", "."], cwd=cwd,
                          env=env, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _self, cumulative, name = line.removeprefix("import time:").split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per figure (median; default 5)")
    parser.add_argument("--top", type=int, default=12, help="slowest imports of validate to list (default 12)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    opts = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "POLYAI_"))
           and k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    results = []
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        repo = copy_example(Path(tmp))
        for name, args, target in CASES:
            full = [*command(), *args]
            run_once(full, repo, env)                       # warm-up: byte-code and the repository's cache
            samples = [run_once(full, repo, env) for _ in range(opts.runs)]
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            results.append({"name": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "target_s": target,
                            "ok": wall <= target})
        imports = slowest_imports(repo, env, opts.top)
    load = os.getloadavg()[0]
    if opts.json:
        print(json.dumps({"runs": opts.runs, "load_average": round(load, 2), "results": results,
                          "slowest_imports_us": [{"module": m.strip(), "cumulative_us": us} for us, m in imports]},
                         indent=2))
    else:
        print(f"start-up, median of {opts.runs} processes (load average {load:.2f}, {os.cpu_count()} cores)")
        for r in results:
            mark = "✔" if r["ok"] else "✘"
            print(f"  reconciler {r['name']:<10} {r['wall_s']:.3f} s wall  {r['cpu_s']:.3f} s CPU  "
                  f"target ≤ {r['target_s']:.2f} s {mark}")
        print("slowest imports of validate (cumulative):")
        for us, module in imports:
            print(f"  {us / 1000:7.1f} ms {module}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
