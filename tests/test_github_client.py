"""The GitHub REST client over loopback: the token stays with the API host, never in a repr or an error."""

from __future__ import annotations

import asyncio

import fake_github as fake
import pytest

from reconciler import errors
from reconciler.api.retry import RetryPolicy
from reconciler.github import context
from reconciler.github.client import GitHubApi

FAST = RetryPolicy(backoffs=(0.05,), max_retry_seconds=5)


def collect(url: str, path: str) -> list:
    async def go():
        async with GitHubApi(url, fake.TOKEN, policy=FAST) as gh:
            return [item async for item in gh.paginate(path)]
    return asyncio.run(go())


def test_pagination_follows_next_links(fake_github):
    fake_github.open_pull(1, "a" * 40)
    for i in range(7):
        fake_github.seed_comment(1, f"c{i}")
    fake_github.cap_page_size(3)
    items = collect(fake_github.url, "/repos/octo/configs/issues/1/comments")
    assert [c["body"] for c in items] == [f"c{i}" for i in range(7)]
    assert [r["query"].get("page") for r in fake_github.requests()] == [None, "2", "3"]


def test_pagination_never_follows_a_link_to_another_host(fake_github):
    fake_github.open_pull(1, "a" * 40)
    for i in range(3):
        fake_github.seed_comment(1, f"c{i}")
    fake_github.cap_page_size(2, link_host="attacker.example:443")
    with pytest.raises(errors.ApiError, match="refusing to follow a pagination link to another host") as info:
        collect(fake_github.url, "/repos/octo/configs/issues/1/comments")
    assert fake.TOKEN not in str(info.value)
    assert len(fake_github.requests()) == 1                  # the token went to the API host only


def test_token_is_not_in_reprs():
    ctx = context.from_environment({"GITHUB_TOKEN": fake.TOKEN, "GITHUB_REPOSITORY": "octo/configs"})
    assert fake.TOKEN not in repr(ctx)
    api = GitHubApi("http://127.0.0.1:9", fake.TOKEN)
    assert fake.TOKEN not in repr(api)
    asyncio.run(api.__aexit__(None, None, None))


def test_event_payload_gives_the_pull_request_and_its_head(tmp_path):
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 5, "head": {"sha": "abc"}}}')
    ctx = context.from_environment({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(event),
                                    "GITHUB_SHA": "merge", "GITHUB_API_URL": "https://ghe.example/api/v3/",
                                    "GITHUB_RUN_ID": "9"})
    assert (ctx.pr_number, ctx.head_sha, ctx.api_url) == (5, "abc", "https://ghe.example/api/v3")
    assert ctx.run_url == "https://github.com/o/r/actions/runs/9"
    assert context.from_environment({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "o/r"}, pr=3, sha="s").pr_number == 3
    event.write_text("{nope")
    with pytest.raises(errors.ConfigError, match="not JSON"):
        context.from_environment({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(event)})
