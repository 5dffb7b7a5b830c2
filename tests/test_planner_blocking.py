"""How far an error reaches: this env, the agent's later envs, the whole run; fetch errors; warnings."""

from __future__ import annotations

from planner_cases import LV, PR, SB, SETTINGS, desired_state, env_desired, finding, live_agent
from reconciler import errors
from reconciler.planning import planner
from reconciler.model import Severity
from reconciler.planning.plan import Status

S = {"type": "object"}


def _all_envs(agent, values):
    return [env_desired(agent, e, S, values) for e in (SB, PR, LV)]


def _live(agent, values):
    return live_agent(agent, {e: (S, values) for e in (SB, PR, LV)})


def _statuses(plan):
    return [(r.agent, r.env.value, r.status.value) for r in plan.results]


def test_finding_blocks_its_env_and_later_envs_not_earlier_ones_nor_other_agents():
    desired = desired_state(*_all_envs("a", {"x": 2}), *_all_envs("b", {"x": 2}),
                            findings=(finding("a", PR),))
    live = {"a": _live("a", {"x": 1}), "b": _live("b", {"x": 1})}
    plan = planner.plan(desired, live, SETTINGS)
    assert _statuses(plan) == [("a", "sandbox", "changes"), ("a", "pre-release", "error"), ("a", "live", "error"),
                               ("b", "sandbox", "changes"), ("b", "pre-release", "changes"), ("b", "live", "changes")]
    pre, live_env = plan.results[1], plan.results[2]
    assert [e.code for e in pre.errors] == ["values.invalid"] and not pre.has_writes
    assert [e.code for e in live_env.errors] == ["plan.blocked"]
    assert "pre-release has errors" in live_env.errors[0].message and not live_env.has_writes


def test_plan_time_error_blocks_later_envs_even_when_filtered_out():
    closed = {"type": "object", "additionalProperties": False, "properties": {"x": {}}}
    envs = [env_desired("a", SB, closed, {"x": 1}), env_desired("a", LV, S, {"x": 2})]
    live = {"a": live_agent("a", {SB: (S, {"x": 1, "orphan": 1}), LV: (S, {"x": 1})})}
    plan = planner.plan(desired_state(*envs), live, SETTINGS, envs=["live"])
    assert _statuses(plan) == [("a", "live", "error")]
    assert "sandbox has errors" in plan.results[0].errors[0].message


def test_agent_level_and_run_wide_errors():
    desired = desired_state(*_all_envs("a", {"x": 1}), *_all_envs("b", {"x": 1}),
                            findings=(finding("a", None, code="agent.bad"),))
    live = {"a": _live("a", {"x": 1}), "b": _live("b", {"x": 1})}
    plan = planner.plan(desired, live, SETTINGS)
    assert [s for a, _, s in _statuses(plan) if a == "a"] == ["error"] * 3
    assert [s for a, _, s in _statuses(plan) if a == "b"] == ["in_sync"] * 3
    run_wide = desired_state(*_all_envs("b", {"x": 1}), findings=(finding(None, None, code="settings.invalid"),))
    plan = planner.plan(run_wide, live, SETTINGS)
    assert {s for _, _, s in _statuses(plan)} == {"error"}
    assert all(r.errors[0].code == "settings.invalid" for r in plan.results)
    assert [f.code for f in plan.findings] == ["settings.invalid"] and plan.has_errors


def test_warnings_do_not_block():
    desired = desired_state(*_all_envs("a", {"x": 2}), findings=(finding("a", SB, Severity.WARNING, "hygiene"),))
    plan = planner.plan(desired, {"a": _live("a", {"x": 1})}, SETTINGS)
    assert [s for _, _, s in _statuses(plan)] == ["changes"] * 3
    assert [w.code for w in plan.results[0].warnings] == ["hygiene"] and plan.results[1].warnings == ()


def test_fetch_error_makes_every_env_of_that_agent_an_error():
    desired = desired_state(*_all_envs("a", {"x": 1}), *_all_envs("b", {"x": 1}))
    err = errors.NotFoundError("agent not found", status=404, error_code=None, method="GET",
                               path="/v1/agents/a/real-time-configs")
    plan = planner.plan(desired, {"b": _live("b", {"x": 1})}, SETTINGS, fetch_errors={"a": err})
    a_results = plan.for_agent("a")
    assert [r.status for r in a_results] == [Status.ERROR] * 3
    assert a_results[0].errors[0].code == "api.404" and "agent not found" in a_results[0].errors[0].message
    coded = errors.ForbiddenError("no", status=403, error_code="REAL_TIME_CONFIG_FORBIDDEN_ACCESS")
    plan = planner.plan(desired, {"b": _live("b", {"x": 1})}, SETTINGS, fetch_errors={"a": coded})
    assert plan.results[0].errors[0].code == "api.REAL_TIME_CONFIG_FORBIDDEN_ACCESS"
    assert [r.status for r in plan.for_agent("b")] == [Status.IN_SYNC] * 3


def test_missing_page_is_planned_as_empty_and_unread_agent_is_an_error():
    desired = desired_state(env_desired("a", SB, S, {"x": 1}), env_desired("c", SB, S, {"x": 1}))
    plan = planner.plan(desired, {"a": live_agent("a", {})}, SETTINGS, envs=["sandbox"])
    a, c = plan.results
    assert a.status is Status.CHANGES and a.schema_put == S and dict(a.variables_patch) == {"x": 1}
    assert c.status is Status.ERROR and c.errors[0].code == "plan.no_live_state"


def test_environments_outside_promotion_order_are_ignored():
    from dataclasses import replace

    from reconciler.settings import EnvironmentSettings
    settings = replace(SETTINGS, environments=(EnvironmentSettings(LV), EnvironmentSettings(SB)))
    desired = desired_state(*_all_envs("a", {"x": 2}))
    plan = planner.plan(desired, {"a": _live("a", {"x": 1})}, settings)
    assert [r.env for r in plan.results] == [LV, SB] and plan.environments == (LV, SB)


def test_plan_is_deterministic():
    desired = desired_state(*_all_envs("a", {"x": 2, "y": [1, {"z": True}]}))
    live = {"a": _live("a", {"y": [1, {"z": 1}], "x": 1, "o": 2})}
    assert planner.plan(desired, live, SETTINGS) == planner.plan(desired, live, SETTINGS)
