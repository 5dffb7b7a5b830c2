"""Helpers shared by the policy tests (no tests here): build DesiredState and policies from YAML literals."""

from __future__ import annotations

import datetime as _dt
import textwrap
from pathlib import Path

from reconciler.repository import yamlsafe
from reconciler.model import AgentDesired, ClientEnv, DesiredState, EnvDesired, Finding
from reconciler.checks.policy import engine, loader
from reconciler.checks.policy.model import Policy, PolicySet

TODAY = _dt.date(2026, 6, 1)


def env(agent: str, name: str, *, schema: str | None = None, values: str | None = None) -> EnvDesired:
    """One agent x environment from YAML text, with real source maps (as the loader would build)."""
    base = f"configs/{agent}/{name}"
    sdata = smap = vdata = vmap = None
    if schema is not None:
        sdata, smap = yamlsafe.parse_yaml(textwrap.dedent(schema), f"{base}/schema.yaml")
    if values is not None:
        vdata, vmap = yamlsafe.parse_yaml(textwrap.dedent(values), f"{base}/values.yaml")
    return EnvDesired(agent=agent, env=ClientEnv(name), schema=sdata, values=vdata, schema_map=smap, values_map=vmap)


def desired(*envs: EnvDesired, root: Path = Path(".")) -> DesiredState:
    agents: dict[str, dict[ClientEnv, EnvDesired]] = {}
    for e in envs:
        agents.setdefault(e.agent, {})[e.env] = e
    return DesiredState(root=root, agents={a: AgentDesired(a, envs) for a, envs in agents.items()})


def policy(text: str, file: str = "policies/test.yaml") -> Policy:
    data, smap = yamlsafe.parse_yaml(textwrap.dedent(text), file)
    parsed, problems = loader.parse_policy(data, smap)
    assert not problems, [f.message for f in problems]
    return parsed


def problems(text: str, file: str = "policies/test.yaml") -> list[Finding]:
    data, smap = yamlsafe.parse_yaml(textwrap.dedent(text), file)
    parsed, found = loader.parse_policy(data, smap)
    assert parsed is None
    return found


def evaluate(state: DesiredState, *policy_texts: str, today: _dt.date = TODAY) -> list[Finding]:
    policies = tuple(policy(t, file=f"policies/p{i}.yaml") for i, t in enumerate(policy_texts))
    return list(engine.evaluate_repository(state, PolicySet(policies=policies), today))
