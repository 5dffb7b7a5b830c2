"""Read a JSON report (or a saved plan file) back into the values the reports render.

Called by ``reconciler show`` (and :mod:`reconciler.planning.planfile`): a saved plan
or a ``--format json`` report is rendered again in any format with no API call
and no repository. The values it builds are for display only: the PATCH body
and diffs are the masked ones the file holds, and ``schema_put`` is an empty
marker (the file never holds the schema to send). Nothing read here is ever
executed; ``apply --plan`` plans again from the repository.

A document that is not one of ours raises :class:`ReportFormatError` (a
``ConfigError``, so the CLI prints one line and exits 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler import errors
from reconciler.model import ClientEnv, Finding, Severity
from reconciler.planning.plan import (ApplyResult, DiffItem, DriftCause, EnvPlan, KeyLocation, Outcome,
                                      OutcomeState, Plan, Status)
from reconciler.report import common

#: The JSON report / plan file versions this reconciler reads.
READABLE_VERSION = 1


class ReportFormatError(errors.ConfigError):
    """The file is not a report or plan this reconciler can read."""


def read_document(doc: Any, *, source: str) -> tuple[Plan | ApplyResult, str, common.RunInfo]:
    """(plan or apply result, command, run info) of a JSON report or plan file."""
    check_version(doc, source=source)
    try:
        command = str(doc.get("command") or "plan")
        common.check_command(command)
        plan = Plan(results=tuple(_result(r) for r in doc["results"]), target=str(doc["target"]),
                    environments=tuple(ClientEnv(e) for e in doc.get("environments") or ClientEnv.names()),
                    findings=tuple(_finding(f) for f in doc.get("findings") or ()))
        info = common.RunInfo(created_at=doc.get("created_at"), changed_since=doc.get("changed_since"),
                              tool_version=str(doc.get("tool_version") or "unknown"))
        if command == "apply":
            outcomes = tuple(_outcome(r) for r in doc["results"] if r.get("outcome"))
            return ApplyResult(plan=plan, outcomes=outcomes), command, info
        return plan, command, info
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportFormatError(f"not a valid reconciler report or plan file "
                                f"({type(exc).__name__}: {exc})", code="show.corrupt", file=source) from exc


def check_version(doc: Any, *, source: str) -> None:
    """A JSON object with a ``format_version`` this reconciler reads."""
    if not isinstance(doc, Mapping) or "format_version" not in doc:
        raise ReportFormatError("not a reconciler report or plan file (no format_version)",
                                code="show.not_a_report", file=source)
    version = doc["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReportFormatError(f"format_version must be an integer, not {version!r}",
                                code="show.corrupt", file=source)
    if version > READABLE_VERSION:
        raise ReportFormatError(f"written by a newer reconciler (format_version {version}; this "
                                f"reconciler reads {READABLE_VERSION}); upgrade rtc-reconciler to read it",
                                code="show.newer_format", file=source)


def _result(r: Mapping[str, Any]) -> EnvPlan:
    schema, variables = r.get("schema") or {}, r.get("variables") or {}
    patch = variables.get("patch") or {}
    cause = r.get("cause")
    return EnvPlan(
        agent=str(r["agent"]), env=ClientEnv(r["env"]), status=Status(r["status"]),
        schema_put={} if schema.get("action") == "put" else None,
        schema_diff=tuple(DiffItem.from_json(d) for d in schema.get("diff") or ()),
        variables_patch=dict(patch), masked_patch=dict(patch),
        variables_diff=tuple(DiffItem.from_json(d) for d in variables.get("diff") or ()),
        orphans=tuple(variables.get("orphans") or ()),
        live_owned=tuple(variables.get("live_owned") or ()),
        errors=tuple(_finding(f) for f in r.get("errors") or ()),
        warnings=tuple(_finding(f) for f in r.get("warnings") or ()),
        live_last_updated=r.get("live_last_updated"),
        schema_new=bool(schema.get("new")), variables_new=bool(variables.get("new")),
        changed_keys=tuple(KeyLocation.from_json(k) for k in r.get("changed_keys") or ()),
        cause=DriftCause(cause) if cause else None)


def _finding(f: Mapping[str, Any]) -> Finding:
    return Finding(severity=Severity(f["severity"]), code=str(f["code"]), message=str(f["message"]),
                   **{k: f.get(k) for k in ("file", "line", "path", "agent", "env", "policy", "rule",
                                            "rule_file", "rule_line", "waived", "request_id")})


def _outcome(r: Mapping[str, Any]) -> Outcome:
    o = r["outcome"]
    return Outcome(agent=str(r["agent"]), env=ClientEnv(r["env"]), state=OutcomeState(o["state"]),
                   schema_put=bool(o.get("schema_put")), patched_keys=tuple(o.get("patched_keys") or ()),
                   errors=tuple(_finding(f) for f in o.get("errors") or ()), replanned=bool(o.get("replanned")),
                   last_updated=o.get("last_updated"),
                   warnings=tuple(_finding(f) for f in o.get("warnings") or ()))
