"""The governance rules of ``reconciler.yaml`` as ``reconciler policies`` shows them, so reviewers see them.

Called by :mod:`reconciler.cli.policies`: each rule with what it matches among
the repository's pages (``ownership``: the keys no plan compares or writes).
Render only: the rules come from :mod:`reconciler.governance`.
"""

from __future__ import annotations

from typing import Any

from reconciler import governance

Pages = list[tuple[str, str]]


def _matched(scope: governance.Scope, pages: Pages) -> list[tuple[str, str]]:
    return [(a, e) for a, e in pages if scope.matches(a, e)]


def _pages_text(matched: list[tuple[str, str]]) -> str:
    return f"{len(matched)} agent x environment(s)" + (f": {', '.join(f'{a}/{e}' for a, e in matched)}"
                                                      if matched else "")


def to_text(rules: governance.Governance, pages: Pages) -> list[str]:
    """Lines for the text listing (none when nothing is governed)."""
    lines: list[str] = []
    for rule in rules.ownership:
        lines.append(f"reconciler.yaml  ownership: live owns {', '.join(rule.keys)} (never compared, written, "
                     "reverted or reported as orphans; not allowed in values.yaml)")
        lines.append(f"  match: {rule.scope.describe()} -> {_pages_text(_matched(rule.scope, pages))}")
    for window in rules.windows:
        lines.append(f"reconciler.yaml  window: {window.kind} {window.describe()}"
                     + ("; manualSync: apply --ignore-windows may write through it" if window.manual_sync else ""))
        lines.append(f"  match: {window.scope.describe()} -> {_pages_text(_matched(window.scope, pages))}")
    for scope in rules.suspend:
        lines.append("reconciler.yaml  suspend: nothing written by apply or the daemon; drift still reported")
        lines.append(f"  match: {scope.describe()} -> {_pages_text(_matched(scope, pages))}")
    return lines


def to_json(rules: governance.Governance, pages: Pages) -> dict[str, Any]:
    """Top-level keys added to the ``policies`` JSON document."""
    return {"ownership": [{**rule.to_json(),
                           "matched": [{"agent": a, "env": e} for a, e in _matched(rule.scope, pages)]}
                          for rule in rules.ownership],
            "windows": [{**w.to_json(), "matched": [{"agent": a, "env": e} for a, e in _matched(w.scope, pages)]}
                        for w in rules.windows],
            "suspend": [{"agents": list(s.agents), "envs": list(s.envs),
                         "matched": [{"agent": a, "env": e} for a, e in _matched(s, pages)]} for s in rules.suspend]}
