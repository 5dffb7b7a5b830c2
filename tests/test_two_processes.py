"""Validation on two cores (reconciler.checks.twoprocesses) gives exactly what one process gives.

Half of the agents are checked in a forked child; what must hold: the same findings (every
code, file, line and masked message, dialect warnings once with their counts), the same data;
a child that dies or is killed changes nothing but the time; a signal leaves no child behind;
the on-disk cache is written for both halves and a full run prunes nothing either half read.
The processes are real (fork, pipes, signals); nothing is patched.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from e2e_helpers import ENVS, SENSITIVE_SCHEMA, SCHEMA, make_repo, values, write_env
from reconciler.checks import twoprocesses, validation
from reconciler.repository import cache as resultcache
from reconciler.report import findings as render

pytestmark = pytest.mark.skipif(not twoprocesses.can_fork(), reason="two processes only where fork is safe (Linux)")

#: A pattern the dialect warning speaks of (``\d``), in every agent: placed once, the rest counted.
DIALECT_SCHEMA = {**SCHEMA, "properties": {**SCHEMA["properties"], "code": {
    "type": "string", "pattern": r"^\d{3}$", "title": "Code", "description": "Three digits"}}}


def mixed_repo(root: Path, n: int = 12) -> Path:
    """``n`` agents with problems in both halves, at the top of configs/ and inside agents."""
    make_repo(root, "local", agents=())
    (root / "reconciler.yaml").write_text("api:\n  url: local\nwarnings:\n  enable: [schema.regex_dialect]\n",
                                          encoding="utf-8")
    for i in range(n):
        for env in ENVS:
            write_env(root, f"agent-{i:02d}", env, schema=DIALECT_SCHEMA, vals=values(env, code="123"))
    for i in (1, n - 2):                                                  # invalid values in each half
        write_env(root, f"agent-{i:02d}", "live", schema=DIALECT_SCHEMA, vals=values("live", greeting=5))
    write_env(root, f"agent-{n - 1:02d}", "sandbox", schema=SENSITIVE_SCHEMA,
              vals=values("sandbox", api_token="SECRET-UPPER"))                # masked in its finding
    (root / "configs" / f"agent-{n - 3:02d}" / "sandbox" / "values.yaml").write_text(
        "greeting: yes\nmax_hold: 99999999999999999999\n", encoding="utf-8")   # YAML 1.1 note, big integer
    (root / "configs" / "agent-03" / "sandbox" / "notes.txt").write_text("stray\n", encoding="utf-8")
    (root / "configs" / f"agent-{n - 4:02d}" / ".old").mkdir()
    (root / "configs" / "zz-readme.txt").write_text("stray at the top\n", encoding="utf-8")
    (root / "configs" / ".archive").mkdir()
    (root / "configs" / "Bad_Id").mkdir()
    return root


def report(desired) -> str:
    doc = json.loads(render.render_json(desired.findings, command="validate"))
    doc.pop("created_at", None)
    return json.dumps(doc, sort_keys=True, indent=1)


def data(desired) -> dict:
    return {(a, e.value): (env.schema, env.values, env.schema_file, env.values_file)
            for a, agent in desired.agents.items() for e, env in agent.envs.items()}


def test_two_processes_find_exactly_what_one_finds(tmp_path):
    root = mixed_repo(tmp_path / "repo")
    one = validation.validate_repository(root)
    two = twoprocesses.validate_repository(root, min_agents=2)
    assert report(two) == report(one)
    assert render.sort_findings(two.findings) == render.sort_findings(one.findings)
    assert list(two.agents) == list(one.agents) and data(two) == data(one)
    codes = {f.code for f in one.findings}
    assert {"values.invalid", "schema.regex_dialect", "repo.stray_file", "repo.hidden_dir",
            "repo.bad_agent_id", "values.integer_too_large", "yaml.ambiguous"} <= codes, codes
    dialect = sorted(f.message for f in two.findings if f.code == "schema.regex_dialect")
    assert len(dialect) == len(set(m.split(" (same pattern")[0] for m in dialect)) == 3     # each once
    assert sum("(same pattern in 34 more places)" in m for m in dialect) == 1      # `^\d{3}$`: 35 places
    assert "SECRET-UPPER" not in report(two)
    # a line asked of the child's half is found from this process (the source maps travel)
    late = next(f for f in two.findings if f.code == "values.invalid" and f.agent == "agent-10")
    assert late.file == "configs/agent-10/live/values.yaml" and late.line == 1


def test_a_small_or_selected_run_stays_in_one_process(tmp_path):
    root = mixed_repo(tmp_path / "repo", n=4)
    assert twoprocesses.halves(root) is None                       # fewer than MIN_AGENTS
    assert twoprocesses.halves(root, min_agents=2) == (["Bad_Id", "agent-00"],
                                                        ["agent-01", "agent-02", "agent-03"])
    linked = tmp_path / "linked"
    linked.mkdir()
    os.symlink(root / "configs", linked / "configs")
    assert twoprocesses.halves(linked, min_agents=2) is None        # the loader decides about a link, alone
    one = validation.validate_repository(root, agents=["agent-01"])
    assert report(twoprocesses.validate_repository(root, agents=["agent-01"], min_agents=2)) == report(one)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _wait_for_child(pid: int, seconds: float = 20.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = _children(pid)
        if found:
            return found[0]
        time.sleep(0.001)
    raise AssertionError("no child process appeared")


def big_repo(root: Path, n: int) -> Path:
    make_repo(root, "local", agents=())
    text = yaml.safe_dump(SCHEMA, sort_keys=False)
    for i in range(n):
        for env in ENVS:
            d = root / "configs" / f"agent-{i:03d}" / env
            d.mkdir(parents=True)
            (d / "schema.yaml").write_text(text, encoding="utf-8")
            (d / "values.yaml").write_text(yaml.safe_dump(values(env, greeting=f"Hello {i}"), sort_keys=False),
                                           encoding="utf-8")
    write_env(root, f"agent-{n - 1:03d}", "live", vals=values("live", greeting=5))   # in the child's half
    return root


PROGRAM = """
import json, sys
from reconciler.checks import twoprocesses
from reconciler.report import findings as render
desired = twoprocesses.validate_repository(sys.argv[1], min_agents=2)
print(json.dumps([[f.code, f.file, f.line] for f in render.sort_findings(desired.findings)]), len(desired.agents))
"""


def test_a_child_killed_midway_changes_nothing_but_the_time(tmp_path):
    root = big_repo(tmp_path / "repo", 300)
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM, str(root)], stdout=subprocess.PIPE, text=True)
    child = _wait_for_child(proc.pid)
    os.kill(child, signal.SIGKILL)                                  # the parent checks that half itself
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    one = validation.validate_repository(root)
    expected = [[f.code, f.file, f.line] for f in render.sort_findings(one.findings)]
    assert out.split(" ")[0] and json.loads(out.rsplit(" ", 1)[0]) == expected and expected
    assert out.split()[-1] == "300"


def interrupted_once_forked(args: list[str], env: dict[str, str] | None = None) -> None:
    """Run ``reconciler args``, SIGINT it as soon as its child exists: 130, one line, no child left."""
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = _wait_for_child(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_an_interrupted_validate_leaves_no_child_behind(tmp_path):
    interrupted_once_forked(["validate", "--no-cache", str(big_repo(tmp_path / "repo", 600))])


def test_both_halves_are_cached_and_a_full_run_prunes_neither(tmp_path):
    root = tmp_path / "repo"
    make_repo(root, "local", agents=())
    for i in range(8):                                   # a schema of its own per agent: an entry each
        schema = {**SCHEMA, "title": f"Agent {i}"}
        for env in ENVS:
            write_env(root, f"agent-{i}", env, schema=schema)

    def parse_entries() -> int:
        with sqlite3.connect(root / ".reconciler" / "cache" / resultcache.DB_NAME) as db:
            return db.execute("SELECT count(*) FROM entries WHERE kind = 'parse'").fetchone()[0]

    first = twoprocesses.validate_repository(root, use_cache=True, min_agents=2)
    assert parse_entries() == 8
    again = twoprocesses.validate_repository(root, use_cache=True, min_agents=2)
    assert parse_entries() == 8                          # the child's half was asked for: not pruned
    one = validation.validate_repository(root, use_cache=True)
    assert report(first) == report(again) == report(one) and parse_entries() == 8


# ---- the plan commands: the child's half read as it is accepted -----------------------------------

PLAN_PROGRAM = """
import asyncio, json, os, sys
from pathlib import Path
from reconciler import engine
from reconciler.api import AgentsApi
from reconciler.checks import twoprocesses
from reconciler.planning import reading

root = Path(sys.argv[1])
options = engine.RunOptions()
children = set()

def kids():
    try:
        return [int(p) for p in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()]
    except OSError:
        return []

async def overlapped():
    async def watch():
        while True:
            children.update(kids())
            await asyncio.sleep(0)
    watcher = asyncio.ensure_future(watch())
    settings = reading.load_settings(root, options)
    try:
        async with AgentsApi.from_settings(settings) as api:
            read = await reading.read_overlapped(api, settings, root, options)
            return read, engine.plan_snapshot(read.snapshot, read.live, read.agents, target=api.target)
    finally:
        watcher.cancel()

assert twoprocesses.can_fork() and twoprocesses.halves(root)
read, plan = asyncio.run(overlapped())
snapshot, agents = reading.read_repository(root, options)

async def sequential():
    async with AgentsApi.from_settings(snapshot.settings) as api:
        again = await reading.read_live(api, snapshot, agents)
        return engine.plan_snapshot(again.snapshot, again.live, again.agents, target=api.target)

same = asyncio.run(sequential()) == plan and read.agents == agents
print(json.dumps({"same": same, "children": sorted(children), "agents": list(read.agents),
                  "findings": sorted(f.code for f in read.snapshot.desired.findings)}))
"""


def test_a_plan_reads_every_accepted_agent_once_while_a_child_checks_half(tmp_path, emulator):
    """70 agents (two processes) and an escaping link: every agent read once, never the link, the same
    plan as a sequential read; a child existed while the reads ran, and is gone."""
    from e2e_helpers import API_KEY

    names = tuple(f"agent-{i:02d}" for i in range(70))
    root = make_repo(tmp_path / "repo", emulator.url, agents=names, concurrency=8)
    outside = tmp_path / "outside"
    (outside / "live").mkdir(parents=True)
    os.symlink(outside, root / "configs" / "zz-escape")               # in the child's half: refused
    for name in names:
        emulator.seed(name, {"sandbox": {"schema": {"type": "object"}, "variables": {}}})
    emulator.reset_stats()
    proc = subprocess.run([sys.executable, "-c", PLAN_PROGRAM, str(root)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "POLYAI_API_KEY": API_KEY})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # each agent twice: once by the overlapped read, once by the program's sequential read (one GET each)
    paths = sorted(r["path"] for r in emulator.requests())
    assert paths == sorted(f"/v1/agents/{name}/real-time-configs" for name in names for _ in range(2))
    assert out["same"] and "zz-escape" in out["agents"] and "path.symlink_escape" in out["findings"], out
    assert out["children"] and not any(Path(f"/proc/{pid}").exists() for pid in out["children"])


def test_an_interrupted_plan_leaves_no_child_behind(tmp_path, emulator):
    from e2e_helpers import API_KEY

    root = big_repo(tmp_path / "repo", 600)
    (root / "reconciler.yaml").write_text(f"api:\n  url: {emulator.url}\n", encoding="utf-8")
    interrupted_once_forked(["plan", str(root)], {**os.environ, "POLYAI_API_KEY": API_KEY, "NO_COLOR": "1",
                                                  "RECONCILER_NO_CACHE": "1"})
