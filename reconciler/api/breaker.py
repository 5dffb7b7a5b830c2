"""Run-wide circuit breaker: stop quickly when the API cannot be reached at all.

One per :class:`~reconciler.api.client.AgentsApi` (so one per CLI run, or one
per daemon process). The retry loop alone is per request: against a closed
port or a server that accepts connections but never answers, every agent
retried on its own, and a run took minutes, growing with the fleet. Here the
*consecutive* failures to reach the server — connection refused, connect or
read timeouts — are counted across every request of the client; after
:attr:`threshold` of them in a row the breaker opens and every request, queued
or retrying, fails at once with :class:`~reconciler.errors.UnreachableError`
(``cannot reach https://api.us.poly.ai: connection refused (3 attempts over 2.1 s)``).
Any HTTP answer at all — even a 429 or a 5xx, which keep their patient
backoff — closes it again: the server is there.

A dropped connection (the server hung up mid-answer) is *not* counted: it is
the usual transient fault of a busy server, and retrying it converges.

Reuse (the daemon): a breaker re-arms itself ``cooldown`` seconds after it
opened (half-open: the next failure re-opens it at once, the next success
closes it), so a long-running process recovers when the API comes back;
:meth:`reset` re-arms it at once (e.g. at the start of a resync pass). It
holds no lock and no process-wide state, so several clients never interfere.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from reconciler.errors import UnreachableError

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Counts consecutive unreachable-server failures across a client's requests."""

    def __init__(self, base_url: str, *, threshold: int = 3, cooldown: float | None = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._first_at: float | None = None
        self._last_at: float | None = None
        self._reason = ""
        self._opened_at: float | None = None
        self.trips = 0
        """How many times the breaker opened (for reports, metrics and tests)."""
        self.first_trip: str | None = None
        """:meth:`summary` at the moment the breaker first opened: the line a run reports."""

    # -- state -------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        if self._opened_at is None:
            return False
        if self.cooldown is not None and self._clock() - self._opened_at >= self.cooldown:
            self._opened_at = None                     # half-open: let requests try again
            self._failures = self.threshold - 1        # one more failure re-opens at once
        return self._opened_at is not None

    def summary(self) -> str:
        """``cannot reach URL: reason (N attempts over S s)``: the one line a run prints."""
        span = (self._last_at or 0.0) - (self._first_at or 0.0)
        return (f"cannot reach {self.base_url}: {self._reason or 'no connection'} "
                f"({self._failures} attempts over {span:.1f} s)")

    # -- events --------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`UnreachableError` without sending anything while the breaker is open."""
        if self.is_open:
            raise UnreachableError(self.summary())

    def failure(self, reason: str) -> None:
        """A request found no server (refused / timed out)."""
        now = self._clock()
        if self._failures == 0 or self._first_at is None:
            self._first_at = now
        self._failures += 1
        self._last_at = now
        self._reason = reason
        if self._failures >= self.threshold and self._opened_at is None:
            self._opened_at = now
            self.trips += 1
            self.first_trip = self.first_trip or self.summary()

    def success(self) -> None:
        """Any HTTP answer: the server is reachable."""
        self._failures = 0
        self._first_at = self._last_at = self._opened_at = None

    def reset(self) -> None:
        self.success()
