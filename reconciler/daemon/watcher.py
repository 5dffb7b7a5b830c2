"""File events of the repository, as "which agents changed" — including git-sync's symlink flip.

Run by the daemon's loop as one task. It resolves DIR to its real path and
watches ``configs/`` and ``policies/`` (recursively) and ``reconciler.yaml``
there with ``watchfiles``, debounced in tens of milliseconds. Each batch of
events becomes a call ``on_change(agents)`` with the set of agent ids whose
files changed, or ``None`` when every agent is concerned (``policies/``,
``reconciler.yaml``).

Every :data:`RECHECK_SECONDS` (and after every batch) it re-resolves DIR: when
DIR — or one of its parents — is a symlink that now points elsewhere (git-sync
swaps checkouts by renaming a symlink atomically), it calls ``on_flip()`` and
starts watching the new checkout. A flip is reported once; the loop reloads
the new checkout as a whole and compares it with the old one, so it is one
change of every file that differs, never a half-read tree. The same re-check
notices ``policies/`` or ``reconciler.yaml`` appearing or disappearing, and a
file replaced by rename (which ends its inotify watch).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

import watchfiles

_LOG = logging.getLogger("reconciler.daemon")

DEBOUNCE_MS = 50
STEP_MS = 20
RECHECK_SECONDS = 0.5
POLL_DELAY_MS = 1000
WATCHED = ("configs", "policies", "reconciler.yaml")

OnChange = Callable[[set[str] | None], None]


def agents_of(paths: set[str], real: Path) -> set[str] | None:
    """Agent ids whose files are among ``paths``; None when a change concerns every agent."""
    agents: set[str] = set()
    for path in paths:
        try:
            parts = Path(os.path.relpath(path, real)).parts
        except ValueError:
            continue
        if not parts or parts[0] not in WATCHED:
            continue
        if parts[0] != "configs":
            return None
        if len(parts) >= 2 and not parts[1].startswith("."):
            agents.add(parts[1])
    return agents


def _targets(real: Path) -> list[Path]:
    return [real / name for name in WATCHED if (real / name).exists()]


def _layout(real: Path) -> tuple:
    """What, if it changes, needs a new watch: the targets and the identity of the files watched directly."""
    out = []
    for target in _targets(real):
        try:
            st = target.stat()
        except OSError:
            continue
        out.append((target.name, st.st_ino, st.st_dev))
    return tuple(out)


async def watch(link: Path, on_change: OnChange, on_flip: Callable[[], None], stop: asyncio.Event) -> None:
    """Until ``stop`` is set: watch the checkout DIR points to, and follow it when it is swapped."""
    while not stop.is_set():
        real = Path(os.path.realpath(link))
        layout = _layout(real)
        cycle_stop = asyncio.Event()
        watcher = asyncio.create_task(_watch_checkout(real, on_change, cycle_stop))
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), RECHECK_SECONDS)
                except asyncio.TimeoutError:
                    pass
                if watcher.done():
                    break                                # the watched path vanished: watch again
                now_real = Path(os.path.realpath(link))
                if now_real != real:
                    on_flip()
                    break
                if _layout(real) != layout:
                    on_change(None)
                    break
        finally:
            cycle_stop.set()
            try:
                await asyncio.wait_for(watcher, 2)
            except (asyncio.TimeoutError, Exception):    # noqa: BLE001 - a dead watcher is simply replaced
                watcher.cancel()


async def _watch_checkout(real: Path, on_change: OnChange, stop: asyncio.Event) -> None:
    targets = _targets(real)
    if not targets:
        await stop.wait()
        return
    for polling in (False, True):
        try:
            async for batch in watchfiles.awatch(*targets, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
                                                 watch_filter=None, recursive=True, raise_interrupt=False,
                                                 ignore_permission_denied=True, force_polling=polling,
                                                 poll_delay_ms=POLL_DELAY_MS):
                agents = agents_of({path for _, path in batch}, real)
                if agents is None or agents:
                    on_change(agents)
            return
        except FileNotFoundError:
            return                                        # the checkout went away: the caller re-resolves
        except (RuntimeError, OSError) as exc:
            if polling:
                raise
            # e.g. the inotify watch limit (fs.inotify.max_user_watches) on a very large repository
            _LOG.warning(f"native file watching failed ({type(exc).__name__}: {exc}); polling every "
                         f"{POLL_DELAY_MS} ms instead", extra={"event": "watch_polling"})
