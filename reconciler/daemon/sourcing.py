"""The daemon's source as its loop sees it: git mode's revisions, directory mode's ``HEAD`` and uncommitted changes.

Called by :mod:`reconciler.daemon.loop`. In git mode the loop asks
:class:`~reconciler.daemon.gitsource.GitSource` for revisions and reloads only
the agents a commit touched (:func:`agents_touched`, :func:`load_revision`);
in directory mode it describes the folder after each load
(:func:`reconciler.daemon.revision.describe`) and says loudly when what it
applies is not committed (:func:`note_uncommitted`). The metrics collector
here reads the board at scrape time, like the other gauges.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler import errors, settings as settings_module
from reconciler.daemon import repository
from reconciler.daemon.gitsource import GitOptions, GitSource, SourceError
from reconciler.daemon.repository import Snapshot
from reconciler.daemon.revision import Revision, describe
from reconciler.daemon.sharding import Shard
from reconciler.daemon.status import Board
from reconciler.daemon.watcher import agents_of


def configured(root: Path) -> GitOptions | None:
    """``source:`` of DIR's own reconciler.yaml (git mode without ``--git``); None when absent or invalid."""
    problems, parsed = settings_module.read_settings_file(root)
    if problems or parsed is None or parsed.source is None:
        return None
    source = parsed.source
    interval = settings_module.parse_duration(source.interval, "source.interval") if source.interval else 60.0
    return GitOptions(url=source.git, branch=source.branch or "main", interval=interval)


async def open_git(options: GitOptions, directory: Path, board: Board, log: logging.Logger) -> GitSource:
    """The git source, fetched once: its first tree is checked out (or the last one, if the fetch fails)."""
    git = GitSource(options, directory)
    board.source = git.status
    try:
        await asyncio.to_thread(git.sync)
    except SourceError as exc:
        if git.current_id() is None:
            raise errors.ReconcilerError(f"cannot fetch {git.status.url} ({options.branch}): {exc}") from None
        log.error(f"fetching {git.status.url} failed: {exc}; starting from the last revision fetched",
                  extra={"event": "fetch_failed", "url": git.status.url})
    await asyncio.to_thread(git.prune)              # trees left by an earlier run
    return git


def use(board: Board, log: logging.Logger, snapshot: Snapshot, directory_mode: bool) -> None:
    """Note the revision of the snapshot now being applied (directory mode: say so when it is not committed)."""
    was, board.applying = board.applying, snapshot.source_revision
    board.revision = snapshot.revision
    if directory_mode:
        board.source = DirectoryStatus(snapshot.source_revision)
        note_uncommitted(log, snapshot.source_revision, was)


def edited(snapshot: Snapshot) -> Snapshot:
    """Directory mode, files edited in a git work tree: until ``git status`` says otherwise, they are uncommitted."""
    revision = snapshot.source_revision
    if revision is None or revision.dirty:
        return snapshot
    return dataclasses.replace(snapshot, source_revision=dataclasses.replace(revision, dirty=True))


def agents_touched(paths: Iterable[str]) -> set[str] | None:
    """Agents whose files a commit changed; None when it concerns every agent (policies, reconciler.yaml)."""
    base = Path("/")
    return agents_of({str(base / p) for p in paths}, base)


async def load_full(git: GitSource, shard: Shard, options: repository.Options, previous) -> Snapshot:
    """Git mode: the whole tree ``current`` points to, kept from being rewritten while it is read."""
    with git.trees.reading() as real:
        return await asyncio.to_thread(repository.load_full, real, shard, options, previous)


async def load_revision(git: GitSource, old: Snapshot, agents: Iterable[str], shard: Shard) -> Snapshot:
    """``old`` moved onto the tree ``current`` points to, with only ``agents`` read again.

    The other agents' files are identical in both trees (the commit did not touch them), so
    their desired state is kept; the snapshot's root, settings and revision become the new tree's.
    """
    with git.trees.reading() as real:
        return await asyncio.to_thread(_moved, old, real, agents, shard)


def _moved(old: Snapshot, real: Path, agents: Iterable[str], shard: Shard) -> Snapshot:
    moved = dataclasses.replace(old, real_root=real, settings=dataclasses.replace(old.settings, root=real),
                                desired=dataclasses.replace(old.desired, root=real))
    new = repository.load_agents(moved, real, agents, shard)
    revision = describe(real)
    return dataclasses.replace(new, revision=revision.id if revision else None, source_revision=revision)


@dataclasses.dataclass
class DirectoryStatus:
    """``/status``'s ``source`` in directory mode: the folder's git ``HEAD`` and whether it is all committed."""

    revision: Revision | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": "directory", "url": None, "branch": None,
                "revision": self.revision.to_json() if self.revision else None,
                "fetched_at": None, "last_error": None,
                "uncommitted": bool(self.revision and self.revision.dirty)}


def note_uncommitted(log: logging.Logger, revision: Revision | None, was: Revision | None) -> None:
    """A warning whenever the daemon applies files that differ from the folder's HEAD (and when that ends)."""
    if revision is not None and revision.dirty:
        log.warning(f"applying UNCOMMITTED changes: configs/, policies/ or reconciler.yaml differ from HEAD "
                    f"{revision.short} ({revision.subject}); commit them, or run with --git to apply commits only",
                    extra={"event": "uncommitted", "revision": revision.id})
    elif was is not None and was.dirty and revision is not None:
        log.info(f"the folder matches HEAD {revision.short} again", extra={"event": "committed",
                                                                           "revision": revision.id})


class SourceCollector(Collector):
    """``reconciler_source_*`` metrics, read from the board at scrape time."""

    def __init__(self, board: Board) -> None:
        self._board = board

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("reconciler_source_revision_info", "The revision being applied (value 1)",
                                 labels=["revision", "dirty"])
        applying = self._board.applying
        if applying is not None:
            info.add_metric([applying.id, "true" if applying.dirty else "false"], 1)
        yield info
        gate = self._board.gate
        yield GaugeMetricFamily("reconciler_revision_held", "1 while a revision is held by the blast radius",
                                value=1 if gate is not None and gate.held is not None else 0)
        status = getattr(self._board.source, "fetches", None)
        if status is not None:
            source = self._board.source
            yield CounterMetricFamily("reconciler_source_fetches", "git fetches of the source (interval, "
                                      "webhook and start)", value=source.fetches)
            yield GaugeMetricFamily("reconciler_source_last_fetch_timestamp_seconds",
                                    "Unix time of the last successful fetch (0: none yet)",
                                    value=source.fetched_at or 0)
            yield GaugeMetricFamily("reconciler_source_fetch_failing", "1 while the last fetch failed",
                                    value=1 if source.last_error else 0)
