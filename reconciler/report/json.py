"""Stable, versioned JSON report (``"format_version": 1``), the artifact CI keeps.

Called through :func:`reconciler.report.render`. Shape (DESIGN.md §4)::

    {"format_version": 1, "command": "plan|apply|drift", "target": "<url or local>",
     "summary": {"agents", "in_sync", "changes", "errors"},
     "findings": [...run-wide findings...],
     "results": [{"agent", "env", "status",
                  "schema": {"action": "none|put", "diff": [...]},
                  "variables": {"action": "none|patch", "patch": {...masked...}, "diff": [...], "orphans": [...]},
                  "errors": [...], "warnings": [...],
                  "outcome": {...}}]}            # "outcome" only for apply; apply also adds "ok"

Every value is already masked (diff items by the planner, the PATCH body by
:func:`reconciler.report.common.shown_patch`); a sensitive diff item keeps its
kind and carries ``"sensitive": true``.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan import ApplyResult, EnvPlan, Outcome, Plan
from reconciler.report import common

FORMAT_VERSION = 1


def document(value: Plan | ApplyResult, *, command: str) -> dict[str, Any]:
    """The report as plain JSON data."""
    common.check_command(command)
    plan, outcomes = common.split(value)
    summary = plan.summary()
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "command": command,
        "target": plan.target,
        "summary": {k: summary[k] for k in ("agents", "in_sync", "changes", "errors")},
        "findings": [f.to_json() for f in plan.findings],
        "results": [_result(r, outcomes.get((r.agent, r.env.value))) for r in plan.results],
    }
    if isinstance(value, ApplyResult):
        doc["ok"] = value.ok
    return doc


def render(value: Plan | ApplyResult, *, command: str) -> str:
    return json.dumps(document(value, command=command), ensure_ascii=False, indent=2) + "\n"


def _result(r: EnvPlan, outcome: Outcome | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "agent": r.agent,
        "env": r.env.value,
        "status": r.status.value,
        "schema": {"action": "put" if r.schema_put is not None else "none",
                   "diff": [item.to_json() for item in r.schema_diff]},
        "variables": {"action": "patch" if r.variables_patch else "none",
                      "patch": common.shown_patch(r),
                      "diff": [item.to_json() for item in r.variables_diff],
                      "orphans": list(r.orphans)},
        "errors": [f.to_json() for f in r.errors],
        "warnings": [f.to_json() for f in r.warnings],
    }
    if outcome is not None:
        data["outcome"] = _outcome(outcome)
    return data


def _outcome(o: Outcome) -> dict[str, Any]:
    return {"state": o.state.value, "schema_put": o.schema_put, "patched_keys": list(o.patched_keys),
            "replanned": o.replanned, "last_updated": o.last_updated,
            "errors": [f.to_json() for f in o.errors],
            "warnings": [f.to_json() for f in (getattr(o, "warnings", ()) or ())]}
