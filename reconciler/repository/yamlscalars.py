"""What a YAML scalar means here: the YAML 1.2 core schema, with numbers only as JSON writes them.

Called by the node builder (:mod:`reconciler.repository.yamlbuild`) for every scalar and
key, and by the writer hints (:mod:`reconciler.repository.yamlhints`).
``true``/``false`` (also ``True``/``TRUE``/``False``/``FALSE``) are booleans;
``null``/``Null``/``NULL``/``~``/nothing is null; ``-12``, ``3.5``, ``1e3`` and the 1.2
``0o17``/``0x1F`` forms are numbers; everything else is the string written — ``NO``,
``off``, ``yes``, ``+441632960001``, ``0644``, ``17:30``, ``1_000`` and dates included.
:func:`ambiguity` words the ``yaml.ambiguous`` warning: a plain scalar that YAML 1.1
would have read differently (``country: NO``).

Composing nodes, tags on collections, keys and budgets are left to the builder.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

import yaml

#: The prefix of YAML's core tags (``tag:yaml.org,2002:str`` …).
CORE_TAG = "tag:yaml.org,2002:"
#: The tag the composer gives every untagged plain scalar: resolved here (YAML 1.2), not by PyYAML.
PLAIN_TAG = "tag:reconciler:plain"
#: Explicit scalar tags a document may carry (``!!int 12``); any other tag is refused.
SCALAR_TAGS = frozenset(f"{CORE_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp"))


# SafeConstructor's scalar constructors only read node.value; one shared instance serves them.
_SCALARS = yaml.SafeLoader("")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
#: First characters of every plain scalar that YAML 1.2 (as read here) or YAML 1.1 (PyYAML's implicit
#: resolvers, keyed by first character) may read as something other than the text.
_MAYBE_NOT_TEXT = frozenset("!&*+-.0123456789<=FNOTYfnoty~")
_LETTERS = frozenset("FNOTYfnoty")          # ... where only whole words count (booleans, nulls)


_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_JSON_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
JSON_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
# Explicit tags (``!!int 12``) take the YAML 1.2 core forms.
CORE_INT = re.compile(r"[-+]?[0-9]+\Z")
CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NON_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
#: YAML 1.1's booleans as PyYAML (the common 1.1 reader) has them: the spec's y/n are left out.
_YAML11_BOOLS = {**{w: True for w in ("yes", "Yes", "YES", "on", "On", "ON")},
                 **{w: False for w in ("no", "No", "NO", "off", "Off", "OFF")}}
_YAML11 = yaml.resolver.Resolver()
_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
_SPECIAL_WORDS = frozenset(_YAML11_BOOLS) | frozenset(_BOOLS) | _NULLS


def plainly_text(text: str) -> bool:
    """True when plain ``text`` is that string under YAML 1.2 and 1.1 alike (no note, no resolution).

    Most of a fleet's scalars (keys, names, sentences): skips :func:`resolve_plain` and
    :func:`ambiguity`, which give the same answer for them (``tests/test_fleet_caches.py``).
    """
    if not text:
        return False
    if text[0] in _LETTERS:
        return text not in _SPECIAL_WORDS
    return text[0] not in _MAYBE_NOT_TEXT


class ScalarError(ValueError):
    """A scalar that cannot be JSON data: ``code`` is its ``yaml.*`` code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def resolve_plain(text: str) -> Any:
    """What an untagged plain scalar means here: YAML 1.2 core, numbers only in JSON's grammar.

    ``true``/``false`` (and ``True``/``TRUE``/``False``/``FALSE``) are booleans; ``null``,
    ``Null``, ``NULL``, ``~`` and nothing are null; ``-12``, ``3.5``, ``1e3`` (JSON
    numbers) and ``0o17``/``0x1F`` are numbers; everything else is the string written.
    Raises :class:`ScalarError` for ``.nan``/``.inf`` (not JSON numbers).
    """
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _JSON_INT.match(text):
        return int(text)
    if JSON_FLOAT.match(text):
        return _finite(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _NON_FINITE.match(text):
        raise ScalarError(f"{text} is not a JSON number (NaN and infinity cannot be sent); "
                          "quote it for a string", "yaml.non_finite")
    return text


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ScalarError(f"{text} is too large for a JSON number (it would become infinity)",
                          "yaml.non_finite")
    return value


def yaml11_reading(text: str) -> Any:
    """What a YAML 1.1 reader (PyYAML, many older tools) makes of a plain scalar; dates stay text."""
    if text in _YAML11_BOOLS:
        return _YAML11_BOOLS[text]
    tag = _YAML11.resolve(yaml.ScalarNode, text, (True, False))
    if tag in (f"{CORE_TAG}str", f"{CORE_TAG}timestamp"):
        return _Date(text) if tag.endswith("timestamp") else text
    if tag not in yaml.SafeLoader.yaml_constructors:      # `=` (!!value), `<<` (!!merge): no data type
        return _Token(text)
    node = yaml.ScalarNode(tag, text)
    return yaml.SafeLoader.yaml_constructors[tag](_SCALARS, node)


class _Date(str):
    """A plain scalar YAML 1.1 reads as a date or timestamp."""


class _Token(str):
    """A plain scalar YAML 1.1 resolves to a tag that is no data type (``=`` value, ``<<`` merge)."""


@functools.lru_cache(maxsize=8192)
def read_plain(text: str) -> tuple[Any, str | None]:
    """(:func:`resolve_plain`, :func:`ambiguity`) of a plain scalar that is not :func:`plainly_text`, memoised.

    A fleet writes the same times, numbers and booleans in thousands of files (``09:00-18:30``:
    8,928 such scalars and 1,482 distinct ones in 300 agents); each is resolved once per process.
    The value is immutable (a number, boolean, null or string), so sharing it is safe. Raises
    :class:`ScalarError` like :func:`resolve_plain` (not remembered).
    """
    value = resolve_plain(text)
    return value, ambiguity(text, value)


def ambiguity(text: str, value: Any) -> str | None:
    """The ``yaml.ambiguous`` message when YAML 1.1 reads plain ``text`` other than as ``value``.

    Remembered per (text, value): a fleet repeats the same numbers, booleans and nulls in
    thousands of files, and asking PyYAML's 1.1 resolver each time was ~5 % of a cold load.
    """
    return ambiguity_of(text, type(value), value)


@functools.lru_cache(maxsize=8192)
def ambiguity_of(text: str, kind: type, value: Any) -> str | None:
    """:func:`ambiguity`, memoised; ``kind`` is ``type(value)``, so ``1``, ``1.0`` and ``True`` are told apart."""
    try:
        old = yaml11_reading(text)
    except (ValueError, TypeError, OverflowError):        # pragma: no cover - 1.1 constructors are total
        return None
    if type(old) is type(value) and old == value:
        return None
    if isinstance(value, str):
        return (f"{quoted(text)} is read as the string {json.dumps(text, ensure_ascii=False)} (YAML 1.2); "
                "quote it to make that explicit")
    return (f"{text} is read as the {_TYPE_NAMES[type(value)]} {json.dumps(value)} (YAML 1.2); "
            f"YAML 1.1 reads {_describe11(old)}: quote it if you mean the text")


def _describe11(old: Any) -> str:
    if isinstance(old, _Date):
        return "a date"
    if isinstance(old, str):
        return f"the string {json.dumps(old, ensure_ascii=False)}"
    return f"the {_TYPE_NAMES.get(type(old), 'value')} {json.dumps(old)}"


def quoted(text: str) -> str:
    """``text`` as a single-quoted YAML scalar (for messages)."""
    return "'" + text.replace("'", "''") + "'"


def resolve_tagged(tag: str, text: str) -> Any:
    """A scalar with an explicit core tag (``!!int 12``); a literal the tag cannot take is a ScalarError."""
    kind = tag[len(CORE_TAG):]
    if kind in ("str", "timestamp"):
        return text                        # dates stay as written: values must be JSON
    if kind == "null":
        if text in _NULLS:
            return None
    elif kind == "bool":
        if text in _BOOLS:
            return _BOOLS[text]
    elif kind == "int":
        if CORE_INT.match(text):
            return int(text)
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
    elif kind == "float":
        if _NON_FINITE.match(text):
            raise ScalarError(f"!!float {text} is not a JSON number (NaN and infinity cannot be sent)",
                              "yaml.non_finite")
        if CORE_FLOAT.match(text) or CORE_INT.match(text):
            return _finite(text)
    raise ScalarError(f"!!{kind} {quoted(text)}: not a valid {kind} literal (YAML 1.2 core); "
                      "fix the value or drop the tag", "yaml.bad_literal")
