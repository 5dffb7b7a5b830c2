"""`reconciler validate`: offline checks of a config repository, findings at file:line.

Thin on purpose (STYLE §9): :func:`reconciler.checks.twoprocesses.validate_repository`
does the work, :mod:`reconciler.report.findings` renders. Exit 0 when nothing
blocks (warnings and waived errors allowed), 1 on any error.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from reconciler.checks import verdict as blocking, twoprocesses
from reconciler.model import ClientEnv, DesiredState
from reconciler.cli import outputs, rootdir
from reconciler.report import findings as render


#: ``--no-cache`` of every command that reads the repository (validate, plan, apply, drift).
NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="Do not read or write the on-disk cache of parse results (.reconciler/cache/); "
                       "same as RECONCILER_NO_CACHE=1. The results are the same either way.")]


class ValidateFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


_HELP = """Check a config repository offline: YAML safety, Draft 7 schemas, values vs schema,
reconciler.yaml and policies. Every problem is reported at its file:line.

Exit codes: 0 valid (warnings allowed), 1 any error.

\b
Examples:
  reconciler validate                       # the current directory
  reconciler validate . --agent acme-support --env live  # one agent, one environment
  reconciler validate . --format json --out validate.json
  reconciler validate . --format github     # annotations on a pull request's diff
"""


def validate_command(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="The config repository.", exists=True, file_okay=False,
                                                  dir_okay=True)] = Path("."),
    agent: Annotated[list[str] | None, typer.Option("--agent", "-a", metavar="ID",
                                                    help="Only this agent (repeatable).")] = None,
    env: Annotated[list[ClientEnv] | None, typer.Option(
        "--env", "-e", metavar="ENV", help="Only this environment: sandbox, pre-release or live (repeatable).")] = None,
    fmt: Annotated[ValidateFormat, typer.Option("--format", "-f", help="Report format.")] = ValidateFormat.TEXT,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                             help="Write the report to FILE; stdout gets the summary line.")] = None,
    no_cache: NoCacheOpt = False,
) -> None:
    outputs.check_writable(out)
    directory = rootdir.repository(directory)
    desired = twoprocesses.validate_repository(directory, agents=agent or None,
                                             envs=[e.value for e in env] if env else None, use_cache=not no_cache)
    verdict = blocking.decide(desired)      # the same decision plan/apply/drift block on
    header = f"reconciler validate · repository {rootdir.shown(directory)}"   # the root discovery found
    _report(desired, fmt, out, ok=verdict.ok, header=header)
    raise typer.Exit(0 if verdict.ok else 1)


def _summary(desired: DesiredState, ok: bool) -> str:
    envs = sum(len(a.envs) for a in desired.agents.values())
    counts = render.summary_line(desired.findings)
    verdict = "valid" if ok else "invalid"
    agents = len(desired.agents)
    return (f"{verdict}: {agents} agent{'' if agents == 1 else 's'}, "
            f"{envs} environment{'' if envs == 1 else 's'} checked; {counts}")


def _report(desired: DesiredState, fmt: ValidateFormat, out: Path | None, *, ok: bool, header: str) -> None:
    summary = _summary(desired, ok)
    if fmt is ValidateFormat.JSON:
        text = render.render_json(desired.findings, command="validate")
    elif fmt is ValidateFormat.GITHUB:
        text = render.render_github(desired.findings)
    elif out is not None:
        text = render.render_text(desired.findings, summary=summary, header=header)
    else:
        render.print_text(desired.findings, sys.stdout, summary=summary, header=header)
        return
    if out is None:
        sys.stdout.write(text)
        return
    if not outputs.write_report(text, out, summary):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the app."""
    app.command("validate", help=_HELP, no_args_is_help=False)(validate_command)
