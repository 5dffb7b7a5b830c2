"""`reconciler schema settings|policy`: print a JSON Schema of the files users write.

Thin: the schemas live in :mod:`reconciler.checks.schemas`. Exit 0.
"""

from __future__ import annotations

import typer

from reconciler.checks import schemas

schema_app = typer.Typer(name="schema", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                         help="Print the JSON Schema (Draft 7) of reconciler.yaml or of a policy file.")

_EDITORS = """
\b
Editors that use the YAML language server read it through a first line such as
  # yaml-language-server: $schema={ref}

\b
Example:
  reconciler schema {name} > {copy}
"""


def _print(name: str) -> None:
    typer.echo(schemas.render(name), nl=False)


@schema_app.command("settings", epilog=_EDITORS.format(name="settings", copy="schemas/reconciler.schema.json",
                                                           ref="schemas/reconciler.schema.json"))
def settings_command() -> None:
    """Print the JSON Schema of reconciler.yaml (generated from the settings model)."""
    _print("settings")


@schema_app.command("policy", epilog=_EDITORS.format(name="policy", copy="schemas/policy.schema.json",
                                                         ref="../schemas/policy.schema.json"))
def policy_command() -> None:
    """Print the JSON Schema of a policy file (policies/*.yaml)."""
    _print("policy")


def register(app: typer.Typer) -> None:
    """Add the ``schema`` command group."""
    app.add_typer(schema_app, name="schema")
