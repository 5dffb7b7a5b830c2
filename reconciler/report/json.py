"""Stable, versioned JSON report (``"format_version": 1``), the artifact CI keeps.

Called through :func:`reconciler.report.render`. Shape (DESIGN.md §4)::

    {"format_version": 1, "command": "plan|apply|drift", "tool_version": "0.1.0",
     "created_at": "2026-12-01T01:02:03Z", "changed_since": "origin/main" | null,
     "target": "<url or local>", "environments": ["sandbox", "pre-release", "live"],
     "summary": {"agents", "in_sync", "changes", "errors"},      # drift: {"agents", "in_sync", "drift", "errors"}
     "findings": [...run-wide findings...],
     "results": [{"agent", "env", "status", "live_last_updated",
                  "schema": {"action": "none|put", "new": bool, "diff": [...]},
                  "variables": {"action": "none|patch", "new": bool, "patch": {...masked...}, "diff": [...],
                                "orphans": [...], "live_owned": [...]},   # live_owned: only when some
                  "changed_keys": [{"where": "values|schema", "key", "file", "line"}],
                  "errors": [...], "warnings": [...],
                  "cause": "repository|out_of_band|unknown",     # drift, pages that differ
                  "outcome": {...}}]}            # "outcome" only for apply; apply also adds "ok"

Every value is already masked (diff items by the planner, the PATCH body by
:func:`reconciler.report.common.shown_patch`); a sensitive diff item keeps its
kind and carries ``"sensitive": true``. :mod:`reconciler.report.reader` reads
this document back (``reconciler show``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.planning.plan import ApplyResult, EnvPlan, Outcome, Plan
from reconciler.report import common

FORMAT_VERSION = 1


def document(value: Plan | ApplyResult, *, command: str, info: common.RunInfo = common.RunInfo()) -> dict[str, Any]:
    """The report as plain JSON data."""
    doc = _head(value, command=command, info=info)
    plan, outcomes = common.split(value)
    doc["results"] = list(_results(plan, outcomes, command))
    return doc


def _results(plan: Plan, outcomes: dict, command: str) -> Iterator[dict[str, Any]]:
    for r in plan.results:
        yield _result(r, outcomes.get((r.agent, r.env.value)), drift=command == "drift")


def _head(value: Plan | ApplyResult, *, command: str, info: common.RunInfo) -> dict[str, Any]:
    """Every key of :func:`document`, in order, with ``results`` still empty."""
    common.check_command(command)
    plan, outcomes = common.split(value)
    if command == "drift":
        summary = plan.drift_summary()
    else:
        counts = plan.summary()
        summary = {k: counts[k] for k in ("agents", "in_sync", "changes", "errors")}
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "command": command,
        "tool_version": info.tool_version,
        "created_at": info.created_at,
        "changed_since": info.changed_since,
        "target": plan.target,
        "environments": [e.value for e in plan.environments],
        "summary": summary,
        "findings": [f.to_json() for f in plan.findings],
        "results": [],
    }
    if isinstance(value, ApplyResult):
        doc["ok"] = value.ok
    return doc


def render(value: Plan | ApplyResult, *, command: str, info: common.RunInfo = common.RunInfo()) -> str:
    """``dumps(document(...))``, byte for byte, without holding every result as data at once.

    A 10,000-agent plan's document was ~100 MB of dicts and lists on top of the
    plan itself (the run's peak memory); here each result is turned into text
    and dropped before the next one is built.
    """
    plan, outcomes = common.split(value)
    if not plan.results:
        return dumps(document(value, command=command, info=info))
    head = dumps(_head(value, command=command, info=info))
    marker = '\n  "results": [],\n' if isinstance(value, ApplyResult) else '\n  "results": []\n'
    before, found, after = head.partition(marker)
    if not found:                           # pragma: no cover - _head always holds the marker
        return dumps(document(value, command=command, info=info))
    items = ",\n".join(_indented(json.dumps(item, ensure_ascii=False, indent=2), "    ")
                       for item in _results(plan, outcomes, command))
    tail = ",\n" if isinstance(value, ApplyResult) else "\n"
    return f'{before}\n  "results": [\n{items}\n  ]{tail}{after}'


def _indented(text: str, prefix: str) -> str:
    return prefix + text.replace("\n", "\n" + prefix)


def dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _result(r: EnvPlan, outcome: Outcome | None, *, drift: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "agent": r.agent,
        "env": r.env.value,
        "status": r.status.value,
        "live_last_updated": r.live_last_updated,
        "schema": {"action": "put" if r.schema_put is not None else "none", "new": r.schema_new,
                   "diff": [item.to_json() for item in r.schema_diff]},
        "variables": {"action": "patch" if r.variables_patch else "none", "new": r.variables_new,
                      "patch": common.shown_patch(r),
                      "diff": [item.to_json() for item in r.variables_diff],
                      "orphans": list(r.orphans)},
        "changed_keys": [k.to_json() for k in r.changed_keys],
        "errors": [f.to_json() for f in r.errors],
        "warnings": [f.to_json() for f in r.warnings],
    }
    if r.live_owned:
        data["variables"]["live_owned"] = list(r.live_owned)
    if drift and r.differs:
        data["cause"] = (r.cause.value if r.cause else "unknown")
    if outcome is not None:
        data["outcome"] = _outcome(outcome)
    return data


def _outcome(o: Outcome) -> dict[str, Any]:
    return {"state": o.state.value, "schema_put": o.schema_put, "patched_keys": list(o.patched_keys),
            "replanned": o.replanned, "last_updated": o.last_updated,
            "errors": [f.to_json() for f in o.errors],
            "warnings": [f.to_json() for f in (getattr(o, "warnings", ()) or ())]}
