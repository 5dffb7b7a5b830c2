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

This module drives the checks and places schema problems at their lines; the
problems themselves are :mod:`reconciler.checks.schemacheck`'s, the values errors
:mod:`reconciler.checks.valuecheck`'s. The on-disk cache (opened by the loader:
:func:`reconciler.repository.loader.results_cache`) keeps "valid" verdicts and schema
problems here.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler import memo, settings, steps
from reconciler.checks import verdict as blocking, isolation, masking, ownership, policy, schemacheck, valuecheck
from reconciler.checks import warnfilter
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv, DesiredState, EnvDesired, Finding, JsonPath, Severity, SourceMap, leaves
from reconciler.repository import cache as resultcache, loader, reader, yamlbuild, yamlsafe


def validate_repository(root: Path, *, agents: Iterable[str] | None = None, envs: Iterable[str] | None = None,
                        today: _dt.date | None = None, use_cache: bool = False) -> DesiredState:
    """Load + settings + schemas + values + policies; never raises for repository content.

    ``use_cache``: read and write the on-disk cache of parse results (:mod:`reconciler.repository.cache`;
    the same result either way). :func:`reconciler.checks.twoprocesses.validate_repository` is this
    function on two cores.
    """
    return steps.drain(iter_validate_repository(root, agents=agents, envs=envs, today=today, use_cache=use_cache))


def iter_validate_repository(root: Path, *, agents: Iterable[str] | None = None, envs: Iterable[str] | None = None,
                             today: _dt.date | None = None, on_agent: Callable[[str], None] | None = None,
                             use_cache: bool = False) -> steps.Steps[DesiredState]:
    """:func:`validate_repository` as steps (one per agent; see :mod:`reconciler.steps`).

    ``on_agent``: see :func:`reconciler.repository.loader.iter_load_repository` (a plan starts reading live early).
    """
    with loader.results_cache(Path(root), use_cache) as cache:
        checked = yield from check_agents(Path(root), agents, envs, on_agent, cache)
        if cache is not None and agents is None and envs is None:
            cache.read_everything()        # a full run: parse entries of files no longer read are pruned
    return finish(Path(root), checked, today)


@dataclasses.dataclass(frozen=True)
class Checked:
    """The per-agent part of a validation: what the loader made of the agents, and their checks."""

    desired: DesiredState
    """The agents loaded, with the loader's findings."""
    checks: tuple[Finding, ...]
    """Each agent x environment's schema and values findings, in agent order."""
    shown: Mapping[str, int]
    """Dialect warnings placed, with how often each repeated (see :func:`check_schema`)."""


def check_agents(root: Path, agents: Iterable[str] | None, envs: Iterable[str] | None,
                 on_agent: Callable[[str], None] | None, cache: resultcache.ResultCache | None
                 ) -> steps.Steps[Checked]:
    """Load ``agents`` (None: all) and check each agent x environment: no run-wide check yet."""
    desired = yield from loader.iter_load_repository(root, agents=agents, envs=envs, on_agent=on_agent, cache=cache)
    checks: list[Finding] = []
    shown: dict[str, int] = {}             # dialect warnings placed once, repeats counted (see check_schema)
    for agent in desired.agents.values():
        for env in agent.envs.values():
            checks.extend(isolation.contained(lambda: check_env(env, shown, cache), env,
                                              "checking the schema and values"))
        yield
    return Checked(desired, tuple(checks), shown)


def finish(root: Path, checked: Checked, today: _dt.date | None) -> DesiredState:
    """The run-wide part: ``reconciler.yaml``, keys live owns, dialect warnings once, the policies."""
    desired = checked.desired
    findings = list(desired.findings) + settings_findings(root) + list(checked.checks)
    findings = ownership.adjust(findings, desired, ownership.rules_of(root))   # keys live owns
    desired = dataclasses.replace(desired, findings=tuple(_once_per_pattern(findings, checked.shown)))
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
    """:func:`reconciler.checks.valuecheck.check_values`, skipped when an earlier run found these values
    bytes valid under these schema bytes.

    Only "valid" is kept: invalid values always run the full validator, so their messages, lines and
    masking are made afresh.
    """
    key = None
    if cache is not None and env.schema_map is not None and env.values_map is not None \
            and env.schema_map.digest is not None and env.values_map.digest is not None:
        key = reader.content_digest(env.schema_map.digest + env.values_map.digest)
        if cache.get(_VALID, key) is True:
            return []
    found = valuecheck.check_values(env.values, env.values_map, env.schema)
    if key is not None and not found:
        cache.put(_VALID, key, True)
    return found


_VALID, _SCHEMA = "valid", "schema"      # kinds of entries in the on-disk cache (besides parse results)


#: The API stores integers as 64-bit signed numbers (DESIGN.md §1 leaves JSON numbers open; real
#: services and most JSON parsers outside Python stop here). A larger one is refused at its line.
INT_MIN, INT_MAX = yamlbuild.INT64_MIN, yamlbuild.INT64_MAX


def check_integers(doc: Any, smap: SourceMap, kind: str) -> list[Finding]:
    """``<kind>.integer_too_large`` at each integer outside the 64-bit range (the digits are not shown).

    The YAML builder already noted where they are (``smap.big_ints``); other data is walked.
    """
    out: list[Finding] = []
    found = leaves(doc) if smap.big_ints is None else ((p, _at(doc, p)) for p in smap.big_ints)
    for path, value in found:
        if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
            digits = len(str(abs(value)))
            out.append(valuecheck.finding_at(
                f"{kind}.integer_too_large", f"integer of {digits} digits is too large for the API (64-bit: at most "
                "9223372036854775807); write a smaller number or a string", smap, path))
    return out


def _at(doc: Any, path: JsonPath) -> Any:
    for part in path:
        doc = doc[part]
    return doc


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


# ---- schema: problems placed at their lines -----------------------------------------------

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
        problems = schemacheck.schema_problems(schema, on_miss=lambda s: _stored_schema_problems(s, cache, content))
    else:
        problems = schemacheck.schema_problems(schema)
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


def _stored_schema_problems(schema: Mapping[str, Any], cache: resultcache.ResultCache,
                            content: bytes) -> tuple[schemacheck.SchemaProblem, ...]:
    """:func:`reconciler.checks.schemacheck.compute_schema_problems` through the on-disk cache
    (a regex_timeout, measured with a clock, is never kept: it is probed again on every run)."""
    stored = cache.get(_SCHEMA, content)
    if isinstance(stored, list):
        try:
            return tuple(schemacheck.SchemaProblem(str(c), str(m), tuple(p), bool(k), Severity(v))
                         for c, m, p, k, v in stored)
        except (ValueError, TypeError):       # pragma: no cover - authenticated: ours
            pass
    problems = schemacheck.compute_schema_problems(schema)
    # A problem's message may quote a sensitive constant (masked only when placed): such a schema's are not kept.
    if not any(p.code == "schema.regex_timeout" for p in problems) and resultcache.storable_schema(schema):
        cache.put(_SCHEMA, content, [[p.code, p.message, list(p.path), p.key, p.severity.value] for p in problems])
    return problems


_SCHEMA_SECRETS: memo.JsonMemo[tuple[str, ...]] = memo.JsonMemo(1024)


def _place(problem: schemacheck.SchemaProblem, smap: SourceMap, secrets: Sequence[str]) -> Finding:
    limit = None if problem.code == "schema.regex_dialect" else masking.MAX_SHOWN   # short by construction
    return valuecheck.finding_at(problem.code, masking.safe_text(problem.message, secrets, limit), smap,
                                 problem.path, key=problem.key, severity=problem.severity)


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
