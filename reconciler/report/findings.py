"""Render findings as text, JSON or GitHub workflow commands.

Used by ``reconciler validate`` and reused by the plan/apply reports for their
error and warning lines (:func:`text_line`, :func:`github_line`). Computes
nothing: findings arrive already located and masked.

- text: ``file:line: severity [code] path: message`` and a summary line;
  colour only on a TTY, never when ``NO_COLOR`` is set (non-empty), written as
  plain SGR codes (no rich: ``validate`` starts without it).
- json: ``{"format_version": 1, "command": …, "errors": [...], "warnings": [...]}``;
  ``errors`` holds the blocking findings, ``warnings`` everything else
  (warnings and waived errors, which keep ``severity`` and ``waived``).
- github: one ``::error``/``::warning`` workflow command per finding, escaped
  as GitHub's toolkit does, so a pull request shows them on the diff.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterable, Mapping
from typing import IO, Any

from reconciler import __version__
from reconciler.model import Finding

FORMAT_VERSION = 1


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Run-wide findings first, then by file and line; stable otherwise."""
    return sorted(findings, key=lambda f: (f.file is not None, f.file or "", f.line or 0))


def split(findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(blocking errors, everything else)."""
    items = sort_findings(findings)
    return [f for f in items if f.blocks], [f for f in items if not f.blocks]


def location(finding: Finding) -> str:
    if finding.file is None:
        return ""
    return f"{finding.file}:{finding.line}" if finding.line else finding.file


def label(finding: Finding) -> str:
    return "waived" if finding.waived is not None else finding.severity.value


def text_line(finding: Finding) -> str:
    """``configs/a/live/values.yaml:4: error [values.invalid] fallback_number: …`` (no colour)."""
    where = location(finding)
    head = f"{where}: " if where else ""
    scope = f"{finding.agent}/{finding.env}: " if finding.agent and finding.env and not finding.file else ""
    path = f"{finding.path}: " if finding.path else ""
    tail = f" (waived: {finding.waived})" if finding.waived is not None else ""
    return f"{head}{label(finding)} [{finding.code}] {scope}{path}{finding.message}{tail}"


def summary_line(findings: Iterable[Finding]) -> str:
    errors, others = split(findings)
    warnings = sum(1 for f in others if f.waived is None)
    waived = len(others) - warnings
    parts = [_count(len(errors), "error"), _count(warnings, "warning")]
    if waived:
        parts.append(f"{waived} waived")
    return ", ".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def use_color(stream: IO[str]) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set to something."""
    if os.environ.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render_text(findings: Iterable[Finding], *, summary: str | None = None, header: str | None = None) -> str:
    """Plain text: ``header`` (when given), one line per finding, then ``summary`` (default: the counts)."""
    items = sort_findings(findings)
    lines = ([header] if header is not None else []) + [text_line(f) for f in items]
    lines.append(summary if summary is not None else summary_line(items))
    return "\n".join(lines) + "\n"


#: SGR codes of the styles a coloured findings listing uses (what rich writes for the same styles).
_SGR = {"error": "1;31", "warning": "33", "waived": "2", "ok": "32"}
#: Characters a terminal would act on, dropped from coloured lines (as rich drops them).
_CONTROL = str.maketrans("", "", "\a\b\v\f\r")


def _styled(text: str, style: str) -> str:
    return f"\x1b[{_SGR[style]}m{text}\x1b[0m"


def colored_line(finding: Finding) -> str:
    """:func:`text_line` for a terminal: the ``error [``/``warning [``/``waived [`` label in its colour."""
    word = f" {label(finding)} ["
    line = text_line(finding).translate(_CONTROL).expandtabs(8)
    return line.replace(word, _styled(word, label(finding)))


def print_text(findings: Iterable[Finding], stream: IO[str], *, summary: str | None = None,
               header: str | None = None) -> None:
    """Write the text rendering to ``stream``, coloured when :func:`use_color` says so."""
    items = sort_findings(findings)
    if not use_color(stream):
        stream.write(render_text(items, summary=summary, header=header))
        return
    if header is not None:
        stream.write(header.translate(_CONTROL) + "\n")
    blocking = any(f.blocks for f in items)
    last = (summary if summary is not None else summary_line(items)).translate(_CONTROL).expandtabs(8)
    stream.write("".join(colored_line(f) + "\n" for f in items)
                 + _styled(last, "error" if blocking else "ok") + "\n")


def json_document(findings: Iterable[Finding], *, command: str, extra: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    errors, others = split(findings)
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION, "command": command, "tool_version": __version__,
                           "created_at": utc_now(),
                           "summary": {"errors": len(errors), "warnings": len(others)}}
    doc.update(extra or {})
    doc["errors"] = [f.to_json() for f in errors]
    doc["warnings"] = [f.to_json() for f in others]
    return doc


def utc_now() -> str:
    """Wall-clock time, ISO 8601 UTC to the second: a JSON document's ``created_at``."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_json(findings: Iterable[Finding], *, command: str = "validate",
                extra: Mapping[str, Any] | None = None) -> str:
    return json.dumps(json_document(findings, command=command, extra=extra), indent=2, ensure_ascii=False) + "\n"


def escape_data(text: str) -> str:
    """Escape a workflow command's message (GitHub toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (GitHub toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(finding: Finding) -> str:
    """``::error file=F,line=L,title=CODE::message`` (``::warning`` for warnings and waived errors)."""
    kind = "error" if finding.blocks else "warning"
    props = []
    if finding.file:
        props.append(f"file={escape_property(finding.file)}")
        if finding.line:
            props.append(f"line={finding.line}")
    props.append(f"title={escape_property(finding.code)}")
    scope = f"{finding.agent}/{finding.env}: " if finding.agent and finding.env else ""
    path = f"{finding.path}: " if finding.path else ""
    tail = f" (waived: {finding.waived})" if finding.waived is not None else ""
    return f"::{kind} {','.join(props)}::{escape_data(scope + path + finding.message + tail)}"


def render_github(findings: Iterable[Finding]) -> str:
    items = sort_findings(findings)
    return "".join(github_line(f) + "\n" for f in items)
