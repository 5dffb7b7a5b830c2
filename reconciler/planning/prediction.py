"""Step 4 of the planner: predict the page after the PUT and the PATCH, and explain why it would fail.

Called by :mod:`reconciler.planning.planner` for every environment with
something to send. Pure, like the planner: the merged page (live variables
shallow-merged with the PATCH) is validated against the effective schema
before anything is sent, so an apply never meets
``REAL_TIME_CONFIG_INVALID_FOR_SCHEMA``. Failures are blamed on orphans (live
keys the repository lacks, which PATCH cannot delete) where they cause them,
and every message is masked before it is cut (sensitive values never leak
through a validator's text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.checks import fastcheck, lazyjsonschema, masking, regexguard, schemacheck
from reconciler.model import ClientEnv, EnvDesired, Finding, LivePage, Severity, format_path


def page_finding(agent: str, env: ClientEnv, code: str, message: str, severity: Severity = Severity.ERROR,
                 **where: Any) -> Finding:
    """A finding about one agent x environment."""
    return Finding(severity=severity, code=code, message=message, agent=agent, env=env.value, **where)


def predict(desired: EnvDesired, page: LivePage, patch: Mapping[str, Any], orphans: tuple[str, ...]) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(errors, warnings) about the page as it would be after the PUT and the PATCH."""
    effective = desired.schema if desired.schema is not None else page.schema
    merged = {**page.variables, **patch}
    try:
        validator = lazyjsonschema.fullvalidator().validator_for(effective)   # shared per schema text (a memo)
        if desired.values is None:
            # Schema only: the PUT is accepted even if the live values stop validating; say so.
            failing = _errors(validator, effective, page.variables)
            return (), ((_live_values_warning(desired, failing, effective),) if failing else ())
        failing = _errors(validator, effective, merged)
        if not failing:
            return (), ()
        desired_alone_ok = not _errors(validator, effective, desired.values)
    except Exception as exc:   # a schema the validator cannot run (bad pattern, regex timeout, ...)
        return (_schema_unusable(desired, exc, _secrets(merged, effective, page.schema)),), ()
    return _explain(desired, failing, effective, orphans, desired_alone_ok,
                    _secrets(merged, effective, page.schema)), ()


def _errors(validator: Any, schema: Mapping[str, Any], instance: Mapping[str, Any]) -> list[Any]:
    if fastcheck.is_valid(schema, dict(instance)):
        return []                    # compiled check: valid, no error to explain
    return sorted(validator.iter_errors(dict(instance)), key=lambda e: (format_path(e.absolute_path), e.message))


def _explain(desired: EnvDesired, failing: list[Any], schema: Mapping[str, Any], orphans: tuple[str, ...],
             desired_alone_ok: bool, secrets: list[str]) -> tuple[Finding, ...]:
    """Blame orphans where they cause the failure; report the rest by path."""
    culprits: set[str] = set()
    rest = []
    for error in failing:
        keys = _error_keys(error, schema) & set(orphans)
        if keys:
            culprits |= keys
        else:
            rest.append(error)
    if rest and orphans and desired_alone_ok:
        # The repository's values alone validate, so the orphans (all that merged adds) are the cause.
        culprits |= set(orphans) if not culprits else set()
        rest = []
    out = [_orphan_finding(desired, sorted(culprits))] if culprits else []
    out += [_invalid_finding(desired, error, secrets) for error in rest]
    return tuple(out)


def _error_keys(error: Any, schema: Mapping[str, Any]) -> set[str]:
    """Top-level keys an error is about: its path's first part, or the unexpected keys at the root."""
    if error.absolute_path:
        return {str(error.absolute_path[0])}
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        props = schema.get("properties") or {}
        patterns = list((schema.get("patternProperties") or {}))
        return {k for k in error.instance if k not in props and not any(_matches(p, k) for p in patterns)}
    return set()


def _matches(pattern: str, key: str) -> bool:
    try:
        return regexguard.search(pattern, key)
    except Exception:
        return True


def _orphan_finding(desired: EnvDesired, keys: list[str]) -> Finding:
    names = ", ".join(f"`{k}`" for k in keys)
    first = keys[0]
    message = (f"live key(s) {names} not in values.yaml would not validate against the desired schema, "
               f"so every PATCH would fail; keep `{first}` in schema.yaml (e.g. declare the property), "
               "or delete it in the Configuration Builder UI; PATCH cannot delete keys")
    source = desired.schema_map if desired.schema is not None else desired.values_map
    line = None
    if source is not None:
        line = source.key_line_of(("additionalProperties",)) if desired.schema is not None else source.line_of(())
    return page_finding(desired.agent, desired.env, "plan.orphan_forbidden", message, path=first,
                    file=source.file if source else None, line=line)


def _invalid_finding(desired: EnvDesired, error: Any, secrets: list[str]) -> Finding:
    path = format_path(error.absolute_path)
    managed_schema = desired.schema is not None
    code = "plan.invalid_result" if managed_schema else "values.invalid_for_live_schema"
    what = "after the PUT and PATCH the page would not validate" if managed_schema \
        else "values do not validate against the live schema (schema.yaml is not managed)"
    source = desired.values_map
    return page_finding(desired.agent, desired.env, code,
                    masking.safe_text(f"{what}: `{path or '(root)'}`: {error.message}", secrets, limit=400),
                    path=path or None,
                    file=source.file if source else None,
                    line=source.line_of(tuple(error.absolute_path)) if source else None)


def _live_values_warning(desired: EnvDesired, failing: list[Any], schema: Mapping[str, Any]) -> Finding:
    paths = ", ".join(sorted({f"`{format_path(e.absolute_path) or '(root)'}`" for e in failing}))
    source = desired.schema_map
    return page_finding(desired.agent, desired.env, "plan.live_values_invalid",
                    f"live values would stop validating against the new schema at {paths}; values.yaml "
                    "is not managed here, so the PUT is sent anyway (the UI will block publishing)",
                    Severity.WARNING, file=source.file if source else None,
                    line=source.line_of(()) if source else None)


def unusable_live_schema(desired: EnvDesired, page: LivePage) -> Finding | None:
    """``plan.live_schema_unusable`` when the live schema (values-only page) has a schema error."""
    # Only errors make a schema unusable: a warning (a repository-only concern) never blocks a PATCH.
    problems = [p for p in schemacheck.schema_problems(page.schema) if p.severity is Severity.ERROR]
    if not problems:
        return None
    first = problems[0]
    source = desired.values_map
    return page_finding(desired.agent, desired.env, "plan.live_schema_unusable",
                    f"the live schema of this page is unusable ({first.code} at `{format_path(first.path) or '(root)'}`"
                    f": {masking.safe_text(first.message, masking.sensitive_values({}, page.schema))}); no PATCH is sent — fix the schema in the Configuration "
                    "Builder, or manage it here with a schema.yaml",
                    file=source.file if source else None, line=1 if source else None)


def _schema_unusable(desired: EnvDesired, exc: Exception, secrets: list[str]) -> Finding:
    source = desired.schema_map if desired.schema is not None else None
    return page_finding(desired.agent, desired.env, "plan.schema_unusable",
                    masking.safe_text(f"cannot validate against the {'desired' if source else 'live'} schema: "
                                      f"{type(exc).__name__ if not str(exc) else exc}", secrets, limit=400),
                    file=source.file if source else None, line=source.line_of(()) if source else None)


def _secrets(values: Mapping[str, Any], *schemas: Mapping[str, Any]) -> list[str]:
    """Text forms of the values sensitive under any of ``schemas``, to scrub from validator messages."""
    return [text for schema in schemas if isinstance(schema, Mapping)
            for text in masking.sensitive_values(dict(values), schema)]
