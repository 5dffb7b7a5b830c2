"""`reconciler github drift-issue` against the loopback fake GitHub: one tracking issue, never two."""

from __future__ import annotations

import asyncio

import github_reports as reports

from reconciler.api.retry import RetryPolicy
from reconciler.github import documents, drift_issue
from reconciler.github.client import GitHubApi
from reconciler.github.context import GitHubContext

FAST = RetryPolicy(backoffs=(0.05, 0.1), max_retry_seconds=10)


def run(fake, tmp_path, agents: dict[str, str], causes: dict[str, str] | None = None, label: str = "drift",
        errors: bool = False) -> drift_issue.Outcome:
    import fake_github

    doc = reports.plan_document(agents, command="drift")
    for result in doc["results"]:
        if causes and result["agent"] in causes and result["status"] == "changes":
            result["cause"] = causes[result["agent"]]
        if errors and result["agent"] == "broken":
            result["status"] = "error"
            result["errors"] = [{"severity": "error", "code": "api.error", "message": "HTTP 500 reading it"}]
    report = documents.read_report(reports.write(tmp_path / "drift.json", doc))
    ctx = GitHubContext(token=fake_github.TOKEN, repository=fake.repo, api_url=fake.url,
                        server_url="https://github.example", run_id="99", head_sha="c" * 40)

    async def go():
        async with GitHubApi(ctx.api_url, ctx.token, policy=FAST) as gh:
            return await drift_issue.sync_issue(gh, ctx, report, label=label)
    return asyncio.run(go())


def tracking(fake) -> list[dict]:
    return [i for i in fake.issues() if drift_issue.MARKER in i["body"]]


def test_lifecycle_open_update_comment_close(fake_github, tmp_path):
    # 1. drift appears: one issue, labelled, grouped by cause
    opened = run(fake_github, tmp_path, {"acme": "UI edit", "bella": "Hello"}, causes={"acme": "out_of_band"})
    assert opened.action is drift_issue.Action.OPENED
    [issue] = tracking(fake_github)
    assert issue["state"] == "open" and [label["name"] for label in issue["labels"]] == ["drift"]
    assert "**3 page(s)**" in issue["body"]
    assert "Changed live outside the repository" in issue["body"] and "Changed in the repository" not in issue["body"]
    assert '! greeting: "Hello" → "UI edit"' in issue["body"]
    assert reports.CANARY not in issue["body"]
    # 2. same drift again: nothing new to say, no comment, no second issue
    same = run(fake_github, tmp_path, {"acme": "UI edit", "bella": "Hello"}, causes={"acme": "out_of_band"})
    assert same.action is drift_issue.Action.UNCHANGED and same.issue == opened.issue
    assert fake_github.comments(opened.issue) == []
    # 3. the drift changes: body updated, one comment saying what changed
    changed = run(fake_github, tmp_path, {"acme": "UI edit", "bella": "Merged"},
                  causes={"acme": "out_of_band", "bella": "repository"})
    assert changed.action is drift_issue.Action.UPDATED and changed.issue == opened.issue
    [issue] = tracking(fake_github)
    assert "**6 page(s)**" in issue["body"] and "Changed in the repository, not yet applied" in issue["body"]
    [note] = fake_github.comments(opened.issue)
    assert "now **6 page(s)**" in note["body"] and "Newly drifted: `bella/live`" in note["body"]
    # 4. in sync: a comment, then closed
    closed = run(fake_github, tmp_path, {"acme": "Hello", "bella": "Hello"})
    assert closed.action is drift_issue.Action.CLOSED
    [issue] = tracking(fake_github)
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    assert "in sync with the repository again" in fake_github.comments(opened.issue)[-1]["body"]
    # 5. still in sync: nothing to do, nothing written
    before = len(fake_github.writes())
    assert run(fake_github, tmp_path, {"acme": "Hello"}).action is drift_issue.Action.NONE
    assert len(fake_github.writes()) == before
    assert len(fake_github.issues()) == 1                 # never duplicated


def test_without_cause_pages_are_listed_as_unknown(fake_github, tmp_path):
    run(fake_github, tmp_path, {"acme": "UI edit"})
    [issue] = tracking(fake_github)
    assert "#### Cause unknown" in issue["body"] and "Legend: ~ path: live value → repository value" in issue["body"]


def test_found_among_many_issues_and_without_its_label(fake_github, tmp_path):
    fake_github.cap_page_size(3)
    for i in range(7):
        fake_github.seed_issue(f"unrelated {i}", labels=["drift"] if i % 2 else [])
    first = run(fake_github, tmp_path, {"acme": "UI edit"})
    for i in range(4):
        fake_github.seed_issue(f"newer {i}")
    # Looked up under another label (as if GitHub dropped ours): found by its marker among all open issues.
    again = run(fake_github, tmp_path, {"acme": "UI edit 2"}, label="config-drift")
    assert again.issue == first.issue and again.action is drift_issue.Action.UPDATED
    assert len(tracking(fake_github)) == 1


def test_errors_without_drift_keep_the_issue_open(fake_github, tmp_path):
    run(fake_github, tmp_path, {"acme": "UI edit"})
    kept = run(fake_github, tmp_path, {"acme": "Hello", "broken": "Hello"}, errors=True)
    assert kept.action is drift_issue.Action.KEPT_OPEN
    assert tracking(fake_github)[0]["state"] == "open"


def test_pull_requests_with_the_marker_are_not_mistaken_for_the_issue(fake_github, tmp_path):
    fake_github.open_pull(3, "d" * 40)   # pull requests are issues too in GitHub's list
    run(fake_github, tmp_path, {"acme": "UI edit"})
    assert len(tracking(fake_github)) == 1


def test_issue_body_is_capped(fake_github, tmp_path):
    agents = {f"agent-{i:03d}": f"UI {i}" for i in range(60)}
    doc = reports.plan_document(agents, command="drift", note_size=1500)
    report = documents.read_report(reports.write(tmp_path / "d.json", doc))
    ctx = GitHubContext(token="t", repository="o/r", run_id="1")
    body = drift_issue.compose(report, ctx, drift_issue.page_state(report))
    assert len(body) <= 65_536 and "Truncated:" in body and "`drift-report` artifact" in body
