"""The ECMA-262 (Unicode mode) regex syntax: what a pattern may be, and its text for the engine.

Called by :mod:`reconciler.checks.regexguard` (which compiles and runs patterns), by
:mod:`reconciler.checks.fastcheck` (the compiled validator's patterns go through the same
:func:`translate`) and by the schema checks (:func:`python_re_differences`, the dialect warning).
:func:`translate` checks what Unicode mode forbids and spells out what jsonschema-rs
would otherwise read differently (``[^]``, ``[]``, ``\\0``, ``[\\b]``, ``\\k<name>``, ASCII
``\\b``, ``\\d``/``\\w``/``\\s`` and ``.``); a pattern that is not valid raises :class:`RegexError`.
Running a pattern, and bounding it, is left to regexguard (the dialect decision is in its docstring).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

_SYNTAX_CHARS = frozenset("^$\\.*+?()[]{}|/")
_CLASS_ESCAPES = frozenset("dDsSwWpP")
_WORD = "[A-Za-z0-9_]"
_ASCII_BOUNDARY = f"(?:(?<={_WORD})(?!{_WORD})|(?<!{_WORD})(?={_WORD}))"
_ASCII_NON_BOUNDARY = f"(?:(?<={_WORD})(?={_WORD})|(?<!{_WORD})(?!{_WORD}))"
_HEX = frozenset("0123456789abcdefABCDEF")
# ECMA-262's character class escapes, spelled out: the engine never sees \d \w \s or '.', whose meaning
# jsonschema-rs's translation does not keep on its backtracking path (found by the differential test).
_CLASS_ITEMS = {"d": "0-9", "w": "A-Za-z0-9_",
                "s": "\\t\\n\\x0B\\f\\r \\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF"}
_DOT = "[^\\n\\r\\u2028\\u2029]"
_ANY_ITEMS = "\\u0000-\\u{10FFFF}"


class RegexError(ValueError):
    """A pattern that is not a valid ECMA-262 (Unicode mode) regex; ``str()`` is a readable one-liner."""


def invalid(pattern: str, reason: str) -> RegexError:
    """The error for ``pattern``, with ``reason`` and the dialect named."""
    return RegexError(f"invalid regular expression {pattern!r}: {reason} (patterns are ECMA-262, Unicode mode)")


def tokens(pattern: str) -> Iterator[tuple[int, str, bool]]:
    """``(index, token, inside-a-class)`` with each escape as one two-character token (``[`` inside a class
    is a literal); the one scanner of patterns, for this module and :mod:`reconciler.checks.ecma`."""
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            yield i, pattern[i:i + 2], in_class
            i += 2
            continue
        yield i, c, in_class
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        i += 1


def _group_names(pattern: str) -> tuple[int, dict[str, int]]:
    """Number of capture groups and the index of each named one (escapes and classes skipped)."""
    count, names = 0, {}
    for i, token, in_class in tokens(pattern):
        if token != "(" or in_class:
            continue
        if not pattern.startswith("?", i + 1):
            count += 1
        elif pattern.startswith("?<", i + 1) and not pattern.startswith(("?<=", "?<!"), i + 1):
            count += 1
            end = pattern.find(">", i)
            if end > 0:
                names[pattern[i + 3:end]] = count
    return count, names


def _translate(pattern: str) -> str:
    """Check what ECMA-262 Unicode mode forbids; spell out what jsonschema-rs would read otherwise."""
    groups, names = _group_names(pattern)
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "[":
            i = _translate_class(pattern, i, out)
            continue
        if c == "\\":
            i = _translate_escape(pattern, i, out, groups, names)
            continue
        out.append(_DOT if c == "." else c)
        i += 1
    return "".join(out)


def _escape_end(pattern: str, i: int, *, in_class: bool) -> tuple[int, str, bool]:
    """Parse the escape at ``pattern[i] == '\\'``: (end, ECMA text, is-a-class-escape). Raises RegexError."""
    if i + 1 >= len(pattern):
        raise invalid(pattern, "'\\' at end of pattern")
    c = pattern[i + 1]
    if c in _SYNTAX_CHARS or c in "fnrtv" or c in "dDsSwW" or (c == "-" and in_class):
        return i + 2, pattern[i:i + 2], c in _CLASS_ESCAPES
    if c in "bB":
        if in_class and c == "B":
            raise invalid(pattern, "'\\B' inside a character class")
        return i + 2, pattern[i:i + 2], False
    if c == "c":
        if i + 2 < len(pattern) and pattern[i + 2].isascii() and pattern[i + 2].isalpha():
            return i + 3, f"\\x{ord(pattern[i + 2]) % 32:02X}", False
        raise invalid(pattern, "'\\c' must be followed by a letter")
    if c == "0":
        if i + 2 < len(pattern) and pattern[i + 2].isdigit():
            raise invalid(pattern, "legacy octal escape '\\0" + pattern[i + 2] + "'")
        return i + 2, "\\x00", False
    if c.isdigit():
        j = i + 1
        while j < len(pattern) and pattern[j].isdigit():
            j += 1
        if in_class:
            raise invalid(pattern, f"'{pattern[i:j]}' inside a character class")
        return j, pattern[i:j], False
    if c in "pP":
        end = pattern.find("}", i)
        if not pattern.startswith("{", i + 2) or end < 0:
            raise invalid(pattern, f"'\\{c}' must be followed by {{PropertyName}}")
        return end + 1, pattern[i:end + 1], True
    if c == "x":
        if len(pattern) >= i + 4 and set(pattern[i + 2:i + 4]) <= _HEX:
            return i + 4, pattern[i:i + 4], False
        raise invalid(pattern, "'\\x' must be followed by two hex digits")
    if c == "u":
        if pattern.startswith("{", i + 2):
            end = pattern.find("}", i)
            digits = pattern[i + 3:end] if end > 0 else ""
            if digits and set(digits) <= _HEX and int(digits, 16) <= 0x10FFFF:
                return end + 1, pattern[i:end + 1], False
        elif len(pattern) >= i + 6 and set(pattern[i + 2:i + 6]) <= _HEX:
            high = int(pattern[i + 2:i + 6], 16)
            low = pattern[i + 8:i + 12] if pattern.startswith("\\u", i + 6) else ""
            if 0xD800 <= high <= 0xDBFF and len(low) == 4 and set(low) <= _HEX and 0xDC00 <= int(low, 16) <= 0xDFFF:
                code = 0x10000 + ((high - 0xD800) << 10) + (int(low, 16) - 0xDC00)      # a surrogate pair
                return i + 12, f"\\u{{{code:X}}}", False
            return i + 6, pattern[i:i + 6], False
        raise invalid(pattern, "'\\u' must be followed by four hex digits or {hex}")
    if c == "k":
        end = pattern.find(">", i)
        if pattern.startswith("<", i + 2) and end > 0:
            return end + 1, pattern[i:end + 1], False
        raise invalid(pattern, "'\\k' must be followed by <name>")
    raise invalid(pattern, f"'\\{c}' is not an escape")


def _translate_escape(pattern: str, i: int, out: list[str], groups: int, names: dict[str, int]) -> int:
    end, text, _ = _escape_end(pattern, i, in_class=False)
    kind = text[1]
    if kind.isdigit() and kind != "0":
        if int(text[1:]) > groups:
            raise invalid(pattern, f"back-reference '{text}' to a group that does not exist")
    elif kind == "k":
        name = text[3:-1]
        if name not in names:
            raise invalid(pattern, f"'{text}' names no group")
        text = f"(?:\\{names[name]})"          # grouped: a digit after it must not extend the number
    elif kind == "b":
        text = _ASCII_BOUNDARY
    elif kind == "B":
        text = _ASCII_NON_BOUNDARY
    elif kind.lower() in _CLASS_ITEMS:
        text = f"[{'^' if kind.isupper() else ''}{_CLASS_ITEMS[kind.lower()]}]"
    out.append(text)
    return end


def _translate_class(pattern: str, i: int, out: list[str]) -> int:
    """A ``[...]`` class starting at ``i``: ranges may not end at a class escape (``[\\w-.]``)."""
    j = i + 1
    negated = pattern.startswith("^", j)
    if negated:
        j += 1
    items: list[str] = []                 # what goes inside one [...]
    complements: list[str] = []           # \D \W \S inside a class: whole classes, joined by alternation
    while True:
        if j >= len(pattern):
            raise invalid(pattern, "unterminated character class '['")
        if pattern[j] == "]":
            break
        j, low, low_class = _class_atom(pattern, j)
        if pattern.startswith("-", j) and j + 1 < len(pattern) and pattern[j + 1] != "]":
            j, high, high_class = _class_atom(pattern, j + 1)
            if low_class or high_class:
                raise invalid(pattern, f"'{_shown(low)}-{_shown(high)}' in a character class: a range cannot "
                                        "start or end at a class escape; put '-' first or last, or escape it as '\\-'")
            items.append(f"{low}-{high}")
        elif low.startswith("[^"):
            complements.append(low)
        else:
            items.append(low)
    alternatives = ([f"[{''.join(items)}]"] if items else []) + complements
    if not alternatives:                  # [] matches nothing, [^] any character
        out.append(f"[{_ANY_ITEMS}]" if negated else f"[^{_ANY_ITEMS}]")
    elif not complements:
        out.append(f"[{'^' if negated else ''}{''.join(items)}]")
    elif negated:
        out.append(f"(?:(?!{'|'.join(alternatives)})[{_ANY_ITEMS}])")
    else:
        out.append(f"(?:{'|'.join(alternatives)})")
    return j + 1


def _shown(item: str) -> str:
    """An atom as the user wrote it, for messages (class escapes are expanded by then)."""
    for kind, items in _CLASS_ITEMS.items():
        if item == items:
            return "\\" + kind
        if item == f"[^{items}]":
            return "\\" + kind.upper()
    return item


def _class_atom(pattern: str, j: int) -> tuple[int, str, bool]:
    """(end, text for the engine, is-a-class-escape); \\d -> 0-9, \\D -> [^0-9] (a whole class)."""
    if pattern[j] != "\\":
        return j + 1, pattern[j], False
    end, text, is_class = _escape_end(pattern, j, in_class=True)
    kind = text[1] if len(text) > 1 else ""
    if text == "\\b":
        return end, "\\x08", False                  # backspace inside a class
    if kind.lower() in _CLASS_ITEMS and len(text) == 2:
        items = _CLASS_ITEMS[kind.lower()]
        return end, (f"[^{items}]" if kind.isupper() else items), True
    return end, text, is_class


@functools.lru_cache(maxsize=2048)
def translate(pattern: str) -> str:
    """``pattern`` as the engine takes it; :class:`RegexError` when it is not ECMA-262 (Unicode mode).

    Also used by :mod:`reconciler.checks.fastcheck`, so the compiled values check matches exactly like
    :func:`search`."""
    return _translate(pattern)


#: Each difference: (how it matches here, how Python's ``re`` matches instead), terse enough that
#: the whole warning fits on one line uncut.
_PYTHON_RE_NOTES = {
    "d": ("`\\d` is ASCII 0-9 only", "any Unicode digit"),
    "w": ("`\\w` is [A-Za-z0-9_] only", "Unicode letters too"),
    "s": ("`\\s` is ECMA-262 white space", "U+001C-U+001F in, U+FEFF out"),
    "b": ("`\\b` is an ASCII word boundary", "a Unicode one"),
    "$": ("`$` is the very end", "also before a final newline"),
}


@functools.lru_cache(maxsize=1024)
def python_re_differences(pattern: str) -> tuple[tuple[str, str], ...]:
    """Where a valid ``pattern`` would match differently under Python's ``re`` (empty: nowhere):
    ``(here, in Python's re)`` pairs. Remembered per pattern: a fleet's distinct schemas repeat the
    same few patterns (854 checks of a handful of patterns in 1,000 agents)."""
    seen: dict[str, None] = {}
    for _, token, in_class in tokens(pattern):
        escaped = token.startswith("\\")
        kind = token[1:].lower() if escaped else token
        if (escaped and kind in ("d", "w", "s")) or (not in_class and (kind == "b") is escaped
                                                     and kind in ("b", "$")):
            seen.setdefault(kind)
    return tuple(_PYTHON_RE_NOTES[k] for k in seen)
