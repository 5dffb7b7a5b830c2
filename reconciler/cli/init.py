"""`reconciler init [DIR]`: scaffold a config repository; with --import, adopt live agents into it.

Thin (STYLE §9): :mod:`reconciler.adoption.init` writes the files,
:mod:`reconciler.adoption.importer` reads live pages. Non-interactive. Exit 0
with a "next steps" list; 1 on a usage error or an agent that could not be imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.adoption import importer, init as scaffolding
from reconciler.errors import ConfigError

_HELP = """Create a config repository: reconciler.yaml (the API target), configs/, the default
policies/, schemas/, .gitignore, .pre-commit-config.yaml (the reconciler-validate hook) and
.github/workflows/ (pr-plan, apply, drift) installing this same release of the tool.

Existing files are kept (and listed) unless --force. With --import ID (repeatable) or
--agents-file, the agents' live pages are imported too, so the first plan is empty.

Exit codes: 0 done, 1 usage error or an agent that could not be imported.

\b
Examples:
  reconciler init "$(mktemp -d)" --local                 # the embedded emulator, no key needed
  reconciler init "$(mktemp -d)" --region us             # https://api.us.poly.ai
  POLYAI_API_KEY=... reconciler init fleet --region eu --import acme-support   # needs a real key
"""


def init_command(
    directory: Annotated[Path, typer.Argument(metavar="DIR", file_okay=False,
                                              help="Where to create the repository (created when missing).")
                         ] = Path("."),
    region: Annotated[str | None, typer.Option("--region", metavar="REGION",
                                               help="us, uk, eu or studio: https://api.REGION.poly.ai")] = None,
    api_url: Annotated[str | None, typer.Option("--api-url", metavar="URL",
                                                help="An https base URL (http only on loopback).")] = None,
    local: Annotated[bool, typer.Option("--local", help="url: local, the embedded emulator.")] = False,
    agents: Annotated[list[str] | None, typer.Option("--import", metavar="ID",
                                                     help="Also import this agent's live pages (repeatable; "
                                                          "POLYAI_API_KEY in the environment).")] = None,
    agents_file: Annotated[Path | None, typer.Option("--agents-file", metavar="FILE",
                                                     help="More agents to import, one per line.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace files that already exist.")] = False,
) -> None:
    try:
        api = scaffolding.target_block(region=region, api_url=api_url, local=local)
    except ValueError as exc:
        raise ConfigError(str(exc), code="usage") from None
    names = list(agents or []) + (importer.read_agents_file(agents_file) if agents_file else [])
    result = scaffolding.scaffold(directory, api, force=force)
    typer.echo(f"init · {directory.resolve()}")
    for rel in result.written:
        typer.echo(f"  wrote {rel}")
    for rel in result.skipped:
        typer.echo(f"  kept  {rel} (exists; --force replaces it)")
    failed = _import(directory, names, force) if names else []
    _next_steps(directory, imported=bool(names) and not failed)
    raise typer.Exit(1 if failed else 0)


def _import(root: Path, names: list[str], force: bool) -> list[str]:
    report = importer.import_live(root, names, force=force)
    for agent in report.agents:
        if agent.error is not None:
            typer.echo(f"error: {agent.agent}: {agent.error}", err=True)
        else:
            typer.echo(f"  imported {agent.agent}: {', '.join(agent.written)}")
    return [a.agent for a in report.agents if a.error is not None]


def _next_steps(root: Path, *, imported: bool) -> None:
    steps = [] if root.resolve() == Path.cwd() else [f"cd {root}"]
    steps.append("export POLYAI_API_KEY=…   (a key that may read and write real-time configs; url: local needs none)")
    if not imported:
        steps.append("reconciler import AGENT…   (or write configs/<agent>/<env>/schema.yaml and values.yaml)")
    steps += ["reconciler validate && reconciler plan",
              "git init && git add -A && git commit -m 'reconciler: initial repository'",
              "in GitHub: set the variable RECONCILER_API_URL, and the secret POLYAI_API_KEY in the "
              "Environments plan, drift, staging, live-plan and live (not a repository secret)",
              "optional: pre-commit install   (validate before every commit)"]
    typer.echo("next steps:")
    for number, step in enumerate(steps, 1):
        typer.echo(f"  {number}. {step}")


def register(app: typer.Typer) -> None:
    """Add ``init`` to the app."""
    app.command("init", help=_HELP, no_args_is_help=False)(init_command)
