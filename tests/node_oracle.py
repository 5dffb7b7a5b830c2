"""A JavaScript engine as the oracle of ECMA-262 patterns: ONE ``node`` process, batches of cases.

:func:`start` returns an :class:`Oracle` (or None when ``node`` is not on PATH; :data:`SKIP_REASON`
says so). :meth:`Oracle.verdicts` sends a batch of ``(pattern, text or None)`` and gets, for each,
``"invalid"`` (``new RegExp(p, 'u')`` throws), ``"valid"`` (no text given), ``"match"`` or
``"nomatch"`` (``RegExp.prototype.test``: unanchored, like JSON Schema).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence

SKIP_REASON = "node is not on PATH: no JavaScript engine to serve as the ECMA-262 oracle"

_PROGRAM = r"""
const readline = require('readline');
const lines = readline.createInterface({input: process.stdin});
lines.on('line', (line) => {
  const out = JSON.parse(line).map(([pattern, text]) => {
    let rx;
    try { rx = new RegExp(pattern, 'u'); } catch (e) { return 'invalid'; }
    return text === null ? 'valid' : (rx.test(text) ? 'match' : 'nomatch');
  });
  process.stdout.write(JSON.stringify(out) + '\n');
});
"""


class Oracle:
    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen([node, "-e", _PROGRAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, encoding="utf-8")
        self.version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()

    def verdicts(self, cases: Sequence[tuple[str, str | None]]) -> list[str]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps([list(c) for c in cases]) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())

    def close(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)
        self._proc.stdout.close()


def start() -> Oracle | None:
    node = shutil.which("node")
    return Oracle(node) if node else None
