"""`reconciler plan | apply | drift`: parse options, call :mod:`reconciler.engine`, render, exit.

Thin on purpose (STYLE §9): the runs live in ``reconciler.engine``, the
writing in ``reconciler.executor``, the rendering in ``reconciler.report``.
Errors raised on purpose reach the one error boundary in ``cli/__init__.py``.

Exit codes (DESIGN.md §4): ``plan``/``drift`` 0 in sync, 2 changes/drift,
1 any error; ``apply`` 0 applied or in sync, 1 any error (a refused ``live``
included). With ``--out FILE`` the report goes to FILE and stdout gets a
one-line summary.
"""

from __future__ import annotations

import enum
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from reconciler import engine
from reconciler.model import ClientEnv
from reconciler.plan import ApplyResult, OutcomeState, Plan


class ReportFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    GITHUB = "github"


DirArg = Annotated[Path, typer.Argument(metavar="DIR", help="The config repository (holds reconciler.yaml).",
                                        show_default=True, exists=True, file_okay=False, dir_okay=True)]
AgentOpt = Annotated[list[str] | None, typer.Option("--agent", "-a", metavar="ID",
                                                    help="Only this agent (repeatable).")]
EnvOpt = Annotated[list[ClientEnv] | None, typer.Option(
    "--env", "-e", metavar="ENV", help="Only this environment: sandbox, pre-release or live (repeatable).")]
FormatOpt = Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                             help="Write the report to FILE; stdout gets a one-line summary.")]
UrlOpt = Annotated[str | None, typer.Option("--api-url", metavar="URL",
                                            help="API base URL or 'local' (beats RECONCILER_API_URL and "
                                                 "reconciler.yaml).")]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", "-j", min=1, max=256, metavar="N",
                                                    help="Agents reconciled at once (default: reconciler.yaml).")]
ChangedOpt = Annotated[str | None, typer.Option("--changed-since", metavar="GIT_REF",
                                                help="Only agents whose files changed since GIT_REF "
                                                     "(a change to policies/ or reconciler.yaml: all).")]
LargeOpt = Annotated[bool, typer.Option("--allow-large-change",
                                        help="Do not block on blast-radius policies.")]

_EXAMPLES = {
    "plan": """
\b
Examples:
  reconciler plan .
  reconciler plan . --agent acme-london --env sandbox
  reconciler plan . --changed-since origin/main --format markdown --out plan.md
  reconciler plan . --format json --api-url http://127.0.0.1:8080
""",
    "apply": """
\b
Examples:
  reconciler apply .                        # asks before writing live (on a terminal)
  reconciler apply . --auto-approve         # CI / scripts: live too, no question
  reconciler apply . --env sandbox --env pre-release
  reconciler apply . --changed-since HEAD~1 --auto-approve --format json --out apply.json
""",
    "drift": """
\b
Examples:
  reconciler drift .
  reconciler drift . --env live --format markdown --out drift.md
  reconciler drift . --format json --out drift.json
""",
}


def _options(agent, env, api_url, concurrency, changed_since, allow_large_change) -> engine.RunOptions:
    return engine.RunOptions(agents=tuple(agent or ()), envs=tuple(env or ()), api_url=api_url,
                             concurrency=concurrency, changed_since=changed_since,
                             allow_large_change=allow_large_change)


def plan_command(directory: DirArg = Path("."), agent: AgentOpt = None, env: EnvOpt = None,
                 fmt: FormatOpt = ReportFormat.TEXT, out: OutOpt = None, api_url: UrlOpt = None,
                 concurrency: ConcurrencyOpt = None, changed_since: ChangedOpt = None,
                 allow_large_change: LargeOpt = False) -> None:
    """Validate, read live state and show what apply would change. Exit 0 in sync, 2 changes, 1 error."""
    _plan_like("plan", directory, _options(agent, env, api_url, concurrency, changed_since, allow_large_change),
               fmt, out)


def drift_command(directory: DirArg = Path("."), agent: AgentOpt = None, env: EnvOpt = None,
                  fmt: FormatOpt = ReportFormat.TEXT, out: OutOpt = None, api_url: UrlOpt = None,
                  concurrency: ConcurrencyOpt = None, changed_since: ChangedOpt = None,
                  allow_large_change: LargeOpt = False) -> None:
    """Report where live differs from the repository (e.g. edits in the UI). Exit 0 none, 2 drift, 1 error."""
    _plan_like("drift", directory, _options(agent, env, api_url, concurrency, changed_since, allow_large_change),
               fmt, out)


def apply_command(directory: DirArg = Path("."), agent: AgentOpt = None, env: EnvOpt = None,
                  fmt: FormatOpt = ReportFormat.TEXT, out: OutOpt = None, api_url: UrlOpt = None,
                  concurrency: ConcurrencyOpt = None, changed_since: ChangedOpt = None,
                  allow_large_change: LargeOpt = False,
                  auto_approve: Annotated[bool, typer.Option(
                      "--auto-approve", help="Write live without asking (needed in a non-interactive run).")] = False,
                  ) -> None:
    """Plan, then write the changes: schema PUT before variables PATCH, environments in promotion order.

    live is written only with --auto-approve or an interactive "yes" (stdin and
    stdout a terminal); otherwise the other environments are applied, live is
    refused, and the exit code is 1. Exit 0 applied or in sync, 1 any error.
    """
    options = _options(agent, env, api_url, concurrency, changed_since, allow_large_change)
    approve: engine.ApproveLive | bool = True if auto_approve else (_ask_live if _interactive() else False)
    with _ProgressBar() as bar:
        result = engine.run_apply(directory, options, approve_live=approve, progress=bar.update)
    _emit(_render(result, fmt, "apply", out), out, _apply_summary(result, out))
    _explain_refusals(result, asked=approve is _ask_live)
    raise typer.Exit(0 if result.ok else 1)


def _plan_like(command: str, directory: Path, options: engine.RunOptions, fmt: ReportFormat,
               out: Path | None) -> None:
    with _ProgressBar() as bar:
        planned = engine.run_plan(directory, options, progress=bar.update)
    plan = planned.plan
    _emit(_render(plan, fmt, command, out), out, _plan_summary(command, plan, out))
    raise typer.Exit(1 if plan.has_errors else 2 if plan.has_changes else 0)


def _render(value: Plan | ApplyResult, fmt: ReportFormat, command: str, out: Path | None) -> str:
    from reconciler import report

    # No colour codes in a file; on stdout the report module decides (TTY, NO_COLOR).
    return report.render(value, fmt.value, command=command, color=False if out is not None else None)


def _emit(text: str, out: Path | None, summary: str) -> None:
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    typer.echo(summary)


def _plan_summary(command: str, plan: Plan, out: Path | None) -> str:
    s = plan.summary()
    word = "drift" if command == "drift" else "changes"
    return (f"{command}: {s['agents']} agent(s): {s['in_sync']} in sync, {s['changes']} {word}, "
            f"{s['errors']} error(s); report written to {out}")


def _apply_summary(result: ApplyResult, out: Path | None) -> str:
    counts = {state: 0 for state in OutcomeState}
    for outcome in result.outcomes:
        counts[outcome.state] += 1
    parts = ", ".join(f"{n} {state.value}" for state, n in counts.items() if n)
    return f"apply: {'ok' if result.ok else 'FAILED'}: {parts or 'nothing to do'}; report written to {out}"


def _explain_refusals(result: ApplyResult, *, asked: bool) -> None:
    refused = sorted({o.agent for o in result.outcomes if o.state is OutcomeState.REFUSED})
    if not refused:
        return
    why = "not approved" if asked else "this run is not interactive; pass --auto-approve to write live"
    typer.echo(f"error: live not written for {len(refused)} agent(s) ({', '.join(refused)}): {why}", err=True)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask_live(plan: Plan) -> bool:
    """Show what would change in live and ask; only "yes" approves (as terraform does)."""
    import dataclasses

    from reconciler import report

    agents = engine.live_changes(plan)
    live_only = dataclasses.replace(plan, results=tuple(
        r for r in plan.results if r.env is ClientEnv.LIVE and r.agent in agents))
    typer.echo(report.render(live_only, "text", command="plan", color=report.want_color(sys.stderr)), err=True)
    answer = typer.prompt(f"Write these changes to live for {len(agents)} agent(s)? Only 'yes' is accepted",
                          default="", show_default=False, err=True)
    return answer.strip() == "yes"


class _ProgressBar:
    """A rich progress bar on stderr, only on a terminal and only once a run has taken ~2 s."""

    DELAY = 2.0

    def __init__(self) -> None:
        self._enabled = sys.stderr.isatty()
        self._start = time.monotonic()
        self._progress = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> "_ProgressBar":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, phase: str, done: int, total: int) -> None:
        if not self._enabled or time.monotonic() - self._start < self.DELAY:
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.start()
        if phase not in self._tasks:
            label = "reading live" if phase == "read" else "applying"
            self._tasks[phase] = self._progress.add_task(label, total=total)
        self._progress.update(self._tasks[phase], completed=done, total=total)


def register(app: typer.Typer) -> None:
    """Add ``plan``, ``apply`` and ``drift`` to the app."""
    for name, func in (("plan", plan_command), ("apply", apply_command), ("drift", drift_command)):
        app.command(name, epilog=_EXAMPLES[name], no_args_is_help=False)(func)
