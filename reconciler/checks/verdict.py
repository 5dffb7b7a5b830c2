"""What may not be written: the ONE decision that validate, plan, apply and drift share.

Called by :mod:`reconciler.cli.validate` (its exit code), :mod:`reconciler.planning.planner`
(which pages are ``error`` before anything is compared) and therefore by the
executor, ``drift`` and the daemon, which act on the plan. Before this module,
the planner had its own rule and only looked at agents it had loaded, so an
agent directory the loader refused (a symlink out of the repository, a name
such as ``acmé-支持``) failed ``validate`` but planned as "in sync".

The rule (DESIGN.md §3): a blocking finding (an error that is not waived)

- without an agent (settings, a malformed policy file) blocks every page;
- with an agent but no environment (a bad agent directory) blocks all of that agent;
- with agent x environment blocks that page and the agent's later pages in promotion order.

Every agent named by a loaded directory *or* by a finding gets a verdict, so an
agent the loader could not load is reported as blocked rather than forgotten.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from reconciler.model import ClientEnv, DesiredState, Finding, Severity


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Per agent x environment, the blocking findings that stop it being written (empty: may be written)."""

    order: tuple[ClientEnv, ...]
    run: tuple[Finding, ...]
    """Run-wide blocking findings: every page is blocked."""
    pages: Mapping[str, Mapping[ClientEnv, tuple[Finding, ...]]]
    """agent -> env -> the findings blocking it (its own, its agent's, an earlier env's in promotion order)."""

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(sorted(self.pages))

    @property
    def ok(self) -> bool:
        """Nothing at all is blocked: ``validate`` exits 0."""
        return not self.run and not any(reasons for envs in self.pages.values() for reasons in envs.values())

    def blocks(self, agent: str, env: ClientEnv) -> bool:
        return bool(self.reasons(agent, env))

    def reasons(self, agent: str, env: ClientEnv) -> tuple[Finding, ...]:
        return self.pages.get(agent, {}).get(env, self.run)

    def blocked(self) -> dict[str, set[ClientEnv]]:
        """agent -> the blocked environments (the shape ``validation.blocked_envs`` returns)."""
        return {agent: {env for env, reasons in envs.items() if reasons} for agent, envs in self.pages.items()}


def decide(desired: DesiredState, order: Sequence[ClientEnv] = tuple(ClientEnv)) -> Verdict:
    """The verdict for every page of every agent ``desired`` knows (loaded or named by a finding)."""
    order = tuple(order)
    envs = order + tuple(e for e in ClientEnv if e not in order)
    run = desired.global_errors
    own: dict[str, list[Finding]] = {name: [] for name in desired.agents}
    for finding in desired.findings:
        if finding.agent is not None:
            own.setdefault(finding.agent, [])
            if finding.blocks:
                own[finding.agent].append(finding)
    pages = {agent: _agent_pages(agent, found, envs, order, run) for agent, found in own.items()}
    return Verdict(order=order, run=run, pages=pages)


def _agent_pages(agent: str, found: list[Finding], envs: tuple[ClientEnv, ...], order: tuple[ClientEnv, ...],
                 run: tuple[Finding, ...]) -> dict[ClientEnv, tuple[Finding, ...]]:
    whole_agent = tuple(f for f in found if f.env is None)
    out: dict[ClientEnv, tuple[Finding, ...]] = {}
    earlier: ClientEnv | None = None           # first env of the agent (in promotion order) with its own error
    for env in envs:
        mine = tuple(f for f in found if f.env == env.value)
        reasons = run + whole_agent + mine
        if earlier is not None and env in order:
            reasons += (_promotion_block(agent, env, earlier),)
        if mine and earlier is None and env in order:
            earlier = env
        out[env] = reasons
    return out


def _promotion_block(agent: str, env: ClientEnv, earlier: ClientEnv) -> Finding:
    return Finding(Severity.ERROR, "plan.blocked", f"blocked: {earlier.value} has errors (promotion order)",
                   agent=agent, env=env.value)
