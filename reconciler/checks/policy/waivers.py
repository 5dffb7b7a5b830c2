"""Apply a policy's ``exceptions:`` (waivers) to the findings its rules produced.

Called by the engine once per policy, separately for value rules (on the
repository) and change rules (on the plan), so a waiver is judged only by the
findings of its own kind of rule. A waiver:

- active (``expires`` today or later) and matching a finding: the finding is
  kept, with ``waived`` set to the reason (still reported; no longer blocks);
- expired: waives nothing and is itself an error ``policy.waiver_expired`` at
  the waiver's line, attributed to each agent x environment it would have
  covered (so exactly those are blocked), or run-wide when it covers none;
- active but matching nothing: a warning ``policy.waiver_unused``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable

from reconciler.model import Finding, Severity
from reconciler.checks.policy.model import Policy, Waiver


def covers(waiver: Waiver, finding: Finding) -> bool:
    return (finding.rule == waiver.rule and finding.agent is not None and finding.env is not None
            and waiver.selector.matches(finding.agent, finding.env))


def apply(policy: Policy, findings: Iterable[Finding], rule_ids: set[str], today: _dt.date) -> list[Finding]:
    """``findings`` with waivers applied, followed by findings about the waivers themselves."""
    waivers = [w for w in policy.exceptions if w.rule in rule_ids]
    out: list[Finding] = []
    used: dict[int, list[Finding]] = {i: [] for i in range(len(waivers))}
    for finding in findings:
        for i, waiver in enumerate(waivers):
            if covers(waiver, finding):
                used[i].append(finding)
        active = next((w for w in waivers if covers(w, finding) and not w.is_expired(today)), None)
        out.append(dataclasses.replace(finding, waived=active.reason) if active else finding)
    for i, waiver in enumerate(waivers):
        out.extend(_about_waiver(policy, waiver, used[i], today))
    return out


def _about_waiver(policy: Policy, waiver: Waiver, covered: list[Finding], today: _dt.date) -> list[Finding]:
    base = Finding(severity=Severity.WARNING, code="policy.waiver_unused", message="", file=policy.file,
                   line=waiver.line, policy=policy.name, rule=waiver.rule, rule_file=policy.file,
                   rule_line=waiver.line)
    if waiver.is_expired(today):
        message = (f"waiver for rule '{waiver.rule}' expired on {waiver.expires.isoformat()} "
                   f"({waiver.reason}); fix the findings it covered, or renew it with a new date")
        pairs = list(dict.fromkeys((f.agent, f.env) for f in covered)) or [(None, None)]
        return [dataclasses.replace(base, severity=Severity.ERROR, code="policy.waiver_expired",
                                    message=message, agent=agent, env=env) for agent, env in pairs]
    if not covered:
        message = (f"waiver for rule '{waiver.rule}' (agents {', '.join(waiver.selector.agents)}, environments "
                   f"{', '.join(waiver.selector.environments)}) matches no finding; remove it")
        return [dataclasses.replace(base, message=message)]
    return []
