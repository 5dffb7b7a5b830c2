"""The apply lock: one ``apply`` at a time per repository checkout (``.reconciler/apply.lock``).

Called by :func:`reconciler.engine.run_apply` around the whole plan + execute,
before the first request. Two applies started from the same checkout (a
developer's terminal and a CI job on one runner, say) would otherwise read the
same live state and interleave their writes. The second one refuses at once,
with the holder's pid and start time, instead of waiting.

How: ``fcntl.flock(LOCK_EX | LOCK_NB)`` on an open file. The kernel drops the
lock when the holder's process dies (even by SIGKILL), so there is no stale
lock to clean up; the pid/time written inside are for the message only.

The daemon (``reconciler watch``) takes it *shared* with :func:`take_when_free`
when it starts and keeps it until it stops: a CLI ``apply`` of the same checkout
then refuses at once, naming the daemon's pid, and a daemon started during a
CLI apply waits for it (one log line); shards of one checkout share it. The
lock belongs to an *open file*, so it is process-level: take it once per
process, never once per agent or per pass from concurrent tasks. Reading live
state and planning need no lock. POSIX only: on a platform without ``fcntl``
the lock is a no-op, said in the docstring of :func:`hold`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.repository import statedir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, applies are not serialised
    fcntl = None  # type: ignore[assignment]

#: Where the lock lives, relative to the repository (``.reconciler/`` is never committed).
LOCK_FILE = Path(".reconciler") / "apply.lock"


class LockedError(ReconcilerError):
    """Another apply holds the lock of this repository."""


#: Who holds the lock, as written into it (the refusal quotes it).
APPLY, DAEMON = "reconciler apply", "reconciler watch"


@contextlib.contextmanager
def hold(root: Path, who: str = APPLY) -> Iterator[Path]:
    """Hold ``<root>/.reconciler/apply.lock`` for the duration of the block, or raise :class:`LockedError`.

    Without ``fcntl`` (not POSIX) this yields without locking.
    """
    taken = take(root, who)
    try:
        yield taken.path
    finally:
        taken.release()


class Taken:
    """A held lock (:func:`take`): ``release()`` lets it go (also when the process dies)."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self._fd = path, fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)              # closing the descriptor releases the lock
            self._fd = None


def take(root: Path, who: str = APPLY, *, shared: bool = False) -> Taken:
    """Take the lock now or raise :class:`LockedError` naming its holder (a daemon: its pid, and what to do).

    ``shared``: the daemons' way (``watch --shard I/N`` pods of one checkout hold it together, and
    each adds its own line); an apply takes it alone.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return Taken(Path(root) / LOCK_FILE, None)
    path = Path(root) / LOCK_FILE
    try:
        statedir.ensure(root)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LockedError(f"cannot take the apply lock {path}: {exc.strerror}; the repository's .reconciler/ "
                          "directory must be writable") from None
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        if DAEMON in holder:
            raise LockedError(f"`reconciler watch` serves this repository and applies it ({holder}); stop the "
                              f"daemon first, or let it apply (lock: {path})") from None
        raise LockedError(f"another apply is already running in this repository ({holder}); "
                          f"wait for it to finish (lock: {path})") from None
    if shared:
        os.lseek(fd, 0, os.SEEK_END)
    else:
        os.ftruncate(fd, 0)
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    os.write(fd, f"pid {os.getpid()} since {started} ({who})\n".encode())
    return Taken(path, fd)


async def take_when_free(root: Path, who: str, on_wait: Callable[[str], None], poll: float = 0.5) -> Taken:
    """:func:`take` (shared), waiting while an apply holds the lock; ``on_wait(holder)`` is called once.

    The daemon takes the lock this way at start and keeps it until it stops: a CLI ``apply`` of the
    same checkout then refuses (naming the daemon's pid), and a daemon started during a CLI apply
    waits for it instead of writing alongside it.
    """
    told = False
    while True:
        try:
            return take(root, who, shared=True)
        except LockedError as exc:
            if "must be writable" in str(exc):
                raise
            if not told:
                on_wait(str(exc))
                told = True
        await asyncio.sleep(poll)


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        lines = os.read(fd, 2000).decode("utf-8", errors="replace").splitlines()
        text = "; ".join(line.strip() for line in lines[:4] if line.strip())
    except OSError:
        text = ""
    return text or "holder unknown"
