"""A killable worker process that runs ECMA-262 patterns on **regress**, for :mod:`reconciler.checks.ecma`.

regress (a native ECMA-262 engine) backtracks without any limit and holds the GIL while it
runs, so a pattern that needs backtracking is run here: one long-lived ``python -c`` child
speaking JSON lines. :meth:`Worker.search_many` waits until its deadline and kills the child
when the answer is not there (the next call starts a fresh one). The deadline starts only
once the child is up (it says ``ready`` after importing regress), so a slow start on a busy
machine is never mistaken for a runaway pattern.

Protocol: one request ``[pattern, [text, …]]`` per line, one answer per line: a string of
``0``/``1``, one per text. Texts hold no lone surrogate (the caller replaces them).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time

#: How long a fresh worker may take to import regress before it is given up on, seconds.
START_TIMEOUT_S = 30.0

_PROGRAM = r"""
import json, sys, regress
cache = {}
out = sys.stdout
out.write("ready\n")
out.flush()
for line in sys.stdin:
    pattern, texts = json.loads(line)
    rx = cache.get(pattern)
    if rx is None:
        if len(cache) > 512:
            cache.clear()
        rx = cache[pattern] = regress.Regex(pattern, "u")
    out.write("".join("1" if rx.find(text) is not None else "0" for text in texts) + "\n")
    out.flush()
"""


class WorkerTimeout(Exception):
    """No answer by the deadline (the worker was killed), or the worker died."""


class Worker:
    """One child process at a time; thread-safe (one request in flight)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._registered = False

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self.stop()                             # a dead one: its pipes are closed here
        if not self._registered:
            atexit.register(self.stop)
            self._registered = True
        self._proc = subprocess.Popen([sys.executable, "-c", _PROGRAM], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._buffer = b""
        if self._read_line(time.monotonic() + START_TIMEOUT_S) != b"ready":
            raise WorkerTimeout("the regex worker did not start")
        return self._proc

    def stop(self) -> None:
        """Kill the child, if any (the next search starts another)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:        # closed here, not by the garbage collector (a ResourceWarning at exit)
                pipe.close()

    def _read_line(self, deadline: float) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = select.select([fd], [], [], remaining)[0] if remaining > 0 else []
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:                       # over budget, or the worker died
                self.stop()
                raise WorkerTimeout("no answer in time")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def search_many(self, pattern: str, texts: list[str], budget: float) -> list[bool]:
        """Whether ``pattern`` (valid) matches somewhere in each text; :class:`WorkerTimeout` after ``budget`` s."""
        with self._lock:
            proc = self._start()
            deadline = time.monotonic() + budget
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps([pattern, texts]).encode() + b"\n")
                proc.stdin.flush()
            except OSError:
                self.stop()
                raise WorkerTimeout("the regex worker died") from None
            answer = self._read_line(deadline)
            if len(answer) != len(texts):       # pragma: no cover - a worker that crashed mid-line
                self.stop()
                raise WorkerTimeout("the regex worker gave a broken answer")
            return [c == ord("1") for c in answer]
