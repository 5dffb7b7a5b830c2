"""Shared bits for the executor / e2e / CLI tests: tiny repositories, a CLI runner, literal states.

Owned with tests/test_executor_*.py, tests/test_e2e_*.py and tests/test_cli_plan*.py.
Everything goes under ``tmp_path`` and talks to the loopback emulator fixture.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from reconciler.apply import executor
from reconciler.planning import planner
from reconciler.api import AgentsApi, fetch_live
from reconciler.model import AgentDesired, ClientEnv, DesiredState, EnvDesired, SourceMap
from reconciler.planning.plan import Plan
from reconciler.settings import ApiSettings, Settings

API_KEY = "test-key"
ENVS = ("sandbox", "pre-release", "live")
PHONE = r"^\+[1-9][0-9]{7,14}$"

#: A small but realistic schema: scalars, a phone pattern, a nested object and an array.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["greeting"],
    "properties": {
        "greeting": {"type": "string", "title": "Greeting", "description": "First words"},
        "after_hours_enabled": {"type": "boolean", "title": "After hours", "description": "Out of hours service"},
        "fallback_number": {"type": "string", "pattern": PHONE, "title": "Fallback", "description": "E.164"},
        "max_hold": {"type": "integer", "minimum": 0, "maximum": 600, "title": "Hold", "description": "Seconds"},
        "sites": {"type": "array", "title": "Sites", "description": "Per site", "items": {
            "type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "title": "Name", "description": "Site name"},
                "phone": {"type": "string", "pattern": PHONE, "title": "Phone", "description": "E.164"}}}},
    },
}

#: A secret the notification tests plant in a sensitive value, and the webhook signing secret; neither
#: may appear in any output, body or record.
CANARY = "tok-canary-sensitive-value"
NOTIFY_SECRET = "hmac-secret-never-sent"
#: SCHEMA with a sensitive ``api_token`` whose pattern a lower-case value must match.
SENSITIVE_SCHEMA: dict[str, Any] = {**SCHEMA, "properties": {**SCHEMA["properties"], "api_token": {
    "type": "string", "x-sensitive": True, "pattern": "^[a-z]+$", "title": "Token", "description": "secret"}}}


def values(env: str = "sandbox", **overrides: Any) -> dict[str, Any]:
    number = "+442079460000" if env != "live" else "+442071234567"
    data = {"greeting": f"Hello from {env}", "after_hours_enabled": env == "live", "fallback_number": number,
            "max_hold": 120, "sites": [{"name": "London", "phone": number}]}
    data.update(overrides)
    return data


def write_settings(root: Path, url: str, concurrency: int = 8) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(
        f"api:\n  url: {url}\nenvironments:\n  sandbox: {{sync: auto}}\n  pre-release: {{sync: auto}}\n"
        f"  live: {{sync: manual}}\nconcurrency: {concurrency}\n", encoding="utf-8")


def write_env(root: Path, agent: str, env: str, schema: Any = SCHEMA, vals: Any = None) -> None:
    d = root / "configs" / agent / env
    d.mkdir(parents=True, exist_ok=True)
    if schema is not None:
        (d / "schema.yaml").write_text(yaml.safe_dump(schema, sort_keys=False), encoding="utf-8")
    data = values(env) if vals is None else vals
    if data is not False:
        (d / "values.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def make_repo(root: Path, url: str, agents: tuple[str, ...] = ("acme",), concurrency: int = 8) -> Path:
    write_settings(root, url, concurrency)
    for agent in agents:
        for env in ENVS:
            write_env(root, agent, env)
    return root


def cli(root: Path, *args: str, check_codes: tuple[int, ...] | None = None,
        extra_env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m reconciler ARGS`` as a subprocess (NO_COLOR, the test key)."""
    env = {**os.environ, "POLYAI_API_KEY": API_KEY, "NO_COLOR": "1", **(extra_env or {})}
    env.pop("RECONCILER_API_URL", None)
    # ResourceWarnings as errors: an unclosed HTTP session or socket would print "Exception ignored".
    proc = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-m", "reconciler", *args],
                          cwd=cwd or root, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if check_codes is not None:
        assert proc.returncode in check_codes, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    assert API_KEY not in proc.stdout + proc.stderr
    for word in ("Traceback", "Unclosed", "Exception ignored"):
        assert word not in proc.stderr, proc.stderr
    return proc


def cli_json(root: Path, *args: str, codes: tuple[int, ...] = (0, 1, 2)) -> tuple[int, dict]:
    proc = cli(root, *args, "--format", "json", check_codes=codes)
    return proc.returncode, json.loads(proc.stdout)


def writes(requests: list[dict]) -> list[tuple[str, str]]:
    """(method, path) of every write in the emulator's request log, in order."""
    return [(r["method"], r["path"]) for r in requests if r["method"] in ("PUT", "PATCH")]


def methods(requests: list[dict]) -> list[str]:
    return [r["method"] for r in requests]


def settings_for(url: str, root: Path | None = None, concurrency: int = 8,
                 backoffs: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)) -> Settings:
    return Settings(root=root or Path("."), api=ApiSettings(url=url, timeout=10.0, backoffs=backoffs,
                                                            max_retry_seconds=30.0),
                    concurrency=concurrency, api_key=API_KEY)


def desired_state(spec: dict[str, dict[str, tuple[Any, Any]]], root: Path = Path(".")) -> DesiredState:
    """``{agent: {env: (schema, values)}}`` -> DesiredState (literal, no files)."""
    agents = {}
    for agent, envs in spec.items():
        by_env = {}
        for env_name, (schema, vals) in envs.items():
            env = ClientEnv(env_name)
            base = f"configs/{agent}/{env_name}/"
            by_env[env] = EnvDesired(agent=agent, env=env, schema=schema, values=vals,
                                     schema_map=SourceMap(base + "schema.yaml") if schema is not None else None,
                                     values_map=SourceMap(base + "values.yaml") if vals is not None else None)
        agents[agent] = AgentDesired(agent, by_env)
    return DesiredState(root=root, agents=agents)


def run(coro):
    return asyncio.run(coro)


def new_agent(emulator, prefix: str = "ex") -> str:
    """A fresh agent id, seeded in the emulator (three empty pages)."""
    agent = f"{prefix}-{uuid.uuid4().hex[:8]}"
    emulator.seed(agent)
    return agent


def full(agent: str, **overrides: Any) -> dict:
    """Spec of an agent managing every environment with SCHEMA and values(env, **overrides)."""
    return {agent: {e: (SCHEMA, values(e, **overrides)) for e in ENVS}}


async def plan_live(api: AgentsApi, desired: DesiredState, settings: Settings) -> Plan:
    agents = sorted(desired.agents)
    live, failed = await fetch_live(api, agents, concurrency=settings.concurrency)
    return planner.plan(desired, live, settings, fetch_errors=failed, agents=agents, target=api.base_url)


def make_plan(url: str, desired: DesiredState) -> Plan:
    async def go() -> Plan:
        async with AgentsApi(url, api_key=API_KEY, backoffs=(0.01,)) as api:
            return await plan_live(api, desired, settings_for(url))
    return run(go())


def converge(url: str, desired: DesiredState, *, allow_live: bool = True, reread: bool = False,
             concurrency: int = 4, before_apply=None, replan=None, plan_override: Plan | None = None):
    """Plan against the emulator, then apply (library level); ``reread`` makes the plan older than the run."""
    settings = settings_for(url, concurrency=concurrency)

    async def go():
        async with AgentsApi(url, api_key=API_KEY, backoffs=(0.01, 0.05), concurrency=concurrency) as api:
            planned_at = time.monotonic()
            plan = plan_override or await plan_live(api, desired, settings)
            if before_apply:
                before_apply()
            started = time.monotonic() if reread else planned_at
            return await executor.apply_plan(plan, api, settings=settings, desired=desired, allow_live=allow_live,
                                             planned_at=planned_at, started_at_monotonic=started, replan=replan)
    return run(go())
