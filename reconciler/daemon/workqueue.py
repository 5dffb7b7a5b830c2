"""A work queue keyed by agent: bursts coalesce, one key never runs twice at once.

Used by the daemon's loop: the file watcher and the resync timer only *add*
agent ids; worker tasks ``get`` one, reconcile that agent against a fresh read
and call ``done``. Modelled on client-go's workqueue (its ``dirty`` and
``processing`` sets):

- a key added while it waits is not queued twice (a burst of saves is one pass);
- a key added while it is being processed is remembered and queued again only
  when that pass ends, so edits arriving mid-apply queue *behind* it;
- ``add_after`` requeues a key later, with a per-key exponential backoff
  (``backoff``/``forget``) for passes that failed transiently.

Single event loop, no threads: every method is called from the loop.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass


@dataclass
class Work:
    """Why a key is queued; merged when the same key is added again before it runs."""

    event_at: float | None = None
    """``time.monotonic()`` of the earliest file event not yet handled (for the reconcile histogram)."""


class WorkQueue:
    def __init__(self, *, base_delay: float = 1.0, max_delay: float = 60.0) -> None:
        self._ready: asyncio.Queue[str | None] = asyncio.Queue()
        self._dirty: dict[str, Work] = {}
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._base, self._max = base_delay, max_delay
        self._closed = False

    def add(self, key: str, event_at: float | None = None) -> None:
        """Queue ``key`` (no-op when it already waits; deferred when it is being processed)."""
        if self._closed:
            return
        work = self._dirty.get(key)
        if work is not None:
            if event_at is not None and (work.event_at is None or event_at < work.event_at):
                work.event_at = event_at
            return
        self._dirty[key] = Work(event_at)
        if key not in self._processing:
            self._ready.put_nowait(key)

    def add_after(self, key: str, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds (a later call for the same key replaces the timer)."""
        if self._closed:
            return
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def backoff(self, key: str) -> float:
        """The next requeue delay of a failing key: base * 2^n, capped, with +-20 % jitter."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        delay = min(self._max, self._base * (2 ** n))
        return delay * (0.8 + 0.4 * random.random())

    def forget(self, key: str) -> None:
        """A pass of ``key`` succeeded: its next failure starts the backoff again."""
        self._failures.pop(key, None)

    async def get(self) -> tuple[str, Work] | None:
        """The next key to process and why; None once the queue is shut down."""
        while True:
            key = await self._ready.get()
            if key is None or self._closed:
                self._ready.put_nowait(None)          # wake the next waiting worker too
                return None
            work = self._dirty.pop(key, None)
            if work is None:                          # pragma: no cover - invariant: queued keys are dirty
                continue
            self._processing.add(key)
            return key, work

    def done(self, key: str) -> None:
        """The pass of ``key`` ended; if it was added meanwhile, it is queued again now."""
        self._processing.discard(key)
        if key in self._dirty and not self._closed:
            self._ready.put_nowait(key)

    def shutdown(self) -> None:
        """Stop handing out keys (keys being processed still finish)."""
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._ready.put_nowait(None)

    @property
    def processing(self) -> frozenset[str]:
        return frozenset(self._processing)

    def __len__(self) -> int:
        return len(self._dirty)
