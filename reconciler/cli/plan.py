"""`reconciler plan | apply | drift`: parse options, call :mod:`reconciler.engine`, render, exit.

Thin on purpose (STYLE §9): the runs live in ``reconciler.engine``, the
writing in ``reconciler.apply.executor``, the rendering in ``reconciler.report``.
Errors raised on purpose reach the one error boundary in ``cli/__init__.py``.

Exit codes (DESIGN.md §4): ``plan``/``drift`` 0 in sync, 2 changes/drift,
1 any error; ``apply`` 0 applied or in sync, 1 any error (a refused ``live``
included). With ``--out FILE`` the report goes to FILE and stdout gets a
one-line summary.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from reconciler import engine
from reconciler.cli import outputs, rootdir
from reconciler.cli.validate import NoCacheOpt
from reconciler.apply import verify
from reconciler.apply.executor import INTERRUPTED
from reconciler.model import ClientEnv
from reconciler.notify import deliver as notifications
from reconciler.planning import reading
from reconciler.planning.plan import ApplyResult, OutcomeState, Plan
from reconciler.report import formats
from reconciler.report.common import RunInfo
from reconciler.stopsignals import StopOnSignals


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
DetailOpt = Annotated[bool, typer.Option("--detail",
                                         help="Show every key of a new schema or environment (default: one "
                                              "summary line each in text, markdown and github).")]
SavePlanOpt = Annotated[Path | None, typer.Option(
    "--save-plan", metavar="FILE", dir_okay=False,
    help="Also write an applyable plan file (no sensitive value in it): apply it with apply --plan FILE, "
         "render it with show FILE.")]
NotifyOpt = Annotated[bool, typer.Option(
    "--notify", help="Send the notifications of reconciler.yaml (once per target, trigger, page and git "
                     "revision); a failing target is reported on stderr, never changes the exit code.")]
PlanFileOpt = Annotated[Path | None, typer.Option(
    "--plan", metavar="FILE", dir_okay=False,
    help="Apply exactly this saved plan: refused (exit 1, nothing written) if the repository, a page's "
         "lastUpdated or a write's body moved since it was made.")]

_EXAMPLES = {
    "plan": """
\b
Examples (the example repository's agents; url: local needs no key):
  reconciler plan .
  reconciler plan . --agent acme-support --env sandbox
  reconciler plan . --agent bella-pizza-sites --format markdown --out plan.md
  reconciler plan . --allow-large-change --save-plan plan.json --out plan.txt
  reconciler plan . --changed-since HEAD --format github
""",
    "apply": """
\b
Examples:
  reconciler apply . --plan plan.json --auto-approve   # exactly the reviewed plan, or nothing
  reconciler apply . --env sandbox --env pre-release    # live is never written without approval
  reconciler apply . --agent acme-support --auto-approve
  reconciler apply . --auto-approve --allow-large-change --format json --out apply.json
""",
    "drift": """
\b
Examples:
  reconciler drift .
  reconciler drift . --env live --format markdown --out drift.md
  reconciler drift . --agent northwind-transfers --format json --out drift.json
""",
}


def _options(agent, env, api_url, concurrency, changed_since, allow_large_change, no_cache) -> engine.RunOptions:
    return engine.RunOptions(agents=tuple(agent or ()), envs=tuple(env or ()), api_url=api_url,
                             concurrency=concurrency, changed_since=changed_since,
                             allow_large_change=allow_large_change, cache=not no_cache)


def plan_command(directory: DirArg = Path("."), agent: AgentOpt = None, env: EnvOpt = None,
                 fmt: FormatOpt = ReportFormat.TEXT, out: OutOpt = None, api_url: UrlOpt = None,
                 concurrency: ConcurrencyOpt = None, changed_since: ChangedOpt = None,
                 allow_large_change: LargeOpt = False, save_plan: SavePlanOpt = None,
                 detail: DetailOpt = False, no_cache: NoCacheOpt = False) -> None:
    """Validate, read live state and show what apply would change. Exit 0 in sync, 2 changes, 1 error.

    With --save-plan FILE the plan is also written as a plan file that
    `apply --plan FILE` applies only if nothing moved since, and `show FILE`
    renders again in any format (no API call, no repository).
    """
    options = _options(agent, env, api_url, concurrency, changed_since, allow_large_change, no_cache)
    outputs.check_writable(out)                  # every output target, before the first request
    outputs.check_writable(save_plan, "--save-plan")
    directory = rootdir.repository(directory)
    with _ProgressBar() as bar:
        planned = engine.run_plan(directory, options, progress=bar.update, hash_files=save_plan is not None)
    if save_plan is not None:
        engine.write_plan_file(planned, save_plan, options)
    plan = planned.plan
    summary = _plan_summary("plan", plan, out) + (f"; plan file written to {save_plan}" if save_plan else "")
    _emit(_render(plan, fmt, "plan", out, _info(planned, options, detail, directory)), out, summary,
          always=save_plan is not None)
    _explain_unreachable(plan)
    raise typer.Exit(1 if plan.has_errors else 2 if plan.has_changes else 0)


def drift_command(directory: DirArg = Path("."), agent: AgentOpt = None, env: EnvOpt = None,
                  fmt: FormatOpt = ReportFormat.TEXT, out: OutOpt = None, api_url: UrlOpt = None,
                  concurrency: ConcurrencyOpt = None, changed_since: ChangedOpt = None,
                  detail: DetailOpt = False, no_cache: NoCacheOpt = False, notify: NotifyOpt = False) -> None:
    """Report where live differs from the repository, and who moved. Exit 0 none, 2 drift, 1 any error.

    Read-only: change rules (blast radius) are not evaluated, and a page that
    differs counts as drift even when it also has an error. Each drifted page
    has a cause from git log vs its lastUpdated: repository (merged, not yet
    applied), out_of_band (edited in the UI or by another tool) or unknown.
    """
    options = _options(agent, env, api_url, concurrency, changed_since, False, no_cache)
    outputs.check_writable(out)
    directory = rootdir.repository(directory)
    with _ProgressBar() as bar:
        planned = engine.run_drift(directory, options, progress=bar.update)
    plan = planned.plan
    _emit(_render(plan, fmt, "drift", out, _info(planned, options, detail, directory)), out,
          _plan_summary("drift", plan, out))
    _explain_unreachable(plan)
    if notify:
        typer.echo(notifications.notify_drift(directory, planned.settings.governance.notifications, plan).line(),
                   err=True)
    raise typer.Exit(1 if plan.has_errors else 2 if plan.has_drift else 0)


def apply_command(directory: DirArg = Path("."), agent: AgentOpt = None, env: EnvOpt = None,
                  fmt: FormatOpt = ReportFormat.TEXT, out: OutOpt = None, api_url: UrlOpt = None,
                  concurrency: ConcurrencyOpt = None, changed_since: ChangedOpt = None,
                  allow_large_change: LargeOpt = False,
                  auto_approve: Annotated[bool, typer.Option(
                      "--auto-approve", help="Write live without asking (needed in a non-interactive run).")] = False,
                  plan_file: PlanFileOpt = None, detail: DetailOpt = False, no_cache: NoCacheOpt = False,
                  ignore_windows: Annotated[bool, typer.Option(
                      "--ignore-windows", help="Write through deny windows that have manualSync: true (the "
                                               "report says so); never through suspend.")] = False,
                  notify: NotifyOpt = False,
                  ) -> None:
    """Plan, then write the changes: schema PUT before variables PATCH, environments in promotion order.

    live is written only with --auto-approve or an interactive "yes" (stdin and
    stdout a terminal); otherwise the other environments are applied, live is
    refused, and the exit code is 1. Exit 0 applied or in sync, 1 any error.
    With --plan FILE only that saved plan is applied, and only if nothing moved.
    A page held by a sync window or suspend (reconciler.yaml) refuses the run before any write.
    """
    options = _options(agent, env, api_url, concurrency, changed_since, allow_large_change, no_cache)
    options = dataclasses.replace(options, ignore_windows=ignore_windows)
    if plan_file is not None and (agent or env or changed_since or allow_large_change):
        raise typer.BadParameter("--plan applies exactly the saved plan: its agents, environments and options "
                                 "come from the file; drop --agent/--env/--changed-since/--allow-large-change",
                                 param_hint="--plan")
    outputs.check_writable(out)              # before the first request, not after the writes
    directory = rootdir.repository(directory)
    approve: engine.ApproveLive | bool = True if auto_approve else (_ask_live if _interactive() else False)
    started = _now()
    signals = StopOnSignals(notify=lambda line: typer.echo(line, err=True))
    try:
        with _ProgressBar() as bar:
            if plan_file is not None:
                result = engine.run_apply_saved(directory, plan_file, options, approve_live=approve,
                                                progress=bar.update, signals=signals)
            else:
                result = engine.run_apply(directory, options, approve_live=approve, progress=bar.update,
                                          signals=signals)
    except engine.Interrupted as exc:
        typer.echo(f"{signals.received.name if signals.received else 'interrupted'}: {exc}", err=True)
        raise typer.Exit(signals.exit_code or 130) from None
    info = RunInfo(created_at=started, changed_since=changed_since, detail=detail,
                   repository=rootdir.shown(directory))
    _emit(_render(result, fmt, "apply", out, info), out, _apply_summary(result, out))
    _explain_refusals(result, asked=approve is _ask_live)
    _explain_unreachable(result.plan)
    if (halted := verify.halted_summary(result)) is not None:
        typer.echo(halted, err=True)           # what was and was not written, after a write came back unexpected
    if notify:
        rules = reading.load_settings(directory, options).governance.notifications
        typer.echo(notifications.notify_apply(directory, rules, result).line(), err=True)
    if signals.received is not None:
        typer.echo(_interrupted_summary(result, signals.received.name), err=True)
        raise typer.Exit(signals.exit_code)
    raise typer.Exit(0 if result.ok else 1)


def _explain_unreachable(plan: Plan) -> None:
    """The circuit breaker's one line (``cannot reach URL: … (3 attempts over 2.1 s)``) on stderr."""
    for finding in plan.findings:
        if finding.code == "api.unreachable":
            skipped = len({r.agent for r in plan.results if any(e.code == "api.unreachable" for e in r.errors)})
            typer.echo(f"error: {finding.message}; {skipped} agent(s) not attempted", err=True)
            return


def _interrupted_summary(result: ApplyResult, signal_name: str) -> str:
    applied = [f"{o.agent}/{o.env}" for o in result.outcomes if o.state is OutcomeState.APPLIED]
    skipped = [f"{o.agent}/{o.env}" for o in result.outcomes
               if o.state is OutcomeState.SKIPPED and any(w.message == INTERRUPTED for w in o.warnings)]
    shown = ", ".join(applied[:10]) + (", …" if len(applied) > 10 else "")
    return (f"interrupted by {signal_name}: applied {len(applied)} page(s){f' ({shown})' if applied else ''}; "
            f"{len(skipped)} page(s) not attempted")


def _info(planned: engine.Planned, options: engine.RunOptions, detail: bool, root: Path) -> RunInfo:
    return RunInfo(created_at=planned.read_at or _now(), changed_since=options.changed_since, detail=detail,
                   repository=rootdir.shown(root))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _render(value: Plan | ApplyResult, fmt: ReportFormat, command: str, out: Path | None, info: RunInfo) -> str:
    # No colour codes in a file; on stdout the report module decides (TTY, NO_COLOR).
    return formats.render(value, fmt.value, command=command, color=False if out is not None else None, info=info)


def _emit(text: str, out: Path | None, summary: str, *, always: bool = False) -> None:
    """The report to stdout, or to ``out`` with the summary on stdout (``always``: the summary on stderr too)."""
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        if always:
            typer.echo(summary, err=True)
        return
    outputs.write_report(text, out, summary)      # falls back to stdout: a report is never lost


def _plan_summary(command: str, plan: Plan, out: Path | None) -> str:
    s = plan.summary()
    if command == "drift":
        d = plan.drift_summary()
        head = f"drift: {d['agents']} agent(s): {d['in_sync']} in sync, {d['drift']} drift, {d['errors']} error(s)"
    else:
        head = f"{command}: {s['agents']} agent(s): {s['in_sync']} in sync, {s['changes']} changes, " \
               f"{s['errors']} error(s)"
    return head + (f"; report written to {out}" if out is not None else "")


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
    agents = engine.live_changes(plan)
    live_only = dataclasses.replace(plan, results=tuple(
        r for r in plan.results if r.env is ClientEnv.LIVE and r.agent in agents))
    typer.echo(formats.render(live_only, "text", command="plan", color=formats.want_color(sys.stderr)), err=True)
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
            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.start()
        if phase not in self._tasks:
            label = "reading live" if phase == "read" else "applying"
            self._tasks[phase] = self._progress.add_task(label, total=total)
        self._progress.update(self._tasks[phase], completed=done, total=total)


#: Shared with ``cli/history.py``: ``rollback`` asks for live and explains a refusal as ``apply`` does.
ask_live, interactive, explain_refusals = _ask_live, _interactive, _explain_refusals


def register(app: typer.Typer) -> None:
    """Add ``plan``, ``apply`` and ``drift`` to the app."""
    for name, func in (("plan", plan_command), ("apply", apply_command), ("drift", drift_command)):
        app.command(name, epilog=_EXAMPLES[name], no_args_is_help=False)(func)
