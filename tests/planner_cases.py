"""Literal inputs for planner and report tests: no server, no files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.model import (AgentDesired, ClientEnv, DesiredState, EnvDesired, Finding, LiveAgent, LivePage,
                              Severity, SourceMap)
from reconciler.settings import ApiSettings, Settings

SB, PR, LV = ClientEnv.SANDBOX, ClientEnv.PRE_RELEASE, ClientEnv.LIVE
SETTINGS = Settings(root=Path("."), api=ApiSettings(url="local"))

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "greeting": {"type": "string"},
        "max_retries": {"type": "integer"},
        "enabled": {"type": "boolean"},
        "api_token": {"type": "string", "x-sensitive": True},
        "sites": {"type": "array", "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "phone": {"type": "string"},
                           "pin": {"type": "string", "writeOnly": True}},
            "required": ["name", "phone"]}},
    },
    "required": ["greeting", "max_retries"],
}


def source(agent: str, env: ClientEnv, name: str, lines: dict | None = None,
           key_lines: dict | None = None) -> SourceMap:
    return SourceMap(file=f"configs/{agent}/{env.value}/{name}", lines=lines or {(): 1}, key_lines=key_lines or {})


def env_desired(agent: str, env: ClientEnv, schema: Any = None, values: Any = None, **maps: Any) -> EnvDesired:
    return EnvDesired(agent=agent, env=env, schema=schema, values=values,
                      schema_map=maps.get("schema_map") or (source(agent, env, "schema.yaml") if schema is not None else None),
                      values_map=maps.get("values_map") or (source(agent, env, "values.yaml") if values is not None else None))


def desired_state(*envs: EnvDesired, findings: tuple[Finding, ...] = (), agents: tuple[str, ...] = ()) -> DesiredState:
    by_agent: dict[str, dict[ClientEnv, EnvDesired]] = {a: {} for a in agents}
    for e in envs:
        by_agent.setdefault(e.agent, {})[e.env] = e
    return DesiredState(root=Path("."), agents={a: AgentDesired(a, m) for a, m in by_agent.items()},
                        findings=findings)


def live_agent(agent: str, pages: dict[ClientEnv, tuple[Any, Any]], stamp: str = "2026-01-01T00:00:00Z") -> LiveAgent:
    return LiveAgent(agent, {env: LivePage(env=env, schema=s, variables=v, last_updated=stamp)
                             for env, (s, v) in pages.items()})


def finding(agent: str | None, env: ClientEnv | None, severity: Severity = Severity.ERROR,
            code: str = "values.invalid") -> Finding:
    return Finding(severity=severity, code=code, message=f"{code} here", file="x.yaml", line=3,
                   agent=agent, env=env.value if env else None)
