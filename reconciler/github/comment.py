"""The sticky pull-request comment: one per PR, found by a hidden marker, never duplicated.

Called by ``reconciler github comment``. :func:`compose` is pure (report files
in, markdown out); :func:`publish` does the four GitHub calls:

1. list the PR's comments (paginated) and find ours by :data:`MARKER`;
2. read the PR (``GET /repos/{owner}/{repo}/pulls/{n}``): when its head is no
   longer this run's commit, stop — an older commit never overwrites a newer
   one (checked last, right before the write, to keep the race window small);
3. update our comment (or create it when there is none); an identical body is
   not written again.

Three variants, chosen by what the workflow could produce:

- **validation failed** (``--validate-report`` with errors): the findings, and
  "no plan was made" — the previous plan never stays on the PR describing
  something else;
- **skipped** (``--skip-reason``, e.g. a fork PR without the API key): the
  reason, and the validation result when given;
- **plan** (``--report``, a JSON report or a saved plan): the plan.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from reconciler.errors import ConfigError
from reconciler.github import render
from reconciler.github.client import GitHubApi
from reconciler.github.context import GitHubContext
from reconciler.github.documents import Report, ValidateReport

MARKER = "<!-- rtc-reconciler:pr-comment -->"


@dataclass(frozen=True)
class CommentInput:
    report: Report | None = None
    validate: ValidateReport | None = None
    skip_reason: str | None = None
    changed_since: str | None = None
    """The ``--changed-since`` scope when the report does not record it."""
    artifact: str = "reconciler-plan"
    """Name of the run artifact holding the full report (the truncation note points at it)."""


class Published(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"            # this run's commit is no longer the PR head: nothing written


@dataclass(frozen=True)
class Outcome:
    state: Published
    comment_id: int | None
    message: str


def compose(inp: CommentInput, ctx: GitHubContext, *, limit: int = render.GITHUB_BODY_LIMIT) -> str:
    """The comment's markdown (marker included), under ``limit`` characters."""
    if inp.validate is None and inp.report is None and not inp.skip_reason:
        raise ConfigError("nothing to post: give --report, --validate-report or --skip-reason",
                          code="github.usage")
    scope = inp.changed_since or (inp.report.changed_since if inp.report else None)
    meta = render.meta_line(ctx.head_sha, scope, ctx.run_url)
    pointer = _pointer(inp.artifact, ctx.run_url)
    if inp.validate is not None and inp.validate.failed:
        head = (f"{MARKER}\n### ❌ reconciler: validation failed — no plan was made\n\n{meta}\n"
                f"**{render.validation_summary(inp.validate)}.** Fix these and push again; "
                "the plan runs once the repository validates.\n\n")
        return render.fit(head, render.findings_list(inp.validate.errors + inp.validate.warnings),
                          limit=limit, pointer=pointer)
    if inp.skip_reason or inp.report is None:
        why = _one_line(inp.skip_reason or "no plan report was given (--report)")
        head = (f"{MARKER}\n### ⏭️ reconciler: plan skipped\n\n{meta}\n> {why}\n\n{_validated(inp.validate)}")
        warnings = list(inp.validate.warnings) if inp.validate else []
        return render.fit(head, render.findings_list(warnings), limit=limit, pointer=pointer)
    intro = meta + "\n" + _validated(inp.validate)
    return render.with_report(f"{MARKER}\n", intro, inp.report, limit=limit, pointer=pointer)


async def publish(gh: GitHubApi, ctx: GitHubContext, body: str) -> Outcome:
    """Create or update the one sticky comment; leave it alone when this run is stale."""
    if ctx.pr_number is None:
        raise ConfigError("no pull request: run on a pull_request event or pass --pr N", code="github.no_pr")
    issue = f"{ctx.repo_path}/issues/{ctx.pr_number}"
    ours = [c async for c in gh.paginate(f"{issue}/comments")
            if isinstance(c, dict) and MARKER in str(c.get("body") or "")]
    stale = await _stale(gh, ctx)
    if stale:
        return Outcome(Published.STALE, None, stale)
    if not ours:
        created = await gh.post(f"{issue}/comments", {"body": body})
        return Outcome(Published.CREATED, created.get("id"), f"created comment {created.get('id')} "
                                                             f"on PR #{ctx.pr_number}")
    mine = min(ours, key=lambda c: c.get("id") or 0)      # the oldest: the one reviewers already know
    if mine.get("body") == body:
        return Outcome(Published.UNCHANGED, mine.get("id"), f"comment {mine.get('id')} already up to date")
    await gh.patch(f"{ctx.repo_path}/issues/comments/{mine['id']}", {"body": body})
    return Outcome(Published.UPDATED, mine.get("id"), f"updated comment {mine.get('id')} on PR #{ctx.pr_number}")


async def _stale(gh: GitHubApi, ctx: GitHubContext) -> str | None:
    """Why this run must not write (the PR head moved on), or ``None``."""
    if not ctx.head_sha:
        return None
    pull = await gh.get(f"{ctx.repo_path}/pulls/{ctx.pr_number}")
    head = (pull.get("head") or {}).get("sha") if isinstance(pull, dict) else None
    if head and head != ctx.head_sha:
        return (f"PR #{ctx.pr_number} head is now {head[:12]}; this run is for {ctx.head_sha[:12]}: "
                "comment left alone (a newer run owns it)")
    return None


def _validated(report: ValidateReport | None) -> str:
    if report is None:
        return ""
    return f"Validation passed ({render.validation_summary(report)}).\n\n"


def _pointer(artifact: str, run_url: str | None) -> str:
    where = f"the `{artifact}` artifact of [this workflow run]({run_url})" if run_url else f"the `{artifact}` artifact"
    return f"The full report is in {where}."


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")
