"""One road to a Plan: engine.plan_snapshot over a RepositorySnapshot and LivePages, for every driver.

What must hold: the change rules come from the snapshot's policies (a daemon
keeps them between passes, the CLI reads them with the repository) and never
from a second read of the disk; the drift report skips them; the daemon's
one-agent pass plans exactly what ``reconciler plan`` plans for that agent; and
the saved-plan module stands without the report package.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

from e2e_helpers import API_KEY, SCHEMA, desired_state, make_repo, settings_for, values

from reconciler import engine
from reconciler.api import AgentsApi, fetch_live
from reconciler.checks.policy import loader as policy_loader
from reconciler.checks.policy.model import PolicySet
from reconciler.daemon import repository as daemon_repository
from reconciler.daemon.sharding import Shard
from reconciler.model import ClientEnv, LiveAgent, LivePage
from reconciler.planning.plan import Status
from reconciler.planning.snapshot import LivePages, RepositorySnapshot

AGENTS = ("r-a", "r-b", "r-c", "r-d")
POLICY = """\
name: blast-radius
severity: error
match: {environments: [live]}
rules:
  - id: live-changes
    blast_radius: {max_percent: 25}
"""


def _snapshot_and_live(tmp_path, policies: PolicySet | None = None):
    (tmp_path / "policies").mkdir(parents=True)
    (tmp_path / "policies" / "blast.yaml").write_text(textwrap.dedent(POLICY), encoding="utf-8")
    desired = desired_state({a: {"live": (SCHEMA, values("live"))} for a in AGENTS}, root=tmp_path)
    live = LivePages({a: LiveAgent(a, {ClientEnv.LIVE: LivePage(ClientEnv.LIVE, SCHEMA, {}, "t0")}) for a in AGENTS})
    loaded = policy_loader.load_policies(tmp_path) if policies is None else policies
    return RepositorySnapshot(settings_for("local", root=tmp_path), desired, loaded), live


def _live_statuses(plan):
    return [r.status for r in plan.results if r.env is ClientEnv.LIVE]


def test_change_rules_come_from_the_snapshot_not_from_the_disk(tmp_path):
    snapshot, live = _snapshot_and_live(tmp_path)
    plan = engine.plan_snapshot(snapshot, live, AGENTS, target="local")
    assert _live_statuses(plan) == [Status.ERROR] * 4                  # 4 of 4 agents > 25 %
    assert all(r.errors[-1].code == "policy.blast_radius" for r in plan.results if r.env is ClientEnv.LIVE)
    # The same disk, a snapshot without policies: nothing re-reads policies/ behind its back.
    bare, live = _snapshot_and_live(tmp_path / "bare", PolicySet())
    assert _live_statuses(engine.plan_snapshot(bare, live, AGENTS, target="local")) == [Status.CHANGES] * 4


def test_the_drift_report_plans_on_the_same_road_without_change_rules(tmp_path):
    snapshot, live = _snapshot_and_live(tmp_path)
    plan = engine.plan_snapshot(snapshot, live, AGENTS, target="local", read_only=True)
    assert _live_statuses(plan) == [Status.CHANGES] * 4
    assert not any(f.code.startswith("policy.") for r in plan.results for f in r.errors + r.warnings)


def test_a_daemon_pass_plans_what_the_plan_command_plans(tmp_path, emulator, monkeypatch):
    monkeypatch.setenv("POLYAI_API_KEY", API_KEY)
    root = make_repo(tmp_path / "repo", emulator.url, agents=("road-a", "road-b"))
    emulator.seed("road-a")
    emulator.seed("road-b", {"sandbox": {"schema": SCHEMA, "variables": values("sandbox")}})
    cli_plan = engine.run_plan(root).plan
    snap = daemon_repository.load_full(root, Shard(0, 1), daemon_repository.Options(
        api_url=None, concurrency=None, resync=None), None)

    async def daemon_plan(agent: str):
        async with AgentsApi.from_settings(snap.settings) as api:
            live, failed = await fetch_live(api, [agent])
            return engine.plan_snapshot(snap.of_agent(agent), LivePages(live, failed), [agent], target=api.target)

    for agent in ("road-a", "road-b"):
        assert asyncio.run(daemon_plan(agent)).for_agent(agent) == cli_plan.for_agent(agent)
    assert {r.status for r in cli_plan.results} == {Status.CHANGES, Status.IN_SYNC}


def test_the_saved_plan_module_imports_no_report():
    code = ("import sys, reconciler.planning.planfile; "
            "print(sorted(m for m in sys.modules if m.startswith('reconciler.report')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


SERVE = """
import asyncio, sys
import httpx
from reconciler.daemon import http
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.sharding import Shard
from reconciler.daemon.status import Board

async def main():
    board = Board(Shard(0, 1))
    server, task, url = await http.start(http.create_app(board, Metrics(board), lambda: True), "127.0.0.1", 0)
    async with httpx.AsyncClient() as client:
        answer = await client.get(url + "/healthz")
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    print(answer.status_code, answer.text.strip(), sorted(m for m in sys.modules if m.startswith("reconciler.emulator")))

asyncio.run(main())
"""


def test_the_daemon_serves_its_http_surface_with_uvicorn_alone():
    out = subprocess.run([sys.executable, "-c", SERVE], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "200 ok []"
