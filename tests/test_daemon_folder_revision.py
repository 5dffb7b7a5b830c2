"""Directory mode over a git work tree: the daemon reports HEAD, and says loudly when it applies uncommitted files."""

from __future__ import annotations


import pytest

from tests.daemon_helpers import ready_watch, set_value, wait_until
from tests.e2e_helpers import make_repo
from tests.git_helpers import git

pytestmark = pytest.mark.slow

A = "fold-a"


def test_head_is_reported_and_uncommitted_changes_are_said_loudly(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url, agents=(A,))
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "--quiet", "-m", "Base")
    head = git(root, "rev-parse", "HEAD")
    emulator.seed(A)
    watch = ready_watch(root)
    with watch:
        doc = watch.status()
        assert doc["source"]["kind"] == "directory" and doc["source"]["uncommitted"] is False
        assert doc["applied_revision"]["id"] == head and doc["applied_revision"]["subject"] == "Base"
        assert watch.page(A, "sandbox")["revision"]["id"] == head
        assert not [x for x in watch.logs() if x["event"] == "uncommitted"]
        set_value(root, A, "sandbox", "greeting", "Saved, not committed")
        wait_until(lambda: emulator.peek(A, "sandbox")["variables"]["greeting"] == "Saved, not committed",
                   what="the edit live (directory mode applies files)")
        wait_until(lambda: watch.status()["source"]["uncommitted"], what="status says uncommitted")
        warned = wait_until(lambda: [x for x in watch.logs() if x["event"] == "uncommitted"], what="a warning")
        assert warned[0]["level"] == "warning" and warned[0]["revision"] == head
        assert watch.page(A, "sandbox")["revision"] == {**watch.status()["applied_revision"], "dirty": True}
        assert "uncommitted changes" in watch.get("/").text
