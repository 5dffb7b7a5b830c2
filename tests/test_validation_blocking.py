"""blocked_envs: how far an error reaches (DESIGN.md §3)."""

from __future__ import annotations

from pathlib import Path

from reconciler.model import AgentDesired, ClientEnv, DesiredState, EnvDesired, Finding, Severity
from reconciler.checks.validation import blocked_envs

S, P, L = ClientEnv.SANDBOX, ClientEnv.PRE_RELEASE, ClientEnv.LIVE


def state(*findings: Finding) -> DesiredState:
    agents = {name: AgentDesired(name, {e: EnvDesired(name, e) for e in ClientEnv}) for name in ("a", "b")}
    return DesiredState(root=Path("."), agents=agents, findings=findings)


def err(agent, env, *, waived=None, severity=Severity.ERROR) -> Finding:
    return Finding(severity, "values.invalid", "x", agent=agent, env=env, waived=waived)


def test_error_blocks_its_env_and_later_ones_only_for_that_agent() -> None:
    assert blocked_envs(state(err("a", "pre-release"))) == {"a": {P, L}, "b": set()}


def test_promotion_order_comes_from_settings() -> None:
    assert blocked_envs(state(err("a", "pre-release")), (P, S, L)) == {"a": {P, S, L}, "b": set()}


def test_warnings_and_waived_errors_block_nothing() -> None:
    found = state(err("a", "sandbox", severity=Severity.WARNING), err("a", "sandbox", waived="ok until May"))
    assert blocked_envs(found) == {"a": set(), "b": set()}


def test_agent_level_error_blocks_the_agent_and_run_wide_error_everything() -> None:
    assert blocked_envs(state(err("a", None)))["a"] == {S, P, L}
    assert blocked_envs(state(err(None, None))) == {"a": {S, P, L}, "b": {S, P, L}}
