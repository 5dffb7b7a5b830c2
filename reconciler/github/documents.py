"""Reading the files a workflow hands to ``reconciler github …``.

Three kinds, told apart by their own keys, never by file name:

- a report of ``plan``/``apply``/``drift --format json`` (``"format_version": 1,
  "command": …, "results": [...]``);
- a saved plan (``"kind": "rtc-reconciler-plan"``, written by ``plan
  --save-plan``), whose ``results`` have the same shape as the report's;
- a ``validate --format json`` report (``"command": "validate", "errors",
  "warnings"``).

Everything in them is already masked by the command that wrote them; this
module only checks the shape, turns validate findings back into
:class:`~reconciler.model.Finding` values, and keeps the whole document for
:mod:`reconciler.report.reader`, which renders plans and drift. Keys added later (issue 9's
``cause``, ``changed_since``, ``live_last_updated``) are read when present and
never required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.repository import safefile
from reconciler.model import Finding, Severity

FORMAT_VERSION = 1
#: A report given to `github comment` / `github drift-issue` is read up to this size.
MAX_REPORT_BYTES = 256 * 1024 * 1024
PLAN_KIND = "rtc-reconciler-plan"
#: A result whose status says "live differs"; issue 9 may spell drift either way.
CHANGED_STATUSES = ("changes", "drift")
_FINDING_FIELDS = ("file", "line", "path", "agent", "env", "policy", "rule", "rule_file", "rule_line", "waived")


@dataclass(frozen=True)
class Report:
    """A plan/apply/drift report or a saved plan, as the comment and the issue need it."""

    file: str
    command: str               # "plan", "apply", "drift" ("plan" for a saved plan)
    saved_plan: bool
    target: str
    results: tuple[Mapping[str, Any], ...]
    findings: tuple[Finding, ...]
    changed_since: str | None
    revision: str | None       # the saved plan's repository revision, when recorded
    document: Mapping[str, Any]
    """The whole file, for :mod:`reconciler.report.reader` (the markdown report renders it)."""

    def count(self, *statuses: str) -> int:
        return sum(1 for r in self.results if r.get("status") in statuses)

    @property
    def has_errors(self) -> bool:
        return self.count("error", "skipped") > 0 or any(f.blocks for f in self.findings)


@dataclass(frozen=True)
class ValidateReport:
    file: str
    errors: tuple[Finding, ...]
    warnings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def read_report(path: Path) -> Report:
    """A JSON report or a saved plan; anything else is a :class:`ConfigError` naming the file."""
    data = _load(path)
    saved = data.get("kind") == PLAN_KIND
    if not saved and data.get("command") not in ("plan", "apply", "drift"):
        raise _bad(path, "not a plan/apply/drift JSON report nor a saved plan (reconciler plan --save-plan)")
    results = data.get("results")
    if not isinstance(results, list) or not all(isinstance(r, Mapping) and "agent" in r and "env" in r
                                                for r in results):
        raise _bad(path, "'results' must be a list of {agent, env, status, …}")
    repository = data.get("repository") if isinstance(data.get("repository"), Mapping) else {}
    return Report(file=str(path), command="plan" if saved else data["command"], saved_plan=saved,
                  target=str(data.get("target") or "?"), results=tuple(results),
                  findings=tuple(finding(f) for f in _list(data, "findings")),
                  changed_since=_str(data.get("changed_since")), revision=_str(repository.get("revision")),
                  document=data)


def read_drift_report(path: Path) -> Report:
    """A ``drift --format json`` report only: a plan, apply report or saved plan would open a false drift issue."""
    report = read_report(path)
    if report.command != "drift":
        what = "a saved plan" if report.saved_plan else f"a {report.command} report"
        raise _bad(path, f"{what}, not a drift report (reconciler drift --format json --out FILE)")
    return report


def read_validate(path: Path) -> ValidateReport:
    data = _load(path)
    if data.get("command") != "validate":
        raise _bad(path, "not a validate JSON report (reconciler validate --format json)")
    return ValidateReport(file=str(path), errors=tuple(finding(f) for f in _list(data, "errors")),
                          warnings=tuple(finding(f) for f in _list(data, "warnings")))


def finding(data: Mapping[str, Any]) -> Finding:
    """A finding from its JSON form (``Finding.to_json``); unknown keys are ignored."""
    severity = Severity.ERROR if data.get("severity") == "error" else Severity.WARNING
    extra = {k: data.get(k) for k in _FINDING_FIELDS if data.get(k) is not None}
    return Finding(severity=severity, code=str(data.get("code", "?")), message=str(data.get("message", "")),
                   **extra)


def differs(result: Mapping[str, Any]) -> bool:
    """Live differs from the repository: a changed status, or any diff (an error page can differ too)."""
    if result.get("status") in CHANGED_STATUSES:
        return True
    sections = (result.get(part) for part in ("schema", "variables"))
    return any(isinstance(section, Mapping) and section.get("diff") for section in sections)


def _load(path: Path) -> dict[str, Any]:
    try:
        # Regular files only, bounded while reading, nesting bounded (reconciler.repository.safefile).
        text = safefile.read_text(path, limit=MAX_REPORT_BYTES, what="report")
    except ConfigError as exc:
        raise ConfigError(exc.message, file=str(path), code="github.report") from None
    try:
        data = safefile.parse_json(text, source=str(path), what="report")
    except ConfigError as exc:
        raise _bad(path, exc.message) from None
    if not isinstance(data, dict):
        raise _bad(path, "not a JSON object")
    version = data.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise _bad(path, f"format_version {version} is newer than this reconciler reads ({FORMAT_VERSION}); "
                         "upgrade rtc-reconciler")
    return data


def _list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bad(path: Path, why: str) -> ConfigError:
    return ConfigError(why, file=str(path), code="github.report")
