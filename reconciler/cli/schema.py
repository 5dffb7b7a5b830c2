"""`reconciler schema settings|policy`: print a JSON Schema of the files users write.

Thin: the schemas live in :mod:`reconciler.schemas`. Exit 0.
"""

from __future__ import annotations

import enum
from typing import Annotated

import typer


class SchemaName(enum.StrEnum):
    SETTINGS = "settings"
    POLICY = "policy"


def schema_command(name: Annotated[SchemaName, typer.Argument(
        metavar="settings|policy", help="settings: reconciler.yaml; policy: policies/*.yaml.")]) -> None:
    """Print the JSON Schema (Draft 7) of reconciler.yaml or of a policy file.

    Editors that speak the YAML language server use it through a first line
    such as  # yaml-language-server: $schema=schemas/reconciler.schema.json
    """
    from reconciler import schemas

    typer.echo(schemas.render(name.value), nl=False)


_EPILOG = """
\b
Examples:
  reconciler schema settings > schemas/reconciler.schema.json
  reconciler schema policy > schemas/policy.schema.json
"""


def register(app: typer.Typer) -> None:
    app.command("schema", epilog=_EPILOG)(schema_command)
