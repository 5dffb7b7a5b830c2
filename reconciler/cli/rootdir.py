"""The repository a command works on: DIR (or the working folder), walked up to its root like git.

One call per command (``directory = rootdir.repository(directory)``) before any
work; see :mod:`reconciler.repository.discover`. When the root is a parent of
the start folder, one line on stderr says which root is used.
"""

from __future__ import annotations

from pathlib import Path

import typer

from reconciler.repository import discover


def repository(directory: Path | None) -> Path:
    """The repository root for DIR (None: the working folder); a ConfigError when there is none."""
    found = discover.find_root(directory)
    if found.walked_up:
        typer.echo(f"repository: {found.root} (found from {found.start.resolve()})", err=True)
    return found.root
