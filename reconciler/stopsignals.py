"""Ctrl-C / SIGTERM during ``apply``: stop starting writes, let the one in flight finish.

Used by :func:`reconciler.engine.run_apply`: while the apply's event loop runs,
the first SIGINT or SIGTERM sets :attr:`StopOnSignals.event`, which the executor
checks between environments (never between a PUT and its PATCH). The command
then prints what was applied and what was not attempted, and exits 130 (SIGINT)
or 143 (SIGTERM). A second signal means "now": the handler from before is
restored and the signal re-delivered (a write in flight may then be cut); under
the CLI that is :mod:`reconciler.interruption`'s, which ends with one line
saying what was written.

Only the main thread may install signal handlers; elsewhere (a daemon's worker
thread, a test calling the engine from a thread) this does nothing and the
caller's own handling applies. The daemon has its own SIGTERM handling and can
pass its own ``asyncio.Event`` to :func:`reconciler.apply.executor.apply_plan` instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignals:
    """Turns the first SIGINT/SIGTERM into an event; remembers which signal it was."""

    def __init__(self, notify: Callable[[str], None] | None = None) -> None:
        self.event: asyncio.Event | None = None
        self.received: signal.Signals | None = None
        self._notify = notify
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[signal.Signals, object] = {}

    @property
    def exit_code(self) -> int | None:
        """128 + the signal number (130 for SIGINT, 143 for SIGTERM), or None when none arrived."""
        return None if self.received is None else 128 + int(self.received)

    def install(self) -> asyncio.Event:
        """Call inside the running loop; returns the event the executor watches."""
        self.event = asyncio.Event()
        if threading.current_thread() is not threading.main_thread():
            return self.event
        self._loop = asyncio.get_running_loop()
        self._previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
        for sig in SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
        return self.event

    def remove(self) -> None:
        if self._loop is None:
            return
        for sig in SIGNALS:
            self._loop.remove_signal_handler(sig)
            previous = self._previous.get(sig)
            if previous is not None:
                # The handler from before (the CLI's, reconciler.interruption): a signal after the writes,
                # while the report prints, still ends with its line (remove_signal_handler alone would
                # leave SIGTERM at SIG_DFL, a silent death).
                signal.signal(sig, previous)
        self._loop = None

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.received is not None:               # the second one: stop now, through the handler from before
            self.remove()
            os.kill(os.getpid(), sig)
            return
        self.received = sig
        if self.event is not None:
            self.event.set()
        if self._notify is not None:
            self._notify(f"{sig.name}: finishing the write in flight, starting no other "
                         "(send it again to stop at once)")
