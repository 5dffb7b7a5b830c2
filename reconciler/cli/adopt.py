"""`reconciler import | export | promote`: bring an existing fleet into the repository, and back out.

Thin (STYLE §9): :mod:`reconciler.adoption.importer` (import from live),
:mod:`reconciler.adoption.adk` (ADK layout in and out) and :mod:`reconciler.adoption.promote`
do the work; this module parses options, prints what was written and returns
the exit code: 0 done, 1 any failure (an unreadable agent, files in the way
without ``--force``, a refused promotion).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from reconciler import settings as settings_module
from reconciler.adoption import adk, importer as adoption, promote
from reconciler.checks import validation
from reconciler.cli import rootdir
from reconciler.errors import ConfigError
from reconciler.model import AGENT_ID_PATTERN, ClientEnv
from reconciler.report import findings as render

ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")]
UrlOpt = Annotated[str | None, typer.Option("--api-url", metavar="URL",
                                            help="API base URL or 'local' (beats RECONCILER_API_URL and "
                                                 "reconciler.yaml).")]

_IMPORT_HELP = """Write live config pages (or an ADK project) into the repository as YAML.

One GET per agent. For each environment with a schema or values live, writes
configs/<agent>/<env>/schema.yaml and values.yaml so that a plan right after is
in sync. Sensitive values (x-sensitive / writeOnly) are not written: the key is
left out with a comment and stays in live only. Existing files are never
overwritten without --force. Every argument is an agent id; the repository is
--repo DIR (created when missing) or, without it, the repository the working
folder is in.
Afterwards the written agents are validated and the findings printed (for
information: they do not fail the import).

Exit codes: 0 every agent imported, 1 any agent failed (the others are written).

\b
Examples (any non-empty POLYAI_API_KEY for this served emulator; a real API needs a real key):
  reconciler emulator --port 8080 --auto-create &
  reconciler apply . --api-url http://127.0.0.1:8080 --auto-approve --allow-large-change
  ADOPTED=$(mktemp -d)            # a new directory each time: an import never overwrites without --force
  reconciler import acme-support bella-pizza-sites --repo "$ADOPTED" --api-url http://127.0.0.1:8080
  reconciler import northwind-transfers -C "$ADOPTED" --env live --api-url http://127.0.0.1:8080

\b
From an ADK project:
  ADK=$(mktemp -d)/acme-support
  reconciler export . --adk "$ADK" --agent acme-support
  reconciler import --from-adk "$ADK" --repo "$(mktemp -d)"
"""


RepoOpt = Annotated[Path | None, typer.Option(
    "--repo", "-C", metavar="DIR", file_okay=False,
    help="The repository to write into (created when missing; default: the repository the working folder "
         "is in).")]


def _agents_and_root(args: list[str], repo: Path | None) -> tuple[list[str], Path]:
    """(agents, the repository): every positional argument is an agent id; the repository is --repo or found."""
    for arg in args:
        if not re.match(AGENT_ID_PATTERN, arg):
            hint = f"; to write into {arg!r}, give --repo {arg}" if Path(arg).is_dir() or "/" in arg \
                or arg.startswith(".") else ""
            raise ConfigError(f"{arg!r} is not an agent id{hint}", code="usage")
    if repo is not None:
        if repo.exists() and not repo.is_dir():
            raise ConfigError(f"--repo {str(repo)!r} is not a directory", code="usage")
        return args, repo                          # a new directory is created by the import
    return args, rootdir.repository(None)


def import_command(
    args: Annotated[list[str] | None, typer.Argument(metavar="AGENT...", show_default=False,
                                                     help="Agent ids to import.")] = None,
    repo: RepoOpt = None,
    env: Annotated[list[ClientEnv] | None, typer.Option("--env", "-e", metavar="ENV",
                                                        help="Only this environment (repeatable).")] = None,
    agents_file: Annotated[Path | None, typer.Option("--agents-file", metavar="FILE",
                                                     help="More agent ids, one per line (# comments).")] = None,
    force: ForceOpt = False,
    api_url: UrlOpt = None,
    from_adk: Annotated[Path | None, typer.Option("--from-adk", metavar="PATH",
                                                  help="Import an ADK project instead of live pages.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", metavar="ID",
                                              help="With --from-adk: the agent id (default: project.yaml's "
                                                   "project_id, else the project directory's name).")] = None,
) -> None:
    names, root = _agents_and_root(list(args or []), repo)
    if from_adk is not None:
        if names:
            raise ConfigError("with --from-adk, give no AGENT (the agent is --agent ID)", code="usage")
        result = adk.import_adk(from_adk, root, agent=agent, force=force)
        _print_agent(result)
        _validate(root, [result.agent])
        raise typer.Exit(0)
    if agent is not None:
        names.append(agent)
    if agents_file is not None:
        names += adoption.read_agents_file(agents_file)
    if not names:
        raise ConfigError("name at least one agent to import (AGENT…, --agents-file or --from-adk)", code="usage")
    report = adoption.import_live(root, names, envs=tuple(env or ()), api_url=api_url, force=force)
    typer.echo(f"import · target {report.target}")
    for result in report.agents:
        _print_agent(result)
    _validate(root, list(report.imported))
    failed = [a.agent for a in report.agents if a.error is not None]
    typer.echo(f"imported {len(report.imported)} agent(s)" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    raise typer.Exit(1 if failed else 0)


def _print_agent(result: adoption.AgentImport) -> None:
    if result.error is not None:
        typer.echo(f"error: {result.agent}: {result.error}", err=True)
        return
    typer.echo(f"{result.agent}: wrote {', '.join(result.written)}")
    if result.kept_in_live:
        typer.echo(f"  kept in live only (sensitive or owned by live, not written): {', '.join(result.kept_in_live)}")
    for warning in result.warnings:
        typer.echo(f"  warning: {warning}", err=True)


def _validate(root: Path, agents: list[str]) -> None:
    if not agents:
        return
    desired = validation.validate_repository(root, agents=agents)
    own = [f for f in desired.findings if f.agent in agents or f.agent is None]
    if own:
        typer.echo("validate (information: the import itself succeeded):")
        typer.echo(render.render_text(own).rstrip("\n"))
    else:
        typer.echo(f"validate: {len(agents)} imported agent(s) valid")


_EXPORT_HELP = """Write an agent's pages as an ADK project: DIR/project.yaml and
DIR/real_time_configuration/{draft_and_sandbox,pre_release,live}/{schema.json,data.json}
(both files per environment, JSON with sorted keys as the ADK writes it), from the repository.

Exit codes: 0 written, 1 error (files with other content exist without --force, invalid files).

\b
Examples:
  reconciler export --adk /tmp/adk/acme-support --agent acme-support
  reconciler export . --adk /tmp/adk/acme-support --agent acme-support --force
  reconciler export . --adk /tmp/adk/acme-support --agent acme-support --account acct-123 --force
"""


def export_command(
    repo: Annotated[Path, typer.Argument(metavar="REPO", help="The config repository.", exists=True,
                                         file_okay=False, dir_okay=True)] = Path("."),
    adk_dir: Annotated[Path, typer.Option("--adk", metavar="DIR", help="The ADK project directory to write.")] = ...,
    agent: Annotated[str, typer.Option("--agent", "-a", metavar="ID", help="The agent to export.")] = ...,
    account: Annotated[str, typer.Option("--account", metavar="ID",
                                         help="project.yaml's account_id (default: empty).")] = "",
    force: ForceOpt = False,
) -> None:
    repo = rootdir.repository(repo)
    written = adk.export_adk(repo, agent, adk_dir, force=force, account=account)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"exported {agent}: {len(written)} file(s)")


_PROMOTE_HELP = """Copy an agent's schema and values from one environment directory to the next, in the
repository: a change to review in a pull request, nothing is sent to the API. Refuses to skip an
environment in promotion order (environments: of reconciler.yaml) unless --force.

Exit codes: 0 copied, 1 error.

\b
Examples:
  reconciler promote acme-support --from sandbox --to pre-release
  reconciler promote acme-support --from pre-release --to live --keys opening_hours,fallback_number
"""


def promote_command(
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="The agent (configs/<AGENT>).")],
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="The config repository.", exists=True,
                                              file_okay=False, dir_okay=True)] = Path("."),
    source: Annotated[ClientEnv, typer.Option("--from", metavar="ENV", help="Environment to copy from.")] = ...,
    target: Annotated[ClientEnv, typer.Option("--to", metavar="ENV", help="Environment to copy to.")] = ...,
    keys: Annotated[str | None, typer.Option("--keys", metavar="K,…",
                                             help="Only these top-level values keys (comma-separated).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Allow skipping an environment (or going backwards).")] = False,
) -> None:
    directory = rootdir.repository(directory)
    order = settings_module.load_settings(directory, require_target=False).promotion_order
    selected = [k.strip() for k in (keys or "").split(",") if k.strip()]
    if keys is not None and not selected:
        raise ConfigError("--keys names no key", code="usage")
    result = promote.promote(directory, agent, source, target, keys=selected, force=force, order=order)
    for rel in result.written:
        typer.echo(f"wrote {rel}")
    what = f"keys {', '.join(result.keys)}" if selected else "schema and values"
    typer.echo(f"promoted {agent} {source.value} → {target.value} ({what}); review the change and commit it")


def register(app: typer.Typer) -> None:
    """Add ``import``, ``export`` and ``promote`` to the app."""
    app.command("import", help=_IMPORT_HELP, no_args_is_help=False)(import_command)
    app.command("export", help=_EXPORT_HELP)(export_command)
    app.command("promote", help=_PROMOTE_HELP)(promote_command)
