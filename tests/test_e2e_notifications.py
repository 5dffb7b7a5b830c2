"""End to end (CLI subprocess, loopback emulator, a real loopback webhook receiver, a real git repository):
`apply --notify` sends exactly one `apply_failed` per failing page and revision across three runs, signed
with HMAC-SHA256 when configured, with no sensitive value or secret in the body; a failing target is retried
with backoff and never changes the run's outcome; `drift --notify` sends `drift_detected` once."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from e2e_helpers import API_KEY, CANARY, NOTIFY_SECRET, SENSITIVE_SCHEMA, cli, make_repo, values, write_env

AGENT = "notif"
SECRET = NOTIFY_SECRET


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, bytes]] = []

    def do_POST(self) -> None:                      # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(500 if self.path == "/fail" else 204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.received
    server.shutdown()
    server.server_close()


def git(root, *args) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(root), "PATH": os.environ.get("PATH", os.defpath)}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _settings(base: str) -> str:
    return ("notifications:\n  targets:\n"
            f"    - {{name: ops, kind: webhook, url: '{base}/hook', secretEnv: HOOK_SECRET}}\n"
            f"    - {{name: broken, kind: webhook, url: '{base}/fail'}}\n"
            f"    - {{name: chat, kind: slack, urlEnv: CHAT_URL}}\n"
            "  subscriptions:\n    - {on: [apply_failed], targets: [ops, broken]}\n"
            "    - {on: [drift_detected], targets: [chat], envs: [live]}\n")


def test_one_apply_failed_per_page_and_revision_signed_and_masked(tmp_path, emulator, receiver):
    base, received = receiver
    emulator.seed(AGENT)
    root = make_repo(tmp_path / "repo", emulator.url, agents=(AGENT,))
    (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text() + _settings(base))
    write_env(root, AGENT, "live", schema=SENSITIVE_SCHEMA, vals=values("live", api_token=CANARY))  # fails pattern
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    env = {"HOOK_SECRET": SECRET, "CHAT_URL": f"{base}/chat"}
    for _ in range(3):
        proc = cli(root, "apply", str(root), "--auto-approve", "--notify", check_codes=(1,), extra_env=env)
        assert "broken: HTTP 500 after 3 attempts" in proc.stderr
    hooks = [(h, b) for p, h, b in received if p == "/hook"]
    assert len(hooks) == 1                                            # one page failed, one revision
    headers, body = hooks[0]
    doc = json.loads(body)
    assert (doc["trigger"], doc["agent"], doc["env"]) == ("apply_failed", AGENT, "live")
    assert doc["revision"] == git(root, "rev-parse", "HEAD") and "values.invalid" in doc["codes"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Reconciler-Signature"] == expected
    for secret in (CANARY, SECRET, API_KEY):
        assert secret.encode() not in body
    assert len([p for p, _, _ in received if p == "/fail"]) == 9        # 3 attempts x 3 runs, never remembered
    state = (root / ".reconciler" / "notifications" / "state.json").read_text()
    assert CANARY not in state and SECRET not in state and base not in state
    assert emulator.peek(AGENT, "sandbox")["variables"] == values("sandbox")   # the other pages were applied

    # A new revision notifies again, once.
    (root / "README").write_text("x")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "second")
    cli(root, "apply", str(root), "--auto-approve", "--notify", check_codes=(1,), extra_env=env)
    cli(root, "apply", str(root), "--auto-approve", "--notify", check_codes=(1,), extra_env=env)
    assert len([p for p, _, _ in received if p == "/hook"]) == 2
    # Without --notify nothing is sent.
    before = len(received)
    cli(root, "apply", str(root), "--auto-approve", check_codes=(1,), extra_env=env)
    assert len(received) == before


def test_drift_notify_sends_drift_detected_once_to_slack(tmp_path, emulator, receiver):
    base, received = receiver
    emulator.seed(AGENT + "-d")
    root = make_repo(tmp_path / "repo", emulator.url, agents=(AGENT + "-d",))
    (root / "reconciler.yaml").write_text((root / "reconciler.yaml").read_text() + _settings(base))
    env = {"CHAT_URL": f"{base}/chat"}
    for _ in range(2):
        cli(root, "drift", str(root), "--notify", check_codes=(2,), extra_env=env)
    chats = [json.loads(b) for p, _, b in received if p == "/chat"]
    assert len(chats) == 1 and chats[0]["text"].startswith("[rtc-reconciler] drift_detected:")
    assert f"{AGENT}-d/live" in chats[0]["text"]
    proc = cli(root, "drift", str(root), "--notify", check_codes=(2,), extra_env=env)
    assert "0 sent, 1 already sent for this revision" in proc.stderr and base not in proc.stderr
