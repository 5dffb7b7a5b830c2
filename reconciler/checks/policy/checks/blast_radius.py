"""Check ``blast_radius`` (a change rule): how many agents one run may change in an environment.

Evaluated on a Plan, not on the repository. The fleet is every agent in the
plan; per environment, the agents (among those the policy matches) whose
status is ``changes`` are counted. The limit is the larger of ``max_agents``
and ``max_percent`` % of the fleet (rounded down), so a small fleet can still
change one agent at a time when both are given. Above the limit every such
agent x environment is refused unless ``--allow-large-change`` is given (the
engine turns the result into findings and plan statuses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reconciler.planning.plan import Plan, Status
from reconciler.checks.policy.model import Selector

NEEDS_PATHS = False


def validate_args(args: object) -> list[str]:
    if not isinstance(args, dict) or not ({"max_agents", "max_percent"} & set(args)):
        return ["'blast_radius' takes {max_agents: N} and/or {max_percent: P}"]
    return []


@dataclass(frozen=True)
class Excess:
    """One environment whose pending changes exceed the limit."""

    env: str
    agents: tuple[str, ...]          # matched agents with changes in env
    limit: int
    fleet: int

    def describe(self, args: dict) -> str:
        parts = []
        if "max_agents" in args:
            parts.append(f"{args['max_agents']} agent(s)")
        if "max_percent" in args:
            parts.append(f"{args['max_percent']}% of {self.fleet}")
        count = len(self.agents)
        pct = 100 * count / self.fleet if self.fleet else 0
        return (f"{count} of {self.fleet} agents ({pct:.0f}%) have changes in '{self.env}'; the limit is "
                f"{self.limit} ({' or '.join(parts)}, whichever is larger)")


def limit(args: dict, fleet: int) -> int:
    candidates = []
    if "max_agents" in args:
        candidates.append(int(args["max_agents"]))
    if "max_percent" in args:
        candidates.append(math.floor(fleet * float(args["max_percent"]) / 100 + 1e-9))
    return max(candidates)


def evaluate(plan: Plan, selector: Selector, args: dict) -> list[Excess]:
    fleet = len(plan.agents)
    allowed = limit(args, fleet)
    changed: dict[str, list[str]] = {}
    for result in plan.results:
        env = str(result.env)
        if result.status is Status.CHANGES and selector.matches(result.agent, env):
            changed.setdefault(env, []).append(result.agent)
    return [Excess(env, tuple(agents), allowed, fleet)
            for env, agents in changed.items() if len(agents) > allowed]
