"""One regex dialect for every ``pattern`` the reconciler runs: ECMA-262, time-bounded.

DIALECT DECISION (issues 11 and 20; one decision for validate and the emulator)
-------------------------------------------------------------------------------
* A schema ``pattern`` / ``patternProperties`` key, a ``format: regex`` value and a policy
  ``pattern`` rule are **ECMA-262 regular expressions in Unicode mode** (the ``u`` flag, as a
  browser's form validation and JSON Schema 2020-12 use them), with no other flag, searched
  unanchored (JSON Schema semantics: anchor with ``^…$``).
* So ``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``, ``\\b`` is an ASCII word boundary,
  ``\\s`` is ECMA white space (Unicode ``Zs``, U+FEFF and line terminators), ``.``
  excludes line terminators, ``$`` matches only at the very end (never before a
  trailing newline), a backreference to a group not set matches the empty string,
  ``\\p{L}``/``\\p{Script=Greek}`` and named groups ``(?<name>…)`` work, and
  Unicode-mode syntax rules apply: ``[\\w-.]``, ``\\a``, ``\\_``, ``(?i)``, ``(?P<n>…)``,
  ``\\p{Greek}``, ``a{,3}`` and lone ``{ } ]`` are invalid patterns.
* Decided in ONE module, :mod:`reconciler.checks.ecma` (regress, a native ECMA-262 engine,
  decides validity; regular patterns run on a linear engine, the others on regress in a
  killable worker), called by this module, the format checker, the compiled fast path
  and the emulator alike; ``tests/test_regex_differential.py`` and
  ``tests/test_regex_oracle.py`` compare them, and Node's ``RegExp(p, 'u')`` where present.
* :func:`reconciler.checks.regexsyntax.python_re_differences` names where a valid pattern would match
  differently under Python's ``re`` (a Python service might use it): Unicode
  ``\\d``/``\\w``/``\\s``/``\\b``, and ``$`` before a trailing newline. Validation warns.

Used by validation (values vs schema), the policy engine (regex rules), masking, the
planner (predicted merged values vs desired schema).

- :func:`compile_pattern` checks (cached) or raises :class:`~reconciler.checks.regexsyntax.RegexError`
  (the syntax itself: :mod:`reconciler.checks.regexsyntax`).
- :func:`for_jsonschema_rs` + :data:`PATTERN_OPTIONS`: a schema copy for a compiled
  jsonschema-rs validator that agrees with this module where every pattern is linear.
- :func:`search` runs bounded or raises :class:`RegexTimeout`.
- :func:`reconciler.checks.fullvalidator.validator_for` builds the full (python-jsonschema)
  validator whose ``pattern``, ``patternProperties`` and ``additionalProperties`` use this
  dialect (:func:`search`, :func:`find_additional_properties`).
- :func:`looks_catastrophic` probes a pattern with adversarial inputs on a
  backtracking engine (regress, what a browser would run) under a time bound.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

from reconciler.checks import ecma, regexsyntax

#: Wall-time bound of one search that runs on regress (patterns with backreferences or look-around), seconds.
DEFAULT_TIMEOUT = ecma.SEARCH_BUDGET_S
#: The pattern options of a compiled validator given :func:`for_jsonschema_rs`'s copy (the linear engine).
PATTERN_OPTIONS = ecma.LINEAR_OPTIONS


class RegexTimeout(RuntimeError):
    """A search that exceeded its bound (catastrophic backtracking)."""

    def __init__(self, pattern: str, timeout: float | None = None) -> None:
        self.pattern = pattern
        self.timeout = timeout
        super().__init__(f"pattern {pattern!r} exceeded the matching bound (catastrophic backtracking?); "
                         "simplify it")


@functools.lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> str:
    """Check ``pattern`` is a valid ECMA-262 (Unicode mode) regex (:func:`reconciler.checks.ecma.problem`);
    returns it, else raises :class:`~reconciler.checks.regexsyntax.RegexError`."""
    if not isinstance(pattern, str):
        raise regexsyntax.RegexError(f"pattern must be a string, not {type(pattern).__name__}")
    reason = ecma.problem(pattern)
    if reason is not None:
        raise regexsyntax.RegexError(reason)
    return pattern


def search(pattern: str, text: str, *, timeout: float | None = None) -> bool:
    """``True`` if ``pattern`` matches somewhere in ``text`` (JSON Schema semantics: unanchored).

    Bounded (:func:`reconciler.checks.ecma.search`): a regular pattern runs on a linear engine,
    any other on regress within ``timeout`` seconds (default :data:`DEFAULT_TIMEOUT`),
    else :class:`RegexTimeout`.
    """
    compile_pattern(pattern)
    try:
        return ecma.search(pattern, text, deadline=None if timeout is None else time.monotonic() + timeout)
    except ecma.PatternTimeout:
        raise RegexTimeout(pattern, timeout) from None


_NAME_KEYS = ("properties", "patternProperties", "definitions", "dependencies")
_DATA_KEYS = ("enum", "const", "default", "examples")


def for_jsonschema_rs(schema: Any) -> Any:
    """A copy of ``schema`` whose ``pattern``s and ``patternProperties`` keys are in jsonschema-rs's terms.

    For a compiled jsonschema-rs validator that must agree with this module: give it this
    copy and ``pattern_options=PATTERN_OPTIONS``. Exact only where every pattern is linear
    (:func:`reconciler.checks.ecma.linear_text`); any other pattern is left as written.
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
    return ecma.linear_text(pattern) or pattern


@functools.lru_cache(maxsize=1024)
def looks_catastrophic(pattern: str) -> bool:
    """Probe ``pattern`` with long runs of its own characters plus a non-matching tail.

    Run on a backtracking engine (regress, in a killable worker, time-bounded:
    :func:`reconciler.checks.ecma.looks_catastrophic`), because that is what a browser's form
    validation and most services run: ``(a|aa)+$`` is linear for our matcher but
    exponential there. It is a heuristic: ``False`` does not prove a pattern is safe (our
    own searches stay bounded regardless).
    """
    compile_pattern(pattern)
    return ecma.looks_catastrophic(pattern)


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
