"""A signal whose Interrupt is raised where Python cannot propagate it (a ``__del__``, a weakref callback)
still ends the command with its one line and 130/143 — never "Exception ignored" and a traceback.

Each case is a real process: ``interruption.run_cli`` runs a small command whose object, collected
mid-run, receives the signal inside its ``__del__`` (``signal.raise_signal``, as a real SIGTERM landing
there would).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent('''
    import asyncio, signal, sys, time
    from reconciler import interruption

    GROUP = {group}

    class Finalised:
        def __del__(self):
            try:
                signal.raise_signal(signal.SIGTERM)       # the handler raises Interrupt here, in __del__
            except interruption.Interrupt as exc:
                if GROUP:
                    raise BaseExceptionGroup("task group", [exc]) from None
                raise

    def collect():
        obj = Finalised()
        del obj

    async def in_loop():
        collect()
        for _ in range(50):
            await asyncio.sleep(0.01)
        print("the loop ran on after the signal")
        return 0

    def in_sync_code():
        collect()
        time.sleep(0.05)
        print("the command finished its work")
        return 0

    def main():
        return asyncio.run(in_loop()) if {in_loop} else in_sync_code()

    interruption.run_cli(lambda: main)
''')


@pytest.mark.parametrize("group", [False, True], ids=["interrupt", "exception-group"])
@pytest.mark.parametrize("in_loop", [True, False], ids=["event-loop", "sync"])
def test_an_interrupt_raised_in_a_finaliser_ends_with_its_line_and_code(in_loop: bool, group: bool) -> None:
    proc = subprocess.run([sys.executable, "-c", PROGRAM.format(group=group, in_loop=in_loop)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 143, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr == "SIGTERM: interrupted before any write: nothing was written\n", proc.stderr
    if in_loop:
        assert "ran on" not in proc.stdout          # raised in the loop's next step, not at the end
    else:
        assert proc.stdout == "the command finished its work\n"   # no loop: reported when the work ends


SHUTDOWN = textwrap.dedent('''
    import asyncio, signal
    from reconciler import aio, interruption

    async def connecting():
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:            # a task group cut by the signal, as anyio's connect does
            raise BaseExceptionGroup("unhandled errors in a TaskGroup", [interruption.Interrupt(signal.SIGTERM)])

    async def work():
        asyncio.get_running_loop().create_task(connecting())
        await asyncio.sleep(0.05)
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(60)

    interruption.run_cli(lambda: lambda: aio.run_async(work()))
''')


def test_tasks_cut_by_the_signal_are_not_logged_when_the_loop_shuts_down() -> None:
    proc = subprocess.run([sys.executable, "-c", SHUTDOWN], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 143, (proc.returncode, proc.stderr)
    assert proc.stderr == "SIGTERM: interrupted before any write: nothing was written\n", proc.stderr


PANIC = textwrap.dedent('''
    import os, signal, time
    from reconciler import interruption

    class PanicException(BaseException):
        """What PyO3 raises when Rust code panics on a Python error (here: our Interrupt)."""

    def main():
        try:
            os.kill(os.getpid(), signal.SIGINT)       # the handler raises Interrupt...
            time.sleep(5)
        except KeyboardInterrupt as exc:              # ...which a native library turns into its own error
            raise PanicException(f"called `Result::unwrap()` on an `Err` value: PyErr {{ {exc!r} }}") from None
        return 0

    interruption.run_cli(lambda: main)
''')


def test_a_native_library_that_turns_the_interrupt_into_its_own_error_still_gives_the_line_and_130() -> None:
    proc = subprocess.run([sys.executable, "-c", PANIC], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip().splitlines() == ["SIGINT: interrupted before any write: nothing was written"]


def test_the_same_error_without_a_signal_is_not_hidden() -> None:
    program = PANIC.replace("os.kill(os.getpid(), signal.SIGINT)", "raise KeyboardInterrupt()  # not a signal")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "PanicException" in proc.stderr and "Traceback" in proc.stderr
