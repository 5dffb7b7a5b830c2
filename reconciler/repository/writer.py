"""Writing files into the config repository: inside it, atomically, never over a file unasked.

Used by the adoption commands (:mod:`reconciler.adoption.importer`, :mod:`reconciler.adoption.adk`,
:mod:`reconciler.adoption.promote`); the rest of the reconciler never writes the
repository. Every path is checked before anything is created: an agent id
must be an agentId, and no existing directory on the way may resolve outside
the repository (a ``configs`` symlink pointing elsewhere is refused).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.model import AGENT_ID_PATTERN, ClientEnv

CONFIGS_DIR = "configs"
MANAGED_FILES = ("schema.yaml", "schema.yml", "values.yaml", "values.yml")
_AGENT_ID = re.compile(AGENT_ID_PATTERN)


def check_agent_id(agent: str) -> str:
    if not _AGENT_ID.match(agent or ""):
        raise ConfigError(f"{agent!r} is not an agentId (letters, digits and '-' only)", code="cli.bad_agent_id")
    return agent


def env_dir(agent: str, env: ClientEnv | str) -> str:
    """``configs/<agent>/<env>`` (relative, forward slashes)."""
    return f"{CONFIGS_DIR}/{check_agent_id(agent)}/{ClientEnv(env).value}"


def inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing a path whose existing part resolves outside ``root``."""
    Path(root).mkdir(parents=True, exist_ok=True)     # importing into a new repository creates it
    path = Path(root) / rel
    real_root = os.path.realpath(root)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    real = os.path.realpath(probe)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ConfigError("resolves outside the repository; refusing to write there",
                          file=rel, code="path.symlink_escape")
    return path


def existing(root: Path, rels: Iterable[str]) -> list[str]:
    """Those of ``rels`` that exist (as anything) under ``root``."""
    return [rel for rel in rels if os.path.lexists(Path(root) / rel)]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename.

    A reader sees the old file or the new one, never a part. There is no fsync per
    file: it cost ~5 ms each (5 s of a 150-agent import) and a repository's
    durability is git's business; a crash loses at most the latest writes, whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_files(root: Path, files: Mapping[str, str], *, force: bool, replace_dirs: Iterable[str] = ()) -> list[str]:
    """Write ``{relative path: text}`` under ``root``; all or nothing as far as checks go.

    Refuses (ConfigError, nothing written) when any target — or any other
    managed file (``schema``/``values`` ``.yaml``/``.yml``) in ``replace_dirs``
    — already exists, unless ``force``; with ``force``, those other managed
    files are removed so the directory holds exactly what was written.
    """
    paths = {rel: inside(root, rel) for rel in files}
    others = [f"{d}/{name}" for d in replace_dirs for name in MANAGED_FILES if f"{d}/{name}" not in files]
    clash = existing(root, list(files) + others)
    if clash and not force:
        # The message names every file; ``file`` is left unset so the path is not printed twice.
        raise ConfigError(f"{', '.join(clash)} already exist(s); nothing written (use --force to overwrite)",
                          code="import.exists")
    for rel, text in files.items():
        write_atomic(paths[rel], text)
    for rel in existing(root, others):
        inside(root, rel).unlink()
    return list(files)
