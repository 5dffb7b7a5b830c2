"""Which warnings a repository shows: the ``warnings:`` section of ``reconciler.yaml``, applied once.

Every road passes through two calls, so an ignored warning appears in no report
(text, JSON, markdown, github) and not in the daemon's status either:

- :func:`filter_repository` at the end of
  :func:`reconciler.checks.validation.iter_validate_repository` (validate, plan,
  apply, drift and the daemon all read the repository through it);
- :func:`filter_plan` in :func:`reconciler.engine.plan_from_live` (warnings the
  planner and the change policies add; shared by the CLI and the daemon).

Only warnings are ever hidden: an error (waived or not) is never filtered here,
because only errors block and a hidden error would be a silent one. Codes in
:data:`reconciler.checks.warnsettings.OPT_IN_WARNINGS` are hidden unless ``warnings.enable``
names them: they are true but give the user nothing to act on.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from pathlib import Path

from reconciler import settings
from reconciler.checks import warnsettings
from reconciler.model import Finding, Severity
from reconciler.planning.plan import Plan


def rules_for(root: Path) -> warnsettings.WarningSettings:
    """The repository's warning settings; an unreadable ``reconciler.yaml`` gives the defaults
    (its own errors are reported, and block, elsewhere)."""
    problems, parsed = settings.read_settings_file(Path(root))
    return warnsettings.from_file(None if problems or parsed is None else parsed.warnings)


def filter_repository(root: Path, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """``findings`` without the warnings ``root``'s ``reconciler.yaml`` hides."""
    return filter_findings(findings, rules_for(root))


def filter_findings(findings: Iterable[Finding], rules: warnsettings.WarningSettings) -> tuple[Finding, ...]:
    return tuple(f for f in findings if shown(f, rules))


def filter_plan(plan: Plan, rules: warnsettings.WarningSettings) -> Plan:
    """The plan with hidden warnings removed from its run-wide findings and from every page."""
    results = tuple(dataclasses.replace(r, warnings=filter_findings(r.warnings, rules))
                    if r.warnings else r for r in plan.results)
    return dataclasses.replace(plan, findings=filter_findings(plan.findings, rules), results=results)


def shown(finding: Finding, rules: warnsettings.WarningSettings) -> bool:
    """False for a warning that ``rules`` hide (or an opt-in warning not enabled); True for every error."""
    if finding.severity is not Severity.WARNING:
        return True
    code = finding.code
    if code in warnsettings.OPT_IN_WARNINGS and code not in rules.enable:
        return False
    if code in rules.ignore:
        return False
    if finding.file is None:
        return True
    return not any(code in codes and glob_matches(glob, finding.file) for glob, codes in rules.ignore_in)


def glob_matches(glob: str, path: str) -> bool:
    """``configs/legacy-*/**`` against a repository-relative POSIX path (``*`` stays inside one folder)."""
    return _compile(glob.strip().removeprefix("./")).fullmatch(path) is not None


@functools.lru_cache(maxsize=256)
def _compile(glob: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))
