"""Every finding of a page, located, for ``/status`` and the log — the same ones ``reconciler validate`` reports.

Called by :mod:`reconciler.daemon.reconcile` when it records a page. A page's
findings are its plan's errors and warnings (validation, policies, blocked
environments), or an apply's when a write failed; each keeps the shape of a
``validate --format json`` finding (``severity``, ``code``, ``message``,
``file``, ``line``, ``path`` …). The log gets one line per error, at most
:data:`MAX_LOGGED` per page, then one line with the count left out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from reconciler.model import Finding

#: Finding lines logged for one page before the rest is summed up in one line.
MAX_LOGGED = 20


def located(findings: Sequence[Finding]) -> tuple[dict[str, Any], ...]:
    """``validate``'s JSON shape of each finding, agent and environment left out (the page names them)."""
    out = []
    for finding in findings:
        item = finding.to_json()
        item.pop("agent", None)
        item.pop("env", None)
        out.append(item)
    return tuple(out)


def log_errors(log: logging.Logger, agent: str, env: str, findings: Sequence[dict[str, Any]],
               last_error: dict[str, Any] | None = None) -> None:
    """One error line per blocking finding of the page (capped), each with code, file, line and JSON path.

    A page in error without an error finding logs its ``last_error``; a failed API request's
    ``request_id`` goes with its line.
    """
    errors = [f for f in findings if f.get("severity") == "error"] or ([last_error] if last_error else [])
    for item in errors[:MAX_LOGGED]:
        where = f"{item.get('file')}:{item.get('line')}: " if item.get("file") else ""
        at = f" (at {item['path']})" if item.get("path") else ""
        log.error(f"{agent}/{env}: {where}{item.get('message')}{at}",
                  extra={"event": "error", "agent": agent, "env": env, "code": item.get("code"),
                         "file": item.get("file"), "line": item.get("line"), "path": item.get("path"),
                         "request_id": item.get("request_id")})
    if len(errors) > MAX_LOGGED:
        left = len(errors) - MAX_LOGGED
        log.error(f"{agent}/{env}: {left} more findings not logged (see /status)",
                  extra={"event": "error", "agent": agent, "env": env, "count": left})
