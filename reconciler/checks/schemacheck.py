"""The problems of one schema document, unplaced: Draft 7 meta-schema, ``$ref`` targets, recursion, regexes.

Called by :mod:`reconciler.checks.validation` (which places each problem at its
file:line, masks it and may keep it in the on-disk cache) and by the planner (a LIVE
schema it would PATCH against: only errors make it unusable). Codes:
``schema.invalid``, ``schema.bad_ref``, ``schema.recursive_ref``, ``schema.bad_regex``,
``schema.regex_timeout`` and the ``schema.regex_dialect`` warning (see
:func:`dialect_message`). A problem is the same for the same schema text, so each
distinct text is checked once per process. Nothing here reads a file or masks a message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler import memo
from reconciler.checks import fastcheck, lazyjsonschema, masking, regexguard, regexsyntax, schemarefs
from reconciler.model import JsonPath, Severity

if TYPE_CHECKING:
    from jsonschema import exceptions as js_exceptions

_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
#: Longest pattern quoted whole in a dialect warning; a longer one is clipped inside its backticks.
_PATTERN_SHOWN = 60


@dataclasses.dataclass(frozen=True)
class SchemaProblem:
    """A schema problem before it is placed in a file: the same schema text always has the same ones."""

    code: str
    """``schema.*`` code."""
    message: str
    """Unmasked and unshortened (validation masks it when it places it)."""
    path: JsonPath
    """Where in the schema document."""
    key: bool = False
    """Located at the key's line (pattern names), not the value's."""
    severity: Severity = Severity.ERROR
    """Only ``schema.regex_dialect`` is a warning."""


def schema_problems(schema: Any, *, on_miss: Callable[[Mapping[str, Any]], tuple[SchemaProblem, ...]] | None = None
                    ) -> tuple[SchemaProblem, ...]:
    """Every problem of one schema document; () when usable.

    Remembered per schema text: a fleet repeats a handful of schemas thousands of times (every
    agent, every environment), and checking each distinct text once took validation of 1,000
    agents from ~16 s to a few seconds. ``on_miss``: how to get them for a text not seen yet in
    this process (validation asks the on-disk cache first); default :func:`compute_schema_problems`.
    """
    if not isinstance(schema, Mapping):
        return (SchemaProblem("schema.invalid", "the schema is not an object", ()),)
    return _SCHEMA_PROBLEMS.get(schema, on_miss or compute_schema_problems)


_SCHEMA_PROBLEMS: memo.JsonMemo[tuple[SchemaProblem, ...]] = memo.JsonMemo(1024)


def compute_schema_problems(schema: Mapping[str, Any]) -> tuple[SchemaProblem, ...]:
    """:func:`schema_problems`, worked out afresh."""
    out = [] if fastcheck.meta_valid(schema) else \
        [_meta_problem(err) for err in lazyjsonschema.fullvalidator().meta_validator().iter_errors(schema)
         if not (err.validator == "format" and err.validator_value == "regex")]   # ours is better
    out.extend(_check_refs(schema))
    out.extend(_check_recursive_refs(schema))
    out.extend(_check_patterns(schema))
    return tuple(out)


def _meta_problem(err: js_exceptions.ValidationError) -> SchemaProblem:
    path = tuple(err.absolute_path)
    if path and path[-1] == "type" and err.validator == "anyOf":
        message = f"{err.instance!r} is not a JSON Schema type; use one of: {', '.join(_TYPES)}"
    else:
        message = err.message                       # shortened when placed, after masking
    return SchemaProblem("schema.invalid", message, path)


def _walk(node: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Mapping]]:
    """Every mapping in a schema document with its path (sub-schemas and everything else)."""
    if isinstance(node, Mapping):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, path + (index,))


def _check_refs(schema: Mapping) -> Iterator[SchemaProblem]:
    for path, message in schemarefs.bad_refs(schema):
        yield SchemaProblem("schema.bad_ref", message, path)


def _check_recursive_refs(schema: Mapping) -> Iterator[SchemaProblem]:
    for path in schemarefs.recursive_refs(schema):
        ref = _at(schema, path)
        yield SchemaProblem("schema.recursive_ref", f"$ref {ref!r} leads back to itself without descending into "
                            "the values (through $ref/allOf/anyOf/oneOf/not/if); validating against it would never "
                            "end", path)


def _at(node: Any, path: JsonPath) -> Any:
    for part in path:
        node = node[part]
    return node


def _check_patterns(schema: Mapping) -> Iterator[SchemaProblem]:
    for path, node in _walk(schema):
        if path and path[-1] in ("properties", "patternProperties", "definitions"):
            continue                                   # keys there are names, not keywords
        if isinstance(node.get("pattern"), str):
            yield from _check_one_pattern(node["pattern"], path + ("pattern",), key=False)
        if isinstance(node.get("patternProperties"), Mapping):
            for pattern in node["patternProperties"]:
                yield from _check_one_pattern(pattern, path + ("patternProperties", pattern), key=True)


def _check_one_pattern(pattern: str, path: JsonPath, *, key: bool) -> Iterator[SchemaProblem]:
    try:
        regexguard.compile_pattern(pattern)
    except regexsyntax.RegexError as exc:
        yield SchemaProblem("schema.bad_regex", str(exc), path, key)
        return
    if regexguard.looks_catastrophic(pattern):
        yield SchemaProblem("schema.regex_timeout",
                            f"pattern {pattern!r} backtracks catastrophically (a 41-character probe took over "
                            "the time bound); rewrite it without nested or overlapping repetition", path, key)
        return
    differences = regexsyntax.python_re_differences(pattern)
    if differences:
        yield SchemaProblem("schema.regex_dialect", dialect_message(pattern, differences), path, key,
                            Severity.WARNING)


def dialect_message(pattern: str, differences: Sequence[tuple[str, str]]) -> str:
    """``pattern `^\\d{4}$`: `\\d` is ASCII 0-9 only, `$` is the very end (Python's re: …; …)``.

    Short by construction (the pattern is clipped, the notes are terse), so it is never cut
    by the generic shortener and its "(same pattern in N more places)" always shows.
    """
    shown = masking.shorten(pattern, _PATTERN_SHOWN)
    here = ", ".join(h for h, _ in differences)
    there = "; ".join(t for _, t in differences)
    return f"pattern `{shown}`: {here} (Python's re: {there})"
