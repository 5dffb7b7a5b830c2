"""Offline validation: load the repository, check every schema and values file, run the policies.

Called by ``reconciler validate`` and by the plan/apply pipeline.
:func:`validate_repository` returns the :class:`~reconciler.model.DesiredState`
with all findings: the loader's, ``reconciler.yaml``'s, the per agent x
environment checks below, then :func:`reconciler.checks.policy.check_repository`'s.
:func:`blocked_envs` turns findings into what may not be applied (DESIGN.md §3).

Checks per agent x environment, each finding at file:line with a JSON path:

- ``schema.invalid``        the schema does not satisfy the Draft 7 meta-schema
- ``schema.bad_ref``        a ``$ref`` that is not local or does not resolve
- ``schema.recursive_ref``  a ``$ref`` that leads back to itself without descending into the values
- ``schema.bad_regex``      a ``pattern`` / ``patternProperties`` key that does not compile
- ``schema.regex_timeout``  a pattern that backtracks catastrophically on a probe input
- ``schema.regex_dialect``  (warning) a valid pattern that Python's ``re`` would match differently
                            (patterns are ECMA-262, Unicode mode: see :mod:`reconciler.checks.regexguard`)
- ``values.invalid``        values vs schema: ALL errors, at the offending value
                            (the parent mapping for a missing required key; a missing
                            top-level key that is sensitive is allowed: kept in live only)
- ``values.regex_timeout``  a ``pattern`` search on a value exceeded its time bound
- ``values.integer_too_large`` / ``schema.integer_too_large``  an integer outside the 64-bit range

Values are only checked when the environment's schema is in the repository and
has no error; a values.yaml without schema.yaml is checked by the planner
against the live schema. Messages never contain a sensitive value.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import referencing.exceptions
from jsonschema import exceptions as js_exceptions

from reconciler import memo, settings, steps
from reconciler.checks import verdict as blocking, fastcheck, isolation, masking, policy, regexguard, schemarefs
from reconciler.checks import warnfilter
from reconciler.repository import loader, cache as resultcache, yamlsafe
from reconciler.errors import ConfigError
from reconciler.model import (ClientEnv, DesiredState, EnvDesired, Finding, JsonPath, Severity, SourceMap,
                              format_path)

_META = jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA,
                                   format_checker=regexguard.FORMAT_CHECKER)
_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


def validate_repository(root: Path, *, agents: Iterable[str] | None = None, envs: Iterable[str] | None = None,
                        today: _dt.date | None = None, use_cache: bool = False) -> DesiredState:
    """Load + settings + schemas + values + policies; never raises for repository content.

    ``use_cache``: read and write the on-disk cache of parse results (:mod:`reconciler.repository.cache`;
    the same result either way).
    """
    return steps.drain(iter_validate_repository(root, agents=agents, envs=envs, today=today, use_cache=use_cache))


def iter_validate_repository(root: Path, *, agents: Iterable[str] | None = None, envs: Iterable[str] | None = None,
                             today: _dt.date | None = None, on_agent: Callable[[str], None] | None = None,
                             use_cache: bool = False) -> steps.Steps[DesiredState]:
    """:func:`validate_repository` as steps (one per agent; see :mod:`reconciler.steps`).

    ``on_agent``: see :func:`reconciler.repository.loader.iter_load_repository` (a plan starts reading live early).
    """
    cache = resultcache.open_cache(Path(root)) if use_cache else None
    try:
        return (yield from _validate_steps(Path(root), agents, envs, today, on_agent, cache))
    finally:
        if cache is not None:
            cache.close()


def _validate_steps(root: Path, agents: Iterable[str] | None, envs: Iterable[str] | None, today: _dt.date | None,
                    on_agent: Callable[[str], None] | None, cache: resultcache.ResultCache | None
                    ) -> steps.Steps[DesiredState]:
    desired = yield from loader.iter_load_repository(root, agents=agents, envs=envs, on_agent=on_agent, cache=cache)
    if cache is not None and agents is None and envs is None:
        cache.read_everything()            # a full run: parse entries of files no longer read are pruned
    findings = list(desired.findings) + settings_findings(root)
    shown: dict[str, int] = {}             # dialect warnings placed once, repeats counted (see check_schema)
    for agent in desired.agents.values():
        for env in agent.envs.values():
            findings.extend(isolation.contained(lambda: check_env(env, shown, cache), env,
                                                "checking the schema and values"))
        yield
    desired = dataclasses.replace(desired, findings=tuple(_once_per_pattern(findings, shown)))
    policy_findings = tuple(policy.check_repository(desired, today=today))
    return dataclasses.replace(desired, findings=warnfilter.filter_repository(root, desired.findings + policy_findings))


def settings_findings(root: Path) -> list[Finding]:
    """Problems in ``reconciler.yaml`` as run-wide findings (``agent=None``: they block everything)."""
    problems, _ = settings.read_settings_file(root)
    out = [Finding(Severity.ERROR, p.code, p.message, file=p.file, line=p.line) for p in problems]
    path = root / settings.SETTINGS_FILE
    if not any(p.code.startswith(("yaml.", "path.")) for p in problems) and path.is_file():
        try:
            out.extend(yamlsafe.note_findings(yamlsafe.load_yaml(path, root)[1]))    # parsed once: cached
        except ConfigError:                # pragma: no cover - read_settings_file reported it already
            pass
    return out


def check_env(env: EnvDesired, shown: dict[str, int] | None = None,
              cache: resultcache.ResultCache | None = None) -> list[Finding]:
    """Schema then values of one agent x environment (``shown``: see :func:`check_schema`;
    ``cache``: results of earlier runs, see :func:`_values_findings`)."""
    out: list[Finding] = []
    if env.schema is not None and env.schema_map is not None:
        out.extend(check_schema(env.schema, env.schema_map, shown, cache))
        out.extend(check_integers(env.schema, env.schema_map, "schema"))
    if env.values is not None and env.values_map is not None:
        numbers = check_integers(env.values, env.values_map, "values")
        if env.schema is not None and not any(f.blocks for f in out):
            out.extend(_values_findings(env, cache))
        out.extend(numbers)
    return [dataclasses.replace(f, agent=env.agent, env=env.env.value) for f in out]


def _values_findings(env: EnvDesired, cache: resultcache.ResultCache | None) -> list[Finding]:
    """:func:`check_values`, skipped when an earlier run found these values bytes valid under these schema bytes.

    Only "valid" is kept: invalid values always run the full validator, so their messages, lines and
    masking are made afresh.
    """
    key = None
    if cache is not None and env.schema_map is not None and env.values_map is not None \
            and env.schema_map.digest is not None and env.values_map.digest is not None:
        key = resultcache.digest(env.schema_map.digest + env.values_map.digest)
        if cache.get(_VALID, key) is True:
            return []
    found = check_values(env.values, env.values_map, env.schema)
    if key is not None and not found:
        cache.put(_VALID, key, True)
    return found


_VALID, _SCHEMA = "valid", "schema"      # kinds of entries in the on-disk cache (besides parse results)


#: The API stores integers as 64-bit signed numbers (DESIGN.md §1 leaves JSON numbers open; real
#: services and most JSON parsers outside Python stop here). A larger one is refused at its line.
INT_MIN, INT_MAX = yamlsafe.INT64_MIN, yamlsafe.INT64_MAX


def check_integers(doc: Any, smap: SourceMap, kind: str) -> list[Finding]:
    """``<kind>.integer_too_large`` at each integer outside the 64-bit range (the digits are not shown).

    The YAML builder already noted where they are (``smap.big_ints``); other data is walked.
    """
    out: list[Finding] = []
    found = _leaves(doc) if smap.big_ints is None else ((p, _at(doc, p)) for p in smap.big_ints)
    for path, value in found:
        if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
            digits = len(str(abs(value)))
            out.append(_finding(f"{kind}.integer_too_large", f"integer of {digits} digits is too large for the "
                                "API (64-bit: at most 9223372036854775807); write a smaller number or a string",
                                smap, path))
    return out


def _at(doc: Any, path: JsonPath) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _leaves(doc: Any) -> Iterator[tuple[JsonPath, Any]]:
    todo: list[tuple[JsonPath, Any]] = [((), doc)]
    while todo:
        path, node = todo.pop()
        if isinstance(node, Mapping):
            todo.extend((path + (k,), v) for k, v in node.items())
        elif isinstance(node, list):
            todo.extend((path + (i,), v) for i, v in enumerate(node))
        else:
            yield path, node


def _once_per_pattern(findings: list[Finding], counted: Mapping[str, int] | None = None) -> list[Finding]:
    """A fleet repeats its patterns: each dialect warning is shown once, with a count of the others.

    ``counted``: repeats :func:`check_schema` counted without making findings of them.
    """
    first: dict[str, int] = {}
    repeats: dict[str, int] = {m: n for m, n in (counted or {}).items() if n}
    out: list[Finding] = []
    for finding in findings:
        if finding.code != "schema.regex_dialect":
            out.append(finding)
        elif finding.message in first:
            repeats[finding.message] = repeats.get(finding.message, 0) + 1
        else:
            first[finding.message] = len(out)
            out.append(finding)
    for message, count in repeats.items():
        if message not in first:             # pragma: no cover - its first occurrence was not kept
            continue
        index = first[message]
        out[index] = dataclasses.replace(out[index], message=f"{message} (same pattern in {count} more place"
                                         f"{'' if count == 1 else 's'})")
    return out


# ---- schema --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Problem:
    """A schema problem before it is placed in a file: the same schema text always has the same ones."""

    code: str
    message: str
    path: JsonPath
    key: bool = False          # located at the key's line (pattern names), not the value's
    severity: Severity = Severity.ERROR


def check_schema(schema: Mapping[str, Any], smap: SourceMap, shown: dict[str, int] | None = None,
                 cache: resultcache.ResultCache | None = None) -> list[Finding]:
    """Draft 7 meta-schema, ``$ref`` targets and regexes of one schema document.

    ``shown``: dialect-warning messages already placed in this run, with how often they
    repeated. A repeat is shown only as a count (``_once_per_pattern``), so it is counted
    here instead of being placed at a line: that would build the source map of every
    schema file of the fleet for nothing. ``cache``: the unplaced problems of earlier runs,
    by the file's content digest (placed and masked here as always).
    """
    if cache is not None and smap.digest is not None:
        content = smap.digest
        problems = _SCHEMA_PROBLEMS.get(schema, lambda s: _stored_schema_problems(s, cache, content))
    else:
        problems = _schema_problems(schema)
    if not problems:
        return []
    # A sensitive property's const/enum/default may be quoted by a meta-schema message: masked first.
    secrets = _SCHEMA_SECRETS.get(schema, lambda s: tuple(masking.sensitive_values({}, s)))
    out = []
    for problem in problems:
        if shown is not None and problem.code == "schema.regex_dialect":
            message = masking.safe_text(problem.message, secrets, None)
            if message in shown:
                shown[message] += 1
                continue
            shown[message] = 0
        out.append(_place(problem, smap, secrets))
    return sorted(out, key=lambda f: (f.line or 0, f.code))


def schema_problems(schema: Mapping[str, Any]) -> tuple[_Problem, ...]:
    """Every problem of one schema document (code, message, path), unplaced; () when usable.

    The planner asks this of a LIVE schema before it PATCHes against it.
    """
    return _schema_problems(schema) if isinstance(schema, Mapping) else (
        _Problem("schema.invalid", "the schema is not an object", ()),)


def _schema_problems(schema: Mapping[str, Any]) -> tuple[_Problem, ...]:
    # A fleet repeats a handful of schemas thousands of times (every agent, every environment):
    # checking each distinct text once took validation of 1,000 agents from ~16 s to a few seconds.
    return _SCHEMA_PROBLEMS.get(schema, _compute_schema_problems)


_SCHEMA_PROBLEMS: memo.JsonMemo[tuple[_Problem, ...]] = memo.JsonMemo(1024)


def _stored_schema_problems(schema: Mapping[str, Any], cache: resultcache.ResultCache,
                            content: bytes) -> tuple[_Problem, ...]:
    """:func:`_compute_schema_problems` through the on-disk cache (a regex_timeout, measured with a clock,
    is never kept: it is probed again on every run)."""
    stored = cache.get(_SCHEMA, content)
    if isinstance(stored, list):
        try:
            return tuple(_Problem(str(c), str(m), tuple(p), bool(k), Severity(v)) for c, m, p, k, v in stored)
        except (ValueError, TypeError):       # pragma: no cover - authenticated: ours
            pass
    problems = _compute_schema_problems(schema)
    # A problem's message may quote a sensitive constant (masked only when placed): such a schema's are not kept.
    if not any(p.code == "schema.regex_timeout" for p in problems) and resultcache.storable_schema(schema):
        cache.put(_SCHEMA, content, [[p.code, p.message, list(p.path), p.key, p.severity.value] for p in problems])
    return problems
_SCHEMA_SECRETS: memo.JsonMemo[tuple[str, ...]] = memo.JsonMemo(1024)


def _compute_schema_problems(schema: Mapping[str, Any]) -> tuple[_Problem, ...]:
    out = [] if fastcheck.meta_valid(schema) else \
        [_meta_problem(err) for err in _META.iter_errors(schema)
         if not (err.validator == "format" and err.validator_value == "regex")]   # ours is better
    out.extend(_check_refs(schema))
    out.extend(_check_recursive_refs(schema))
    out.extend(_check_patterns(schema))
    return tuple(out)


def _place(problem: _Problem, smap: SourceMap, secrets: Sequence[str]) -> Finding:
    limit = None if problem.code == "schema.regex_dialect" else masking.MAX_SHOWN   # short by construction
    return _finding(problem.code, masking.safe_text(problem.message, secrets, limit), smap, problem.path,
                    key=problem.key, severity=problem.severity)


def _meta_problem(err: js_exceptions.ValidationError) -> _Problem:
    path = tuple(err.absolute_path)
    if path and path[-1] == "type" and err.validator == "anyOf":
        message = f"{err.instance!r} is not a JSON Schema type; use one of: {', '.join(_TYPES)}"
    else:
        message = err.message                       # shortened by _place, after masking
    return _Problem("schema.invalid", message, path)


def _walk(node: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Mapping]]:
    """Every mapping in a schema document with its path (sub-schemas and everything else)."""
    if isinstance(node, Mapping):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, path + (index,))


def _check_refs(schema: Mapping) -> Iterator[_Problem]:
    for path, node in _walk(schema):
        ref = node.get("$ref")
        if not isinstance(ref, str) or (path and path[-1] in ("properties", "patternProperties", "definitions")):
            continue
        if not ref.startswith("#"):
            yield _Problem("schema.bad_ref", f"$ref {ref!r} is not local; only references inside this schema "
                           "(#/definitions/…) are supported", path + ("$ref",))
        elif ref != "#" and not isinstance(masking.resolve_pointer(schema, ref), (Mapping, bool)):
            yield _Problem("schema.bad_ref", f"$ref {ref!r} does not resolve to a schema in this document",
                           path + ("$ref",))


def _check_recursive_refs(schema: Mapping) -> Iterator[_Problem]:
    for path in schemarefs.recursive_refs(schema):
        ref = _at(schema, path)
        yield _Problem("schema.recursive_ref", f"$ref {ref!r} leads back to itself without descending into the "
                       "values (through $ref/allOf/anyOf/oneOf/not/if); validating against it would never end",
                       path)


def _at(node: Any, path: JsonPath) -> Any:
    for part in path:
        node = node[part]
    return node


def _check_patterns(schema: Mapping) -> Iterator[_Problem]:
    for path, node in _walk(schema):
        if path and path[-1] in ("properties", "patternProperties", "definitions"):
            continue                                   # keys there are names, not keywords
        if isinstance(node.get("pattern"), str):
            yield from _check_one_pattern(node["pattern"], path + ("pattern",), key=False)
        if isinstance(node.get("patternProperties"), Mapping):
            for pattern in node["patternProperties"]:
                yield from _check_one_pattern(pattern, path + ("patternProperties", pattern), key=True)


def _check_one_pattern(pattern: str, path: JsonPath, *, key: bool) -> Iterator[_Problem]:
    try:
        regexguard.compile_pattern(pattern)
    except regexguard.RegexError as exc:
        yield _Problem("schema.bad_regex", str(exc), path, key)
        return
    if regexguard.looks_catastrophic(pattern):
        yield _Problem("schema.regex_timeout",
                       f"pattern {pattern!r} backtracks catastrophically (a 41-character probe took over "
                       "the time bound); rewrite it without nested or overlapping repetition", path, key)
        return
    differences = regexguard.python_re_differences(pattern)
    if differences:
        yield _Problem("schema.regex_dialect", dialect_message(pattern, differences), path, key,
                       Severity.WARNING)


#: Longest pattern quoted whole in a dialect warning; a longer one is clipped inside its backticks.
_PATTERN_SHOWN = 60


def dialect_message(pattern: str, differences: Sequence[tuple[str, str]]) -> str:
    """``pattern `^\\d{4}$`: `\\d` is ASCII 0-9 only, `$` is the very end (Python's re: …; …)``.

    Short by construction (the pattern is clipped, the notes are terse), so it is never cut
    by the generic shortener and its "(same pattern in N more places)" always shows.
    """
    shown = masking.shorten(pattern, _PATTERN_SHOWN)
    here = ", ".join(h for h, _ in differences)
    there = "; ".join(t for _, t in differences)
    return f"pattern `{shown}`: {here} (Python's re: {there})"


# ---- values --------------------------------------------------------------------------------

def check_values(values: Any, vmap: SourceMap, schema: Mapping[str, Any]) -> list[Finding]:
    """ALL errors of ``values`` against ``schema`` (assumed valid), masked, each at its line."""
    if fastcheck.is_valid(schema, values):
        return []                    # the compiled validator agrees it is valid: no error to locate
    validator = regexguard.validator_for(schema)
    out: list[Finding] = []
    secrets: Sequence[str] | None = None          # only needed to mask messages: found on the first error
    try:
        for err in validator.iter_errors(values):
            if _kept_in_live(err, schema):
                continue
            if secrets is None:
                secrets = masking.sensitive_values(values, schema)
            out.extend(_value_findings(err, vmap, schema, secrets))
    except (js_exceptions.SchemaError, referencing.exceptions.Unresolvable) as exc:  # pragma: no cover - refs pre-checked
        out.append(Finding(Severity.ERROR, "schema.bad_ref",
                           masking.safe_text(str(exc).splitlines()[0], secrets or ()),
                           file=vmap.file, line=1))
    return sorted(out, key=lambda f: (f.line or 0, f.path or ""))


def _kept_in_live(err: js_exceptions.ValidationError, schema: Mapping) -> bool:
    """A required top-level key that is sensitive may be left out: its value is kept in live only
    (``reconciler import`` writes it that way); the planner checks the merged live page instead."""
    if err.validator != "required" or err.absolute_path or not isinstance(err.instance, Mapping):
        return False
    missing = [k for k in err.validator_value or () if isinstance(k, str) and k not in err.instance
               and err.message == f"{k!r} is a required property"]
    return bool(missing) and masking.may_hold_sensitive(schema, missing[0])


def _value_findings(err: js_exceptions.ValidationError, vmap: SourceMap, schema: Mapping,
                    secrets: Sequence[str]) -> list[Finding]:
    path = tuple(err.absolute_path)
    if isinstance(err, regexguard.PatternTimeoutError):
        return [_finding("values.regex_timeout", err.message, vmap, path)]
    if err.validator == "additionalProperties" and err.validator_value is False \
            and isinstance(err.instance, Mapping):
        # One finding per unexpected key, at the key's own line.
        extras = regexguard.find_additional_properties(err.instance, err.schema)
        return [_finding("values.invalid", f"unexpected property {k!r}: the schema does not allow "
                         "additional properties", vmap, path + (k,), key=True) for k in extras]
    message = _masked_message(err, schema, secrets)
    if not masking.is_sensitive(schema, path):
        message += masking.safe_text(_yaml_hint(err, vmap, path), secrets)
    if err.validator in ("anyOf", "oneOf") and err.context and not masking.is_sensitive(schema, path):
        best = js_exceptions.best_match(err.context)
        message += f" (closest: {_masked_message(best, schema, secrets)})"
    # A missing required key points at its parent's key line ("transfer:"), where it must be added.
    return [_finding("values.invalid", message, vmap, path, key=err.validator == "required")]


def _masked_message(err: js_exceptions.ValidationError, schema: Mapping, secrets: Sequence[str]) -> str:
    """The error's message, masked BEFORE it is shortened (a cut secret would no longer match)."""
    if masking.is_sensitive(schema, tuple(err.absolute_path)):
        return _sensitive_message(err)
    return masking.safe_text(err.message, secrets)


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number"}


def _yaml_hint(err: js_exceptions.ValidationError, vmap: SourceMap, path: JsonPath) -> str:
    """For a plain scalar YAML 1.1 would have read as a boolean/number: how to write what was meant."""
    if not isinstance(err.instance, str) or err.validator not in ("type", "enum", "const"):
        return ""
    note = next((n for n in vmap.notes if n.path == path and not n.key), None)
    if note is None:
        return ""
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
    else:
        allowed = err.validator_value if err.validator == "enum" else [err.validator_value]
        wanted = [_JSON_TYPES[type(v)] for v in allowed if type(v) in _JSON_TYPES]
    for expected in wanted:
        hint = yamlsafe.schema_hint(note.text, expected)
        if hint:
            return f" ({hint})"
    return ""


def _sensitive_message(err: js_exceptions.ValidationError) -> str:
    """A message about a sensitive value that describes the rule, never the value."""
    rule = err.validator
    if rule in ("type", "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
                "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        return f"sensitive value (masked) fails {rule}: {_short(err.validator_value)}"
    return f"sensitive value (masked) fails {rule}"


# ---- shared --------------------------------------------------------------------------------

def _finding(code: str, message: str, smap: SourceMap, path: JsonPath, *, key: bool = False,
             severity: Severity = Severity.ERROR) -> Finding:
    line = smap.key_line_of(path) if key else smap.line_of(path)
    return Finding(severity, code, message, file=smap.file, line=line, path=format_path(path) or None)


def _short(value: Any) -> str:
    return masking.shorten(repr(value))


# ---- how far errors reach --------------------------------------------------------------------

def blocked_envs(desired: DesiredState, promotion_order: Sequence[ClientEnv] = tuple(ClientEnv),
                 ) -> dict[str, set[ClientEnv]]:
    """Per agent, the environments that must not be applied (DESIGN.md §3).

    A shape of :func:`reconciler.checks.verdict.decide` (the one decision every command
    uses): a blocking finding (error, not waived) in agent x env blocks that env
    and every later one in ``promotion_order``; one without an env (bad agent
    directory) blocks the whole agent; one without an agent (settings,
    malformed policy file) blocks everything. Every agent of ``desired`` and
    every agent named by a finding is a key (empty set: nothing blocked).
    """
    return blocking.decide(desired, promotion_order).blocked()
