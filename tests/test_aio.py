"""reconciler.aio.run_async: asyncio.run without formatting the result (a fleet's plan) on the way out."""

import asyncio
import signal

import pytest

from reconciler.aio import run_async


class Loud:
    """A result whose repr is counted (a 10,000-agent plan's repr was a 260 MB string)."""

    reprs = 0

    def __repr__(self) -> str:
        Loud.reprs += 1
        return "Loud()"


def test_the_result_is_returned_and_never_formatted():
    async def work():
        await asyncio.sleep(0)
        return Loud()

    before = signal.getsignal(signal.SIGINT)
    Loud.reprs = 0
    result = run_async(work())
    assert isinstance(result, Loud)
    assert Loud.reprs == 0
    assert signal.getsignal(signal.SIGINT) is before          # asyncio.run restored the handler as usual


def test_asyncio_run_alone_formats_the_result_which_is_why_run_async_exists():
    async def work():
        return Loud()

    Loud.reprs = 0
    asyncio.run(work())
    if Loud.reprs == 0:               # pragma: no cover - a Python that no longer does it
        pytest.skip("this Python's asyncio.run does not format the main task's result")
    assert Loud.reprs >= 1            # CPython 3.11: signal.getsignal's enum lookup reprs the main task


def test_exceptions_propagate():
    async def fail():
        raise ValueError("boom")

    try:
        run_async(fail())
    except ValueError as exc:
        assert str(exc) == "boom"
    else:  # pragma: no cover
        raise AssertionError("no exception")
