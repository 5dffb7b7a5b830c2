"""Benchmark: what a saved plan costs — ``plan`` vs ``plan --save-plan``, ``show``, ``apply --plan``'s check.

Generates N agents with ``plan_bench``'s generator into a temporary repository
on ``url: local`` (the embedded emulator: no network latency, so the numbers
are the plan file's own CPU: hashing every file read, HMAC digests, writing
and reading the JSON), converges it, changes one variable per agent, then times
in-process:

1. ``engine.run_plan`` without and with ``hash_files`` + ``write_plan_file``;
2. ``show`` of the plan file (read + render text and markdown);
3. ``apply --plan`` refused on purpose (one repository file edited after the
   plan): the full check — re-read, re-plan, compare — with no write.

Usage: ``python benchmarks/planfile_bench.py [--agents N]``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import plan_bench  # noqa: E402

from reconciler import engine  # noqa: E402
from reconciler.report import formats  # noqa: E402
from reconciler.planning import planfile   # noqa: E402
from reconciler.report import reader  # noqa: E402


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def measure(n: int, workdir: Path) -> dict:
    root = workdir / "repo"
    root.mkdir()
    plan_bench.write_repo(root, n, "local", 16)
    engine.run_apply(root, engine.RunOptions(allow_large_change=True), approve_live=True)
    plan_bench.bump_one_variable(root, n)
    options = engine.RunOptions(allow_large_change=True)
    plain, _ = _timed(lambda: engine.run_plan(root, options))
    saved_path = workdir / "plan.json"

    def save():
        planned = engine.run_plan(root, options, hash_files=True)
        engine.write_plan_file(planned, saved_path, options)
        return planned
    with_file, planned = _timed(save)

    def show():
        value, command, info = reader.read_document(planfile.read_json(saved_path), source=str(saved_path))
        return [formats.render(value, fmt, command=command, color=False, info=info) for fmt in ("text", "markdown")]
    show_s, _ = _timed(show)
    values_file = root / "configs" / plan_bench.agent_id(0) / "live" / "values.yaml"
    values_file.write_text(values_file.read_text() + "\n# edited after the plan\n")

    def refused():
        try:
            engine.run_apply_saved(root, saved_path, engine.RunOptions(), approve_live=True)
        except planfile.StalePlanError as exc:
            return exc.differences
        raise AssertionError("expected a refusal")
    check_s, moved = _timed(refused)
    assert len(moved) == 1, moved
    return {"agents": n, "pages": len(planned.plan.results), "files_hashed": len(planned.file_hashes or {}),
            "plan_s": round(plain, 2), "plan_save_plan_s": round(with_file, 2),
            "save_overhead_s": round(with_file - plain, 2), "plan_file_bytes": saved_path.stat().st_size,
            "show_text_and_markdown_s": round(show_s, 2), "apply_plan_refusal_check_s": round(check_s, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="planfile-bench-") as tmp:
        print(json.dumps(measure(args.agents, Path(tmp)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
