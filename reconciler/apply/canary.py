"""The first write of a run goes alone: a canary for the API's write semantics.

Used by :mod:`reconciler.apply.executor` (one per apply run) and by the daemon
(one per process, reset when its writes resume after a hold). Until one page
write has come back as predicted (:mod:`reconciler.apply.verify`), writers
take turns: one page at a time, each verified before the next starts. Once one
has, everyone writes at once. So a service that does not merge as documented
changes one page, not one per agent in flight. Cost: the first page's round
trips are not overlapped with any other write (one write latency per run, two
when that page has both a PUT and a PATCH).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class FirstWrite:
    """A gate that lets one page write through at a time until one has passed verification."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.proven = False
        """A page write of this run came back as predicted: writes no longer take turns."""

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold this around one page's writes (re-read, PUT, PATCH)."""
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

    def reset(self) -> None:
        """Take turns again (the daemon, after a hold on its writes is lifted)."""
        self.proven = False
