"""One Plan (or ApplyResult) rendered four ways — text, json, markdown, github.

Called by the ``plan``/``apply``/``drift``/``show`` commands after the work is
done. :func:`render` picks the module of the format; each computes nothing.
"""

from __future__ import annotations

import sys

from reconciler.planning.plan import ApplyResult, Plan
from reconciler.report import findings, github as github_report, json as json_report, markdown, text
from reconciler.report.common import RunInfo

FORMATS = ("text", "json", "markdown", "github")


def render(value: Plan | ApplyResult, fmt: str, *, command: str, color: bool | None = None,
           info: RunInfo = RunInfo()) -> str:
    """Render ``value`` as ``fmt`` for ``command`` (``plan``, ``apply`` or ``drift``).

    ``color`` matters for ``text`` only; ``None`` means: colour when stdout is a
    terminal and ``NO_COLOR`` is not set (https://no-color.org). Pass ``False``
    when the text goes to a file. ``info``: run facts (time, ``--changed-since``,
    tool version, ``--detail``) the report states but does not compute.
    """
    if fmt == "text":
        return text.render(value, command=command, color=want_color() if color is None else color, info=info)
    if fmt == "json":
        return json_report.render(value, command=command, info=info)
    if fmt == "markdown":
        return markdown.render(value, command=command, info=info)
    if fmt == "github":
        return github_report.render(value, command=command, info=info)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def want_color(stream=None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set to anything non-empty."""
    return findings.use_color(sys.stdout if stream is None else stream)
