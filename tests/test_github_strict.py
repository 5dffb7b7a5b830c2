"""The GitHub client is as strict as the Agents client (issue 22), as ``reconciler github`` subprocesses.

https only (plain http only to loopback, refused before any connection), a redirect is an
error naming its status (never followed, never a JSONDecodeError), a DNS failure or a
closed port fails within seconds (not ~30 s of retries), and the token is never echoed.
"""

from __future__ import annotations

import socket
import time

import fake_github as fake
import github_reports as reports
from test_github_cli import SHA, gh_cli


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _comment(fake_github, tmp_path, **env: str):
    fake_github.open_pull(7, SHA)
    plan = reports.write(tmp_path / "plan.json", reports.plan_document({"acme": "Hi"}))
    began = time.monotonic()
    proc = gh_cli(fake_github, "comment", "--report", str(plan), "--pr", "7", "--sha", SHA,
                  env=fake_github.environ(**env))
    return proc, time.monotonic() - began


def test_plain_http_to_another_host_is_refused_before_any_connection(fake_github, tmp_path):
    for url in ("http://example.invalid", "http://user:pw@10.1.2.3:8080/api", "ftp://example.com"):
        proc, _ = _comment(fake_github, tmp_path, GITHUB_API_URL=url)
        assert proc.returncode == 1, proc.stderr
        assert "GITHUB_API_URL" in proc.stderr and "https" in proc.stderr, proc.stderr
        assert "pw" not in proc.stderr                          # credentials in the URL are not echoed
        assert "not found" not in proc.stderr and "cannot reach" not in proc.stderr   # no lookup, no connection
    assert [r for r in fake_github.requests() if not r["path"].startswith("/_fake")] == []


def test_a_redirect_is_a_clear_error_naming_the_status_and_is_not_followed(fake_github, tmp_path):
    fake_github.inject({"status": 302, "message": "moved", "location": "https://elsewhere.example/api"})
    proc, _ = _comment(fake_github, tmp_path)
    assert proc.returncode == 1
    assert "302" in proc.stderr and "redirect to elsewhere.example" in proc.stderr, proc.stderr
    assert "JSONDecodeError" not in proc.stderr and "this is a bug" not in proc.stderr
    assert fake_github.writes() == []


def test_a_dns_failure_and_a_closed_port_fail_fast(fake_github, tmp_path):
    for url, words in ((f"http://127.0.0.1:{_closed_port()}", "connection refused"),
                       ("https://github-api.invalid", "host name not found")):
        proc, elapsed = _comment(fake_github, tmp_path, GITHUB_API_URL=url)
        assert proc.returncode == 1 and words in proc.stderr, proc.stderr
        assert elapsed < 8.0, elapsed                          # start-up included; retries alone took ~30 s
        assert fake.TOKEN not in proc.stderr


def test_loopback_http_still_works(fake_github, tmp_path):
    proc, _ = _comment(fake_github, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert fake_github.comments(7)
