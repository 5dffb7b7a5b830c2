"""``Plan.for_agent`` / ``Plan.by_agent``: each agent's results, in plan order, without a scan per agent.

The executor and the text and markdown reports ask for every agent's results; a scan
of the whole plan per agent made a 1,000-agent apply compare 3 million results.
"""

from __future__ import annotations

import time

from reconciler.model import ClientEnv
from reconciler.planning.plan import EnvPlan, Plan, Status


def _plan(agents: int) -> Plan:
    return Plan(results=tuple(EnvPlan(f"agent-{i:05d}", env, Status.IN_SYNC)
                              for i in range(agents) for env in ClientEnv), target="local")


def test_each_agents_results_in_plan_order():
    plan = _plan(3)
    assert [r.env for r in plan.for_agent("agent-00001")] == list(ClientEnv)
    assert all(r.agent == "agent-00001" for r in plan.for_agent("agent-00001"))
    assert plan.for_agent("nobody") == ()
    assert list(plan.by_agent) == list(plan.agents)
    assert sum(len(rs) for rs in plan.by_agent.values()) == len(plan.results)


def test_asking_for_every_agent_is_linear_not_quadratic():
    plan = _plan(10_000)                        # 30,000 results: a scan per agent is 300 million comparisons
    started = time.process_time()
    found = sum(len(plan.for_agent(agent)) for agent in plan.agents)
    assert found == len(plan.results)
    assert time.process_time() - started < 1.0  # one grouping: ~10 ms; a scan per agent: tens of seconds
