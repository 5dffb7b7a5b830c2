"""Markdown for the pull-request comment and the drift tracking issue.

Called by :mod:`reconciler.github.comment` and :mod:`reconciler.github.drift_issue`
with the values of :mod:`reconciler.github.documents`. Computes nothing about
the plan: the body of a plan or drift is the markdown report itself
(:mod:`reconciler.report.markdown`, fed by :mod:`reconciler.report.reader` —
exactly what ``reconciler show FILE --format markdown`` prints for the job
summary), so a reviewer reads the same words in the comment, the summary and
the issue. This module adds what only GitHub needs: the commit, the scope, the
run link, validation findings, and the size limit.

GitHub rejects a comment or an issue body over 65,536 characters, so every
body is assembled under :data:`GITHUB_BODY_LIMIT`: the report gets the budget
left after our own lines (it drops whole sections from its end and says so),
and a truncated body ends with a pointer to the run's artifact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.github.documents import Report, ValidateReport
from reconciler.model import Finding
from reconciler.report import common, findings as findings_mod, markdown as md, reader

#: GitHub's limit for a comment or an issue body, in characters.
GITHUB_BODY_LIMIT = 65_536
_NOTE_BUDGET = 600
_TRUNCATED = "✂️ Truncated"


def report_markdown(report: Report, *, max_chars: int) -> str:
    """The markdown report of a JSON report or saved plan (what ``show --format markdown`` prints)."""
    value, command, info = reader.read_document(report.document, source=report.file)
    return md.render(value, command=command, max_chars=max_chars, info=info)


def with_report(head: str, intro: str, report: Report, *, limit: int, pointer: str) -> str:
    """``head``, the report's title line, ``intro``, then the rest of the report, under ``limit``."""
    budget = limit - len(head) - len(intro) - len(pointer) - _NOTE_BUDGET
    title, _, rest = report_markdown(report, max_chars=budget).partition("\n\n")
    body = f"{head}{title}\n\n{intro}{rest}"
    if _TRUNCATED in rest:
        body = body.rstrip("\n") + f"\n> {pointer}\n"
    return body


def fit(head: str, sections: Sequence[str], *, limit: int = GITHUB_BODY_LIMIT, pointer: str) -> str:
    """``head`` + as many ``sections`` as fit under ``limit``; a note replaces the rest."""
    budget = limit - _NOTE_BUDGET - len(head)
    out, used = [head], 0
    for index, section in enumerate(sections):
        if used + len(section) > budget:
            left = len(sections) - index
            out.append(f"\n> {_TRUNCATED}: {left} more section(s) not shown (GitHub allows "
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


def finding_item(finding: Finding) -> str:
    """``- ❌ `file:line`: message (`code`)`` — the markdown report's wording."""
    return f"- {md.finding_line(finding)}\n"


def findings_list(found: Iterable[Finding]) -> list[str]:
    return [finding_item(f) for f in findings_mod.sort_findings(found)]


def validation_summary(report: ValidateReport) -> str:
    return (f"{common.plural(len(report.errors), 'error')}, "
            f"{common.plural(len(report.warnings), 'warning')}")
