"""`reconciler show FILE`: render a saved plan (or a ``--format json`` report) again, in any format.

No API call and no repository: CI plans once (``plan --save-plan plan.json``)
and renders that plan as often as it likes (markdown for the PR comment,
github annotations, text for the log). :mod:`reconciler.report.reader` turns
the file back into report values; :mod:`reconciler.report` renders them.
Exit 0, or 1 when the file cannot be read (missing, corrupt, newer format).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from reconciler.planning import planfile
from reconciler.report import formats, reader
from reconciler.cli.plan import DetailOpt, FormatOpt, OutOpt, ReportFormat

_HELP_EPILOG = """
\b
Examples:
  reconciler plan . --allow-large-change --save-plan plan.json --out plan.txt
  reconciler show plan.json
  reconciler show plan.json --format markdown --out plan.md
  reconciler show plan.json --format github --detail
"""


def show_command(file: Annotated[Path, typer.Argument(metavar="FILE", dir_okay=False,
                                                       help="A plan file (plan --save-plan) or a JSON report "
                                                            "(--format json) of plan, apply or drift.")],
                 fmt: FormatOpt = ReportFormat.TEXT, out: OutOpt = None, detail: DetailOpt = False) -> None:
    """Render a saved plan or JSON report: no API call, no repository. Exit 0, or 1 if FILE cannot be read."""
    doc = planfile.read_json(file)
    value, command, info = reader.read_document(doc, source=str(file))
    text = formats.render(value, fmt.value, command=command, color=False if out is not None else None,
                         info=dataclasses.replace(info, detail=detail))
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    typer.echo(f"show: {command} of {info.created_at or 'unknown time'} rendered as {fmt.value} to {out}")


def register(app: typer.Typer) -> None:
    app.command("show", epilog=_HELP_EPILOG)(show_command)
