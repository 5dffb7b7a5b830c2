"""Report files for the `reconciler github …` tests, made by the real planner and JSON report.

No server: the planner is pure, so a plan of literal desired and live states
is exactly what ``plan --format json`` would write for them. A saved plan is
the same results wrapped in issue 9's plan-file envelope.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from planner_cases import LV, PR, SB, SETTINGS, desired_state, env_desired, live_agent

from reconciler.planning import planner
from reconciler.report import json as json_report

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "greeting": {"type": "string"}, "note": {"type": "string"},
    "api_token": {"type": "string", "x-sensitive": True}}}
CANARY = "s3cr3t-CANARY-token"


def plan_document(agents: dict[str, str], *, command: str = "plan", live_greeting: str = "Hello",
                  note_size: int = 0, changed_envs: tuple = (SB, PR, LV), live_schema: Any = SCHEMA) -> dict[str, Any]:
    """One report: each agent's desired greeting (in ``changed_envs``) vs a live "Hello" (equal -> in sync).

    ``live_schema={}``: live has no schema yet, and the repository's has 33 properties (a new schema).
    """
    envs, live = [], {}
    schema = SCHEMA if live_schema else {"type": "object", "properties": {
        **SCHEMA["properties"], **{f"extra_{i}": {"type": "string"} for i in range(30)}}}
    for agent, greeting in agents.items():
        for env in (SB, PR, LV):
            vals = {"greeting": greeting if env in changed_envs else live_greeting, "api_token": CANARY}
            if note_size:
                vals["note"] = f"{agent} " + "x" * note_size
            envs.append(env_desired(agent, env, schema, vals))
        live_values = {"greeting": live_greeting, "api_token": CANARY} if live_schema else {}
        live[agent] = live_agent(agent, {env: (live_schema, dict(live_values)) for env in (SB, PR, LV)})
    plan = planner.plan(desired_state(*envs), live, SETTINGS, target="https://api.us.poly.ai")
    return json_report.document(plan, command=command)


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def saved_plan(document: dict[str, Any], revision: str = "0123456789abcdef0123") -> dict[str, Any]:
    """Issue 9's plan file around the report's results."""
    return {"format_version": 1, "kind": "rtc-reconciler-plan", "created_at": "2026-12-01T00:00:00Z",
            "tool_version": "0.1.0", "target": document["target"],
            "repository": {"revision": revision, "content_sha256": "ab" * 32},
            "results": document["results"], "pages": []}


def validate_document(errors: int = 2, warnings: int = 1) -> dict[str, Any]:
    def item(i: int, severity: str) -> dict[str, Any]:
        return {"severity": severity, "code": "values.invalid", "message": f"greeting: problem {i} <b>",
                "file": f"configs/acme/sandbox/values.yaml", "line": i + 1, "path": "greeting"}
    return {"format_version": 1, "command": "validate",
            "errors": [item(i, "error") for i in range(errors)],
            "warnings": [item(100 + i, "warning") for i in range(warnings)]}
