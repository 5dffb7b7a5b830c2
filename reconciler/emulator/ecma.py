"""ECMA-262 patterns for the emulator: the reconciler's one decision, :mod:`reconciler.checks.ecma`.

The emulator stands for the service, and validate must accept exactly what the service
accepts (issue 20: the two had disagreed on inputs from suites nobody here wrote). So there
is one ECMA-262 decision — validity by **regress** (a native ECMA-262 engine, ``u`` flag),
matching bounded (a linear engine for regular patterns, regress in a killable worker for the
rest) — and this module only adapts it to the emulator's names; Node's ``RegExp(p, 'u')``
checks the decision from outside (``tests/test_regex_oracle.py``). Also here:
:func:`python_re_notes`, the warning the PUT answers with.
"""

from __future__ import annotations

import re

from reconciler.checks import ecma

PatternTimeout = ecma.PatternTimeout


def pattern_problem(pattern: str) -> str | None:
    """``None`` when ``pattern`` is a valid ECMA-262 (Unicode mode) regex, else why not."""
    return ecma.problem(pattern)


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


def looks_catastrophic(pattern: str) -> bool:
    """Whether the valid ``pattern`` backtracks catastrophically (validate's ``schema.regex_timeout`` probe)."""
    return ecma.looks_catastrophic(pattern)


def search(pattern: str, text: str, *, deadline: float) -> bool:
    """``True`` when ``pattern`` (already checked valid) matches somewhere in ``text``.

    Raises :class:`PatternTimeout` when the answer is not there by ``deadline``
    (``time.monotonic()`` seconds).
    """
    return ecma.search(pattern, text, deadline=deadline)
