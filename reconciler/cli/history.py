"""`reconciler history [AGENT] [DIR]` and `reconciler rollback AGENT [DIR] --env ENV --to REVISION`.

Thin (STYLE §9): :mod:`reconciler.apply.history` reads the entries the CLI's
applies wrote under ``.reconciler/history/``; :mod:`reconciler.apply.rollback`
plans and applies a page as it was at a git revision. ``history`` exits 0;
``rollback`` 0 when applied (or already as it was), 1 on any error, a refused
``live`` or a page held by a window included.
"""

from __future__ import annotations

import enum
import json
import re
from pathlib import Path
from typing import Annotated

import typer

from reconciler import __version__, engine
from reconciler.apply import history, rollback
from reconciler.cli import plan as plan_cli
from reconciler.model import AGENT_ID_PATTERN, ClientEnv
from reconciler.report import formats
from reconciler.report.findings import utc_now
from reconciler.report.common import RunInfo
from reconciler.stopsignals import StopOnSignals


class HistoryFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


_HISTORY_EPILOG = """
\b
Examples:
  reconciler history
  reconciler history acme-support --env live
  reconciler history acme-support path/to/repo --format json
"""
_ROLLBACK_EPILOG = """
\b
Examples:
  reconciler history acme-support --env live          # the revisions applied
  reconciler rollback acme-support --env live --to 3f2c1ab --auto-approve
  reconciler rollback acme-support --env sandbox --to HEAD~1
"""


def _split(args: list[str] | None) -> tuple[str | None, Path]:
    """``[AGENT] [DIR]``: one argument that is not an agent id (``.``, a path) is the directory."""
    args = list(args or ())
    if len(args) > 2:
        raise typer.BadParameter("give at most an agent id and a directory", param_hint="[AGENT] [DIR]")
    if len(args) == 2:
        return args[0], Path(args[1])
    if len(args) == 1 and not re.match(AGENT_ID_PATTERN, args[0]):
        return None, Path(args[0])
    return (args[0] if args else None), Path(".")


def history_command(
    args: Annotated[list[str] | None, typer.Argument(metavar="[AGENT] [DIR]", show_default=False,
                                                     help="Only this agent; the repository (default: .).")] = None,
    env: Annotated[ClientEnv | None, typer.Option("--env", "-e", metavar="ENV", help="Only this environment.")] = None,
    fmt: Annotated[HistoryFormat, typer.Option("--format", "-f", help="Output format.")] = HistoryFormat.TEXT,
) -> None:
    """List what the CLI applied to each page (revision, time, outcome, changed keys). Exit 0."""
    agent, root = _split(args)
    entries = history.read(root, agent, env)
    if fmt is HistoryFormat.JSON:
        typer.echo(json.dumps(to_json(entries), indent=2, ensure_ascii=False))
        return
    if not entries:
        typer.echo("no apply history yet (apply and rollback record it in .reconciler/history/)")
        return
    for e in entries:
        keys = ", ".join(e.changed_keys) or "-"
        extra = (f"; rolled back to {e.rolled_back_to[:12]}" if e.rolled_back_to else "") + \
            (f"; correlation id {e.correlation_id}" if e.correlation_id else "")
        typer.echo(f"{e.agent} / {e.env}  {e.time}  {(e.revision or 'no-git')[:12]}  {e.command} {e.outcome}"
                   f"{'  schema PUT' if e.schema_put else ''}  keys: {keys}{extra}")


def to_json(entries: list[history.Entry]) -> dict:
    return {"format_version": 1, "command": "history", "tool_version": __version__, "created_at": utc_now(),
            "entries": [e.to_json() for e in entries]}


def rollback_command(
    args: Annotated[list[str], typer.Argument(metavar="AGENT [DIR]", show_default=False,
                                              help="The agent; the repository (default: .).")],
    env: Annotated[ClientEnv, typer.Option("--env", "-e", metavar="ENV", help="The environment to roll back.")],
    to: Annotated[str, typer.Option("--to", metavar="REVISION",
                                    help="The git revision whose files to apply (commit id, tag, HEAD~N).")],
    auto_approve: Annotated[bool, typer.Option(
        "--auto-approve", help="Write live without asking (needed in a non-interactive run).")] = False,
    ignore_windows: Annotated[bool, typer.Option(
        "--ignore-windows", help="Write through deny windows that have manualSync: true.")] = False,
    fmt: plan_cli.FormatOpt = plan_cli.ReportFormat.TEXT, api_url: plan_cli.UrlOpt = None,
) -> None:
    """Apply one page as its files were at a git revision; the repository then differs from live (drift)
    until the revert is committed. Exit 0 applied or already so, 1 any error."""
    agent, root = _split(args)
    if agent is None or not re.match(AGENT_ID_PATTERN, agent):
        raise typer.BadParameter("the first argument is the agent id", param_hint="AGENT")
    options = engine.RunOptions(api_url=api_url, ignore_windows=ignore_windows)
    approve: engine.ApproveLive | bool = True if auto_approve else (
        plan_cli.ask_live if plan_cli.interactive() else False)
    done = rollback.run_rollback(root, agent, env, to, options, approve_live=approve,
                                 signals=StopOnSignals(notify=lambda line: typer.echo(line, err=True)))
    typer.echo(formats.render(done.result, fmt.value, command="apply", info=RunInfo(created_at=utc_now())), nl=False)
    plan_cli.explain_refusals(done.result, asked=approve is not True and approve is not False)
    if done.result.ok:
        head = done.head[:12] if done.head else "the working tree"
        typer.echo(f"rollback: {agent}/{env.value} is live as at {done.revision[:12]} ({', '.join(done.files)}); "
                   f"the repository ({head}) now differs from live, so drift reports it until the revert is "
                   "committed", err=True)
    raise typer.Exit(0 if done.result.ok else 1)


def register(app: typer.Typer) -> None:
    app.command("history", epilog=_HISTORY_EPILOG)(history_command)
    app.command("rollback", epilog=_ROLLBACK_EPILOG)(rollback_command)
