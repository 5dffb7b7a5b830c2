"""The first write of a run goes alone, and one unexpected answer stops every later write.

One :class:`WriteGate` per run of :mod:`reconciler.apply.executor` (``reconciler
apply``), or one per daemon process shared by all its passes (reset when a hold
on its writes is lifted, see :mod:`reconciler.daemon.writehold`). Until one page
write has come back as predicted (:mod:`reconciler.apply.verify`), writers take
turns: one page at a time, each verified before the next starts; once one has,
everyone writes at once. So a service that does not merge as documented changes
one page, not one per agent in flight. Once a write's answer was unexpected the
gate is halted: no page write starts after that (fail closed); those in flight finish.

Cost: the first page's round trips overlap no other write — one write latency per
run for a PATCH-only page, two when that page has both a PUT and a PATCH.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class WriteGate:
    """Page writes take turns until one passed verification; none starts after an unexpected answer."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.proven = False
        """A page write came back as predicted: writes no longer take turns."""
        self.halted = False
        """A write's answer was not the predicted page: start no further write."""

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold this around one page's writes (re-read, PUT, PATCH); check :attr:`halted` inside it."""
        if self.proven:
            yield
            return
        await self._lock.acquire()
        held = True
        try:
            if self.proven:                 # proven while we waited: do not hold the others back
                self._lock.release()
                held = False
            yield
        finally:
            if held:
                self._lock.release()

    def passed(self) -> None:
        """One page write came back as predicted."""
        self.proven = True

    def halt(self) -> None:
        """A write came back unexpected: no further write starts."""
        self.halted = True

    def reset(self) -> None:
        """Writes may start again, taking turns until one is verified (the daemon, after a hold is lifted)."""
        self.proven = self.halted = False
