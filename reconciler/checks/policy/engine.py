"""Evaluate loaded policies: value rules against a DesiredState, change rules against a Plan.

Called through :func:`reconciler.checks.policy.check_repository` (by validation, at the
end of ``validate_repository``) and :func:`reconciler.checks.policy.check_plan` (by
the plan/apply commands after planning). This module owns what every check
shares: selecting agents x environments, turning a check's
:class:`~reconciler.checks.policy.checks.base.Violation` into a located
:class:`~reconciler.model.Finding` (values.yaml or schema.yaml line, policy
file and rule line), severities, masking of sensitive values, and waivers.
Reading the policy files is :mod:`reconciler.checks.policy.loader`'s job; what each
check means lives in :mod:`reconciler.checks.policy.checks`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterator
from reconciler.checks import isolation, masking
from reconciler.model import ClientEnv, DesiredState, EnvDesired, Finding, Severity, format_path
from reconciler.planning.plan import EnvPlan, Plan, Status
from reconciler.checks.policy import waivers
from reconciler.checks.policy.checks import CHECKS, blast_radius
from reconciler.checks.policy.checks.base import EnvContext, Violation
from reconciler.checks.policy.model import Policy, PolicySet, Rule


# -- value rules, on the repository ----------------------------------------------------------------

def evaluate_repository(desired: DesiredState, policy_set: PolicySet, today: _dt.date, *,
                        references: DesiredState | None = None) -> tuple[Finding, ...]:
    """Every finding of every value rule for every matched agent x environment, waivers applied.

    ``references``: environments this run did not select (``--env live``) that parity rules compare against.
    """
    out: list[Finding] = []
    for policy in policy_set.policies:
        rules = [r for r in policy.rules if not r.is_change_rule]
        if not rules:
            continue
        raw = [f for env in _matched_envs(desired, policy)
               for f in isolation.contained(lambda: _check_env(desired, policy, rules, env, references), env,
                                            f"policy {policy.name}")]
        out.extend(waivers.apply(policy, raw, {r.id for r in rules}, today))
    return tuple(out)


def _matched_envs(desired: DesiredState, policy: Policy) -> Iterator[EnvDesired]:
    for agent_id in sorted(desired.agents):
        envs = desired.agents[agent_id].envs
        for env in ClientEnv:                      # promotion order, for stable output
            if env in envs and policy.selector.matches(agent_id, env.value):
                yield envs[env]


def _check_env(desired: DesiredState, policy: Policy, rules: list[Rule], env: EnvDesired,
               references: DesiredState | None) -> list[Finding]:
    secrets = _secrets(env)
    out = []
    for rule in rules:
        ctx = EnvContext(desired=desired, env=env, rule=rule, references=references)
        for violation in CHECKS[rule.check].check(ctx):
            out.append(_locate(policy, rule, env, violation, secrets))
    return out


def _locate(policy: Policy, rule: Rule, env: EnvDesired, v: Violation, secrets: list[str]) -> Finding:
    smap = env.values_map if v.where == "values" else env.schema_map
    line = None
    if smap is not None:
        line = smap.key_line_of(v.path) if v.where == "schema" and v.path else smap.line_of(v.path)
    message = masking.mask_message(v.message, secrets) if secrets else v.message
    return Finding(severity=v.severity or policy.severity_of(rule), code=v.code or f"policy.{rule.check}",
                   message=f"{_origin(policy, rule)}: {message}", file=smap.file if smap else None,
                   line=line, path=format_path(v.path) or None,
                   agent=env.agent, env=env.env.value, policy=policy.name, rule=rule.id,
                   rule_file=policy.file, rule_line=rule.line)


def _origin(policy: Policy, rule: Rule) -> str:
    # Every report format shows the message, so the rule's own file:line travels in it as well.
    return f"{policy.name}/{rule.id} ({policy.file}:{rule.line})"


def _secrets(env: EnvDesired) -> list[str]:
    """Every sensitive value in the environment's values, so no message can carry one."""
    if not env.schema or env.values is None:
        return []
    return masking.sensitive_values(env.values, env.schema)


def missing_references(desired: DesiredState, policy_set: PolicySet) -> tuple[set[str], set[str]]:
    """(agents, envs) whose parity reference environment this run did not load (an --env selection)."""
    agents: set[str] = set()
    envs: set[str] = set()
    for policy in policy_set.policies:
        for rule in (r for r in policy.rules if r.check == "parity"):
            reference = ClientEnv(rule.args["reference"])
            for env in _matched_envs(desired, policy):
                if reference not in desired.agents[env.agent].envs:
                    agents.add(env.agent)
                    envs.add(reference.value)
    return agents, envs


# -- change rules, on the plan ---------------------------------------------------------------------

def evaluate_plan(plan: Plan, policy_set: PolicySet, *, allow_large_change: bool, today: _dt.date) -> Plan:
    """A new Plan in which agent x environments over a change rule's limit carry its finding (and status)."""
    attached: dict[tuple[str | None, str | None], list[Finding]] = {}
    for policy in policy_set.policies:
        rules = [r for r in policy.rules if r.is_change_rule]
        if not rules:
            continue
        raw = [f for rule in rules for f in _blast_findings(plan, policy, rule, allow_large_change)]
        for finding in waivers.apply(policy, raw, {r.id for r in rules}, today):
            attached.setdefault((finding.agent, finding.env), []).append(finding)
    if not attached:
        return plan
    results = tuple(_attach(r, attached.get((r.agent, r.env.value), [])) for r in plan.results)
    return dataclasses.replace(plan, results=results, findings=plan.findings + tuple(attached.get((None, None), [])))


def _blast_findings(plan: Plan, policy: Policy, rule: Rule, allow: bool) -> Iterator[Finding]:
    for excess in blast_radius.evaluate(plan, policy.selector, rule.args):
        what = excess.describe(rule.args)
        if allow:
            severity, message = Severity.WARNING, f"{what}; allowed by --allow-large-change"
        else:
            severity = policy.severity_of(rule)
            message = (f"{what}; refusing to change these agents in '{excess.env}' in one run: "
                       "split the change, or re-run with --allow-large-change")
        for agent in excess.agents:
            yield Finding(severity=severity, code="policy.blast_radius",
                          message=f"{policy.name}/{rule.id}: {message}", file=policy.file, line=rule.line,
                          agent=agent, env=excess.env, policy=policy.name, rule=rule.id,
                          rule_file=policy.file, rule_line=rule.line)


def _attach(result: EnvPlan, findings: list[Finding]) -> EnvPlan:
    if not findings:
        return result
    errors = tuple(f for f in findings if f.blocks)
    warnings = tuple(f for f in findings if not f.blocks)
    status = Status.ERROR if errors and result.status is not Status.UNMANAGED else result.status
    return dataclasses.replace(result, status=status, errors=result.errors + errors,
                               warnings=result.warnings + warnings)
