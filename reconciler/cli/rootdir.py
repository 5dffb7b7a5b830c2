"""The repository a command works on: DIR (or the working folder), walked up to its root like git.

One call per command (``directory = rootdir.repository(directory)``) before any
work; see :mod:`reconciler.repository.discover`. When the root is a parent of
the start folder, one line on stderr says which root is used; the text reports
of validate, plan, apply and drift name it in their header line (:func:`shown`).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from reconciler.repository import discover


def repository(directory: Path | None) -> Path:
    """The repository root for DIR (None: the working folder); a ConfigError when there is none."""
    found = discover.find_root(directory)
    if found.walked_up:
        typer.echo(f"repository: {found.root} (found from {found.start.resolve()})", err=True)
    return found.root


def shown(root: Path) -> str:
    """The root as a text report's header line names it (``reconciler plan · repository /abs/path · …``)."""
    return os.path.abspath(root)
