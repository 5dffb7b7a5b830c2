"""Finding the config repository from any folder inside it, the way git finds ``.git``.

Called by every command that reads a repository (through ``cli/rootdir.py``)
before anything else happens. A repository root is the nearest folder, from
the start folder upwards, holding ``reconciler.yaml`` or ``configs/``. When
there is none the command stops with a :class:`~reconciler.errors.ConfigError`
naming the folder it searched from, having written nothing anywhere (DESIGN.md
§4): no ``.reconciler/`` is ever created outside a repository root.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from reconciler.errors import ConfigError

#: What makes a folder a repository root (either is enough).
MARKERS = ("reconciler.yaml", "configs")


@dataclasses.dataclass(frozen=True)
class Found:
    """The root a command uses and where the search started."""

    root: Path
    """The repository root: the start folder as given when it is a root itself, else an absolute path."""
    start: Path
    """The folder the search started from (DIR, or the working folder)."""

    @property
    def walked_up(self) -> bool:
        """True when the root is a parent of the start folder (worth telling the user)."""
        return self.root is not self.start


def is_root(folder: Path) -> bool:
    """True when ``folder`` holds ``reconciler.yaml`` (a file) or ``configs/`` (a folder)."""
    return (folder / MARKERS[0]).is_file() or (folder / MARKERS[1]).is_dir()


def find_root(start: Path | None = None) -> Found:
    """The nearest repository root at or above ``start`` (default: the working folder)."""
    start = Path(".") if start is None else Path(start)
    if is_root(start):
        return Found(root=start, start=start)
    try:
        here = Path(os.path.abspath(start))
    except OSError:                          # the working folder was deleted under us
        raise ConfigError("no config repository found: the working folder no longer exists",
                          code="repo.not_found") from None
    for folder in here.parents:
        if is_root(folder):
            return Found(root=folder, start=start)
    raise ConfigError(f"no config repository found: neither {here} nor any folder above it holds "
                      f"{MARKERS[0]} or {MARKERS[1]}/ (run the command inside a repository, give its "
                      "folder, or create one with `reconciler init`)", code="repo.not_found")
