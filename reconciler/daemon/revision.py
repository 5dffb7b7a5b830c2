"""The revision a snapshot was read from: commit id, subject, author, time — and whether it is all committed.

Written by :mod:`reconciler.daemon.gitsource` (a sidecar file beside every
tree it materialises) and read by the daemon's repository loads through
:func:`describe`: a materialised tree is described by its sidecar; a folder
(directory mode, git-sync) by ``git log -1`` and ``git status`` when it is a
git work tree, with ``dirty`` set when files the reconciler reads
(``configs/``, ``policies/``, ``reconciler.yaml``) differ from that commit.
Also the one place that strips credentials from a source URL for display.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: Beside a materialised tree ``trees/<id>``: ``trees/<id>.revision.json``.
SIDECAR_SUFFIX = ".revision.json"
#: What the reconciler reads from a checkout (uncommitted changes elsewhere do not matter).
READ_PATHS = ("configs", "policies", "reconciler.yaml")
#: ``git log --format=`` of one commit: id, subject, author, commit time (NUL-separated).
LOG_FORMAT = "%H%x00%s%x00%an <%ae>%x00%cI"


@dataclasses.dataclass(frozen=True)
class Revision:
    id: str
    """The full commit id."""
    subject: str
    author: str
    """``Name <email>`` as git records it."""
    time: str
    """Commit time, ISO 8601."""
    dirty: bool = False
    """Directory mode only: files the reconciler reads differ from the commit (uncommitted changes)."""

    @property
    def short(self) -> str:
        return self.id[:12]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "subject": self.subject, "author": self.author, "time": self.time,
                "dirty": self.dirty}

    @classmethod
    def from_json(cls, data: Any) -> "Revision | None":
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        return cls(data["id"], str(data.get("subject", "")), str(data.get("author", "")),
                   str(data.get("time", "")), bool(data.get("dirty", False)))


def parse_log_line(text: str) -> Revision | None:
    """A :class:`Revision` from ``git log -1 --format=`` :data:`LOG_FORMAT` output."""
    parts = text.rstrip("\n").split("\x00")
    return Revision(*parts[:4]) if len(parts) >= 4 and parts[0] else None



def sidecar_of(tree: Path) -> Path:
    return tree.parent / (tree.name + SIDECAR_SUFFIX)


def describe(real: Path) -> Revision | None:
    """The revision of a checkout: its sidecar (git source), else git's HEAD (+ dirty); None otherwise."""
    sidecar = sidecar_of(real)
    if sidecar.is_file():
        try:
            return Revision.from_json(json.loads(sidecar.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
    head = _git(real, "log", "-1", f"--format={LOG_FORMAT}", "HEAD")
    revision = parse_log_line(head) if head else None
    if revision is None:
        return None
    status = _git(real, "status", "--porcelain", "--untracked-files=all", "--", *READ_PATHS)
    return dataclasses.replace(revision, dirty=bool(status and status.strip()))


def _git(cwd: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def strip_credentials(url: str) -> str:
    """``https://user:token@host/x.git`` -> ``https://host/x.git``; scp-like and paths are kept as they are."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if not parts.scheme or parts.hostname is None:
        return url
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
