"""Signed GitHub push webhooks make a commit live at once; unsigned or wrongly signed ones change nothing.

The fetch interval is one hour, so only the webhook can bring a commit in time.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from reconciler.daemon import serving, webhook
from tests.daemon_helpers import Watch, free_port, ready_watch, set_value, wait_until
from tests.git_helpers import SECRET, commit_and_push, deliver, metric, push_event, remote_with_clone

pytestmark = pytest.mark.slow

A = "hook-a"
FETCHES = "reconciler_source_fetches_total"


def _start(tmp_path, emulator, *args: str, env: dict[str, str] | None = None) -> tuple:
    work, remote = remote_with_clone(tmp_path, emulator.url, (A,))
    emulator.seed(A)
    daemon_dir = tmp_path / "daemon"
    daemon_dir.mkdir()
    watch = ready_watch(daemon_dir, "--git", remote, "--interval", "1h", *args,
                  extra_env=env if env is not None else {"RECONCILER_WEBHOOK_SECRET": SECRET})
    return work, watch


def _big_push(size: int) -> tuple[bytes, dict[str, str]]:
    """A signed push to main whose body is about ``size`` bytes (a push of many commits)."""
    body = json.dumps({"ref": "refs/heads/main", "commits": [{"message": "x" * 1000}] * (size // 1016)}).encode()
    return body, {"X-GitHub-Event": "push", "Content-Type": "application/json",
                  "X-Hub-Signature-256": webhook.signature(SECRET.encode(), body)}


def _closed_within(port: int, seconds: float) -> bool:
    """A connection that sends half a request's headers is closed by the server within ``seconds``."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(b"POST /hooks/github HTTP/1.1\r\nHost: x\r\n")
        try:
            return sock.recv(1024) == b""
        except TimeoutError:
            return False


def _fetches(watch: Watch) -> float:
    return metric(watch.get("/metrics").text, FETCHES)


def test_a_signed_push_goes_live_and_bad_signatures_are_401_and_fetch_nothing(tmp_path, emulator):
    work, watch = _start(tmp_path, emulator)
    with watch:
        set_value(work, A, "sandbox", "greeting", "Pushed with a webhook")
        sha = commit_and_push(work, "Webhook greeting")
        fetched = _fetches(watch)
        body, headers = push_event()
        for bad in ({**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64},
                    {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"},
                    push_event(secret="not-the-secret")[1]):
            assert watch.http.post("/hooks/github", content=body, headers=bad).status_code == 401
        tampered = body.replace(b"main", b"mainx")
        assert watch.http.post("/hooks/github", content=tampered, headers=headers).status_code == 401
        time.sleep(1.0)
        assert _fetches(watch) == fetched
        assert emulator.peek(A, "sandbox")["variables"]["greeting"] != "Pushed with a webhook"
        assert deliver(watch.http, event="ping").status_code == 202          # another event: ignored
        assert deliver(watch.http, branch="feature").status_code == 202     # another branch: ignored
        time.sleep(0.5)
        assert _fetches(watch) == fetched
        started = time.monotonic()
        answer = deliver(watch.http)
        assert answer.status_code == 202 and answer.json() == {"fetch": True}
        wait_until(lambda: emulator.peek(A, "sandbox")["variables"]["greeting"] == "Pushed with a webhook",
                   timeout=15, what="the pushed commit live")
        assert time.monotonic() - started < 10
        assert watch.page(A, "sandbox")["revision"]["id"] == sha
        assert 'reconciler_webhook_deliveries_total{result="unauthorized"} 4.0' in watch.get("/metrics").text


def test_a_burst_of_pushes_is_one_fetch_and_a_huge_body_is_413(tmp_path, emulator):
    work, watch = _start(tmp_path, emulator)
    with watch:
        commit_and_push(work, "Nothing much")
        fetched = _fetches(watch)
        for _ in range(8):
            assert deliver(watch.http).status_code == 202
        wait_until(lambda: _fetches(watch) > fetched, what="a fetch")
        time.sleep(1.0)
        assert _fetches(watch) - fetched <= 2            # eight deliveries, one fetch (two if one was running)
        body, headers = _big_push(4 * serving.MAX_BODY_BYTES)      # over the probes' bound, within the webhook's
        assert len(body) > serving.MAX_BODY_BYTES
        assert watch.http.post("/hooks/github", content=body, headers=headers).status_code == 202
        huge = b'{"ref": "refs/heads/main", "pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
        assert watch.http.post("/hooks/github", content=huge,
                               headers={"X-Hub-Signature-256": "sha256=" + "0" * 64,
                                        "X-GitHub-Event": "push"}).status_code == 413


def test_the_webhook_can_have_its_own_listener_and_a_secret_file(tmp_path, emulator):
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(SECRET + "\n")
    port = free_port()
    work, watch = _start(tmp_path, emulator, "--webhook-listen", f"127.0.0.1:{port}",
                         "--webhook-secret-file", str(secret_file), env={})
    with watch:
        assert deliver(watch.http).status_code == 404           # not on the probes' listener
        set_value(work, A, "sandbox", "greeting", "Via the webhook listener")
        commit_and_push(work, "Own listener")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as hooks:
            assert deliver(hooks).status_code == 202
            assert hooks.get("/status").status_code == 404       # probes and metrics stay on --listen
            body, headers = _big_push(4 * serving.MAX_BODY_BYTES)
            assert hooks.post("/hooks/github", content=body, headers=headers).status_code == 202
        assert _closed_within(port, serving.REQUEST_TIMEOUT + 3)   # the daemon's HTTP limits hold here too
        wait_until(lambda: emulator.peek(A, "sandbox")["variables"]["greeting"] == "Via the webhook listener",
                   timeout=15, what="live through the webhook listener")
        assert SECRET not in watch.text()
