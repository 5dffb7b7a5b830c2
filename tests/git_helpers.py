"""A real git remote for daemon tests: a bare repository on disk and a second clone that commits and pushes.

Owned with tests/test_daemon_git*.py. No mocks: the ``git`` command line, a
``file://`` URL, and pushes (force-pushes too) exactly as a developer makes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
from pathlib import Path

import httpx

from tests.e2e_helpers import make_repo

_ENV = {**os.environ, "GIT_AUTHOR_NAME": "Ada Tester", "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Tester", "GIT_COMMITTER_EMAIL": "ada@example.com", "GIT_TERMINAL_PROMPT": "0"}
SECRET = "webhook-test-secret-1234"


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=_ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout.strip()


def remote_with_clone(tmp_path: Path, api_url: str, agents: tuple[str, ...]) -> tuple[Path, str]:
    """(a work clone holding the example repository, committed; the ``file://`` URL of its bare remote)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "--quiet", "--initial-branch=main", str(bare))
    work = make_repo(tmp_path / "work", api_url, agents=agents)
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "remote", "add", "origin", bare.as_uri())
    commit_and_push(work, "Initial configuration")
    return work, bare.as_uri()


def commit_and_push(work: Path, message: str, *, force: bool = False) -> str:
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "--allow-empty", "-m", message)
    git(work, "push", "--quiet", *(["--force"] if force else []), "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def push_event(branch: str = "main", secret: str = SECRET, *, sign: bool = True,
               event: str = "push") -> tuple[bytes, dict[str, str]]:
    """A GitHub push delivery: (raw body, headers), signed with ``secret`` unless ``sign`` is false."""
    body = json.dumps({"ref": f"refs/heads/{branch}", "after": "0" * 40, "repository": {"full_name": "acme/x"}},
                      separators=(",", ":")).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if sign:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, headers


def deliver(client: httpx.Client, **kw) -> httpx.Response:
    body, headers = push_event(**kw)
    return client.post("/hooks/github", content=body, headers=headers)


def metric(text: str, name: str) -> float:
    """The value of an unlabelled sample ``name`` in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0
