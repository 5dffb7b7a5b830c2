"""Notifications without a network: settings, de-duplication and the rate limit, payloads, refusals."""

from __future__ import annotations

import asyncio

from pathlib import Path

import httpx
import pytest

from reconciler import governance
from reconciler.errors import ConfigError
from reconciler.notify import dedupe, sender
from reconciler.notify.events import Event
from reconciler.settings import load_settings

HOOK = governance.Target("ops", "webhook", url="https://hooks.example.com/x")
RULES = governance.Notifications((HOOK,), (governance.Subscription(("apply_failed",), ("ops",),
                                                                   governance.Scope(("*",), ("live",))),),
                                 rate_limit=2)


def _event(agent="a", revision="r1", trigger="apply_failed"):
    return Event(trigger, agent, "live", revision, f"{agent}/live: apply failed")


def test_once_per_target_trigger_page_and_revision_and_rate_limited():
    state = dedupe.State()
    send, limited = dedupe.select([_event("a"), _event("b"), _event("c")], RULES, state, now=1000.0)
    assert [e.agent for _, e in send] == ["a", "b"] and [e.agent for _, e in limited] == ["c"]
    for target, event in send:
        dedupe.remember(state, target.name, event, 1000.0)
    assert dedupe.select([_event("a"), _event("b")], RULES, state, now=1001.0) == ([], [])
    again, _ = dedupe.select([_event("a", revision="r2")], RULES, state, now=1000.0 + 3601)
    assert [e.revision for _, e in again] == ["r2"]                      # new revision, budget back after an hour
    assert dedupe.select([_event("a", trigger="applied")], RULES, state, now=5000.0) == ([], [])   # not subscribed


def test_payloads_hold_no_value_and_the_slack_one_is_text():
    event = Event("applied", "a", "live", "abc", "a/live: applied (keys greeting)", keys=("greeting",))
    body = sender.payload(HOOK, event, "2026-01-01T00:00:00Z")
    assert body["keys"] == ["greeting"] and set(body) >= {"trigger", "agent", "env", "revision", "summary"}
    slack = sender.payload(governance.Target("c", "slack", url_env="X"), event, "t")
    assert list(slack) == ["text"] and "abc" in slack["text"]


def test_send_refuses_plain_http_off_loopback_and_a_missing_variable():
    async def both():
        async with httpx.AsyncClient() as client:
            return (await sender.send(client, governance.Target("t", "webhook", url_env="HOOK_URL"), _event(),
                                      {"HOOK_URL": "http://hooks.example.com/x"}, sent_at="t"),
                    await sender.send(client, governance.Target("t", "slack", url_env="CHAT_URL"), _event(), {},
                                      sent_at="t"))
    (ok, why), (ok2, why2) = asyncio.run(both())
    assert not ok and "https" in why and "hooks.example.com" not in why
    assert not ok2 and "CHAT_URL is not set" in why2


@pytest.mark.parametrize("body,word", [
    ("    - {name: s, kind: slack, url: 'https://hooks.slack.com/x'}\n", "urlEnv"),
    ("    - {name: w, kind: webhook, url: 'http://hooks.example.com/x'}\n", "https"),
    ("    - {name: w, kind: webhook}\n", "url or urlEnv"),
])
def test_settings_refuse_unsafe_targets(tmp_path: Path, body: str, word: str):
    (tmp_path / "reconciler.yaml").write_text(
        "api: {url: local}\nnotifications:\n  targets:\n" + body +
        "  subscriptions:\n    - {on: [applied], targets: [w]}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={})
    assert word in str(info.value)


def test_settings_read_notifications_and_refuse_unknown_targets_and_triggers(tmp_path: Path):
    text = ("api: {url: local}\nnotifications:\n  targets:\n    - {name: ops, kind: webhook, urlEnv: HOOK}\n"
            "  subscriptions:\n    - {on: [apply_failed, applied], targets: [ops], envs: [live]}\n  rateLimit: 5\n")
    (tmp_path / "reconciler.yaml").write_text(text)
    rules = load_settings(tmp_path, environ={}).governance.notifications
    assert rules.rate_limit == 5 and rules.targets_for("applied", "x", "live") == rules.targets
    assert rules.targets_for("applied", "x", "sandbox") == ()
    for bad, word in (("targets: [ops]", "targets: [nope]"), ("apply_failed, applied", "apply_failed, boom")):
        (tmp_path / "reconciler.yaml").write_text(text.replace(bad, word))
        with pytest.raises(ConfigError):
            load_settings(tmp_path, environ={})
