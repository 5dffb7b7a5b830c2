"""ECMA-262 patterns for the emulator: the same dialect as the reconciler, a different engine.

The dialect is decided in :mod:`reconciler.checks.regexguard` (ECMA-262 in Unicode mode,
unanchored search). The emulator stands for the service, so it must not share the
reconciler's code path: a bug there would otherwise make both agree on a wrong
answer. Here the engine is **regress** (a native ECMA-262 engine, compiled with the
``u`` flag), and nothing is imported from ``regexguard``.

regress backtracks without any limit and holds the GIL while it runs, so matching
runs in a small worker process: :func:`search` waits at most its budget and kills
the worker when a pattern runs away (the next search starts a fresh one). Syntax
checks (:func:`pattern_problem`) run in-process: compiling is linear.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import select
import subprocess
import sys
import threading
import time

import regress

_WORKER = r"""
import json, sys, regress
cache = {}
out = sys.stdout
for line in sys.stdin:
    pattern, text = json.loads(line)
    rx = cache.get(pattern)
    if rx is None:
        if len(cache) > 512:
            cache.clear()
        rx = cache[pattern] = regress.Regex(pattern, "u")
    out.write("1\n" if rx.find(text) is not None else "0\n")
    out.flush()
"""


class PatternTimeout(Exception):
    """A search that did not finish within its budget (the worker was killed)."""

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self.pattern = pattern


@functools.lru_cache(maxsize=1024)
def pattern_problem(pattern: str) -> str | None:
    """``None`` when ``pattern`` is a valid ECMA-262 (Unicode mode) regex, else why not."""
    try:
        regress.Regex(pattern, "u")
    except (regress.RegressError, ValueError) as exc:
        return str(exc) or "invalid regular expression"
    return None


#: An escape or a ``$`` outside a character class, as the pattern text has it (escapes in pairs skipped).
_TOKEN = re.compile(r"\\.|\[(?:\\.|[^\]\\])*\]|\$", re.S)
_PYTHON_NOTES = {"d": "\\d takes Unicode digits in Python's re", "w": "\\w takes Unicode letters in Python's re",
                 "s": "\\s is Unicode white space in Python's re", "b": "\\b is a Unicode boundary in Python's re",
                 "$": "$ also matches before a trailing newline in Python's re"}


def python_re_notes(pattern: str) -> list[str]:
    """How a valid ECMA-262 ``pattern`` would match differently under Python's ``re`` (for a warning)."""
    kinds: dict[str, None] = {}
    for token in _TOKEN.findall(pattern):
        if token == "$":
            kinds.setdefault("$")
        elif token.startswith("["):
            kinds.update(dict.fromkeys(k.lower() for k in re.findall(r"\\([dDwWsS])", token)))
        elif token[1:].lower() in ("d", "w", "s", "b"):
            kinds.setdefault(token[1:].lower())
    return [_PYTHON_NOTES[k] for k in _PYTHON_NOTES if k in kinds]


class _Worker:
    """One long-lived ``python -c`` child speaking JSON lines; restarted after a kill."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._results: dict[tuple[str, str], bool] = {}

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            self._buffer = b""
        return self._proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout) if proc is not None else ():
            if pipe is not None:        # closed here, not by the garbage collector (a ResourceWarning at exit)
                pipe.close()

    def search(self, pattern: str, text: str, deadline: float) -> bool:
        key = (pattern, text)
        with self._lock:
            if key in self._results:
                return self._results[key]
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps([pattern, text]).encode() + b"\n")
            proc.stdin.flush()
            fd = proc.stdout.fileno()
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                ready = select.select([fd], [], [], max(remaining, 0))[0] if remaining > 0 else []
                chunk = os.read(fd, 64) if ready else b""
                if not chunk:                       # over budget, or the worker died
                    self.stop()
                    raise PatternTimeout(pattern)
                self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\n", 1)
            result = line == b"1"
            if len(self._results) > 4096:
                self._results.clear()
            self._results[key] = result
            return result


_worker = _Worker()
atexit.register(_worker.stop)


def search(pattern: str, text: str, *, deadline: float) -> bool:
    """``True`` when ``pattern`` (already checked valid) matches somewhere in ``text``.

    Raises :class:`PatternTimeout` when the answer is not there by ``deadline``
    (``time.monotonic()`` seconds).
    """
    return _worker.search(pattern, text, deadline)
