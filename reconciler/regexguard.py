"""Time-bounded regular expressions, and a Draft 7 validator that uses them.

A schema's ``pattern`` is written by people (and by the live UI), so a
catastrophic-backtracking pattern such as ``^(a|aa)+$`` must end in an error,
never a hang. Every regex the reconciler runs on repository or live data goes
through this module, which uses the PyPI ``regex`` module's ``timeout=``.

Used by validation (values vs schema), the policy engine (regex rules), the
planner (predicted merged values vs desired schema) and the emulator.

- :func:`compile_pattern` compiles (cached) or raises :class:`RegexError`.
- :func:`search` runs with a time bound or raises :class:`RegexTimeout`.
- :func:`validator_for` / :func:`make_validator` build a ``Draft7Validator``
  whose ``pattern``, ``patternProperties`` and ``additionalProperties`` use the
  guarded search; a timeout becomes a :class:`PatternTimeoutError` (a
  ``ValidationError`` subclass, so it keeps the instance path).
- :func:`looks_catastrophic` probes a pattern with adversarial inputs.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Mapping
from typing import Any

import jsonschema
import regex
from jsonschema import exceptions as js_exceptions

from reconciler import memo

#: Default bound for one search, seconds.
DEFAULT_TIMEOUT = 0.1


class RegexError(ValueError):
    """A pattern that does not compile; ``str()`` is a readable one-liner."""


class RegexTimeout(RuntimeError):
    """A search that took longer than its bound (catastrophic backtracking)."""

    def __init__(self, pattern: str, timeout: float) -> None:
        self.pattern = pattern
        self.timeout = timeout
        super().__init__(f"pattern {pattern!r} took longer than {timeout:g}s "
                         "(catastrophic backtracking?); simplify it")


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> regex.Pattern:
    """Compile a JSON Schema ``pattern`` (ECMA 262 is close to Python syntax for common cases)."""
    if not isinstance(pattern, str):
        raise RegexError(f"pattern must be a string, not {type(pattern).__name__}")
    try:
        return regex.compile(pattern)
    except (regex.error, ValueError, OverflowError) as exc:
        raise RegexError(f"invalid regular expression {pattern!r}: {exc}") from None


def search(pattern: str, text: str, *, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """``True`` if ``pattern`` matches somewhere in ``text`` (JSON Schema semantics: unanchored)."""
    compiled = compile_pattern(pattern)
    try:
        return compiled.search(text, timeout=timeout) is not None
    except TimeoutError:
        raise RegexTimeout(pattern, timeout) from None


@functools.lru_cache(maxsize=1024)
def looks_catastrophic(pattern: str, *, timeout: float = 0.05) -> bool:
    """Probe ``pattern`` with long runs of its own characters plus a non-matching tail.

    This catches the classic exponential shapes (``(a|aa)+$``, ``(\\w+\\s?)*$`` …)
    even when no value in the repository happens to trigger them. It is a
    heuristic: ``False`` does not prove a pattern is safe (searches stay bounded).
    """
    compiled = compile_pattern(pattern)
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
def _rfc3987_syntax():
    """rfc3987_syntax, imported on first use (reconciler/__init__ hides it from jsonschema's import)."""
    if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
        del sys.modules["rfc3987_syntax"]
    try:
        return importlib.import_module("rfc3987_syntax")
    except ImportError:  # pragma: no cover - optional extra not installed
        return None


def _make_format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(jsonschema.Draft7Validator.FORMAT_CHECKER.checkers)
    for name, term in (("iri", "iri"), ("iri-reference", "iri_reference")):
        if name not in checker.checkers:
            def check(instance: object, _term: str = term) -> bool:
                module = _rfc3987_syntax()
                if not isinstance(instance, str) or module is None:
                    return True
                return module.is_valid_syntax(_term, instance)
            checker.checks(name, raises=ValueError)(check)
    return checker


#: Draft 7 format checks; "iri"/"iri-reference" load their parser only when a schema uses them.
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
