"""The planner: desired state + live state -> :class:`~reconciler.planning.plan.Plan`. Pure.

Called by the ``plan``/``apply``/``drift`` commands, the executor (re-plan of
one agent when a page changed underneath) and the daemon. It does no I/O,
reads no clock and no environment, and makes no HTTP call: the caller reads
the live pages (one GET per agent) and passes them in, and the executor sends
what the plan says, in the order the plan gives.

Per agent x environment in promotion order (DESIGN.md §1, §3):

1. unmanaged (no directory) -> ``unmanaged``; blocked by a finding here, by
   an error in an earlier environment of the agent, by a run-wide error or by
   a failed read of the agent -> ``error`` with nothing to send;
2. schema: canonical text equal -> nothing, else PUT the whole desired schema;
3. variables: the PATCH holds only the top-level keys whose canonical text
   differs; live keys the repository lacks are orphans (PATCH cannot delete),
   except sensitive ones, which are kept in live only on purpose;
4. prediction: the page after PUT + PATCH (live variables shallow-merged with
   the PATCH) must validate against the effective schema, else ``error`` —
   so an apply never meets REAL_TIME_CONFIG_INVALID_FOR_SCHEMA
   (:mod:`reconciler.planning.prediction`).

Fast path: when the canonical texts are equal, deepdiff is not called at all.
Diff rendering is left to :mod:`reconciler.planning.diff` and :mod:`reconciler.report`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import errors, governance
from reconciler.checks import verdict as blocking, masking
from reconciler.planning import canonical, diff, ownership, prediction
from reconciler.model import ClientEnv, DesiredState, EnvDesired, Finding, LiveAgent, LivePage, format_path
from reconciler.planning.plan import EnvPlan, KeyLocation, Plan, Status
from reconciler.settings import Settings

_NO_ERRORS: Mapping[str, errors.ApiError] = {}


@dataclass(frozen=True)
class _Context:
    """What every environment of one agent shares while planning."""

    agent: str
    live: LiveAgent | None
    fetch_error: errors.ApiError | None
    blocked: Mapping[ClientEnv, tuple[Finding, ...]]   # the shared verdict (reconciler.checks.verdict) per env
    warnings: tuple[Finding, ...]                      # every non-blocking finding of this agent
    memo: _Memo
    read_only: bool = False                # drift: compare even with errors; promotion order blocks nothing
    rules: governance.Governance = governance.Governance()   # ownership: keys live owns (planning/ownership.py)


class _Memo:
    """Per-plan() cache of what is costly to derive from a schema (fleets share a few schemas).

    Lives only as long as one plan() call, so the planner stays a pure function.
    """

    def __init__(self) -> None:
        self._sensitive: dict[str, frozenset[str]] = {}
        # Keyed by object identity (the objects are kept, so an id is not reused): the loader and
        # the API client hand out one shared object per distinct schema text.
        self._sensitive_by_id: dict[int, tuple[Any, frozenset[str]]] = {}
        self._equal_by_id: dict[tuple[int, int], tuple[Any, Any, bool]] = {}

    @staticmethod
    def _key(schema: Any) -> str:
        return json.dumps(schema, sort_keys=True, default=str)

    def sensitive_keys(self, schema: Mapping[str, Any] | None) -> frozenset[str]:
        seen = self._sensitive_by_id.get(id(schema))
        if seen is not None and seen[0] is schema:
            return seen[1]
        key = self._key(schema)
        if key not in self._sensitive:
            # Most schemas mark nothing: a substring test (C speed) saves the schema walk.
            marked = '"x-sensitive"' in key or '"writeOnly"' in key
            self._sensitive[key] = diff.sensitive_top_level_keys(schema) if marked else frozenset()
        self._sensitive_by_id[id(schema)] = (schema, self._sensitive[key])
        return self._sensitive[key]

    def schema_equal(self, a: Any, b: Any) -> bool:
        """:func:`canonical.schema_equal`, once per pair of shared schema objects."""
        seen = self._equal_by_id.get((id(a), id(b)))
        if seen is not None and seen[0] is a and seen[1] is b:
            return seen[2]
        equal = canonical.schema_equal(a, b)
        self._equal_by_id[(id(a), id(b))] = (a, b, equal)
        return equal


def plan(desired: DesiredState, live: Mapping[str, LiveAgent], settings: Settings, *,
         fetch_errors: Mapping[str, errors.ApiError] = _NO_ERRORS, agents: Iterable[str] | None = None,
         envs: Iterable[str] | None = None, target: str = "local", read_only: bool = False) -> Plan:
    """Plan every (selected) agent x environment of ``settings.promotion_order``.

    What validation blocks comes from :func:`reconciler.checks.verdict.decide`, the same
    decision ``validate`` exits on; an agent the loader refused (named only by a
    finding) is planned as ``error`` on every environment, never left out.

    ``read_only`` (the drift report): an environment is compared with live even
    when it has errors of its own (it then keeps ``error`` *and* its diff), and
    promotion order blocks nothing, since nothing will be written.
    """
    order = settings.promotion_order
    wanted_agents = None if agents is None else set(agents)
    wanted_envs = None if envs is None else {str(e) for e in envs}
    verdict = blocking.decide(desired, order)
    memo = _Memo()
    warnings: dict[str, list[Finding]] = {}
    for f in desired.findings:            # grouped once: findings_for() per agent would be quadratic
        if f.agent is not None and not f.blocks:
            warnings.setdefault(f.agent, []).append(f)
    results: list[EnvPlan] = []
    for agent in verdict.agents:
        if wanted_agents is not None and agent not in wanted_agents:
            continue
        if agent not in desired.agents:
            env_plans = _refused_agent(agent, verdict, order)
        else:
            ctx = _Context(agent, live.get(agent), fetch_errors.get(agent), verdict.pages[agent],
                           tuple(warnings.get(agent, ())), memo, read_only, settings.governance)
            # Plan every environment (an earlier one can block a later one), then filter.
            env_plans = plan_agent(desired.agents[agent].envs, ctx, order)
        results.extend(p for p in env_plans if wanted_envs is None or p.env.value in wanted_envs)
    run_findings = tuple(f for f in desired.findings if f.agent is None)
    return Plan(results=tuple(results), target=target, environments=order, findings=run_findings)


def _refused_agent(agent: str, verdict: blocking.Verdict, order: tuple[ClientEnv, ...]) -> list[EnvPlan]:
    """An agent directory the loader refused: every environment is an error, nothing is read or sent."""
    return [EnvPlan(agent=agent, env=env, status=Status.ERROR, errors=verdict.reasons(agent, env))
            for env in order if verdict.reasons(agent, env)]


def plan_agent(envs: Mapping[ClientEnv, EnvDesired], ctx: _Context,
               order: tuple[ClientEnv, ...]) -> list[EnvPlan]:
    """One agent's environments in promotion order; an error blocks the later environments."""
    out: list[EnvPlan] = []
    blocked_by: ClientEnv | None = None
    for env in order:
        env_desired = envs.get(env)
        own = tuple(f for f in ctx.blocked.get(env, ()) if f.env == env.value and f.code != "plan.blocked")
        if env_desired is None and not own:
            out.append(EnvPlan(agent=ctx.agent, env=env, status=Status.UNMANAGED))
            continue
        # A directory the loader refused (e.g. a symlink out of the repository) is an error, not unmanaged.
        env_plan = _plan_env(env_desired or EnvDesired(agent=ctx.agent, env=env), ctx, blocked_by)
        if env_plan.status is Status.ERROR and blocked_by is None and not ctx.read_only:
            blocked_by = env
        out.append(env_plan)
    return out


def _plan_env(desired: EnvDesired, ctx: _Context, blocked_by: ClientEnv | None) -> EnvPlan:
    env = desired.env
    warnings = tuple(f for f in ctx.warnings if f.env in (None, env.value))
    stops = ctx.blocked.get(env, ())
    if ctx.read_only:                      # nothing will be written: promotion order blocks nothing
        stops = tuple(f for f in stops if f.code != "plan.blocked")
    elif blocked_by is not None and not any(f.code == "plan.blocked" for f in stops):
        # An earlier environment failed at plan time (orphans, live read...): validation did not know.
        stops += (prediction.page_finding(ctx.agent, env, "plan.blocked",
                                          f"blocked: {blocked_by.value} has errors (promotion order)"),)
    if ctx.fetch_error is not None:
        stops += (_fetch_finding(ctx.agent, env, ctx.fetch_error),)
    elif ctx.live is None:
        stops += (prediction.page_finding(ctx.agent, env, "plan.no_live_state",
                                          "live state of the agent was not read"),)
    if stops and not (ctx.read_only and ctx.live is not None and ctx.fetch_error is None):
        return EnvPlan(agent=ctx.agent, env=env, status=Status.ERROR, errors=stops, warnings=warnings)
    page = ctx.live.pages.get(env) or LivePage(env=env, schema={}, variables={}, last_updated=None)
    desired, owned = ownership.apply(desired, page.variables, ctx.rules)    # live-owned keys: live's value
    compared = _compare(desired, page, warnings, ctx.memo)
    if owned:
        compared = dataclasses.replace(compared, live_owned=owned)
    if not stops:
        return compared
    # Read-only report: the page keeps its diff (it is drift) and is an error as well; nothing to send.
    return dataclasses.replace(compared, status=Status.ERROR, schema_put=None, variables_patch={},
                               masked_patch=None, errors=stops + compared.errors)


def _compare(desired: EnvDesired, page: LivePage, warnings: tuple[Finding, ...], memo: "_Memo") -> EnvPlan:
    """Steps 2-4 for one managed, unblocked environment."""
    # Step 2: schema. Equal canonical text -> no PUT and no deepdiff call.
    schema_put = None
    if desired.schema is not None and not memo.schema_equal(desired.schema, page.schema):
        schema_put = desired.schema
    effective = desired.schema if desired.schema is not None else page.schema
    # Step 3: variables (shallow merge): only differing top-level keys; orphans are reported.
    patch, orphans = {}, ()
    if desired.values is not None:
        patch = {k: v for k, v in desired.values.items()
                 if k not in page.variables or not canonical.equal(v, page.variables[k])}
        orphans = _orphans(page, desired.values, effective)
    mask_schemas = (effective, page.schema)
    base = dict(agent=desired.agent, env=desired.env, orphans=orphans, live_last_updated=page.last_updated,
                sensitive_keys=memo.sensitive_keys(effective) | memo.sensitive_keys(page.schema))
    if schema_put is None and not patch:
        return EnvPlan(status=Status.IN_SYNC, warnings=warnings,
                       changed_keys=_changed_keys(desired, page, None, {}, orphans), **base)
    base.update(schema_new=schema_put is not None and not page.schema,
                variables_new=bool(patch) and not page.variables,
                changed_keys=_changed_keys(desired, page, schema_put, patch, orphans))
    if desired.schema is None and (unusable := prediction.unusable_live_schema(desired, page)) is not None:
        # A PATCH would be validated by the API against a schema that cannot work (recursive $ref,
        # not Draft 7): it would fail or never finish. Say so instead of sending it.
        return EnvPlan(status=Status.ERROR, errors=(unusable,), warnings=warnings, **base)
    # Step 4: predict the page after PUT + PATCH, before anything is sent.
    problems, notes = prediction.predict(desired, page, patch, orphans)
    schema_diff = diff.diff_schemas(page.schema, desired.schema) if schema_put is not None else ()
    variables_diff = diff.diff_documents({k: page.variables[k] for k in patch if k in page.variables},
                                         patch, schema=mask_schemas) if patch else ()
    if problems:
        return EnvPlan(status=Status.ERROR, schema_diff=schema_diff, variables_diff=variables_diff,
                       errors=problems, warnings=warnings + notes, **base)
    return EnvPlan(status=Status.CHANGES, schema_put=schema_put, schema_diff=schema_diff,
                   variables_patch=patch, variables_diff=variables_diff,
                   masked_patch=_mask_many(patch, mask_schemas), warnings=warnings + notes, live_page=page, **base)


def _orphans(page: LivePage, values: Mapping[str, Any], effective: Mapping[str, Any]) -> tuple[str, ...]:
    """Live keys the repository lacks, except sensitive ones kept in live only (``reconciler import``
    leaves those out of values.yaml on purpose: they are neither drift nor orphans)."""
    extra = set(page.variables) - set(values)
    if extra:
        live_only = {k: page.variables[k] for k in extra}
        extra -= masking.live_only_keys(live_only, effective) | masking.live_only_keys(live_only, page.schema)
    return tuple(sorted(extra))


def _changed_keys(desired: EnvDesired, page: LivePage, schema_put: Mapping[str, Any] | None,
                  patch: Mapping[str, Any], orphans: tuple[str, ...]) -> tuple[KeyLocation, ...]:
    """file:line of each changed top-level key (a schema property counts as one), for annotations."""
    out: list[KeyLocation] = []
    if schema_put is not None and desired.schema_map is not None:
        smap = desired.schema_map
        for path in _schema_key_paths(desired.schema or {}, page.schema):
            out.append(KeyLocation("schema", format_path(path), smap.file, smap.key_line_of(path) or 1))
    vmap = desired.values_map
    if vmap is not None:
        out += [KeyLocation("values", key, vmap.file, vmap.key_line_of((key,)) or 1) for key in patch]
        out += [KeyLocation("values", key, vmap.file, 1) for key in orphans]
    return tuple(out)


def _schema_key_paths(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Top-level schema keys that differ; under ``properties``, each differing property instead."""
    paths: list[tuple[str, ...]] = []
    for key in sorted(set(desired) | set(live)):
        a, b = desired.get(key), live.get(key)
        if key in ("properties", "definitions", "$defs") and isinstance(a, Mapping) and isinstance(b, Mapping):
            paths += [(key, name) for name in sorted(set(a) | set(b), key=str)
                      if name not in a or name not in b or not canonical.schema_equal(a[name], b[name])]
        elif key not in desired or key not in live or not canonical.schema_equal({key: a}, {key: b}):
            paths.append((key,))
    return paths


def _mask_many(values: Mapping[str, Any], schemas: tuple[Mapping[str, Any], ...]) -> Mapping[str, Any]:
    for schema in schemas:
        values = diff.mask(values, schema)
    return values


def _fetch_finding(agent: str, env: ClientEnv, error: errors.ApiError) -> Finding:
    if isinstance(error, errors.UnreachableError):
        return prediction.page_finding(agent, env, "api.unreachable", f"not attempted: {error.message}")
    code = f"api.{error.error_code or error.status or 'unreachable'}"
    return prediction.page_finding(agent, env, code, f"could not read the live config of {agent}: {error}",
                                   request_id=error.request_id)
