"""Retry policy and the run-wide rate-limit gate, run in one loop.

Called only by :mod:`reconciler.api.client`: every request goes through
:func:`call_with_retries`, which retries 429s, 5xx and transport failures with
jittered exponential backoff, bounded both in attempts (``len(backoffs) + 1``)
and in total time (``max_retry_seconds``); any other error is raised at once.

A 429 does not only delay the request that got it: its ``Retry-After`` closes
the :class:`RateGate` shared by every request of the client (so by every agent
of a run) until that moment. Otherwise 16 agents would each retry on their own
and keep the server's limiter tripping.

No HTTP here: the loop sees typed :mod:`reconciler.errors` values only, so it is
tested with a fake attempt function, a fake clock and a fake sleep.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from reconciler.errors import ApiError, RateLimitedError, ServerError, TransportError, UnreachableError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]

__all__ = ["RETRYABLE", "RateGate", "RetryPolicy", "call_with_retries", "is_retryable", "policy_from"]

#: Errors worth a second try: the same request may well succeed later.
RETRYABLE = (RateLimitedError, ServerError, TransportError)


def is_retryable(exc: ApiError) -> bool:
    # An open circuit breaker already decided the server is gone: retrying would only wait.
    return isinstance(exc, RETRYABLE) and not isinstance(exc, UnreachableError)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again. ``backoffs[n]`` is the base delay before retry n+1."""

    backoffs: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    max_retry_seconds: float = 120.0
    jitter: float = 0.25
    """Relative jitter: a delay ``d`` becomes uniform in ``[d·(1-j), d·(1+j)]``."""

    @property
    def max_attempts(self) -> int:
        return len(self.backoffs) + 1

    def delay(self, failed_attempt: int, exc: ApiError, rng: Callable[[], float]) -> float:
        """Seconds to wait after attempt ``failed_attempt`` (1-based) failed with ``exc``.

        The backoff is jittered so that many agents failing together do not
        retry together. A ``Retry-After`` is a lower bound: the server's own
        number wins when longer, while ``Retry-After: 0`` still backs off a little
        instead of hammering a limiter that just said no.
        """
        base = self.backoffs[min(failed_attempt, len(self.backoffs)) - 1]
        delay = max(0.0, base * (1 - self.jitter + 2 * self.jitter * rng()))
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(exc, RateLimitedError) and retry_after is not None:
            delay = max(delay, float(retry_after))
        return delay


class RateGate:
    """One per client: while closed (after a 429), no request of the run is sent.

    :meth:`wait` is called right before each send; :meth:`pause_for` moves the
    reopening time forward, never back.
    """

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep,
                 logger: logging.Logger | None = None) -> None:
        self._clock = clock
        self._sleep = sleep
        self._logger = logger or logging.getLogger("reconciler.api")
        self._open_at = 0.0
        self.pauses = 0
        """How many times a 429 closed (or extended) the gate; for tests and reports."""

    def remaining(self) -> float:
        return max(0.0, self._open_at - self._clock())

    def pause_for(self, seconds: float) -> None:
        until = self._clock() + seconds
        if until > self._open_at:
            self._open_at = until
            self.pauses += 1
            self._logger.warning("rate limited: pausing all requests for %.1fs", seconds)

    async def wait(self) -> None:
        # Loop: the gate may be pushed further while we sleep.
        while (left := self.remaining()) > 0:
            await self._sleep(left)


def _reason(exc: ApiError) -> str:
    if isinstance(exc, TransportError):
        return f"connection error: {exc.message}"
    reason = f"HTTP {exc.status}"
    if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
        reason += f", Retry-After {exc.retry_after:g}s"
    return reason


async def call_with_retries(attempt: Callable[[], Awaitable[T]], *, policy: RetryPolicy, gate: RateGate,
                            what: str, logger: logging.Logger, sleep: Sleep = asyncio.sleep,
                            clock: Clock = time.monotonic, rng: Callable[[], float]) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or the bounds are reached.

    ``what`` names the request for the log (``"PATCH /v1/agents/a/…/variables"``);
    it never holds a header. The last error is raised unchanged (typed, chained).
    """
    started = clock()
    total = policy.max_attempts
    for number in range(1, total + 1):
        try:
            return await attempt()
        except ApiError as exc:
            if not is_retryable(exc) or number >= total:
                raise
            delay = policy.delay(number, exc, rng)
            if clock() - started + delay > policy.max_retry_seconds:
                logger.warning("attempt %d/%d failed; giving up, retrying would exceed %gs: %s (%s)",
                               number, total, policy.max_retry_seconds, what, _reason(exc))
                raise
            if isinstance(exc, RateLimitedError) and exc.retry_after:
                gate.pause_for(exc.retry_after)     # the server's limit holds for every agent
            logger.warning("attempt %d/%d failed; will retry in %.1fs: %s (%s)",
                           number, total, delay, what, _reason(exc))
            await sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def policy_from(backoffs: Sequence[float], max_retry_seconds: float) -> RetryPolicy:
    """A policy from settings values (``ApiSettings.backoffs``/``max_retry_seconds``)."""
    return RetryPolicy(backoffs=tuple(float(b) for b in backoffs), max_retry_seconds=float(max_retry_seconds))
