"""What git knows about the repository: HEAD, and when each file was last committed.

Called by the plan file (``repository.revision``) and the drift report (who
moved: :mod:`reconciler.planning.drift`). Read-only ``git`` subprocesses, each bounded
in time; no git, no repository or no history is an answer (``None``), never an
error: these facts only decorate a report.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

_TIMEOUT = 60


def _run(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def revision(root: Path) -> str | None:
    """``git rev-parse HEAD``, or None (not a git work tree, no commit yet, no git)."""
    out = _run(root, "rev-parse", "--verify", "--quiet", "HEAD")
    return out.strip() if out and out.strip() else None


def last_commit_times(root: Path, pathspec: str = "configs") -> dict[str, int] | None:
    """``{path relative to root: committer time (unix seconds) of the last commit touching it}``.

    One ``git log`` walk for the whole ``pathspec`` (not one process per file).
    None when ``root`` is not in a git work tree. Paths are relative to ``root``
    even when the repository's top level is above it.
    """
    if _run(root, "rev-parse", "--show-prefix") is None:
        return None
    out = _run(root, "log", "--format=%x00%ct", "--name-only", "--no-renames", "--relative", "--", pathspec)
    if out is None:
        return {}
    times: dict[str, int] = {}
    current = 0
    for line in out.splitlines():
        if line.startswith("\x00"):
            current = int(line[1:] or 0)
        elif line.strip():
            times.setdefault(line.strip(), current)
    return times


def uncommitted(root: Path, pathspec: str = "configs") -> set[str] | None:
    """Paths (relative to root) with changes not committed (staged, unstaged or untracked); None: no git."""
    out = _run(root, "status", "--porcelain", "--untracked-files=all", "--no-renames", "--", pathspec)
    if out is None:
        return None
    prefix = (_run(root, "rev-parse", "--show-prefix") or "").strip()
    paths = set()
    for line in out.splitlines():
        path = line[3:].strip().strip('"')
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
        paths.add(path)
    return paths
