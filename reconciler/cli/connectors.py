"""`reconciler connectors [DIR]`: list each agent's telephony connectors per environment.

Thin (STYLE §9): :mod:`reconciler.adoption.connectors` reads (one GET per agent) and
renders. The agents are ``--agent`` (repeatable) or every agent directory of
``configs/``. Exit 0 when every agent was read, 1 otherwise (the others are
still listed).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from reconciler.adoption import connectors
from reconciler.cli import rootdir
from reconciler.repository import loader
from reconciler.errors import ConfigError


class ListFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


_HELP = """List each agent's telephony connectors per environment: name, variant, languages
(ASR → TTS), voice and whether handoff is on. One GET per agent.

Exit codes: 0 every agent read, 1 any agent could not be read.

\b
Examples:
  reconciler connectors .
  reconciler connectors . --agent acme-support --format json
"""


def connectors_command(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="The config repository.", exists=True,
                                              file_okay=False, dir_okay=True)] = Path("."),
    agent: Annotated[list[str] | None, typer.Option("--agent", "-a", metavar="ID",
                                                    help="Only this agent (repeatable; default: every agent "
                                                         "in configs/).")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")] = ListFormat.TEXT,
    api_url: Annotated[str | None, typer.Option("--api-url", metavar="URL",
                                                help="API base URL or 'local' (beats RECONCILER_API_URL and "
                                                     "reconciler.yaml).")] = None,
) -> None:
    directory = rootdir.repository(directory)
    known = loader.agent_names(directory)
    unknown = [a for a in agent or () if a not in known]
    if unknown:                             # as plan says: auto-create would otherwise make it up
        raise ConfigError(f"unknown agent(s) {', '.join(repr(a) for a in unknown)}: no configs/<agent> directory "
                          f"(known: {', '.join(known) or 'none'})", code="cli.unknown_agent")
    agents = list(agent or ()) or sorted(loader.load_repository(directory).agents)
    if not agents:
        raise ConfigError(f"no agents: {directory}/configs has no agent directory and no --agent was given",
                          code="usage")
    listing = connectors.list_connectors(directory, agents, api_url=api_url)
    text = connectors.render_json(listing) if fmt is ListFormat.JSON else connectors.render_text(listing)
    typer.echo(text, nl=False)
    raise typer.Exit(0 if listing.ok else 1)


def register(app: typer.Typer) -> None:
    """Add ``connectors`` to the app."""
    app.command("connectors", help=_HELP, no_args_is_help=False)(connectors_command)
