"""The apply lock: one ``apply`` at a time per repository checkout (``.reconciler/apply.lock``).

Called by :func:`reconciler.engine.run_apply` around the whole plan + execute,
before the first request. Two applies started from the same checkout (a
developer's terminal and a CI job on one runner, say) would otherwise read the
same live state and interleave their writes. The second one refuses at once,
with the holder's pid and start time, instead of waiting.

How: ``fcntl.flock(LOCK_EX | LOCK_NB)`` on an open file. The kernel drops the
lock when the holder's process dies (even by SIGKILL), so there is no stale
lock to clean up; the pid/time written inside are for the message only.

Reuse (the daemon): the lock belongs to an *open file*, so it is process-level.
A long-running process takes it once with :func:`hold` and keeps it for as
long as it writes; it must not take it once per agent or per pass from
concurrent tasks (flock on a second descriptor of the same file would refuse
its own process). Reading live state and planning need no lock. POSIX only:
on a platform without ``fcntl`` the lock is a no-op, said in the docstring of
:func:`hold`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from collections.abc import Iterator
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.repository import statedir

#: Where the lock lives, relative to the repository (``.reconciler/`` is never committed).
LOCK_FILE = Path(".reconciler") / "apply.lock"


class LockedError(ReconcilerError):
    """Another apply holds the lock of this repository."""


@contextlib.contextmanager
def hold(root: Path) -> Iterator[Path]:
    """Hold ``<root>/.reconciler/apply.lock`` for the duration of the block, or raise :class:`LockedError`.

    Without ``fcntl`` (not POSIX) this yields without locking.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield Path(root) / LOCK_FILE
        return
    path = Path(root) / LOCK_FILE
    try:
        statedir.ensure(root)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LockedError(f"cannot take the apply lock {path}: {exc.strerror}; the repository's .reconciler/ "
                          "directory must be writable") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another apply is already running in this repository ({_holder(fd)}); "
                              f"wait for it to finish (lock: {path})") from None
        os.ftruncate(fd, 0)
        started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.write(fd, f"pid {os.getpid()} since {started}\n".encode())
        yield path
    finally:
        os.close(fd)                        # closing the descriptor releases the lock


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
