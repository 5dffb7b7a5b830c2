"""blast_radius, a change rule: evaluated on a Plan through check_plan (policies read from disk)."""

import datetime as _dt
import textwrap

from reconciler.model import ClientEnv, Severity
from reconciler.planning.plan import EnvPlan, Plan, Status
from reconciler.checks.policy import check_plan
from reconciler.checks.policy.checks import blast_radius

TODAY = _dt.date(2026, 6, 1)

POLICY = """\
name: blast-radius
severity: error
match: {environments: [live]}
rules:
  - id: live-changes
    blast_radius: {max_percent: 25}
"""


def make_plan(n_agents: int, live_changes: int, sandbox_changes: int = 0) -> Plan:
    results = []
    for i in range(n_agents):
        agent = f"agent-{i:02d}"
        sandbox = Status.CHANGES if i < sandbox_changes else Status.IN_SYNC
        live = Status.CHANGES if i < live_changes else Status.IN_SYNC
        results.append(EnvPlan(agent, ClientEnv.SANDBOX, sandbox, variables_patch={"x": 1} if i < sandbox_changes else {}))
        results.append(EnvPlan(agent, ClientEnv.LIVE, live, variables_patch={"x": 1} if i < live_changes else {}))
    return Plan(results=tuple(results), target="local")


def repo(tmp_path, text=POLICY):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "blast.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def live(plan: Plan) -> list[EnvPlan]:
    return [r for r in plan.results if r.env is ClientEnv.LIVE]


def test_within_the_limit_the_plan_is_unchanged(tmp_path):
    plan = make_plan(8, live_changes=2, sandbox_changes=8)     # 25 % of 8 = 2; sandbox not matched
    assert check_plan(plan, repo(tmp_path), today=TODAY) is plan


def test_above_the_limit_every_changing_env_is_an_error(tmp_path):
    plan = check_plan(make_plan(8, live_changes=3), repo(tmp_path), today=TODAY)
    errored = [r for r in live(plan) if r.status is Status.ERROR]
    assert [r.agent for r in errored] == ["agent-00", "agent-01", "agent-02"]
    assert all(r.status is Status.IN_SYNC for r in live(plan)[3:])
    finding = errored[0].errors[-1]
    assert finding.code == "policy.blast_radius" and finding.severity is Severity.ERROR and finding.blocks
    assert "3 of 8 agents" in finding.message and "limit is 2" in finding.message
    assert "--allow-large-change" in finding.message
    assert (finding.rule_file, finding.rule_line, finding.agent, finding.env) == ("policies/blast.yaml", 5,
                                                                                  "agent-00", "live")
    assert plan.has_errors


def test_allow_large_change_turns_it_into_a_warning(tmp_path):
    plan = check_plan(make_plan(8, live_changes=3), repo(tmp_path), allow_large_change=True, today=TODAY)
    assert all(r.status is not Status.ERROR for r in plan.results)
    warned = [r for r in live(plan) if r.warnings]
    assert len(warned) == 3 and warned[0].warnings[0].severity is Severity.WARNING
    assert "allowed by --allow-large-change" in warned[0].warnings[0].message
    assert not plan.has_errors


def test_max_agents_and_percent_take_the_larger_limit():
    assert blast_radius.limit({"max_percent": 25}, 3) == 0
    assert blast_radius.limit({"max_percent": 25, "max_agents": 1}, 3) == 1
    assert blast_radius.limit({"max_percent": 25, "max_agents": 1}, 40) == 10
    assert blast_radius.limit({"max_agents": 5}, 100) == 5


def test_max_agents_limit(tmp_path):
    text = POLICY.replace("{max_percent: 25}", "{max_agents: 1}")
    plan = check_plan(make_plan(3, live_changes=2), repo(tmp_path, text), today=TODAY)
    assert [r.status for r in live(plan)] == [Status.ERROR, Status.ERROR, Status.IN_SYNC]


def test_waiver_applies_to_blast_radius(tmp_path):
    text = POLICY + textwrap.dedent("""\
        exceptions:
          - rule: live-changes
            agents: ["agent-0[01]"]
            environments: [live]
            reason: "Planned migration, CHG-42"
            expires: "2026-07-01"
        """)
    plan = check_plan(make_plan(8, live_changes=3), repo(tmp_path, text), today=TODAY)
    statuses = [r.status for r in live(plan)[:3]]
    assert statuses == [Status.CHANGES, Status.CHANGES, Status.ERROR]
    waived = live(plan)[0].warnings[0]
    assert waived.waived == "Planned migration, CHG-42" and waived.severity is Severity.ERROR


def test_unused_blast_radius_waiver_warns_run_wide_in_plan(tmp_path):
    text = POLICY + textwrap.dedent("""\
        exceptions:
          - rule: live-changes
            reason: "Planned migration, CHG-42"
            expires: "2026-07-01"
        """)
    plan = check_plan(make_plan(8, live_changes=1), repo(tmp_path, text), today=TODAY)
    [unused] = plan.findings
    assert unused.code == "policy.waiver_unused" and not unused.blocks


def test_malformed_policy_files_do_not_crash_check_plan(tmp_path):
    plan = make_plan(4, live_changes=4)
    assert check_plan(plan, repo(tmp_path, "name: [broken\n"), today=TODAY) is plan


def test_value_rules_in_repository_do_not_leak_into_plan(tmp_path):
    text = POLICY.replace("blast_radius: {max_percent: 25}", "schema_hygiene: {}")
    plan = make_plan(4, live_changes=4)
    assert check_plan(plan, repo(tmp_path, text), today=TODAY) is plan


def test_change_rule_waivers_are_not_judged_on_the_repository(tmp_path):
    from reconciler.model import DesiredState
    from reconciler.checks.policy import check_repository
    text = POLICY + textwrap.dedent("""\
        exceptions:
          - rule: live-changes
            reason: "Planned migration, CHG-42"
            expires: "2020-07-01"
        """)
    assert check_repository(DesiredState(root=repo(tmp_path, text), agents={}), today=TODAY) == ()
