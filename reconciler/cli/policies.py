"""`reconciler policies [DIR]`: list the loaded policy rules, what they match, and their waivers.

Thin (STYLE §9): :func:`reconciler.checks.policy.loader.load_policies` reads the
files, :func:`reconciler.repository.loader.load_repository` says which agent x
environments exist so each policy can show what it matches; this module only
renders. Exit 1 when a policy file is malformed (its findings are printed with
file:line), else 0.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from reconciler import __version__, governance
from reconciler.checks import ownership
from reconciler.cli import governance_view, rootdir
from reconciler.repository import loader as repo_loader
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv, Finding
from reconciler.checks.policy import loader
from reconciler.checks.policy.model import Policy, PolicySet, Rule
from reconciler.report.findings import utc_now


class ListFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


DirArg = Annotated[Path, typer.Argument(metavar="DIR", help="The config repository (holds policies/).",
                                                exists=True, file_okay=False, dir_okay=True)]
FormatOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
TodayOpt = Annotated[str | None, typer.Option("--today", metavar="YYYY-MM-DD",
                                              help="Judge waiver expiry as of this date (default: today).")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("policies", epilog="Example: reconciler policies . --format json")(policies)


def policies(directory: DirArg = Path("."), fmt: FormatOpt = ListFormat.TEXT, today: TodayOpt = None) -> None:
    """List the policies in DIR/policies (rules, severity, what they match, waivers with expiry) and the
    governance rules of reconciler.yaml (keys live owns)."""
    day = _parse_day(today)
    directory = rootdir.repository(directory)
    policy_set = loader.load_policies(directory)
    matched = _envs(directory)
    rules = ownership.rules_of(directory)          # ownership, windows, suspend of reconciler.yaml
    if fmt is ListFormat.JSON:
        typer.echo(json.dumps(to_json(policy_set, matched, day, rules), indent=2, ensure_ascii=False))
    else:
        typer.echo("\n".join([to_text(policy_set, matched, day), *governance_view.to_text(rules, matched)]))
    raise typer.Exit(1 if policy_set.findings else 0)


def _parse_day(text: str | None) -> _dt.date:
    if text is None:
        return _dt.date.today()
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--today {text!r} is not a date (YYYY-MM-DD)", code="cli.bad_option") from None


def _envs(root: Path) -> list[tuple[str, str]]:
    """Every managed agent x environment of the repository (empty when there is none)."""
    if not (Path(root) / repo_loader.CONFIGS_DIR).is_dir():
        return []
    desired = repo_loader.load_repository(Path(root))
    return [(agent, env.value) for agent in sorted(desired.agents)
            for env in ClientEnv if env in desired.agents[agent].envs]


def _matches(policy: Policy, envs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(a, e) for a, e in envs if policy.selector.matches(a, e)]


def _describe(rule: Rule) -> str:
    args = json.dumps(rule.args, ensure_ascii=False) if not isinstance(rule.args, str) else repr(rule.args)
    on = f" on {', '.join(rule.paths)}" if rule.paths else ""
    return f"{rule.check} {args}{on}"


def to_text(policy_set: PolicySet, envs: list[tuple[str, str]], today: _dt.date) -> str:
    lines: list[str] = []
    for policy in policy_set.policies:
        lines.append(f"{policy.file}:{policy.line or 1}  {policy.name}  [{policy.severity.value}]"
                     + (f"  {policy.description}" if policy.description else ""))
        matched = _matches(policy, envs)
        lines.append(f"  match: agents {', '.join(policy.selector.agents)}; environments "
                     f"{', '.join(policy.selector.environments)} -> {len(matched)} agent x environment(s)"
                     + (f": {', '.join(f'{a}/{e}' for a, e in matched)}" if matched else ""))
        for rule in policy.rules:
            kind = "change rule, on plans" if rule.is_change_rule else "value rule"
            lines.append(f"  rule {rule.id} (line {rule.line}) [{policy.severity_of(rule).value}, {kind}]: "
                         f"{_describe(rule)}")
        for waiver in policy.exceptions:
            state = "EXPIRED" if waiver.is_expired(today) else "active"
            lines.append(f"  waiver (line {waiver.line}) for {waiver.rule}: agents {', '.join(waiver.selector.agents)}; "
                         f"environments {', '.join(waiver.selector.environments)}; expires "
                         f"{waiver.expires.isoformat()} ({state}); {waiver.reason}")
    for finding in policy_set.findings:
        lines.append(_finding_line(finding))
    if not policy_set.policies and not policy_set.findings:
        lines.append("no policies (add policies/*.yaml)")
    return "\n".join(lines)


def _finding_line(finding: Finding) -> str:
    where = f"{finding.file}:{finding.line}" if finding.line else f"{finding.file}"
    return f"{where}: {finding.severity.value}: {finding.message} [{finding.code}]"


def to_json(policy_set: PolicySet, envs: list[tuple[str, str]], today: _dt.date,
            rules: governance.Governance = governance.Governance()) -> dict[str, Any]:
    return {
        "format_version": 1,
        "command": "policies",
        "tool_version": __version__,
        "created_at": utc_now(),
        "today": today.isoformat(),
        "policies": [_policy_json(p, envs, today) for p in policy_set.policies],
        "findings": [f.to_json() for f in policy_set.findings],
        **governance_view.to_json(rules, envs),
    }


def _policy_json(policy: Policy, envs: list[tuple[str, str]], today: _dt.date) -> dict[str, Any]:
    return {
        "name": policy.name, "file": policy.file, "line": policy.line, "description": policy.description,
        "severity": policy.severity.value,
        "match": {"agents": list(policy.selector.agents), "environments": list(policy.selector.environments)},
        "matched": [{"agent": a, "env": e} for a, e in _matches(policy, envs)],
        "rules": [{"id": r.id, "check": r.check, "args": r.args, "paths": list(r.paths),
                   "severity": policy.severity_of(r).value, "kind": "change" if r.is_change_rule else "value",
                   "line": r.line} for r in policy.rules],
        "exceptions": [{"rule": w.rule, "agents": list(w.selector.agents),
                        "environments": list(w.selector.environments), "reason": w.reason,
                        "expires": w.expires.isoformat(), "expired": w.is_expired(today), "line": w.line}
                       for w in policy.exceptions],
    }
