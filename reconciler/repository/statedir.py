"""``.reconciler/``: the repository's local state folder, which ignores itself.

Every writer of local state calls :func:`ensure` (or :func:`ignore_if_inside`
for a file the user named, such as ``plan --save-plan .reconciler/p.json``)
before its first write: the cache (``repository/cache.py``), the ``url: local``
database (``api/transport.py``), the plan key (``planning/planfile.py``), the
apply lock (``apply/lock.py``) and the daemon's state record. The first of them
writes ``.reconciler/.gitignore`` holding ``*``, so ``git add -A`` never stages
the plan-signing key or the emulator's database (as pytest's and ruff's caches
do for themselves). An existing ``.gitignore`` is left as it is, and one that
is a symlink is never followed.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The state folder's name, at the repository root.
NAME = ".reconciler"
GITIGNORE = ("# rtc-reconciler's local state (cache, local emulator, plan key, lock): never commit it\n"
             "*\n")


def path(root: Path) -> Path:
    """``<root>/.reconciler`` (not created)."""
    return Path(root) / NAME


def ensure(root: Path) -> Path:
    """Create ``<root>/.reconciler`` when missing, with its ``.gitignore``; returns the folder."""
    folder = path(root)
    folder.mkdir(parents=True, exist_ok=True)
    write_gitignore(folder)
    return folder


def ignore_if_inside(file: Path) -> None:
    """When ``file`` is under a ``.reconciler`` folder, make sure that folder ignores itself.

    Called just before ``file`` is written (its parent folders may not exist yet: they are created).
    """
    absolute = Path(os.path.abspath(file))
    for folder in absolute.parents:
        if folder.name == NAME:
            folder.mkdir(parents=True, exist_ok=True)
            write_gitignore(folder)
            return


def write_gitignore(folder: Path) -> None:
    """``folder/.gitignore`` with ``*`` unless one exists (created exclusively, never through a symlink)."""
    try:
        fd = os.open(folder / ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(GITIGNORE)
