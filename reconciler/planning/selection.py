"""Which agents a run covers: all, ``--agent``, narrowed by ``--changed-since`` (git).

Called by :mod:`reconciler.planning.reading` before the first live read, so an
``--agent`` naming no directory and a ``--changed-since`` that names no commit
are refused before any request. ``git`` runs here as a read-only subprocess,
bounded in time; the user's ref only ever reaches git as a resolved commit id.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path, PurePosixPath

from reconciler import errors
from reconciler.model import DesiredState
from reconciler.repository import loader

#: Paths whose changes ``--changed-since`` looks at; policies/settings concern every agent.
WATCHED_PATHS = ("configs", "policies", "reconciler.yaml")


def select_agents(root: Path, desired: DesiredState, agents: tuple[str, ...] = (), *,
                  changed: frozenset[str] | None = None) -> tuple[str, ...]:
    """The agents of this run, sorted: all, or ``agents`` (``--agent``), narrowed by ``changed``.

    "All" includes agent directories the loader refused (named only by a blocking
    finding): the planner reports them as errors, exactly as ``validate`` does.
    ``changed``: :func:`changed_agents` of ``--changed-since`` (None: no narrowing).
    """
    refused = {f.agent for f in desired.findings if f.agent and f.blocks and f.agent not in desired.agents
               and os.path.lexists(root / "configs" / f.agent)}
    known = sorted(set(desired.agents) | refused)
    if agents:
        unknown = [a for a in agents if a not in desired.agents and a not in refused]
        if unknown:
            raise errors.ConfigError(f"unknown agent(s) {', '.join(unknown)}: no configs/<agent> directory "
                                     f"({known_agents(root)})", code="cli.unknown_agent")
        known = sorted(set(agents))
    if changed is not None:
        known = [a for a in known if a in changed]
    return tuple(known)


def known_agents(root: Path, limit: int = 10) -> str:
    """``known: acme-support, bella-pizza-sites, …`` — every agent directory, whatever the run selected."""
    names = loader.agent_names(root)
    if not names:
        return "known: none; configs/ has no agent directory"
    return "known: " + ", ".join(names[:limit]) + (f", … ({len(names)} in all)" if len(names) > limit else "")


def changed_agents(root: Path, ref: str) -> frozenset[str] | None:
    """Agents whose files changed since ``ref``; None when every agent is concerned.

    Compares the working tree (committed, staged, unstaged and untracked files)
    with ``ref``, so a PR checkout and a local edit behave alike. A change under
    ``policies/`` or to ``reconciler.yaml`` concerns every agent.
    """
    commit = resolve_commit(root, ref)
    paths = _git(root, "diff", "--name-only", "--relative", commit, "--", *WATCHED_PATHS)
    paths += _git(root, "ls-files", "--others", "--exclude-standard", "--", *WATCHED_PATHS)
    agents: set[str] = set()
    for line in paths:
        parts = PurePosixPath(line).parts
        if not parts:
            continue
        if parts[0] != "configs":
            return None
        if len(parts) >= 3:          # configs/<agent>/<env>/...; a stray file directly in configs/ is no agent
            agents.add(parts[1])
    return frozenset(agents)


def resolve_commit(root: Path, ref: str) -> str:
    """The commit id ``ref`` names, or a ConfigError: ``ref`` only ever reaches git as a revision.

    ``git rev-parse --verify --end-of-options REF^{commit}``: ``--end-of-options`` stops
    ``--output=FILE`` (or any other option spelling) from being read as an option, and
    ``^{commit}`` accepts branches, tags, ``HEAD~1``, ids… but nothing that is not a commit.
    The resolved hexadecimal id, not the user's text, is what later git commands receive.
    """
    try:
        [commit] = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except (errors.ConfigError, ValueError):
        raise errors.ConfigError(f"--changed-since: {ref!r} is not a commit in this repository "
                                 "(give a branch, tag or commit, e.g. origin/main or HEAD~1)",
                                 code="cli.changed_since") from None
    if not re.fullmatch(r"[0-9a-f]{40,64}", commit):       # pragma: no cover - rev-parse --verify prints an id
        raise errors.ConfigError(f"--changed-since: git gave {commit!r} for {ref!r}", code="cli.changed_since")
    return commit


def _git(root: Path, *args: str) -> list[str]:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise errors.ConfigError(f"--changed-since: cannot run git: {exc}", code="cli.changed_since") from exc
    if proc.returncode != 0:
        message = (proc.stderr.strip().splitlines() or ["git failed"])[0]
        raise errors.ConfigError(f"--changed-since: git {args[0]} failed: {message}", code="cli.changed_since")
    return [line for line in proc.stdout.splitlines() if line.strip()]
