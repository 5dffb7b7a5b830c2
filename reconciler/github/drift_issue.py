"""The drift tracking issue: one open issue while live differs from the repository.

Called by ``reconciler github drift-issue --report drift.json``. :func:`desired`
is pure (report in, body and per-page state out); :func:`sync_issue` does the
GitHub calls:

- drift and no open tracking issue: open one (labelled ``--label``);
- drift and an open one: update its body; when the set of drifted pages or
  one of their diffs changed since the last run, add a comment saying what
  changed (new, resolved, changed pages), so watchers are told;
- no drift and no error: comment "in sync again" and close it;
- a report with errors but no drift leaves an open issue open (it cannot
  say everything is in sync).

Our issue is found by a hidden marker in its body: first among the open issues
with the label, then among all open issues (a label GitHub dropped must not
lead to a second issue). The state of each drifted page (a short hash of its
diff) rides in another hidden comment of the body, so no other storage is needed.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.github import documents, render
from reconciler.github.client import GitHubApi
from reconciler.github.context import GitHubContext
from reconciler.github.documents import Report

MARKER = "<!-- rtc-reconciler:drift-issue -->"
TITLE = "Drift: live configuration differs from the repository"
_STATE = re.compile(r"<!-- rtc-reconciler:drift-state (\{.*?\}) -->")


class Action(enum.StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CLOSED = "closed"
    NONE = "none"              # nothing to track and nothing open
    KEPT_OPEN = "kept_open"    # no drift, but the report has errors: not closed


@dataclass(frozen=True)
class Outcome:
    action: Action
    issue: int | None
    message: str


def page_state(report: Report) -> dict[str, str]:
    """``{"agent/env": short hash of its diff}`` for every drifted page."""
    state = {}
    for result in report.results:
        if documents.differs(result):
            diff = {part: (result.get(part) or {}).get("diff") for part in ("schema", "variables")}
            digest = hashlib.sha256(json.dumps(diff, sort_keys=True, default=str).encode()).hexdigest()[:16]
            state[f"{result.get('agent')}/{result.get('env')}"] = digest
    return state


def compose(report: Report, ctx: GitHubContext, state: Mapping[str, str]) -> str:
    """The issue body: the drift report (grouped by cause), our intro, the per-page state hidden."""
    head = f"{MARKER}\n<!-- rtc-reconciler:drift-state {json.dumps(dict(state), sort_keys=True)} -->\n"
    intro = (render.meta_line(ctx.head_sha, report.changed_since, ctx.run_url)
             + f"\nLive differs from the repository for **{len(state)} page(s)**. Apply the repository "
               "(`reconciler apply`) to undo edits made elsewhere, or bring those edits into the repository. "
               "This issue is updated by every scheduled drift run and closed when everything is in sync.\n\n")
    return render.with_report(head, intro, report, limit=render.GITHUB_BODY_LIMIT,
                              pointer="The full report is in the drift run's `drift-report` artifact.")


async def sync_issue(gh: GitHubApi, ctx: GitHubContext, report: Report, *, label: str) -> Outcome:
    state = page_state(report)
    issue = await find_issue(gh, ctx, label)
    if not state:
        return await _resolve(gh, ctx, report, issue)
    body = compose(report, ctx, state)
    if issue is None:
        created = await gh.post(f"{ctx.repo_path}/issues", {"title": TITLE, "body": body, "labels": [label]})
        return Outcome(Action.OPENED, created.get("number"), f"opened drift issue #{created.get('number')}")
    number = issue["number"]
    previous = _previous_state(str(issue.get("body") or ""))
    if issue.get("body") != body:
        await gh.patch(f"{ctx.repo_path}/issues/{number}", {"body": body})
    if previous == state:
        return Outcome(Action.UNCHANGED, number, f"drift issue #{number}: drift unchanged")
    await gh.post(f"{ctx.repo_path}/issues/{number}/comments", {"body": _change_comment(previous, state, ctx)})
    return Outcome(Action.UPDATED, number, f"drift issue #{number}: drift changed; body updated, comment added")


async def find_issue(gh: GitHubApi, ctx: GitHubContext, label: str) -> dict[str, Any] | None:
    """Our open tracking issue (the oldest, should there ever be two), or ``None``."""
    for params in ({"state": "open", "labels": label}, {"state": "open"}):
        found = [i async for i in gh.paginate(f"{ctx.repo_path}/issues", **params)
                 if isinstance(i, dict) and "pull_request" not in i and MARKER in str(i.get("body") or "")]
        if found:
            return min(found, key=lambda i: i.get("number") or 0)
    return None


async def _resolve(gh: GitHubApi, ctx: GitHubContext, report: Report, issue: dict[str, Any] | None) -> Outcome:
    if issue is None:
        return Outcome(Action.NONE, None, "no drift and no open drift issue: nothing to do")
    number = issue["number"]
    if report.has_errors:
        return Outcome(Action.KEPT_OPEN, number, f"drift issue #{number} left open: the report has errors")
    sha = f" as of commit `{ctx.head_sha[:12]}`" if ctx.head_sha else ""
    run = f" ([workflow run]({ctx.run_url}))" if ctx.run_url else ""
    await gh.post(f"{ctx.repo_path}/issues/{number}/comments",
                  {"body": f"✅ Live is in sync with the repository again{sha}{run}. Closing."})
    await gh.patch(f"{ctx.repo_path}/issues/{number}", {"state": "closed", "state_reason": "completed"})
    return Outcome(Action.CLOSED, number, f"closed drift issue #{number}: in sync")


def _previous_state(body: str) -> dict[str, str]:
    match = _STATE.search(body)
    if not match:
        return {}
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _change_comment(before: Mapping[str, str], after: Mapping[str, str], ctx: GitHubContext) -> str:
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    changed = sorted(k for k in set(after) & set(before) if after[k] != before[k])
    lines = [f"Drift changed: now **{len(after)} page(s)**" + (f" ([workflow run]({ctx.run_url}))"
                                                            if ctx.run_url else "") + "."]
    for words, keys in (("Newly drifted", new), ("In sync again", gone), ("Different drift", changed)):
        if keys:
            lines.append(f"- {words}: " + ", ".join(f"`{k}`" for k in keys))
    return "\n".join(lines) + "\n"
