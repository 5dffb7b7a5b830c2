"""Markdown report for a pull-request comment: a status table, then one ``<details>`` per agent.

Called through :func:`reconciler.report.render` with ``--format markdown``.
GitHub rejects comments over 65,536 characters, so the report stays under
:data:`MAX_CHARS`: whole sections are dropped from the end and a note points
at the JSON artifact, which always has everything.
"""

from __future__ import annotations

import re

from reconciler.planning.plan import ApplyResult, EnvPlan, Outcome, OutcomeState, Plan, Status
from reconciler.report import common

MAX_CHARS = 65_000

_STATUS = {Status.IN_SYNC: "✅ in sync", Status.CHANGES: "📝 changes", Status.ERROR: "❌ error",
           Status.SKIPPED: "⏭️ skipped", Status.UNMANAGED: "➖ unmanaged"}
_DRIFT = "⚠️ drift"
_OUTCOME = {OutcomeState.APPLIED: "✅ applied", OutcomeState.IN_SYNC: "✅ in sync",
            OutcomeState.FAILED: "❌ failed", OutcomeState.SKIPPED: "⏭️ skipped",
            OutcomeState.BLOCKED: "❌ blocked", OutcomeState.REFUSED: "🛑 refused",
            OutcomeState.UNMANAGED: "➖ unmanaged"}
_DIFF_MARKERS = {"+": "+", "-": "-", "~": "!"}     # "!" is the "changed" line of GitHub's diff highlighting


def render(value: Plan | ApplyResult, *, command: str, max_chars: int = MAX_CHARS,
           info: common.RunInfo = common.RunInfo()) -> str:
    words = common.check_command(command)
    plan, outcomes = common.split(value)
    summary = common.summary_line(plan, command)
    if isinstance(value, ApplyResult):
        summary += " " + common.apply_summary_line(value)
    head = [f"### reconciler {command} · `{plan.target}`\n\n**{summary}**\n"]
    head += [f"- {finding_line(f)}\n" for f in plan.findings]
    table = _table(plan, outcomes, command)
    if command == "drift":
        sections = _drift_sections(plan, words, info)
    else:
        sections = [_details(agent, plan.for_agent(agent), outcomes, words, info) for agent in plan.agents]
    sections = [s for s in sections if s]
    return _fit(head + table + sections, max_chars, command)


def _drift_sections(plan: Plan, words: common.Wording, info: common.RunInfo) -> list[str]:
    """One heading per cause (legend first), each drifted page in its own ``<details>``; then errors."""
    groups = common.cause_groups(plan)
    out = [f"\n{common.DRIFT_LEGEND}\n"] if groups else []
    for cause, results in groups:
        out.append(f"\n#### {common.CAUSE_TITLES[cause][0].upper()}{common.CAUSE_TITLES[cause][1:]}\n")
        out += [_page_details(r, words, info) for r in results]
    failing = [r for r in plan.results if not r.differs and common.interesting(r, None)]
    if failing:
        out.append(f"\n#### {common.OTHER_FINDINGS_TITLE}\n")
        out += [_page_details(r, words, info) for r in failing]
    return out


def _page_details(r: EnvPlan, words: common.Wording, info: common.RunInfo) -> str:
    when = f" (live last written {r.live_last_updated})" if r.differs and r.live_last_updated else ""
    return (f"\n<details><summary><code>{r.agent}</code> / {r.env.value}: {common.status_text(r, words)}{when}"
            f"</summary>\n\n{_env_section(r, None, words, info, drift=True)}\n</details>\n")


def _table(plan: Plan, outcomes: dict, command: str) -> list[str]:
    envs = [e.value for e in plan.environments]
    rows = ["\n| agent | " + " | ".join(envs) + " |\n", "|---" * (len(envs) + 1) + "|\n"]
    for agent in plan.agents:
        cells = {r.env.value: _cell(r, outcomes.get((r.agent, r.env.value)), command) for r in plan.for_agent(agent)}
        rows.append(f"| `{agent}` | " + " | ".join(cells.get(e, "") for e in envs) + " |\n")
    return rows


def _cell(r: EnvPlan, outcome: Outcome | None, command: str) -> str:
    if outcome is not None:
        return _OUTCOME[outcome.state]
    if command == "drift" and r.differs:
        return _DRIFT + (" + ❌ error" if r.status is Status.ERROR else "")
    return _STATUS[r.status]


def _details(agent: str, results: tuple[EnvPlan, ...], outcomes: dict, words: common.Wording,
             info: common.RunInfo) -> str:
    blocks = []
    for r in results:
        outcome = outcomes.get((r.agent, r.env.value))
        if common.interesting(r, outcome):
            blocks.append(_env_section(r, outcome, words, info))
    if not blocks:
        return ""
    states = sorted({common.status_text(r, words) for r in results if common.interesting(r, outcomes.get(
        (r.agent, r.env.value)))})
    return (f"\n<details><summary><code>{agent}</code>: {', '.join(states)}</summary>\n\n"
            + "\n".join(blocks) + "\n</details>\n")


def _env_section(r: EnvPlan, outcome: Outcome | None, words: common.Wording, info: common.RunInfo, *,
                 drift: bool = False) -> str:
    title = f"**{r.env.value}** — {common.status_text(r, words)}"
    if outcome is not None and common.shows_outcome(r, outcome, words):
        title += f" → {common.outcome_text(outcome)}"
    lines = [f"# {text}" if marker == "#" else f"{_DIFF_MARKERS[marker]} {text}"
             for marker, text in common.diff_block(r, drift=drift, detail=info.detail)]
    out = [title + "\n"]
    if lines:
        out.append(_fenced("\n".join(lines)))
    if r.orphans:
        out.append("Orphans (live only; PATCH cannot delete them): " + ", ".join(f"`{k}`" for k in r.orphans) + "\n")
    if r.live_owned:
        out.append("Live owns (never compared or written): " + ", ".join(f"`{k}`" for k in r.live_owned) + "\n")
    errors, warnings = common.env_findings(r, outcome)
    out += [f"- {finding_line(f)}\n" for f in errors + warnings]
    return "\n".join(out)


def _fenced(body: str) -> str:
    # A fence longer than any backtick run inside, so a value cannot close it early.
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}diff\n{body}\n{fence}\n"


def finding_line(finding) -> str:
    """``❌ `file:line`: message (`code`)``: one finding in markdown (the report's and the PR comment's wording)."""
    icon = "❌" if finding.blocks else "⚠️"
    loc = common.where(finding)
    return f"{icon} {'`' + loc + '`: ' if loc else ''}{_escape(finding.message)} (`{finding.code}`)"


def _escape(text: str) -> str:
    # Messages go into list items: keep them on one line and inert as HTML.
    return text.replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _fit(parts: list[str], max_chars: int, command: str) -> str:
    """Join parts, dropping the ones that do not fit; the note says how many and where the rest is."""
    note_budget = 400
    out, used, dropped = [], 0, 0
    for part in parts:
        if dropped or used + len(part) > max_chars - note_budget:
            dropped += 1
            continue
        out.append(part)
        used += len(part)
    if dropped:
        out.append(f"\n> ✂️ Truncated: {dropped} more section(s) not shown (this comment is limited to "
                   f"{max_chars:,} characters). The full report is in the JSON artifact "
                   f"(`reconciler {command} --format json --out {command}.json`).\n")
    return "".join(out)
