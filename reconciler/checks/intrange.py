"""The one integer range, for validate and the emulator: signed 64-bit.

JSON leaves number range open; the API's own limit is not published. Integers are held
as 64-bit signed numbers by most services and JSON parsers outside Python (JavaScript
reads larger ones as inexact doubles), so an integer outside
[-9223372036854775808, 9223372036854775807] is refused: by ``validate``
(``values.integer_too_large`` / ``schema.integer_too_large``, at its line) and by the
emulator (``REAL_TIME_CONFIG_INVALID_FOR_SCHEMA`` for variables,
``REAL_TIME_CONFIG_INVALID_SCHEMA`` for a schema). Iterative: deep data cannot exhaust the stack.
"""

from __future__ import annotations

from typing import Any

from reconciler.model import JsonPath, leaves
from reconciler.repository import yamlbuild

INT_MIN, INT_MAX = yamlbuild.INT64_MIN, yamlbuild.INT64_MAX


def in_range(value: Any) -> bool:
    """False only for an integer (not a bool) outside the 64-bit range."""
    return not isinstance(value, int) or isinstance(value, bool) or INT_MIN <= value <= INT_MAX


def out_of_range(doc: Any) -> list[JsonPath]:
    """Paths of the integers in ``doc`` outside the range (sorted)."""
    return sorted((path for path, node in leaves(doc) if not in_range(node)), key=lambda p: [str(x) for x in p])
