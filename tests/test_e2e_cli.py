"""End to end: `reconciler plan | apply | drift` as subprocesses against the emulator on loopback.

The issue's "Done when" list: first apply creates everything; a second plan is
in sync (exit 0); a one-value edit is one PATCH with exactly that key; a schema
edit is PUT then PATCH; an orphan the new schema forbids is caught at plan time
with nothing sent; live needs --auto-approve; exit codes; --out.
"""

from __future__ import annotations

import copy
import json

import pytest
from e2e_helpers import SCHEMA, cli, cli_json, make_repo, methods, values, write_env, writes


@pytest.fixture
def repo(tmp_path, emulator):
    for agent in ("alpha", "beta"):
        emulator.seed(agent)
    return make_repo(tmp_path / "repo", emulator.url, agents=("alpha", "beta"))


def converge(repo, emulator):
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    emulator.reset_stats()


def result(report: dict, agent: str, env: str) -> dict:
    return next(r for r in report["results"] if r["agent"] == agent and r["env"] == env)


def test_first_apply_creates_everything_and_the_next_plan_is_in_sync(repo, emulator):
    code, report = cli_json(repo, "plan", str(repo))
    assert code == 2 and report["command"] == "plan" and report["format_version"] == 1
    assert {r["status"] for r in report["results"]} == {"changes"}
    assert methods(emulator.requests()) == ["GET", "GET"]           # ONE GET per agent, nothing else
    emulator.reset_stats()

    proc = cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert "alpha" in proc.stdout
    w = writes(emulator.requests())
    assert len(w) == 12                                               # 2 agents x 3 envs x (PUT + PATCH)
    for agent in ("alpha", "beta"):
        mine = [m + " " + p.rsplit("/", 2)[-2] for m, p in w if f"/{agent}/" in p]
        assert mine == ["PUT sandbox", "PATCH sandbox", "PUT pre-release", "PATCH pre-release",
                        "PUT live", "PATCH live"]
    assert emulator.peek("beta", "live")["variables"] == values("live")
    emulator.reset_stats()

    code, report = cli_json(repo, "plan", str(repo))
    assert code == 0 and report["summary"]["changes"] == 0 and report["summary"]["errors"] == 0
    assert {r["status"] for r in report["results"]} == {"in_sync"}
    assert methods(emulator.requests()) == ["GET", "GET"]


def test_one_value_edit_is_one_patch_with_exactly_that_key(repo, emulator):
    converge(repo, emulator)
    write_env(repo, "alpha", "pre-release", vals=values("pre-release", max_hold=300))
    code, report = cli_json(repo, "plan", str(repo))
    assert code == 2
    changed = [r for r in report["results"] if r["status"] == "changes"]
    assert [(r["agent"], r["env"]) for r in changed] == [("alpha", "pre-release")]
    assert changed[0]["variables"]["patch"] == {"max_hold": 300}
    assert changed[0]["schema"]["action"] == "none"
    emulator.reset_stats()

    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert writes(emulator.requests()) == [("PATCH", "/v1/agents/alpha/real-time-configs/pre-release/variables")]
    assert emulator.peek("alpha", "pre-release")["variables"]["max_hold"] == 300


def test_schema_edit_is_put_then_patch(repo, emulator):
    converge(repo, emulator)
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["holiday_message"] = {"type": "string", "title": "Holiday", "description": "Closed days"}
    write_env(repo, "beta", "sandbox", schema=schema, vals=values("sandbox", holiday_message="Closed 25 Dec"))
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert writes(emulator.requests()) == [("PUT", "/v1/agents/beta/real-time-configs/sandbox/schema"),
                                           ("PATCH", "/v1/agents/beta/real-time-configs/sandbox/variables")]
    page = emulator.peek("beta", "sandbox")
    assert page["schema"] == schema and page["variables"]["holiday_message"] == "Closed 25 Dec"


def test_orphan_forbidden_by_the_new_schema_is_caught_at_plan_time_and_nothing_is_sent(repo, emulator):
    # Live has a key the repository no longer has, and the new schema forbids it (additionalProperties: false).
    old = copy.deepcopy(SCHEMA)
    old["properties"]["legacy_flag"] = {"type": "boolean", "title": "Legacy", "description": "old"}
    for env in ("sandbox", "pre-release", "live"):
        write_env(repo, "alpha", env, schema=old, vals=values(env, legacy_flag=True))
    converge(repo, emulator)
    for env in ("sandbox", "pre-release", "live"):
        write_env(repo, "alpha", env, schema=SCHEMA, vals=values(env, max_hold=99))

    code, report = cli_json(repo, "plan", str(repo))
    assert code == 1
    sandbox = result(report, "alpha", "sandbox")
    assert sandbox["status"] == "error"
    message = " ".join(e["message"] for e in sandbox["errors"])
    assert "legacy_flag" in message
    assert "schema" in message and "Configuration Builder" in message      # the two ways out
    assert "legacy_flag" in sandbox["variables"]["orphans"]
    emulator.reset_stats()

    proc = cli(repo, "apply", str(repo), "--auto-approve", check_codes=(1,))
    assert set(methods(emulator.requests())) == {"GET"}                  # nothing written, anywhere
    assert emulator.peek("alpha", "sandbox")["variables"]["max_hold"] == 120
    assert "legacy_flag" in proc.stdout + proc.stderr


def test_live_needs_auto_approve_in_a_non_interactive_run(repo, emulator):
    proc = cli(repo, "apply", str(repo), check_codes=(1,))
    assert "--auto-approve" in proc.stderr and "live not written" in proc.stderr
    assert not any("/live/" in p for _, p in writes(emulator.requests()))
    assert emulator.peek("alpha", "live")["schema"] == {}
    assert emulator.peek("alpha", "pre-release")["schema"] == SCHEMA      # the other environments went ahead
    emulator.reset_stats()
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert [p.rsplit("/", 2)[-2] for _, p in writes(emulator.requests())] == ["live"] * 4


def test_out_of_band_edit_shows_as_drift_and_apply_puts_it_back(repo, emulator):
    converge(repo, emulator)
    assert cli(repo, "drift", str(repo)).returncode == 0
    emulator.edit_page("beta", "live", variables={**values("live"), "greeting": "edited in the UI"})
    code, report = cli_json(repo, "drift", str(repo))
    assert code == 2 and report["command"] == "drift"
    live = result(report, "beta", "live")
    assert live["variables"]["patch"] == {"greeting": "Hello from live"}
    assert any(d["path"] == "greeting" and d["live"] == "edited in the UI" for d in live["variables"]["diff"])
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert emulator.peek("beta", "live")["variables"]["greeting"] == "Hello from live"


def test_env_and_agent_filters(repo, emulator):
    code, report = cli_json(repo, "plan", str(repo), "--agent", "beta", "--env", "sandbox")
    assert code == 2 and [(r["agent"], r["env"]) for r in report["results"]] == [("beta", "sandbox")]
    assert methods(emulator.requests()) == ["GET"]
    cli(repo, "apply", str(repo), "--env", "sandbox", check_codes=(0,))
    assert {p.rsplit("/", 2)[-2] for _, p in writes(emulator.requests())} == {"sandbox"}


@pytest.mark.parametrize("args,code,needle", [
    (("plan", "--agent", "nobody"), 1, "unknown agent"),
    (("plan", "--format", "yaml"), 1, "yaml"),     # never 2: that means "changes pending"
    (("drift", "--env", "prod"), 1, "prod"),
])
def test_usage_errors(repo, args, code, needle):
    proc = cli(repo, *args[:1], str(repo), *args[1:])
    assert proc.returncode == code and needle in proc.stderr


def test_invalid_values_make_plan_exit_1_with_file_and_line_and_apply_send_nothing(repo, emulator):
    write_env(repo, "alpha", "sandbox", vals=values("sandbox", max_hold="soon"))
    code, report = cli_json(repo, "plan", str(repo))
    assert code == 1
    err = result(report, "alpha", "sandbox")["errors"][0]
    assert err["file"] == "configs/alpha/sandbox/values.yaml" and err["line"]
    assert result(report, "alpha", "pre-release")["status"] == "error"    # blocked in promotion order
    emulator.reset_stats()
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(1,))
    assert not any("/alpha/" in p for _, p in writes(emulator.requests()))
    assert any("/beta/" in p for _, p in writes(emulator.requests()))       # other agents go on


def test_out_writes_the_report_and_prints_a_summary(repo, emulator, tmp_path):
    out = tmp_path / "plan.json"
    proc = cli(repo, "plan", str(repo), "--format", "json", "--out", str(out), check_codes=(2,))
    assert json.loads(out.read_text())["summary"]["changes"] == 6
    assert proc.stdout.strip().splitlines() == [proc.stdout.strip()]        # one line
    assert "plan.json" in proc.stdout and "6 changes" in proc.stdout


def test_missing_api_key_is_a_clear_error(repo):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "POLYAI_API_KEY"}
    proc = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(repo)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and "POLYAI_API_KEY" in proc.stderr and "Traceback" not in proc.stderr
