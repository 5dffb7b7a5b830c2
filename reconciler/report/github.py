"""GitHub Actions output: workflow commands (annotations), then a plain summary for the log.

Called through :func:`reconciler.report.render` with ``--format github``.

- each error/warning finding becomes ``::error``/``::warning file=…,line=…,title=…::message``;
  run-wide findings repeated in every environment are written once;
- ``plan``/``apply``: a ``::notice`` at the file:line of each changed top-level
  key of ``values.yaml`` (and each changed property / top-level key of
  ``schema.yaml``), so the pull request shows what will change where;
- ``drift``: a ``::warning`` at each key that differs from live, with its cause.

GitHub shows at most :data:`MAX_PER_TYPE` annotations of each type per step,
so the rest are summarised in one plain line that points at the full report.
"""

from __future__ import annotations

from reconciler.model import Finding
from reconciler.planning.plan import ApplyResult, EnvPlan, KeyLocation, Plan, Status
from reconciler.report import common
from reconciler.report import findings as findings_report

#: Annotations of one type (error, warning, notice) that GitHub shows per step.
MAX_PER_TYPE = 10


def render(value: Plan | ApplyResult, *, command: str, info: common.RunInfo = common.RunInfo()) -> str:
    words = common.check_command(command)
    plan, outcomes = common.split(value)
    findings: list[Finding] = list(plan.findings)
    lines: list[str] = []
    changes: list[str] = []
    for r in plan.results:
        errors, warnings = common.env_findings(r, outcomes.get((r.agent, r.env.value)))
        findings += errors + warnings
        changes += _key_annotations(r, command, info.detail)
        lines += _log_lines(r, command, words)
    commands = list(dict.fromkeys(annotation(f) for f in dict.fromkeys(findings))) + changes
    tail = [common.summary_line(plan, command)]
    if isinstance(value, ApplyResult):
        tail.append(common.apply_summary_line(value))
    return "\n".join(cap(commands, command) + lines + tail) + "\n"


def _log_lines(r: EnvPlan, command: str, words: common.Wording) -> list[str]:
    out = []
    if command == "drift" and r.differs:
        out.append(f"{r.agent} / {r.env.value}: {common.status_text(r, words)} (cause: {_cause(r)})")
    elif r.status is Status.CHANGES:
        out.append(f"{r.agent} / {r.env.value}: {words.changes}: {_actions(r)}")
    elif r.status is Status.ERROR:
        out.append(f"{r.agent} / {r.env.value}: error")
    if r.orphans:
        out.append(f"{r.agent} / {r.env.value}: orphans (live only): {', '.join(r.orphans)}")
    return out


def _cause(r: EnvPlan) -> str:
    return r.cause.value if r.cause else "unknown"


def _key_annotations(r: EnvPlan, command: str, detail: bool) -> list[str]:
    """One notice (plan/apply) or warning (drift) per changed key, at its file:line.

    A whole new schema / variables document is one annotation at its first line
    (``schema: new, 14 properties (…)``) unless ``detail``.
    """
    drift = command == "drift"
    if (drift and not r.differs) or (not drift and r.status is not Status.CHANGES):
        return []
    summaries = {} if detail else common.new_part_lines(r, drift=drift)
    kind, title = ("warning", f"drift ({_cause(r)})") if drift else ("notice", "change")
    out: list[str] = []
    for where in ("schema", "values"):
        keys = [k for k in r.changed_keys if k.where == where]
        summary = summaries.get("variables" if where == "values" else "schema")
        if summary and keys:
            first = KeyLocation(where, where, keys[0].file, 1)
            out.append(_command(kind, first, title, f"{r.agent}/{r.env.value}: {summary[1]}"))
            continue
        out += [_command(kind, k, title, f"{r.agent}/{r.env.value}: {_key_words(k)} " + (
            f"differs from live (cause: {_cause(r)}; live last written {r.live_last_updated or 'unknown'})"
            if drift else "changes (schema PUT)" if where == "schema" else "changes (variables PATCH)"))
            for k in keys]
    return out


def _key_words(k: KeyLocation) -> str:
    return f"schema `{k.key}`" if k.where == "schema" else f"`{k.key}`"


def _command(kind: str, k: KeyLocation, title: str, message: str) -> str:
    props = [f"file={findings_report.escape_property(k.file)}"]
    if k.line:
        props.append(f"line={k.line}")
    props.append(f"title={findings_report.escape_property(title)}")
    return f"::{kind} {','.join(props)}::{findings_report.escape_data(message)}"


def cap(commands: list[str], command: str, limit: int = MAX_PER_TYPE) -> list[str]:
    """At most ``limit`` workflow commands per type; the rest summarised in one plain line."""
    kept: list[str] = []
    seen: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for line in commands:
        kind = line[2:].split(" ", 1)[0].split("::", 1)[0]
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= limit:
            kept.append(line)
        else:
            dropped[kind] = dropped.get(kind, 0) + 1
    if dropped:
        counts = ", ".join(f"{n} {kind}" for kind, n in dropped.items())
        kept.append(f"… {sum(dropped.values())} more annotation(s) not shown ({counts}): GitHub shows at most "
                    f"{limit} of each type per step; the full report: reconciler {command} --format json")
    return kept


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
