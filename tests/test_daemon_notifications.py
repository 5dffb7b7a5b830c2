"""Notifications from `reconciler watch` (issue 23), against the loopback emulator and a real loopback webhook
receiver: exactly one `apply_failed` for a failing page across three resync passes, signed with HMAC-SHA256,
with no sensitive value or secret in the body; a failing target is logged by name (never its URL) and
retried with backoff without holding up the passes; the de-duplication survives in the state record.
The rate limit and the in-flight de-duplication: tests/test_daemon_notifier.py."""

from __future__ import annotations

import json

import pytest

from tests.daemon_helpers import Watch, wait_until, write_settings
from tests.e2e_helpers import API_KEY, CANARY, NOTIFY_SECRET, SENSITIVE_SCHEMA, make_repo, values, write_env
from tests.git_helpers import git
from tests.hook_receiver import Receiver, signature

AGENT = "notif-d"
SECRET = NOTIFY_SECRET


def _full_syncs(watch: Watch) -> int:
    return len([x for x in watch.logs() if x["event"] == "full_sync"])


@pytest.mark.slow
def test_one_apply_failed_across_three_resync_passes_signed_masked_and_retried(tmp_path, emulator):
    with Receiver(flaky_failures=3) as hooks:
        root = make_repo(tmp_path / "repo", emulator.url, agents=(AGENT,))
        write_settings(root, emulator.url, "  sandbox: {sync: auto}\n  live: {sync: auto}\n", resync="1s")
        (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text() + (
            "notifications:\n  targets:\n"
            f"    - {{name: ops, kind: webhook, url: '{hooks.url}/hook', secretEnv: HOOK_SECRET}}\n"
            f"    - {{name: broken, kind: webhook, url: '{hooks.url}/fail'}}\n"
            f"    - {{name: flaky, kind: webhook, url: '{hooks.url}/flaky'}}\n"
            "  subscriptions:\n    - {on: [apply_failed], targets: [ops, broken, flaky]}\n"), encoding="utf-8")
        # live's sensitive value breaks its pattern: the page is blocked at every pass, and its value masked.
        write_env(root, AGENT, "live", schema=SENSITIVE_SCHEMA, vals=values("live", api_token=CANARY))
        git(root, "init", "--quiet", "--initial-branch=main")
        git(root, "add", "-A")
        git(root, "commit", "--quiet", "-m", "failing live page")
        head = git(root, "rev-parse", "HEAD")
        emulator.seed(AGENT)
        with Watch(root, extra_env={"HOOK_SECRET": SECRET}) as watch:
            watch.wait_ready()
            passes = _full_syncs(watch)
            wait_until(lambda: _full_syncs(watch) >= passes + 3, timeout=20, what="three resync passes")
            assert watch.page(AGENT, "live")["status"] == "error"
            assert watch.page(AGENT, "sandbox")["status"] == "in_sync"           # the other pages go on
            # The flaky target failed its first round (3 attempts) and gets it at the next one, 5 s later.
            # The receiver holds a body as soon as it arrives; the daemon logs "notified" once it has the
            # answer: wait for both, or a slow machine reads the log a moment too early.
            wait_until(lambda: len(hooks.bodies("/flaky")) >= 4 and any(
                x["event"] == "notified" and x.get("target") == "flaky" for x in watch.logs()),
                timeout=15, what="the flaky target's retry, answered and logged")
            logs = watch.logs()
            text = watch.text()
        hook = hooks.bodies("/hook")
        assert len(hook) == 1, [json.loads(b)["trigger"] for _, b in hook]
        headers, body = hook[0]
        doc = json.loads(body)
        assert (doc["trigger"], doc["agent"], doc["env"], doc["revision"]) == ("apply_failed", AGENT, "live", head)
        assert "values.invalid" in doc["codes"] and doc["kind"] == "rtc-reconciler.notification"
        assert headers["X-Reconciler-Signature"] == signature(SECRET, body)
        for secret in (CANARY, SECRET, API_KEY):
            assert secret.encode() not in body
        assert len(hooks.bodies("/flaky")) == 4 and json.loads(hooks.bodies("/flaky")[-1][1])["trigger"] == \
            "apply_failed"
        assert "X-Reconciler-Signature" not in hooks.bodies("/flaky")[-1][0]
        failed = [x for x in logs if x["event"] == "notify_failed"]
        assert {x["target"] for x in failed} == {"broken", "flaky"}
        assert any("broken: HTTP 500 after 3 attempts; retrying in 5s" in x["message"] for x in failed)
        assert [x["target"] for x in logs if x["event"] == "notified"].count("flaky") == 1
        assert hooks.url not in text
        assert CANARY not in text and SECRET not in text
        record = (root / ".reconciler" / "watch-state.json").read_text()
        assert CANARY not in record and SECRET not in record and hooks.url not in record
        assert json.loads(record)["notifications"]["sent"][f"ops|apply_failed|{AGENT}/live"] == head

        # A restart at the same revision does not notify again: what was sent is in the state record.
        with Watch(root, extra_env={"HOOK_SECRET": SECRET}) as watch:
            watch.wait_ready()
            passes = _full_syncs(watch)
            wait_until(lambda: _full_syncs(watch) >= passes + 2, timeout=20, what="two resync passes")
        assert len(hooks.bodies("/hook")) == 1
