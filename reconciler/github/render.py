"""Markdown for the pull-request comment and the drift tracking issue.

Called by :mod:`reconciler.github.comment` and :mod:`reconciler.github.drift_issue`
with the values of :mod:`reconciler.github.documents`. Computes nothing about
the plan: statuses, diffs and findings come from the report file; the wording
of a diff line and of a finding is the markdown report's own
(:mod:`reconciler.report.common`, :mod:`reconciler.report.markdown`).

GitHub rejects a comment or an issue body over 65,536 characters, so every
body is assembled by :func:`fit`: a head that is always kept, then sections
dropped from the end once the next one would not fit, and a note that says
how many were left out and where the full report is (the run's artifact).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.github import documents
from reconciler.github.documents import Report, ValidateReport
from reconciler.model import Finding
from reconciler.report import common, findings as findings_mod, markdown as md

#: GitHub's limit for a comment or an issue body, in characters.
GITHUB_BODY_LIMIT = 65_536
_NOTE_BUDGET = 600
_STATUS = {"in_sync": "✅ in sync", "changes": "📝 changes", "drift": "⚠️ drift", "error": "❌ error",
           "skipped": "⏭️ skipped", "unmanaged": "➖ unmanaged"}
_ENV_ORDER = ("sandbox", "pre-release", "live")


def fit(head: str, sections: Sequence[str], *, limit: int = GITHUB_BODY_LIMIT, pointer: str) -> str:
    """``head`` + as many ``sections`` as fit under ``limit``; a note replaces the rest."""
    budget = limit - _NOTE_BUDGET - len(head)
    out, used = [head], 0
    for index, section in enumerate(sections):
        if used + len(section) > budget:
            left = len(sections) - index
            out.append(f"\n> ✂️ Truncated: {left} more section(s) not shown (GitHub allows "
                       f"{GITHUB_BODY_LIMIT:,} characters here). {pointer}\n")
            break
        out.append(section)
        used += len(section)
    body = "".join(out)
    return body if len(body) <= limit else body[: limit - 20] + "\n\n(cut short)\n"


def meta_line(sha: str | None, scope: str | None, run_url: str | None) -> str:
    """``Commit `abc1234` · Scope: … · [workflow run](…)`` for the top of a body."""
    parts = [f"Commit `{sha[:12]}`" if sha else "Commit unknown"]
    parts.append(f"Scope: agents changed since `{scope}`" if scope else "Scope: all agents")
    if run_url:
        parts.append(f"[workflow run]({run_url})")
    return " · ".join(parts) + "\n"


def summary_line(report: Report) -> str:
    changed = report.count(*documents.CHANGED_STATUSES)
    noun = "drifted" if report.command == "drift" else "to change"
    title = "Drift" if report.command == "drift" else "Plan"
    parts = [f"{changed} {noun}", f"{report.count('in_sync')} in sync",
             common.plural(report.count("error") + (1 if any(f.blocks for f in report.findings)
                                                    and not report.count("error") else 0), "error")]
    if report.count("skipped"):
        parts.append(f"{report.count('skipped')} skipped")
    return f"{title}: {', '.join(parts)}."


def status_table(results: Sequence[Mapping[str, Any]]) -> str:
    envs = [e for e in _ENV_ORDER if any(r.get("env") == e for r in results)]
    envs += sorted({str(r.get("env")) for r in results} - set(envs))
    agents = list(dict.fromkeys(str(r.get("agent")) for r in results))
    cells = {(str(r.get("agent")), str(r.get("env"))): _STATUS.get(str(r.get("status")), str(r.get("status")))
             for r in results}
    rows = ["| agent | " + " | ".join(envs) + " |\n", "|---" * (len(envs) + 1) + "|\n"]
    rows += [f"| `{a}` | " + " | ".join(cells.get((a, e), "") for e in envs) + " |\n" for a in agents]
    return "\n" + "".join(rows)


def result_sections(results: Iterable[Mapping[str, Any]], *, drift: bool = False) -> list[str]:
    """One ``<details>`` per agent × environment worth showing.

    A plan shows changes, errors, warnings and orphans; a drift report (``drift``)
    shows the pages whose live state differs, worded without PUT/PATCH.
    """
    keep = documents.differs if drift else _interesting
    return [result_section(r, drift=drift) for r in results if keep(r)]


def result_section(result: Mapping[str, Any], *, drift: bool = False) -> str:
    status = _STATUS.get(str(result.get("status")), str(result.get("status")))
    cause = f" · cause: `{result['cause']}`" if isinstance(result.get("cause"), str) else ""
    lines: list[str] = []
    for part in ("schema", "variables"):
        items = documents.diff_items(result, part)
        if items:
            lines.append(f"# {part}: {'differs (live → repository)' if drift else _action(result, part)}")
            lines += [f"{md._DIFF_MARKERS[marker]} {text}" for item in items
                      for marker, text in common.diff_lines(item)]
    body = [md._fenced("\n".join(lines))] if lines else []
    orphans = (result.get("variables") or {}).get("orphans") if isinstance(result.get("variables"), Mapping) else ()
    if orphans:
        body.append("Orphans (live only; PATCH cannot delete them): " + ", ".join(f"`{k}`" for k in orphans) + "\n")
    found = [documents.finding(f) for key in ("errors", "warnings") for f in result.get(key) or ()
             if isinstance(f, Mapping)]
    body += [finding_item(f) for f in found]
    return (f"\n<details><summary><code>{result.get('agent')}</code> / <b>{result.get('env')}</b>: "
            f"{status}{cause}</summary>\n\n" + "\n".join(body) + "\n</details>\n")


def finding_item(finding: Finding) -> str:
    """``- ❌ `file:line`: message (`code`)`` — the markdown report's wording."""
    return f"- {md._finding(finding)}\n"


def findings_list(found: Iterable[Finding]) -> list[str]:
    return [finding_item(f) for f in findings_mod.sort_findings(found)]


def validation_summary(report: ValidateReport) -> str:
    return (f"{common.plural(len(report.errors), 'error')}, "
            f"{common.plural(len(report.warnings), 'warning')}")


def _interesting(result: Mapping[str, Any]) -> bool:
    variables = result.get("variables") if isinstance(result.get("variables"), Mapping) else {}
    return (result.get("status") in ("changes", "drift", "error", "skipped") or bool(result.get("warnings"))
            or bool(variables.get("orphans")))


def _action(result: Mapping[str, Any], part: str) -> str:
    section = result.get(part) if isinstance(result.get(part), Mapping) else {}
    if part == "schema":
        return "PUT (whole schema)" if section.get("action") == "put" else "differs (nothing sent)"
    patch = section.get("patch") if isinstance(section.get("patch"), Mapping) else {}
    return f"PATCH {', '.join(patch)}" if section.get("action") == "patch" and patch else "differs (nothing sent)"
