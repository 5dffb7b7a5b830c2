"""`reconciler github comment | drift-issue`: publish a report that a run already wrote.

Thin (STYLE §9): read the files (:mod:`reconciler.github.documents`), compose the
markdown, call GitHub (:mod:`reconciler.github.comment` / ``drift_issue``), print
one line. The token comes from ``GITHUB_TOKEN`` only (no flag, so it never
lands in a shell history or a process list) and is never printed. Exit 0 when
the comment or issue is where it should be (a stale run that leaves the
comment alone included), 1 on any error.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from reconciler.github import comment, context, documents, drift_issue
from reconciler.github.client import GitHubApi

github_app = typer.Typer(name="github", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                         help="Post a plan as a sticky PR comment, or keep a drift tracking issue (GitHub REST).")

_ENV_HELP = """
\b
Environment (GitHub Actions sets all but GITHUB_TOKEN, which the workflow passes):
  GITHUB_TOKEN        token with pull-requests: write (comment) or issues: write (drift-issue)
  GITHUB_REPOSITORY   owner/name
  GITHUB_EVENT_PATH   the event payload (PR number and head commit)
  GITHUB_API_URL      API base (GitHub Enterprise sets its own)
  GITHUB_SERVER_URL, GITHUB_RUN_ID   for the link to the run
"""

ReportFile = Annotated[Path | None, typer.Option("--report", metavar="FILE",
                                                 help="A plan/drift --format json report or a saved plan file.")]


@github_app.command("comment", epilog=_ENV_HELP + """
\b
Examples (in a GitHub Actions job: they need GITHUB_TOKEN and the variables above):
  reconciler github comment --report plan.json --validate-report validate.json
  reconciler github comment --validate-report validate.json        # validation only: findings, no plan
  reconciler github comment --skip-reason "fork PR: no POLYAI_API_KEY" --validate-report validate.json
""")
def comment_command(
    report: ReportFile = None,
    validate_report: Annotated[Path | None, typer.Option(
        "--validate-report", metavar="FILE", help="A validate --format json report; when it has errors the "
                                                  "comment shows them and says no plan was made.")] = None,
    skip_reason: Annotated[str | None, typer.Option(
        "--skip-reason", metavar="TEXT", help="Say the plan was skipped, and why (e.g. a fork PR).")] = None,
    pr: Annotated[int | None, typer.Option("--pr", metavar="N", min=1,
                                           help="Pull request number (default: from GITHUB_EVENT_PATH).")] = None,
    sha: Annotated[str | None, typer.Option("--sha", metavar="SHA",
                                            help="The commit this run is about (default: the PR head in the "
                                                 "event, else GITHUB_SHA).")] = None,
    changed_since: Annotated[str | None, typer.Option(
        "--changed-since", metavar="GIT_REF", help="The scope the plan used, when the report does not say.")] = None,
    artifact: Annotated[str, typer.Option("--artifact", metavar="NAME",
                                          help="Artifact holding the full report (named when truncating).")]
    = "reconciler-plan",
) -> None:
    """Create or update the one sticky plan comment of a pull request."""
    ctx = context.from_environment(pr=pr, sha=sha)
    inp = comment.CommentInput(
        report=documents.read_report(report) if report else None,
        validate=documents.read_validate(validate_report) if validate_report else None,
        skip_reason=skip_reason, changed_since=changed_since, artifact=artifact)
    body = comment.compose(inp, ctx)
    outcome = asyncio.run(_with_github(ctx, lambda gh: comment.publish(gh, ctx, body)))
    typer.echo(f"comment: {outcome.message}")


@github_app.command("drift-issue", epilog=_ENV_HELP + """
\b
Examples (in a GitHub Actions job: they need GITHUB_TOKEN and the variables above):
  reconciler drift . --format json --out drift.json; reconciler github drift-issue --report drift.json
  reconciler github drift-issue --report drift.json --label config-drift
""")
def drift_issue_command(
    report: Annotated[Path, typer.Option("--report", metavar="FILE", help="A drift --format json report.")],
    label: Annotated[str, typer.Option("--label", metavar="NAME", help="Label of the tracking issue.")] = "drift",
) -> None:
    """Open, update or close the one drift tracking issue of the repository."""
    data = documents.read_drift_report(report)        # before any GitHub request
    ctx = context.from_environment()
    outcome = asyncio.run(_with_github(ctx, lambda gh: drift_issue.sync_issue(gh, ctx, data, label=label)))
    typer.echo(f"drift-issue: {outcome.message}")


async def _with_github(ctx, work):
    _log_to_stderr()
    async with GitHubApi(ctx.api_url, ctx.token) as gh:
        return await work(gh)


def _log_to_stderr() -> None:
    """Retry lines (``attempt 1/6 failed; will retry in 2.0s: …``) go to stderr, like warnings."""
    logger = logging.getLogger("reconciler.github")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def register(app: typer.Typer) -> None:
    """Add the ``github`` command group."""
    app.add_typer(github_app, name="github")
