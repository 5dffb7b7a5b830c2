"""`reconciler github comment` against the loopback fake GitHub: one sticky comment per PR.

Library level (compose + publish over real HTTP to the fake); the CLI, the
fork case and the token checks run as a subprocess in test_github_cli.py.
"""

from __future__ import annotations

import asyncio
import re

import github_reports as reports
import pytest

from reconciler.api.retry import RetryPolicy
from reconciler.github import comment, documents
from reconciler.github.client import GitHubApi
from reconciler.github.context import GitHubContext

SHA_A = "a" * 40
SHA_B = "b" * 40
FAST = RetryPolicy(backoffs=(0.05, 0.1, 0.2), max_retry_seconds=20)


def ctx_for(fake, sha: str = SHA_A, pr: int = 7) -> GitHubContext:
    import fake_github

    return GitHubContext(token=fake_github.TOKEN, repository=fake.repo, api_url=fake.url,
                         server_url="https://github.example", run_id="4242", pr_number=pr, head_sha=sha)


def post(fake, inp: comment.CommentInput, *, sha: str = SHA_A, pr: int = 7) -> comment.Outcome:
    ctx = ctx_for(fake, sha, pr)
    body = comment.compose(inp, ctx)

    async def go():
        async with GitHubApi(ctx.api_url, ctx.token, policy=FAST) as gh:
            return await comment.publish(gh, ctx, body)
    return asyncio.run(go())


def plan_input(tmp_path, agents=None, **kw) -> comment.CommentInput:
    doc = reports.plan_document(agents or {"acme": "Hi there"}, **kw)
    return comment.CommentInput(report=documents.read_report(reports.write(tmp_path / "plan.json", doc)))


def ours(fake, pr: int = 7) -> list[dict]:
    return [c for c in fake.comments(pr) if comment.MARKER in c["body"]]


def test_first_run_creates_one_comment_with_sha_scope_and_run_link(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_A)
    inp = plan_input(tmp_path)
    outcome = post(fake_github, comment.CommentInput(report=inp.report, changed_since="origin/main"))
    assert outcome.state is comment.Published.CREATED
    [mine] = ours(fake_github)
    body = mine["body"]
    assert body.startswith(comment.MARKER)
    assert f"Commit `{SHA_A[:12]}`" in body
    assert "agents changed since `origin/main`" in body
    assert "https://github.example/octo/configs/actions/runs/4242" in body
    assert "Plan: 3 to change, 0 in sync, 0 errors." in body
    assert '! greeting: "Hello" → "Hi there"' in body
    assert reports.CANARY not in body                      # masked in the report, so in the comment
    assert fake_github.writes() == [("POST", "/repos/octo/configs/issues/7/comments")]
    assert all(r["api_version"] == "2022-11-28" for r in fake_github.requests())


def test_second_run_updates_the_same_comment_never_a_second(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_A)
    fake_github.cap_page_size(2)                          # ours ends up on page 3: pagination must be followed
    for i in range(5):
        fake_github.seed_comment(7, f"LGTM {i}")
    first = post(fake_github, plan_input(tmp_path, {"acme": "Hi there"}))
    fake_github.open_pull(7, SHA_B)
    second = post(fake_github, plan_input(tmp_path, {"acme": "Hello"}), sha=SHA_B)
    assert (first.state, second.state) == (comment.Published.CREATED, comment.Published.UPDATED)
    assert second.comment_id == first.comment_id
    [mine] = ours(fake_github)
    assert "Plan: 0 to change, 3 in sync, 0 errors." in mine["body"] and SHA_B[:12] in mine["body"]
    assert len(fake_github.comments(7)) == 6              # the humans' comments untouched
    pages = [r["query"].get("page") for r in fake_github.requests() if r["path"].endswith("/7/comments")
             and r["method"] == "GET"]
    assert pages[:3] == [None, "2", "3"]
    # A third identical run writes nothing.
    third = post(fake_github, plan_input(tmp_path, {"acme": "Hello"}), sha=SHA_B)
    assert third.state is comment.Published.UNCHANGED
    assert [w for w in fake_github.writes() if w[0] == "PATCH"] == [
        ("PATCH", f"/repos/octo/configs/issues/comments/{first.comment_id}")]


def test_saved_plan_file_renders_like_the_report(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_A)
    doc = reports.plan_document({"acme": "Hi there"})
    saved = documents.read_report(reports.write(tmp_path / "plan.tfplan.json", reports.saved_plan(doc)))
    report = documents.read_report(reports.write(tmp_path / "plan.json", doc))
    ctx = ctx_for(fake_github)
    assert saved.saved_plan and not report.saved_plan
    assert comment.compose(comment.CommentInput(report=saved), ctx) == \
        comment.compose(comment.CommentInput(report=report), ctx)


def test_validation_failure_replaces_the_plan_with_the_findings(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_A)
    post(fake_github, plan_input(tmp_path))
    failed = documents.read_validate(reports.write(tmp_path / "validate.json", reports.validate_document(2, 1)))
    fake_github.open_pull(7, SHA_B)
    outcome = post(fake_github, comment.CommentInput(validate=failed, report=None), sha=SHA_B)
    assert outcome.state is comment.Published.UPDATED
    [mine] = ours(fake_github)
    body = mine["body"]
    assert "validation failed — no plan was made" in body
    assert "2 errors, 1 warning" in body
    assert "`configs/acme/sandbox/values.yaml:1`: greeting: problem 0 &lt;b&gt;" in body
    assert "Hi there" not in body and "to change" not in body   # the old plan is gone


def test_validation_failure_wins_over_a_report(fake_github, tmp_path):
    failed = documents.read_validate(reports.write(tmp_path / "v.json", reports.validate_document(1, 0)))
    body = comment.compose(comment.CommentInput(report=plan_input(tmp_path).report, validate=failed),
                           ctx_for(fake_github))
    assert "no plan was made" in body and "Hi there" not in body


def test_skipped_plan_says_why_and_keeps_the_validation_result(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_A)
    passed = documents.read_validate(reports.write(tmp_path / "v.json", reports.validate_document(0, 1)))
    post(fake_github, comment.CommentInput(validate=passed, skip_reason="fork PR: no POLYAI_API_KEY here"))
    [mine] = ours(fake_github)
    assert "plan skipped" in mine["body"] and "fork PR: no POLYAI_API_KEY here" in mine["body"]
    assert "Validation passed (0 errors, 1 warning)" in mine["body"]


def test_an_older_commit_never_overwrites_a_newer_comment(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_B)                       # the PR moved on to B ...
    post(fake_github, plan_input(tmp_path, {"acme": "from B"}), sha=SHA_B)
    late = post(fake_github, plan_input(tmp_path, {"acme": "from A"}), sha=SHA_A)   # ... A's run ends late
    assert late.state is comment.Published.STALE
    assert "head is now bbbbbbbbbbbb" in late.message
    [mine] = ours(fake_github)
    assert "from B" in mine["body"] and "from A" not in mine["body"]
    assert len(fake_github.writes()) == 1


def test_an_older_commit_does_not_create_a_comment_either(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_B)
    assert post(fake_github, plan_input(tmp_path), sha=SHA_A).state is comment.Published.STALE
    assert fake_github.writes() == []


def test_a_huge_plan_stays_under_github_limit_and_points_at_the_artifact(fake_github, tmp_path):
    fake_github.open_pull(7, SHA_A)
    agents = {f"agent-{i:03d}": f"Hi {i}" for i in range(60)}
    inp = plan_input(tmp_path, agents, note_size=1500)
    assert len(comment.compose(inp, ctx_for(fake_github), limit=10**9)) > 200_000    # uncapped: far too big
    outcome = post(fake_github, inp)                      # the fake answers 422 above 65,536, like GitHub
    assert outcome.state is comment.Published.CREATED
    [mine] = ours(fake_github)
    assert len(mine["body"]) <= 65_536
    assert "Truncated:" in mine["body"] and "`reconciler-plan` artifact" in mine["body"]
    assert "actions/runs/4242" in mine["body"]
    assert "| `agent-059` |" in mine["body"]              # the status table always shows every agent


@pytest.mark.parametrize("secondary", [False, True], ids=["429", "secondary-403"])
def test_rate_limits_are_retried_after_retry_after(fake_github, tmp_path, secondary):
    import fake_github as fake

    fake_github.open_pull(7, SHA_A)
    fake_github.inject(fake.rate_limit(403 if secondary else 429, retry_after=1, secondary=secondary))
    outcome = post(fake_github, plan_input(tmp_path))
    assert outcome.state is comment.Published.CREATED
    log = fake_github.requests()
    assert log[0]["status"] == (403 if secondary else 429)
    assert log[1]["path"] == log[0]["path"] and log[1]["status"] == 200
    assert log[1]["at"] - log[0]["at"] >= 0.95            # waited what Retry-After said, not the 0.05 s backoff
    assert len(ours(fake_github)) == 1


def test_a_plain_403_is_not_retried(fake_github, tmp_path):
    from reconciler import errors

    fake_github.open_pull(7, SHA_A)
    fake_github.inject({"status": 403, "message": "Resource not accessible by integration"})
    with pytest.raises(errors.ForbiddenError, match="Resource not accessible by integration"):
        post(fake_github, plan_input(tmp_path))
    assert len(fake_github.requests()) == 1


def test_report_of_the_wrong_kind_is_a_clear_error(tmp_path):
    from reconciler.errors import ConfigError

    with pytest.raises(ConfigError, match="not a plan/apply/drift JSON report"):
        documents.read_report(reports.write(tmp_path / "v.json", reports.validate_document()))
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError, match="bad.json: the report is not JSON"):
        documents.read_report(tmp_path / "bad.json")
    newer = dict(reports.plan_document({"a": "b"}), format_version=2)
    with pytest.raises(ConfigError, match="format_version 2 is newer"):
        documents.read_report(reports.write(tmp_path / "n.json", newer))


def test_readme_example_comment_matches_what_is_rendered(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "docs" / "ci.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section:github -->")[1].split("<!-- /section:github -->")[0]
    example = section.split("````markdown\n")[1].split("````")[0]
    doc = reports.plan_document({"acme-support": "Hi there"}, changed_envs=(reports.SB,))
    body = comment.compose(comment.CommentInput(report=documents.read_report(reports.write(tmp_path / "p.json", doc)),
                                                changed_since="main"), ctx_for(_Fake()))
    for line in ("| agent | sandbox | pre-release | live |", "|---|---|---|---|", "# variables: PATCH greeting",
                 '! greeting: "Hello" → "Hi there"',
                 "<details><summary><code>acme-support</code>: to change</summary>", "**sandbox** — to change",
                 "**Plan: 1 to change, 2 in sync, 0 errors.**", "| `acme-support` | 📝 changes | ✅ in sync | ✅ in sync |",
                 "### reconciler plan · `https://api.us.poly.ai`"):
        assert line in example and line in body, line
    assert re.search(r"Commit `\w{12}` · Scope: agents changed since `main` · \[workflow run\]\(", body)
    assert re.search(r"Commit `\w{12}` · Scope: agents changed since `main` · \[workflow run\]\(", example)


class _Fake:
    repo = "acme/configs"
    url = "http://127.0.0.1:9"


def test_a_new_schema_is_summarised_in_the_comment_as_in_the_report(fake_github, tmp_path):
    inp = plan_input(tmp_path, {"acme": "Hi"}, live_schema={})
    body = comment.compose(inp, ctx_for(fake_github))
    assert "schema: new, 33 properties" in body and "properties.extra_29" not in body   # one line, not 33
    assert body.count("\n") < 80


def test_job_summary_from_show_stays_under_one_mebibyte(tmp_path):
    import subprocess
    import sys

    agents = {f"agent-{i:03d}": f"Hi {i}" for i in range(200)}
    plan = reports.write(tmp_path / "plan.json", reports.plan_document(agents, note_size=3000))
    assert plan.stat().st_size > 1_500_000                  # the JSON itself is far over a step summary's limit
    proc = subprocess.run([sys.executable, "-m", "reconciler", "show", str(plan), "--format", "markdown"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.encode("utf-8")) < 1024 * 1024 and len(proc.stdout) <= 65_536
    assert "Truncated" in proc.stdout


def test_a_passing_validation_alone_says_no_plan_was_made(fake_github, tmp_path):
    passed = documents.read_validate(reports.write(tmp_path / "v.json", reports.validate_document(0, 1)))
    body = comment.compose(comment.CommentInput(validate=passed), ctx_for(fake_github))
    assert "plan skipped" in body and "no plan report was given" in body and "Validation passed" in body
