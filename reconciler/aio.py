"""Running a coroutine from synchronous code (the CLI's commands), at fleet scale; local steps inside one.

:func:`run_async` is called by :mod:`reconciler.engine`, :mod:`reconciler.adoption.importer` and
:mod:`reconciler.adoption.connectors` instead of ``asyncio.run``; :func:`interleaved` runs
:mod:`reconciler.steps` on the event loop's thread (the plan commands). Kept apart from
:mod:`reconciler.steps`, so that ``reconciler validate``, which drains its steps at once,
never imports asyncio.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from reconciler import interruption, steps

T = TypeVar("T")


def run_async(work: Awaitable[T]) -> T:
    """``asyncio.run(work)``, without the result ever being the main task's result.

    On exit, Python 3.11's ``asyncio.run`` restores the SIGINT handler through
    ``signal.getsignal``, whose enum lookup formats ``repr()`` of the handler —
    a partial holding the main task, whose repr holds its *result* in full. For
    a 10,000-agent plan that was a 260 MB string built for nothing (5 s, the
    peak RSS of the run); at 1,000 agents, 0.3 s.
    """
    box: list[T] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(_quiet_interrupts)
        box.append(await work)

    asyncio.run(main())
    return box[0]


def _quiet_interrupts(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """A task that ended with the signal the command is already reporting (its one line, see
    :mod:`reconciler.interruption`) is not logged with a traceback; everything else is."""
    if interruption.found_in(context.get("exception")) is None:
        loop.default_exception_handler(context)


async def interleaved(work: steps.Steps[T], *, slice_seconds: float = steps.SLICE_SECONDS) -> T:
    """Run the steps in this (the event loop's) thread, giving the loop a turn every ``slice_seconds``.

    A turn goes on while an iteration of the loop still finds work (one HTTP exchange needs several:
    readable socket -> protocol -> future -> task -> next write), up to
    :data:`reconciler.steps.TURN_ITERATIONS`: an iteration with nothing to run returns in a few
    microseconds (the loop's ready queue is not public, its time is).
    """
    clock = time.perf_counter
    deadline = clock() + slice_seconds
    while True:
        try:
            next(work)
        except StopIteration as done:
            return done.value
        if clock() >= deadline:
            for turn in range(steps.TURN_ITERATIONS):
                began = clock()
                await asyncio.sleep(0)
                if turn + 1 >= steps.TURN_MIN and clock() - began < steps.IDLE_ITERATION_SECONDS:
                    break
            deadline = clock() + slice_seconds
