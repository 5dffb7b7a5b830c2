"""The retry loop and the shared rate gate (reconciler.api.retry), with a fake clock.

The attempt function raises typed errors directly: this is our own seam, below
which client.py does the HTTP (tested over loopback in test_api_client.py).
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from reconciler import errors
from reconciler.api.retry import RateGate, RetryPolicy, call_with_retries


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def failing(*excs: Exception, result="ok"):
    """An attempt function that raises ``excs`` in turn, then returns ``result``."""
    calls = []

    async def attempt():
        calls.append(len(calls))
        if len(calls) <= len(excs):
            raise excs[len(calls) - 1]
        return result

    return attempt, calls


def run(attempt, *, policy=None, t=None, gate=None, rng=lambda: 0.5, logger=None):
    t = t or FakeTime()
    gate = gate or RateGate(clock=t.clock, sleep=t.sleep)
    return asyncio.run(call_with_retries(
        attempt, policy=policy or RetryPolicy(backoffs=(1, 2, 4)), gate=gate, what="PATCH /v1/agents/a/x",
        logger=logger or logging.getLogger("test.retry"), sleep=t.sleep, clock=t.clock, rng=rng))


def server(status=503):
    return errors.ServerError("down", status=status, method="PATCH", path="/v1/agents/a/x")


def test_retries_5xx_and_transport_errors_then_succeeds():
    t = FakeTime()
    attempt, calls = failing(server(), errors.TransportError("RemoteProtocolError: dropped"))
    assert run(attempt, t=t) == "ok"
    assert len(calls) == 3
    assert t.sleeps == [1.0, 2.0]             # rng 0.5: jitter centred on the backoff


@pytest.mark.parametrize("exc", [
    errors.ClientError("bad", status=400), errors.AuthError("no", status=401),
    errors.NotFoundError("nope", status=404), errors.InvalidForSchemaError("x", status=400),
])
def test_other_4xx_are_never_retried(exc):
    attempt, calls = failing(exc)
    with pytest.raises(type(exc)):
        run(attempt)
    assert len(calls) == 1


def test_attempts_are_bounded_by_the_backoffs_and_the_last_error_is_raised():
    last = server(504)
    attempt, calls = failing(server(), server(), server(), last, server())
    with pytest.raises(errors.ServerError) as info:
        run(attempt, policy=RetryPolicy(backoffs=(1, 2, 4)))
    assert len(calls) == 4 and info.value is last


def test_total_time_is_bounded():
    t = FakeTime()
    attempt, calls = failing(*[server()] * 10)
    with pytest.raises(errors.ServerError):
        run(attempt, t=t, policy=RetryPolicy(backoffs=(1, 2, 4, 8, 16), max_retry_seconds=5))
    assert len(calls) == 3 and sum(t.sleeps) <= 5     # 1 + 2, then 4 more would pass 5 s


def test_jitter_spreads_delays_within_25_percent():
    policy = RetryPolicy(backoffs=(2.0,))
    exc = server()
    assert policy.delay(1, exc, lambda: 0.0) == pytest.approx(1.5)
    assert policy.delay(1, exc, lambda: 1.0) == pytest.approx(2.5)
    assert policy.delay(9, exc, lambda: 0.5) == pytest.approx(2.0)     # past the end: last backoff


def test_retry_after_is_honoured_and_closes_the_shared_gate():
    t = FakeTime()
    gate = RateGate(clock=t.clock, sleep=t.sleep)
    limited = errors.RateLimitedError("slow down", status=429, retry_after=7)
    attempt, calls = failing(limited)
    assert run(attempt, t=t, gate=gate) == "ok"
    assert t.sleeps == [7.0] and gate.pauses == 1
    assert gate.remaining() == 0


def test_429_without_retry_after_uses_the_backoff():
    t = FakeTime()
    attempt, _ = failing(errors.RateLimitedError("slow down", status=429, retry_after=None))
    run(attempt, t=t)
    assert t.sleeps == [1.0]


def test_a_retry_after_beyond_the_budget_gives_up_at_once():
    t = FakeTime()
    attempt, calls = failing(errors.RateLimitedError("later", status=429, retry_after=3600))
    with pytest.raises(errors.RateLimitedError):
        run(attempt, t=t, policy=RetryPolicy(backoffs=(1,), max_retry_seconds=60))
    assert len(calls) == 1 and t.sleeps == []


def test_gate_holds_every_waiter_until_it_reopens_and_only_moves_forward():
    t = FakeTime()
    gate = RateGate(clock=t.clock, sleep=t.sleep)
    gate.pause_for(5)
    gate.pause_for(2)                     # shorter: does not pull the reopening back
    assert gate.remaining() == 5 and gate.pauses == 1

    async def waiter(log):
        await gate.wait()
        log.append(t.now)

    async def main():
        log: list[float] = []
        await asyncio.gather(*(waiter(log) for _ in range(3)))
        return log

    assert all(when >= 5 for when in asyncio.run(main()))


def test_retry_log_line_names_attempt_delay_request_and_reason(caplog):
    attempt, _ = failing(server(503), errors.TransportError("ConnectError: refused"))
    with caplog.at_level(logging.WARNING, logger="test.retry"):
        run(attempt, policy=RetryPolicy(backoffs=(0.5, 1.4)))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "attempt 1/3 failed; will retry in 0.5s: PATCH /v1/agents/a/x (HTTP 503)",
        "attempt 2/3 failed; will retry in 1.4s: PATCH /v1/agents/a/x (connection error: ConnectError: refused)",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_retry_after_zero_still_backs_off_and_a_long_one_wins_over_the_backoff():
    policy = RetryPolicy(backoffs=(1.0, 2.0))
    zero = errors.RateLimitedError("x", status=429, retry_after=0)
    long = errors.RateLimitedError("x", status=429, retry_after=9)
    assert policy.delay(1, zero, lambda: 0.5) == 1.0
    assert policy.delay(2, long, lambda: 0.5) == 9.0
