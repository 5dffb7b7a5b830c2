"""Output targets of the commands (``--out``, ``--save-plan``): checked before any work, written safely.

Called by ``cli/plan.py`` and ``cli/validate.py``. A report that cannot be
written must not be discovered after the writes were sent (``apply --out
/read-only/x``): :func:`check_writable` runs before the first request and
fails the command as a usage error (exit 1, nothing sent). :func:`write_report`
still never loses a report: if the file cannot be written after all (the disk
filled up meanwhile), the report goes to stdout and the error is said on stderr.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer

from reconciler import interruption
from reconciler.errors import ConfigError
from reconciler.repository import statedir


def check_writable(path: Path | None, flag: str = "--out") -> None:
    """Raise a ConfigError when ``path`` could not be written (a directory, under a file, a read-only place)."""
    if path is None:
        return
    try:
        if path.is_dir():
            raise ConfigError(f"{flag} {path}: is a directory; give a file name", code="cli.output")
        if path.exists():
            with open(path, "ab"):           # opens for writing without changing a byte
                pass
            return
        # Missing directories are created when the file is written: the nearest one that exists decides.
        parent = path.parent if str(path.parent) else Path(".")
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise ConfigError(f"{flag} {path}: {parent} is not a directory", code="cli.output")
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".reconciler-check-"):
            pass
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot write there ({exc.strerror or type(exc).__name__})",
                          code="cli.output") from None


def write_report(text: str, out: Path, summary: str) -> bool:
    """Write ``text`` to ``out`` and print ``summary``; on failure print the report itself. True if written."""
    try:
        statedir.ignore_if_inside(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot write {out} ({exc.strerror or type(exc).__name__}); the report follows "
                   "on stdout", err=True)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return False
    interruption.note_file(out)
    typer.echo(summary)
    return True
