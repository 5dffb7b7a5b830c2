"""Reports: one Plan (or ApplyResult) rendered four ways — text, json, markdown, github.

Called by the ``plan``/``apply``/``drift`` commands after the work is done.
A report computes nothing: it chooses words and layout for what the planner
and executor decided, and only ever shows masked values. Writing the result
to stdout or ``--out`` is the CLI's job.
"""

from __future__ import annotations

import sys

from reconciler.planning.plan import ApplyResult, Plan
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
        from reconciler.report import text

        return text.render(value, command=command, color=want_color() if color is None else color, info=info)
    if fmt == "json":
        from reconciler.report import json

        return json.render(value, command=command, info=info)
    if fmt == "markdown":
        from reconciler.report import markdown

        return markdown.render(value, command=command, info=info)
    if fmt == "github":
        from reconciler.report import github

        return github.render(value, command=command, info=info)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def want_color(stream=None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set to anything non-empty."""
    from reconciler.report import findings

    return findings.use_color(sys.stdout if stream is None else stream)
