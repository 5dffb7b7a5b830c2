"""GitHub Actions output: workflow commands (annotations) for findings, then a plain summary.

Called through :func:`reconciler.report.render` with ``--format github``.
Each error/warning becomes ``::error file=…,line=…,title=…::message`` so it is
annotated on the pull request's files; run-wide findings repeated in every
environment are written once. The summary lines are plain text for the log.
"""

from __future__ import annotations

from reconciler.model import Finding
from reconciler.plan import ApplyResult, Plan, Status
from reconciler.report import common
from reconciler.report import findings as findings_report


def render(value: Plan | ApplyResult, *, command: str) -> str:
    words = common.check_command(command)
    plan, outcomes = common.split(value)
    findings: list[Finding] = list(plan.findings)
    lines: list[str] = []
    for r in plan.results:
        errors, warnings = common.env_findings(r, outcomes.get((r.agent, r.env.value)))
        findings += errors + warnings
        if r.status is Status.CHANGES:
            lines.append(f"{r.agent} / {r.env.value}: {words.changes}: {_actions(r)}")
        elif r.status is Status.ERROR:
            lines.append(f"{r.agent} / {r.env.value}: error")
        if r.orphans:
            lines.append(f"{r.agent} / {r.env.value}: orphans (live only): {', '.join(r.orphans)}")
    commands = [annotation(f) for f in dict.fromkeys(findings)]
    tail = [common.summary_line(plan, command)]
    if isinstance(value, ApplyResult):
        tail.append(common.apply_summary_line(value))
    return "\n".join(list(dict.fromkeys(commands)) + lines + tail) + "\n"


def _actions(r) -> str:
    parts = []
    if r.schema_put is not None:
        parts.append("schema PUT")
    if r.variables_patch:
        parts.append(f"PATCH {common.patch_keys(r)}")
    return ", ".join(parts)


def annotation(finding: Finding) -> str:
    """One workflow command; ``file``/``line`` only where known (the validate report's format)."""
    return findings_report.github_line(finding)
