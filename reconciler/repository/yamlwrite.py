"""Write JSON data as block-style YAML that any YAML reader reads back identically.

Called by :mod:`reconciler.adoption.importer` (``import`` from live or from an ADK
project, ``promote``) to write ``schema.yaml`` / ``values.yaml``. It is the
only module that *writes* YAML; :mod:`reconciler.repository.yamlsafe` is the only one
that reads it, and :func:`dump` checks its own output with it.

The output is meant for people and for reviews:

- block style, two-space indentation, keys in the order given (live order);
- multi-line strings as literal blocks (``|``, ``|-``, ``|+``) when that is exact;
- a string stays plain only when no YAML reader — 1.1 (PyYAML, most tools) or
  1.2 core — could take it for anything but that string, and when it cannot be
  mistaken for syntax. Everything else is double-quoted (``"NO"``, ``"off"``,
  ``"0644"``, ``"+441632960001"``, ``"17:30"``, ``"null"``, ``"*x"``, ``" x"``),
  so the file reads back the same under today's reader and a stricter one, and
  never draws an "ambiguous scalar" warning;
- floats are written so that both YAML 1.1 and JSON read them as floats (``1.0e+20``).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.repository import yamlhints, yamlsafe

#: Line breaks other than \n and invisible marks: never written raw.
_SPECIAL_BREAKS = frozenset("\r\x85\u2028\u2029\ufeff")


class YamlWriteError(ValueError):
    """The data cannot be written as YAML that reads back the same (not JSON data)."""


def dump(data: Mapping[str, Any], *, replaced: Mapping[str, str] | None = None, header: str | None = None) -> str:
    """``data`` (a mapping) as YAML text ending in a newline.

    ``replaced``: top-level keys written as a comment line ``# <text>`` in their
    place instead of their value (import leaves sensitive values out this way).
    ``header``: comment lines put first.
    """
    replaced = replaced or {}
    lines = [f"# {line}".rstrip() for line in (header or "").splitlines()]
    body: list[str] = []
    kept = {k: v for k, v in data.items() if k not in replaced}
    for key, value in data.items():
        if key in replaced:
            body.append(_comment(replaced[key]))
        else:
            _entry(key, value, 0, body)
    if not kept:
        body.append("{}")
    text = "\n".join(lines + body) + "\n"
    _check(text, kept)
    return text


def _comment(text: str) -> str:
    if "\n" in text or not all(_printable(c) for c in text):
        raise YamlWriteError("a comment must be one line of printable text")
    return f"# {text}"


@functools.lru_cache(maxsize=65536)          # keys and words repeat across a fleet's pages
def needs_quoting(text: str) -> bool:
    """Whether ``text`` must be quoted to be read back as this very string by YAML 1.1 and 1.2 readers.

    The list of what a reader could take for something else is
    :func:`reconciler.repository.yamlhints.needs_quoting` (one source of truth with the
    reader and its ``yaml.ambiguous`` warnings); on top of it, a character
    plain style cannot carry (control characters, odd line breaks) forces quotes.
    """
    try:
        ambiguous = yamlhints.needs_quoting(text)
    except (KeyError, ValueError):      # e.g. "=" (YAML 1.1's value tag) trips the 1.1 lookup: quote it
        ambiguous = True
    return ambiguous or not all(_printable(c) and c != "\t" for c in text)


def scalar(value: Any) -> str:
    """One scalar as a single YAML token (strings plain or double-quoted)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _double_quoted(value) if needs_quoting(value) else value
    raise YamlWriteError(f"{type(value).__name__} is not JSON data")


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise YamlWriteError(f"{value!r} is not a JSON number")
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-')}"
    return text if "." in text else text + ".0"


def _printable(char: str) -> bool:
    """YAML's c-printable set (what may appear unescaped), minus the odd line breaks."""
    code = ord(char)
    if char in _SPECIAL_BREAKS:
        return False
    return (char in "\t\n" or 0x20 <= code <= 0x7E or code == 0x85 or 0xA0 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF)


def _double_quoted(text: str) -> str:
    out = []
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif _printable(char):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _literal(text: str) -> tuple[str, list[str]] | None:
    """(indicator, lines) when ``text`` can be a literal block exactly, else None."""
    if "\n" not in text or not text.strip("\n") or not all(_printable(c) for c in text):
        return None
    body = text.rstrip("\n")
    lines = body.split("\n")
    if lines[0].startswith((" ", "\t")) or any(line != line.rstrip(" \t") for line in lines):
        return None                     # would need an indentation indicator / trailing blanks are fragile
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    return "|" + chomp, lines + [""] * (trailing - 1 if trailing > 1 else 0)


def key_text(key: Any) -> str:
    """A mapping key as written (plain or double-quoted): also safe inside a comment."""
    return _key(key)


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise YamlWriteError(f"mapping key {key!r} is not a string")
    return _double_quoted(key) if needs_quoting(key) else key


def _entry(key: str, value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    head = f"{pad}{_key(key)}:"
    if isinstance(value, Mapping) and value:
        out.append(head)
        _mapping(value, indent + 2, out)
    elif isinstance(value, list) and value:
        out.append(head)
        _sequence(value, indent + 2, out)
    else:
        _scalar_after(head, value, indent + 2, out)


def _scalar_after(head: str, value: Any, indent: int, out: list[str]) -> None:
    """``head`` (``key:`` or ``-``) followed by a scalar or an empty collection."""
    if isinstance(value, Mapping):
        out.append(f"{head} {{}}")
        return
    if isinstance(value, list):
        out.append(f"{head} []")
        return
    block = _literal(value) if isinstance(value, str) else None
    if block is None:
        out.append(f"{head} {scalar(value)}")
        return
    indicator, lines = block
    out.append(f"{head} {indicator}")
    out.extend((" " * indent + line) if line else "" for line in lines)


def _mapping(value: Mapping[str, Any], indent: int, out: list[str]) -> None:
    for key, item in value.items():
        _entry(key, item, indent, out)


def _sequence(value: Sequence[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in value:
        if (isinstance(item, Mapping) or isinstance(item, list)) and item:
            nested: list[str] = []
            (_mapping if isinstance(item, Mapping) else _sequence)(item, indent + 2, nested)
            nested[0] = f"{pad}- " + nested[0][indent + 2:]
            out.extend(nested)
        else:
            _scalar_after(f"{pad}-", item, indent + 2, out)


def _check(text: str, expected: Mapping[str, Any]) -> None:
    """Read the output back with the reconciler's own reader: it must give exactly ``expected``."""
    data, smap = yamlsafe.parse_yaml(text, "<written>")
    if _exact(data) != _exact(expected):
        raise YamlWriteError("the YAML written does not read back as the same data (a bug in yamlwrite)")
    if smap.notes:
        raise YamlWriteError(f"the YAML written draws a warning: {smap.notes[0].message} (a bug in yamlwrite)")


def _exact(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and true from 1, with key order."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=repr)
