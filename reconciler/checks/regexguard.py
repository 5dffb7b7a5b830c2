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
  (``tests/data/ecmascript_regex_cases.json``). :func:`reconciler.checks.regexsyntax.translate` only adds what
  Unicode mode forbids and rewrites the few valid ECMA forms that engine does not
  take (``[^]``, ``[]``, ``\\0``, ``[\\b]``, ``\\k<name>``, ASCII ``\\b``).
* The emulator (``reconciler/emulator/ecma.py``) makes the same decision with a
  different engine (**regress**, a native ECMA-262 engine, run in a killable worker
  process), so a bug in one cannot make both agree; ``tests/test_regex_differential.py``
  compares them.
* :func:`reconciler.checks.regexsyntax.python_re_differences` names where a valid pattern would match
  differently under Python's ``re`` (a Python service might use it): Unicode
  ``\\d``/``\\w``/``\\s``/``\\b``, and ``$`` before a trailing newline. Validation warns.

Used by validation (values vs schema), the policy engine (regex rules), masking, the
planner (predicted merged values vs desired schema).

- :func:`compile_pattern` checks (cached) or raises :class:`~reconciler.checks.regexsyntax.RegexError`
  (the syntax itself: :mod:`reconciler.checks.regexsyntax`).
- :func:`for_jsonschema_rs` + :data:`PATTERN_OPTIONS`: a schema copy for a compiled
  jsonschema-rs validator that agrees with this module (issue 13's fast path).
- :func:`search` runs bounded or raises :class:`RegexTimeout`.
- :func:`validator_for` / :func:`make_validator` build a ``Draft7Validator``
  whose ``pattern``, ``patternProperties`` and ``additionalProperties`` use this
  dialect; a backtracking overrun becomes a :class:`PatternTimeoutError` (a
  ``ValidationError`` subclass, so it keeps the instance path); its ``format`` checks are
  :func:`reconciler.checks.formats.format_checker`'s.
- :func:`looks_catastrophic` probes a pattern with adversarial inputs on a
  backtracking engine (what a browser would run) under a time bound.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jsonschema
import jsonschema_rs
import regex
from jsonschema import exceptions as js_exceptions

from reconciler import memo
from reconciler.checks import formats, regexsyntax

#: Default bound for one probe search on the backtracking engine, seconds.
DEFAULT_TIMEOUT = 0.1
#: Backtracking steps one search may take (only look-around / back-reference patterns backtrack).
BACKTRACK_LIMIT = 200_000
#: The pattern options :func:`compile_pattern` uses (a backtracking bound), for compiled validators.
PATTERN_OPTIONS = jsonschema_rs.FancyRegexOptions(backtrack_limit=BACKTRACK_LIMIT)


class RegexTimeout(RuntimeError):
    """A search that exceeded its bound (catastrophic backtracking)."""

    def __init__(self, pattern: str, timeout: float | None = None) -> None:
        self.pattern = pattern
        self.timeout = timeout
        super().__init__(f"pattern {pattern!r} exceeded the matching bound (catastrophic backtracking?); "
                         "simplify it")


@functools.lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> jsonschema_rs.Draft7Validator:
    """Check ``pattern`` is a valid ECMA-262 (Unicode mode) regex; the returned matcher is cached."""
    if not isinstance(pattern, str):
        raise regexsyntax.RegexError(f"pattern must be a string, not {type(pattern).__name__}")
    translated = regexsyntax.translate(pattern)
    try:
        return jsonschema_rs.Draft7Validator({"pattern": translated}, pattern_options=PATTERN_OPTIONS)
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        reason = str(exc).split("\n", 1)[0]
        reason = "not a valid regular expression" if "is not a" in reason else reason
        raise regexsyntax.invalid(pattern, reason) from None


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
        return regexsyntax.translate(pattern)
    except regexsyntax.RegexError:
        return pattern


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
    except regexsyntax.RegexError as exc:
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
            except (RegexTimeout, regexsyntax.RegexError) as exc:
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
    except (RegexTimeout, regexsyntax.RegexError):
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
    return GuardedDraft7Validator(schema, format_checker=formats.format_checker())


def validator_for(schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """A guarded validator for ``schema``, shared by every caller with the same schema text.

    Validators are immutable, so one per distinct schema serves the whole run: a
    fleet repeats the same few schemas across thousands of agent x environments.
    """
    return _VALIDATORS.get(schema, make_validator)


_VALIDATORS: memo.JsonMemo[jsonschema.Draft7Validator] = memo.JsonMemo(1024)
