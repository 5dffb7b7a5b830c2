"""One regex dialect for every ``pattern`` the reconciler runs: ECMA-262, time-bounded.

DIALECT DECISION (issue 11; the emulator and the compiled fast path must agree with it)
-------------------------------------------------------------------------------------
* A schema ``pattern`` / ``patternProperties`` key and a policy ``pattern`` rule are
  **ECMA-262 regular expressions in Unicode mode** (the ``u`` flag, as a browser's
  form validation and JSON Schema 2020-12 use them), with no other flag, searched
  unanchored (JSON Schema semantics: anchor with ``^…$``).
* So ``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``, ``\\b`` is an ASCII word boundary,
  ``\\s`` is ECMA white space (Unicode ``Zs``, U+FEFF and line terminators), ``.``
  excludes line terminators, ``$`` matches only at the very end (never before a
  trailing newline), ``\\p{L}`` and named groups ``(?<name>…)`` work, and
  Unicode-mode syntax rules apply: ``[\\w-.]``, ``\\a``, ``\\_``, ``(?i)``, ``(?P<n>…)``,
  ``a{,3}`` and lone ``{ } ]`` are invalid patterns.
* Engine here: **jsonschema-rs** (its ECMA-262 translation onto Rust's ``regex``, linear
  time, or ``fancy-regex`` with a backtracking limit for look-around/back-references),
  checked against the JSON-Schema-Test-Suite's ``optional/ecmascript-regex.json``
  (``tests/data/ecmascript_regex_cases.json``). :func:`_translate` only adds what
  Unicode mode forbids and rewrites the few valid ECMA forms that engine does not
  take (``[^]``, ``[]``, ``\\0``, ``[\\b]``, ``\\k<name>``, ASCII ``\\b``).
* The emulator (``reconciler/emulator/ecma.py``) makes the same decision with a
  different engine (**regress**, a native ECMA-262 engine, run in a killable worker
  process), so a bug in one cannot make both agree; ``tests/test_regex_differential.py``
  compares them.
* :func:`python_re_differences` names where a valid pattern would match
  differently under Python's ``re`` (a Python service might use it): Unicode
  ``\\d``/``\\w``/``\\s``/``\\b``, and ``$`` before a trailing newline. Validation warns.

Used by validation (values vs schema), the policy engine (regex rules), masking, the
planner (predicted merged values vs desired schema).

- :func:`compile_pattern` checks (cached) or raises :class:`RegexError`.
- :func:`for_jsonschema_rs` + :data:`PATTERN_OPTIONS`: a schema copy for a compiled
  jsonschema-rs validator that agrees with this module (issue 13's fast path).
- :func:`search` runs bounded or raises :class:`RegexTimeout`.
- :func:`validator_for` / :func:`make_validator` build a ``Draft7Validator``
  whose ``pattern``, ``patternProperties`` and ``additionalProperties`` use this
  dialect; a backtracking overrun becomes a :class:`PatternTimeoutError` (a
  ``ValidationError`` subclass, so it keeps the instance path).
- :func:`looks_catastrophic` probes a pattern with adversarial inputs on a
  backtracking engine (what a browser would run) under a time bound.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import jsonschema_rs
import regex
from jsonschema import exceptions as js_exceptions

from reconciler import memo

#: Default bound for one probe search on the backtracking engine, seconds.
DEFAULT_TIMEOUT = 0.1
#: Backtracking steps one search may take (only look-around / back-reference patterns backtrack).
BACKTRACK_LIMIT = 200_000
#: The pattern options :func:`compile_pattern` uses (a backtracking bound), for compiled validators.
PATTERN_OPTIONS = jsonschema_rs.FancyRegexOptions(backtrack_limit=BACKTRACK_LIMIT)

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


class RegexTimeout(RuntimeError):
    """A search that exceeded its bound (catastrophic backtracking)."""

    def __init__(self, pattern: str, timeout: float | None = None) -> None:
        self.pattern = pattern
        self.timeout = timeout
        super().__init__(f"pattern {pattern!r} exceeded the matching bound (catastrophic backtracking?); "
                         "simplify it")


def _invalid(pattern: str, reason: str) -> RegexError:
    return RegexError(f"invalid regular expression {pattern!r}: {reason} (patterns are ECMA-262, Unicode mode)")


def _tokens(pattern: str) -> Iterator[tuple[int, str, bool]]:
    """``(index, token, inside-a-class)`` with each escape as one two-character token."""
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
    for i, token, in_class in _tokens(pattern):
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
        raise _invalid(pattern, "'\\' at end of pattern")
    c = pattern[i + 1]
    if c in _SYNTAX_CHARS or c in "fnrtv" or c in "dDsSwW" or (c == "-" and in_class):
        return i + 2, pattern[i:i + 2], c in _CLASS_ESCAPES
    if c in "bB":
        if in_class and c == "B":
            raise _invalid(pattern, "'\\B' inside a character class")
        return i + 2, pattern[i:i + 2], False
    if c == "c":
        if i + 2 < len(pattern) and pattern[i + 2].isascii() and pattern[i + 2].isalpha():
            return i + 3, f"\\x{ord(pattern[i + 2]) % 32:02X}", False
        raise _invalid(pattern, "'\\c' must be followed by a letter")
    if c == "0":
        if i + 2 < len(pattern) and pattern[i + 2].isdigit():
            raise _invalid(pattern, "legacy octal escape '\\0" + pattern[i + 2] + "'")
        return i + 2, "\\x00", False
    if c.isdigit():
        j = i + 1
        while j < len(pattern) and pattern[j].isdigit():
            j += 1
        if in_class:
            raise _invalid(pattern, f"'{pattern[i:j]}' inside a character class")
        return j, pattern[i:j], False
    if c in "pP":
        end = pattern.find("}", i)
        if not pattern.startswith("{", i + 2) or end < 0:
            raise _invalid(pattern, f"'\\{c}' must be followed by {{PropertyName}}")
        return end + 1, pattern[i:end + 1], True
    if c == "x":
        if len(pattern) >= i + 4 and set(pattern[i + 2:i + 4]) <= _HEX:
            return i + 4, pattern[i:i + 4], False
        raise _invalid(pattern, "'\\x' must be followed by two hex digits")
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
        raise _invalid(pattern, "'\\u' must be followed by four hex digits or {hex}")
    if c == "k":
        end = pattern.find(">", i)
        if pattern.startswith("<", i + 2) and end > 0:
            return end + 1, pattern[i:end + 1], False
        raise _invalid(pattern, "'\\k' must be followed by <name>")
    raise _invalid(pattern, f"'\\{c}' is not an escape")


def _translate_escape(pattern: str, i: int, out: list[str], groups: int, names: dict[str, int]) -> int:
    end, text, _ = _escape_end(pattern, i, in_class=False)
    kind = text[1]
    if kind.isdigit() and kind != "0":
        if int(text[1:]) > groups:
            raise _invalid(pattern, f"back-reference '{text}' to a group that does not exist")
    elif kind == "k":
        name = text[3:-1]
        if name not in names:
            raise _invalid(pattern, f"'{text}' names no group")
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
            raise _invalid(pattern, "unterminated character class '['")
        if pattern[j] == "]":
            break
        j, low, low_class = _class_atom(pattern, j)
        if pattern.startswith("-", j) and j + 1 < len(pattern) and pattern[j + 1] != "]":
            j, high, high_class = _class_atom(pattern, j + 1)
            if low_class or high_class:
                raise _invalid(pattern, f"'{_shown(low)}-{_shown(high)}' in a character class: a range cannot "
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


@functools.lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> jsonschema_rs.Draft7Validator:
    """Check ``pattern`` is a valid ECMA-262 (Unicode mode) regex; the returned matcher is cached."""
    if not isinstance(pattern, str):
        raise RegexError(f"pattern must be a string, not {type(pattern).__name__}")
    translated = translate(pattern)
    try:
        return jsonschema_rs.Draft7Validator({"pattern": translated}, pattern_options=PATTERN_OPTIONS)
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        reason = str(exc).split("\n", 1)[0]
        reason = "not a valid regular expression" if "is not a" in reason else reason
        raise _invalid(pattern, reason) from None


def search(pattern: str, text: str, *, timeout: float | None = None) -> bool:
    """``True`` if ``pattern`` matches somewhere in ``text`` (JSON Schema semantics: unanchored).

    Bounded: the linear engine cannot run away, the backtracking one stops at
    :data:`BACKTRACK_LIMIT` steps and raises :class:`RegexTimeout`. ``timeout``
    is accepted for compatibility; the bound is a step count, not wall time.
    """
    matcher = compile_pattern(pattern)
    if matcher.is_valid(text):
        return True
    for error in matcher.iter_errors(text):
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.BacktrackLimitExceeded):
            raise RegexTimeout(pattern, timeout)
    return False


_NAME_KEYS = ("properties", "patternProperties", "definitions", "dependencies")
_DATA_KEYS = ("enum", "const", "default", "examples")


def for_jsonschema_rs(schema: Any) -> Any:
    """A copy of ``schema`` whose ``pattern``s and ``patternProperties`` keys are in jsonschema-rs's terms.

    For a compiled jsonschema-rs validator that must agree with this module (the
    values fast path): give it this copy and ``pattern_options=PATTERN_OPTIONS``.
    Its own ECMA-262 translation misreads ``\\d``/``\\D``/``\\cX``/``\\b`` and a few others
    on its backtracking path (tests/test_regex_differential.py). A pattern that is not
    valid ECMA-262 is left as written (validation reports it).
    """
    if isinstance(schema, list):
        return [for_jsonschema_rs(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            out[key] = _engine_text(value)
        elif key == "patternProperties" and isinstance(value, Mapping):
            out[key] = {_engine_text(name): for_jsonschema_rs(sub) for name, sub in value.items()}
        elif key in _NAME_KEYS and isinstance(value, Mapping):
            out[key] = {name: for_jsonschema_rs(sub) for name, sub in value.items()}
        elif key in _DATA_KEYS:
            out[key] = value
        else:
            out[key] = for_jsonschema_rs(value)
    return out


def _engine_text(pattern: str) -> str:
    try:
        return _translate(pattern)
    except RegexError:
        return pattern


#: Each difference: (how it matches here, how Python's ``re`` matches instead), terse enough that
#: the whole warning fits on one line uncut.
_PYTHON_RE_NOTES = {
    "d": ("`\\d` is ASCII 0-9 only", "any Unicode digit"),
    "w": ("`\\w` is [A-Za-z0-9_] only", "Unicode letters too"),
    "s": ("`\\s` is ECMA-262 white space", "U+001C-U+001F in, U+FEFF out"),
    "b": ("`\\b` is an ASCII word boundary", "a Unicode one"),
    "$": ("`$` is the very end", "also before a final newline"),
}


def python_re_differences(pattern: str) -> list[tuple[str, str]]:
    """Where a valid ``pattern`` would match differently under Python's ``re`` (empty: nowhere):
    ``(here, in Python's re)`` pairs."""
    seen: dict[str, None] = {}
    for _, token, in_class in _tokens(pattern):
        escaped = token.startswith("\\")
        kind = token[1:].lower() if escaped else token
        if (escaped and kind in ("d", "w", "s")) or (not in_class and (kind == "b") is escaped
                                                     and kind in ("b", "$")):
            seen.setdefault(kind)
    return [_PYTHON_RE_NOTES[k] for k in seen]


@functools.lru_cache(maxsize=1024)
def looks_catastrophic(pattern: str, *, timeout: float = 0.05) -> bool:
    """Probe ``pattern`` with long runs of its own characters plus a non-matching tail.

    Run on a backtracking engine (PyPI ``regex``, time-bounded), because that is
    what a browser's form validation and most services run: ``(a|aa)+$`` is
    linear for our matcher but exponential there. It is a heuristic: ``False``
    does not prove a pattern is safe (our own searches stay bounded regardless).
    """
    compile_pattern(pattern)
    try:
        compiled = regex.compile(pattern)
    except (regex.error, ValueError, OverflowError):
        return False                      # a form the backtracking engine does not read: cannot probe
    chars = [c for c in dict.fromkeys(pattern) if c.isalnum() or c in " -_.@+"][:12] or ["a"]
    for char in chars + ["a", "0", " "]:
        for tail in ("!", "\x00", "a"):
            try:
                compiled.search(char * 40 + tail, timeout=timeout)
            except TimeoutError:
                return True
    return False


class PatternTimeoutError(js_exceptions.ValidationError):
    """A ``pattern``/``patternProperties`` search that timed out while validating."""


def _pattern(validator, patrn, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    try:
        matched = search(patrn, instance)
    except RegexTimeout as exc:
        yield PatternTimeoutError(str(exc))
        return
    except RegexError as exc:
        yield js_exceptions.ValidationError(str(exc))
        return
    if not matched:
        yield js_exceptions.ValidationError(f"{instance!r} does not match {patrn!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in pattern_properties.items():
        for key, value in instance.items():
            try:
                matched = search(patrn, key)
            except (RegexTimeout, RegexError) as exc:
                yield PatternTimeoutError(str(exc)) if isinstance(exc, RegexTimeout) \
                    else js_exceptions.ValidationError(str(exc))
                return
            if matched:
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


def find_additional_properties(instance: Mapping, schema: Mapping) -> list[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = []
    for key in instance:
        if key in properties:
            continue
        if any(_safe_search(p, key) for p in patterns):
            continue
        extras.append(key)
    return extras


def _safe_search(patrn: str, text: str) -> bool:
    # A broken or slow pattern is reported by the patternProperties keyword; here it just "matches".
    try:
        return search(patrn, text)
    except (RegexTimeout, RegexError):
        return True


def _additional_properties(validator, aP, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    extras = find_additional_properties(instance, schema)
    if validator.is_type(aP, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], aP, path=extra)
    elif not aP and extras:
        listed = ", ".join(repr(e) for e in sorted(extras))
        verb = "was" if len(extras) == 1 else "were"
        yield js_exceptions.ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


@functools.cache
def _lazy_module(name: str):
    """A format parser, imported on first use (reconciler/__init__ hides it from jsonschema's import)."""
    if name in sys.modules and sys.modules[name] is None:
        del sys.modules[name]
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - optional extra not installed
        return None


#: Formats whose parser is slow to import: (module, check(module, instance) -> bool, raises).
_LAZY_FORMATS = {
    "iri": ("rfc3987_syntax", lambda m, v: m.is_valid_syntax("iri", v), ValueError),
    "iri-reference": ("rfc3987_syntax", lambda m, v: m.is_valid_syntax("iri_reference", v), ValueError),
    "uri": ("rfc3986_validator", lambda m, v: m.validate_rfc3986(v, rule="URI"), ()),
    "uri-reference": ("rfc3986_validator", lambda m, v: m.validate_rfc3986(v, rule="URI_reference"), ValueError),
}


def _make_format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(jsonschema.Draft7Validator.FORMAT_CHECKER.checkers)
    for name, (module_name, test, raises) in _LAZY_FORMATS.items():
        if name not in checker.checkers:
            def check(instance: object, _module: str = module_name, _test=test) -> bool:
                module = _lazy_module(_module)
                if not isinstance(instance, str) or module is None:
                    return True
                return bool(_test(module, instance))
            checker.checks(name, raises=raises)(check)
    return checker


#: Draft 7 format checks; "iri"/"uri" and their references load their parser only when a schema uses them.
FORMAT_CHECKER = _make_format_checker()

GuardedDraft7Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    validators={
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def make_validator(schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """A Draft 7 validator with format checking and time-bounded patterns (not cached)."""
    return GuardedDraft7Validator(schema, format_checker=FORMAT_CHECKER)


def validator_for(schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """A guarded validator for ``schema``, shared by every caller with the same schema text.

    Validators are immutable, so one per distinct schema serves the whole run: a
    fleet repeats the same few schemas across thousands of agent x environments.
    """
    return _VALIDATORS.get(schema, make_validator)


_VALIDATORS: memo.JsonMemo[jsonschema.Draft7Validator] = memo.JsonMemo(1024)
