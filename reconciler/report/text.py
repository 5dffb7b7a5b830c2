"""Human text report, Terraform-like: ``+`` added, ``-`` removed, ``~`` changed ``old → new``.

Called through :func:`reconciler.report.render`. One block per agent x
environment that changes, fails or has something to say; in-sync and
unmanaged environments are folded into one line per agent; a one-line summary
ends the report. Colour (rich) only when asked for — the caller decides from
the terminal and ``NO_COLOR`` — so files and pipes never get ANSI codes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from reconciler.plan import ApplyResult, EnvPlan, Outcome, OutcomeState, Plan, Status
from reconciler.report import common

_MARKER_STYLES = {"+": "green", "-": "red", "~": "yellow"}
_STATUS_STYLES = {Status.CHANGES: "yellow", Status.ERROR: "bold red", Status.SKIPPED: "red",
                  Status.IN_SYNC: "green", Status.UNMANAGED: "dim"}
_OUTCOME_STYLES = {OutcomeState.APPLIED: "green", OutcomeState.IN_SYNC: "green",
                   OutcomeState.UNMANAGED: "dim"}


def render(value: Plan | ApplyResult, *, command: str, color: bool = False) -> str:
    words = common.check_command(command)
    plan, outcomes = common.split(value)
    lines: list[Text] = [Text(f"reconciler {command} · target {plan.target}", style="bold"), Text("")]
    lines += [_finding(f) for f in plan.findings]
    for agent in plan.agents:
        lines += _agent(agent, plan.for_agent(agent), outcomes, words)
    lines.append(Text(""))
    lines.append(Text(common.summary_line(plan, command), style="bold"))
    if isinstance(value, ApplyResult):
        lines.append(Text(common.apply_summary_line(value), style="bold" if value.ok else "bold red"))
    return _to_string(lines, color)


def _agent(agent: str, results: Iterable[EnvPlan], outcomes: dict, words: common.Wording) -> list[Text]:
    out: list[Text] = []
    quiet: dict[str, list[str]] = {}
    for r in results:
        outcome = outcomes.get((r.agent, r.env.value))
        if common.interesting(r, outcome):
            out += _env_block(r, outcome, words)
        else:
            quiet.setdefault(r.status.value.replace("_", " "), []).append(r.env.value)
    if quiet:
        folded = "; ".join(f"{status} ({', '.join(envs)})" for status, envs in quiet.items())
        out.append(Text(f"{agent}: {folded}", style="dim"))
    return out


def _env_block(r: EnvPlan, outcome: Outcome | None, words: common.Wording) -> list[Text]:
    head = Text(f"{r.agent} / {r.env.value}: ", style="bold")
    head.append(common.status_text(r, words), style=_STATUS_STYLES.get(r.status, ""))
    if outcome is not None:
        head.append(" → ")
        head.append(common.outcome_text(outcome), style=_OUTCOME_STYLES.get(outcome.state, "bold red"))
    lines = [head]
    if r.schema_diff:
        lines.append(Text("  " + common.schema_action(r)))
        lines += [line for item in r.schema_diff for line in _diff(item)]
    if r.variables_diff:
        lines.append(Text("  " + common.variables_action(r)))
        lines += [line for item in r.variables_diff for line in _diff(item)]
    if r.orphans:
        lines.append(Text(f"  orphans (live only; PATCH cannot delete them): {', '.join(r.orphans)}",
                          style="magenta"))
    errors, warnings = common.env_findings(r, outcome)
    lines += [_finding(f) for f in errors + warnings]
    return lines


def _diff(item) -> list[Text]:
    return [Text(f"    {marker} {text}", style=_MARKER_STYLES[marker]) for marker, text in common.diff_lines(item)]


def _finding(finding) -> Text:
    style = "red" if finding.blocks else "yellow"
    return Text(f"  {common.finding_line(finding)}", style=style)


def _to_string(lines: list[Text], color: bool) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, color_system="standard" if color else None,
                      highlight=False, markup=False, emoji=False, soft_wrap=True, width=200)
    for line in lines:
        console.print(line)
    return buffer.getvalue()
