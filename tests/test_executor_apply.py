"""Executor over the loopback emulator: order, minimal writes, outcomes, stops, live guard, concurrency.

The plans are real planner output over real fetched state, or hand-written
EnvPlans where a test needs a write the planner would never produce (a plan is a value).
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from e2e_helpers import API_KEY, SCHEMA, converge, desired_state, full, make_plan, new_agent, values, writes

from reconciler import errors
from reconciler.apply import executor, outcomes
from reconciler.model import ClientEnv, Finding, Severity
from reconciler.planning.plan import EnvPlan, OutcomeState, Plan, Status

SB, PR, LV = ClientEnv.SANDBOX, ClientEnv.PRE_RELEASE, ClientEnv.LIVE


def states(result) -> dict:
    return {(o.agent, o.env.value): o.state for o in result.outcomes}


def test_first_apply_writes_put_before_patch_in_promotion_order(emulator):
    agent = new_agent(emulator)
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(full(agent)))
    assert result.ok
    assert all(o.state is OutcomeState.APPLIED and o.schema_put for o in result.outcomes)
    base = f"/v1/agents/{agent}/real-time-configs"
    assert writes(emulator.requests()) == [
        ("PUT", f"{base}/sandbox/schema"), ("PATCH", f"{base}/sandbox/variables"),
        ("PUT", f"{base}/pre-release/schema"), ("PATCH", f"{base}/pre-release/variables"),
        ("PUT", f"{base}/live/schema"), ("PATCH", f"{base}/live/variables")]
    assert emulator.peek(agent, "live")["variables"] == values("live")
    # No re-read: the plan was made in this run, so the apply is 1 GET + the writes.
    assert [r["method"] for r in emulator.requests()].count("GET") == 1


def test_second_apply_sends_nothing_and_one_value_edit_patches_only_that_key(emulator):
    agent = new_agent(emulator)
    converge(emulator.url, desired_state(full(agent)))
    emulator.reset_stats()
    again = converge(emulator.url, desired_state(full(agent)))
    assert {o.state for o in again.outcomes} == {OutcomeState.IN_SYNC}
    assert writes(emulator.requests()) == []

    spec = full(agent)
    spec[agent]["pre-release"] = (SCHEMA, values("pre-release", max_hold=300))
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(spec))
    changed = [o for o in result.outcomes if o.state is OutcomeState.APPLIED]
    assert [(o.env, o.patched_keys, o.schema_put) for o in changed] == [(PR, ("max_hold",), False)]
    assert writes(emulator.requests()) == [("PATCH", f"/v1/agents/{agent}/real-time-configs/pre-release/variables")]


def test_failed_put_never_sends_its_patch_and_skips_later_envs_other_agents_go_on(emulator):
    bad, good = new_agent(emulator, "bad"), new_agent(emulator, "good")
    desired = desired_state({**full(bad), **full(good)})
    plan = make_plan(emulator.url, desired)
    # A schema the API rejects (not Draft 7): the planner would never produce it; the executor must cope.
    broken = tuple(EnvPlan(r.agent, r.env, r.status, schema_put={"type": "no-such-type"},
                           variables_patch=r.variables_patch, live_last_updated=r.live_last_updated)
                   if r.agent == bad and r.env is SB else r for r in plan.results)
    emulator.reset_stats()
    result = converge(emulator.url, desired, plan_override=Plan(broken, target=plan.target))
    got = states(result)
    assert got[(bad, "sandbox")] is OutcomeState.FAILED
    assert got[(bad, "pre-release")] is got[(bad, "live")] is OutcomeState.SKIPPED
    assert all(got[(good, e)] is OutcomeState.APPLIED for e in ("sandbox", "pre-release", "live"))
    failure = next(o for o in result.outcomes if o.agent == bad and o.env is SB)
    assert failure.errors[0].code == "api.REAL_TIME_CONFIG_INVALID_SCHEMA"
    assert API_KEY not in failure.errors[0].message
    assert not failure.schema_put
    bad_writes = [w for w in writes(emulator.requests()) if f"/{bad}/" in w[1]]
    assert bad_writes == [("PUT", f"/v1/agents/{bad}/real-time-configs/sandbox/schema")]
    assert not result.ok


def test_failed_patch_is_recorded_with_the_api_code_and_later_envs_skipped(emulator):
    agent = new_agent(emulator)
    desired = desired_state(full(agent))
    plan = make_plan(emulator.url, desired)
    # A patch the new schema forbids: the emulator answers 400 INVALID_FOR_SCHEMA (after the PUT landed).
    broken = tuple(EnvPlan(r.agent, r.env, r.status, schema_put=r.schema_put, variables_patch={"nope": 1},
                           live_last_updated=r.live_last_updated) if r.env is PR else r for r in plan.results)
    result = converge(emulator.url, desired, plan_override=Plan(broken, target=plan.target))
    got = {o.env: o for o in result.outcomes}
    assert got[SB].state is OutcomeState.APPLIED
    assert got[PR].state is OutcomeState.FAILED and got[PR].schema_put and got[PR].patched_keys == ()
    assert got[PR].errors[0].code == "api.REAL_TIME_CONFIG_INVALID_FOR_SCHEMA"
    assert got[LV].state is OutcomeState.SKIPPED and got[LV].warnings[0].code == "apply.skipped"
    assert emulator.peek(agent, "live")["schema"] == {}


def test_plan_error_blocks_env_and_later_envs_without_any_write(emulator):
    agent = new_agent(emulator)
    spec = full(agent)
    spec[agent]["sandbox"] = (SCHEMA, values("sandbox", max_hold="not a number"))   # invalid for the schema
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(spec))
    assert set(states(result).values()) <= {OutcomeState.BLOCKED, OutcomeState.SKIPPED}
    assert states(result)[(agent, "sandbox")] is OutcomeState.BLOCKED
    assert writes(emulator.requests()) == []


def test_live_is_refused_without_approval_and_nothing_is_sent_to_it(emulator):
    agent = new_agent(emulator)
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(full(agent)), allow_live=False)
    got = {o.env: o for o in result.outcomes}
    assert got[SB].state is got[PR].state is OutcomeState.APPLIED
    assert got[LV].state is OutcomeState.REFUSED and got[LV].errors[0].code == "apply.live_refused"
    assert not any("/live/" in path for _, path in writes(emulator.requests()))
    assert emulator.peek(agent, "live")["schema"] == {}
    assert not result.ok


def test_unmanaged_env_is_never_touched(emulator):
    agent = new_agent(emulator)
    spec = full(agent)
    del spec[agent]["pre-release"]
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(spec))
    assert states(result)[(agent, "pre-release")] is OutcomeState.UNMANAGED
    assert not any("/pre-release/" in path for _, path in writes(emulator.requests()))
    assert result.ok


def test_results_come_back_in_input_order_and_concurrency_is_bounded(emulator):
    agents = sorted(new_agent(emulator, f"c{i}") for i in range(8))
    spec = {}
    for a in agents:
        spec.update(full(a))
    emulator.set_faults(latency_ms=50)
    try:
        start = time.monotonic()
        result = converge(emulator.url, desired_state(spec), concurrency=2)
        elapsed = time.monotonic() - start
    finally:
        emulator.set_faults()
    assert [o.agent for o in result.outcomes] == [a for a in agents for _ in range(3)]
    assert [o.env for o in result.outcomes[:3]] == [SB, PR, LV]
    # 8 agents x 6 writes x 50 ms, two agents at a time: at least 4 rounds of 300 ms.
    assert elapsed >= 4 * 6 * 0.05
    assert result.ok


def test_global_blocking_finding_sends_nothing(emulator):
    agent = new_agent(emulator)
    desired = desired_state(full(agent))
    desired = dataclasses.replace(desired, findings=(Finding(Severity.ERROR, "policy.invalid", "bad policy file",
                                                             file="policies/x.yaml", line=2),))
    emulator.reset_stats()
    result = converge(emulator.url, desired)
    assert {o.state for o in result.outcomes} == {OutcomeState.BLOCKED}
    assert writes(emulator.requests()) == []


@pytest.mark.parametrize("code,status,expected", [
    ("REAL_TIME_CONFIG_FORBIDDEN_ACCESS", 403, "api.REAL_TIME_CONFIG_FORBIDDEN_ACCESS"),
    (None, 503, "api.http_503"), (None, None, "api.transport")])
def test_api_error_codes(code, status, expected):
    assert outcomes.api_error_code(errors.ApiError("x", status=status, error_code=code)) == expected


def test_status_error_in_plan_is_blocked_even_with_writes(emulator):
    agent = new_agent(emulator)
    plan_env = EnvPlan(agent, SB, Status.ERROR, schema_put={"type": "object"}, variables_patch={"greeting": "x"})
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(full(agent)), plan_override=Plan(results=(plan_env,), target=emulator.url))
    assert states(result) == {(agent, "sandbox"): OutcomeState.BLOCKED}
    assert writes(emulator.requests()) == []
