"""Hints for people and writers: how to write a scalar so every YAML reader reads what was meant.

:func:`needs_quoting` is called by :mod:`reconciler.repository.yamlwrite` (``import``,
``export``, ``promote``) to decide which strings to quote; :func:`schema_hint` by
validation and settings to explain a value YAML 1.1 would have read as a boolean or a
number. How a scalar is read is :mod:`reconciler.repository.yamlscalars`'s job.
"""

from __future__ import annotations

import json
import re

from reconciler.repository import yamlscalars


def schema_hint(text: str, expected: str) -> str | None:
    """For a value read as a string that fails ``type: expected``: how to write what was meant."""
    old = yamlscalars.yaml11_reading(text)
    if expected == "boolean" and isinstance(old, bool):
        return f"{yamlscalars.quoted(text)} is a string; write {json.dumps(old)} for a boolean"
    if expected in ("integer", "number") and isinstance(old, (int, float)) and not isinstance(old, bool):
        digits = text.lstrip("+").replace("_", "")
        if re.fullmatch(r"0[0-9]+", digits):
            return (f"{yamlscalars.quoted(text)} is a string; a number has no leading zero "
                    f"(write {int(digits, 10)}, or 0o{digits.lstrip('0') or '0'} for octal)")
        if yamlscalars.JSON_FLOAT.match(digits):
            return f"{yamlscalars.quoted(text)} is a string; write {digits} for a number"
        return (f"{yamlscalars.quoted(text)} is a string (YAML 1.1 would have read {json.dumps(old)}); "
                "write the number you mean")
    return None


def needs_quoting(text: str) -> bool:
    """True when ``text`` written as a plain YAML scalar would not read back as that string.

    Covers YAML 1.2 core resolution (as this module reads it, and as strict 1.2
    readers do: ``+12``, ``0644``), the YAML 1.1 set (booleans ``yes``/``NO``/``off``,
    base-60 ``17:30``, ``1_000``, dates, ``.inf``) and text plain style cannot hold
    (leading/trailing spaces, indicators, ``: `` / `` #``, line breaks, an empty string).
    For writers (import/export): quote whenever this says so.
    """
    if not isinstance(text, str) or text == "" or text != text.strip() or "\n" in text:
        return True
    try:
        if not isinstance(yamlscalars.resolve_plain(text), str):
            return True
    except yamlscalars.ScalarError:
        return True
    if yamlscalars.CORE_INT.match(text) or yamlscalars.CORE_FLOAT.match(text.replace("_", "")) \
            or text.startswith(("0o", "0x")):
        return True
    if yamlscalars.ambiguity(text, text) is not None:
        return True
    if text[0] in "-?:,[]{}#&*!|>'\"%@`" or ": " in text or " #" in text or text.endswith(":"):
        return True
    return any(ord(c) < 0x20 or c in "\x7f\ufeff" for c in text)
