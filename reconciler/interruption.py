"""Every interruption accounted for: SIGINT/SIGTERM at any moment ends with one line and 130/143.

Used by the command line's entry point (:func:`run_cli`, called by ``python -m
reconciler`` and the ``reconciler`` script) and its error boundary
(``reconciler.cli.main``). From the first line of the tool on:

- a SIGINT or SIGTERM raises :class:`Interrupt` (a ``KeyboardInterrupt``) in
  the main thread, wherever the command is: importing, reading, validating,
  planning, printing. ``apply`` replaces this while it reads and writes
  (:mod:`reconciler.stopsignals`: the first signal finishes the write in
  flight and starts no other) and puts it back afterwards; its second signal
  comes back here.
- the boundary calls :func:`report`: from then on further signals are only
  noted (a second Ctrl-C cannot cut the line), and one line on stderr says
  what this process wrote, from the ledger below, or "interrupted before any
  write"; the exit code is 128 + the signal (130, 143).
- :func:`finish` ends the process: signals blocked, a signal that arrived
  after the command's work (while its report was flushed) still gets its line
  and its code, then ``os._exit`` — nothing runs after the last check.

The ledger is process-wide on purpose: the writes a run sends are the API's
PUT/PATCH (:mod:`reconciler.apply.executor`), GitHub's comments and issues
(:mod:`reconciler.github.client`) and the files a command writes (a saved plan,
``--out``); each notes itself here, so the line can say what landed wherever
the signal struck. What cannot be covered: a signal that arrives while the
Python interpreter itself starts, before the tool's first line runs (its
default handling applies there).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Names shown in the line; longer lists end with "…".
SHOWN = 5


class Interrupt(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised by the handler :func:`install` puts in place."""

    def __init__(self, sig: signal.Signals) -> None:
        super().__init__(sig.name)
        self.signal = sig

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signal)


@dataclass
class Ledger:
    """What this process wrote so far, and the first signal it received."""

    acknowledged: list[str] = field(default_factory=list)
    """Writes the other side answered with success (``acme/live variables PATCH``)."""
    unanswered: dict[int, str] = field(default_factory=dict)
    """Writes sent whose answer had not come (they may or may not have landed)."""
    files: list[str] = field(default_factory=list)
    received: signal.Signals | None = None
    deferred: bool = False
    """Set by the boundary: signals are noted, no longer raised."""
    reported: bool = False


LEDGER = Ledger()


def install() -> None:
    """Raise :class:`Interrupt` on SIGINT/SIGTERM from now on (main thread only; elsewhere nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)
    sys.unraisablehook = _unraisable


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """An :class:`Interrupt` raised where Python cannot propagate it (a weakref callback, a ``__del__``,
    alone or inside an exception group) would be printed as "Exception ignored" and lost. The ledger
    already holds the signal; raise it again where it can propagate: in the running event loop's next
    step (asyncio lets a ``KeyboardInterrupt`` out of a callback). Without a running loop it cannot be
    raised from here (a handler run inside this hook raises inside it), so :func:`finish` reports it
    when the command ends: the same line and exit code, later."""
    interrupt = found_in(unraisable.exc_value)
    if interrupt is None:
        sys.__unraisablehook__(unraisable)
        return
    loop = _running_loop()
    if loop is not None:
        loop.call_soon(_raise, interrupt.signal)


def _running_loop():  # noqa: ANN202 - an asyncio event loop or None
    """This thread's running event loop. asyncio is looked up, not imported: a command that never
    imported it has no loop, and importing it here would put it on every command's start-up."""
    asyncio = sys.modules.get("asyncio")
    try:
        return asyncio.get_running_loop() if asyncio is not None else None
    except RuntimeError:
        return None


def _raise(sig: signal.Signals) -> NoReturn:
    raise Interrupt(sig)


def _on_signal(signum: int, _frame: object) -> None:
    sig = signal.Signals(signum)
    if LEDGER.received is None:
        LEDGER.received = sig
    if not LEDGER.deferred:
        raise Interrupt(sig)


@contextlib.contextmanager
def writing(what: str) -> Iterator[None]:
    """Note a write around the request that sends it: acknowledged, unanswered, or (an error) not done."""
    token = object()
    LEDGER.unanswered[id(token)] = what
    try:
        yield
    except Exception:
        LEDGER.unanswered.pop(id(token), None)        # refused or failed: reported as such by the command
        raise
    except BaseException:
        raise                                          # cut while waiting: stays "sent without an answer"
    else:
        LEDGER.unanswered.pop(id(token), None)
        LEDGER.acknowledged.append(what)


def note_file(path: object) -> None:
    """A file the command wrote (whole: written to a temporary name, then renamed)."""
    LEDGER.files.append(str(path))


def found_in(exc: BaseException | None) -> Interrupt | None:
    """The :class:`Interrupt` behind ``exc``: itself, its causes (click turns a KeyboardInterrupt into
    ``Abort`` from it), or one of an exception group's (a task group cut by the signal)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None or isinstance(seen, Interrupt):
            return seen
        if isinstance(seen, BaseExceptionGroup):
            return next(filter(None, map(found_in, seen.exceptions)), None)
        seen = seen.__cause__ or seen.__context__
    return None


def line(sig: signal.Signals) -> str:
    """The one line: what was written and what was not."""
    written, unanswered, files = LEDGER.acknowledged, list(LEDGER.unanswered.values()), LEDGER.files
    if not (written or unanswered or files):
        return f"{sig.name}: interrupted before any write: nothing was written"
    parts = []
    if written:
        parts.append(f"{len(written)} write(s) acknowledged ({_few(written)})")
    if unanswered:
        parts.append(f"{len(unanswered)} sent without an answer, may or may not have landed ({_few(unanswered)})")
    if files:
        parts.append(f"{len(files)} file(s) written ({_few(files)})")
    return f"{sig.name}: interrupted after {'; '.join(parts)}; nothing else was written"


def report(exc: Interrupt) -> int:
    """At the boundary: note further signals only, print the line (once), return 130/143."""
    LEDGER.deferred = True
    sig = LEDGER.received or exc.signal
    if not LEDGER.reported:
        LEDGER.reported = True
        _say(line(sig))
    return 128 + int(sig)


def run_cli(load: Callable[[], Callable[[], int]]) -> NoReturn:
    """Install the handler, import and run the command line (``load()`` returns its ``main``), finish."""
    install()
    try:
        code = load()()
    except KeyboardInterrupt as exc:                   # outside main's own boundary (its import)
        code = _report_again(exc)
    except BaseException:
        # A native library that meets the Interrupt inside its own code may turn it into an exception of
        # its own kind (PyO3's PanicException, a BaseException, when a signal lands while jsonschema-rs
        # imports its modules): once a signal was received, that is the interruption, not a crash.
        if LEDGER.received is None:
            raise
        code = _report_again(Interrupt(LEDGER.received))
    finish(code)


def _report_again(exc: KeyboardInterrupt) -> int:
    """:func:`report`, even if yet another signal strikes before it has switched to noting only."""
    first = exc if isinstance(exc, Interrupt) else Interrupt(signal.SIGINT)
    while True:
        try:
            return report(first)
        except KeyboardInterrupt:
            continue


def finish(code: int) -> NoReturn:
    """Block the signals, give a late one its line and code, flush, and exit at once."""
    LEDGER.deferred = True
    for stream in (sys.stdout, sys.stderr):          # a long report drains here: a signal meanwhile is noted
        with contextlib.suppress(Exception):
            stream.flush()
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        pending = [s for s in SIGNALS if s in signal.sigpending()]
        sig = LEDGER.received or (pending[-1] if pending else None)
        if sig is not None:
            LEDGER.received = sig
            code = report(Interrupt(sig))
    os._exit(code)                                   # after the last check, nothing else runs


def _say(text: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _few(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (", …" if len(items) > SHOWN else "")
