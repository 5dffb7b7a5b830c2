"""`reconciler watch --git`: commits of a real bare repository go live, each page names its revision.

The remote is ``git init --bare`` on disk; a second clone commits and pushes (force-pushes too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from reconciler.daemon import status as status_module
from tests.daemon_helpers import Watch, ready_watch, set_value, wait_until
from tests.e2e_helpers import API_KEY
from tests.git_helpers import commit_and_push, git, metric, remote_with_clone

pytestmark = pytest.mark.slow

A, B = "git-a", "git-b"
STATUS_SCHEMA = json.loads((Path(status_module.__file__).parent / "status.schema.json").read_text())


def _start(tmp_path, emulator, *args: str) -> tuple[Path, str, Watch]:
    work, remote = remote_with_clone(tmp_path, emulator.url, (A, B))
    for agent in (A, B):
        emulator.seed(agent)
    daemon_dir = tmp_path / "daemon"
    daemon_dir.mkdir()
    watch = ready_watch(daemon_dir, "--git", remote, *args)
    return work, remote, watch


def _live(emulator, agent: str, env: str, key: str):
    return emulator.peek(agent, env)["variables"].get(key)


def test_a_pushed_commit_goes_live_and_names_its_revision_everywhere(tmp_path, emulator):
    work, remote, watch = _start(tmp_path, emulator, "--interval", "1s")
    with watch:
        set_value(work, A, "sandbox", "greeting", "Hello from a commit")
        sha = commit_and_push(work, "Friendlier greeting")
        wait_until(lambda: _live(emulator, A, "sandbox", "greeting") == "Hello from a commit", timeout=20,
                   what="the commit live")
        page = wait_until(lambda: (p := watch.page(A, "sandbox"))["revision"]["id"] == sha and p, what="revision")
        assert page["revision"] == {"id": sha, "subject": "Friendlier greeting", "author": "Ada Tester <ada@example.com>",
                                    "time": page["revision"]["time"], "dirty": False}
        assert watch.page(B, "sandbox")["revision"]["id"] != sha          # untouched by the commit
        doc = watch.status()
        jsonschema.validate(doc, STATUS_SCHEMA)
        assert doc["revision"] == sha and doc["applied_revision"]["id"] == sha
        assert doc["source"]["kind"] == "git" and doc["source"]["url"] == remote
        assert doc["source"]["branch"] == "main" and doc["source"]["revision"]["id"] == sha
        assert doc["source"]["fetched_at"] and doc["source"]["last_error"] is None
        assert f'reconciler_source_revision_info{{dirty="false",revision="{sha}"}} 1.0' in watch.get("/metrics").text
        html = watch.get("/").text
        assert sha[:12] in html and "Friendlier greeting" in html
        applied = [x for x in watch.logs() if x["event"] == "applied" and x["agent"] == A][-1]
        assert applied["revision"] == sha
    record = json.loads(next((tmp_path / "daemon" / ".reconciler").glob("watch-state*.json")).read_text())
    assert record["pages"][f"{A}/sandbox"]["revision"]["id"] == sha


def test_uncommitted_edits_are_never_applied_and_the_tree_is_read_only(tmp_path, emulator):
    work, _, watch = _start(tmp_path, emulator, "--interval", "1s")
    with watch:
        before = _live(emulator, A, "sandbox", "greeting")
        set_value(work, A, "sandbox", "greeting", "Only in a working copy")       # never committed
        tree = tmp_path / "daemon" / ".reconciler" / "git" / "current"
        for path in (tree / "configs" / A / "sandbox" / "values.yaml", tree / "configs" / A / "sandbox"):
            assert path.stat().st_mode & 0o222 == 0, oct(path.stat().st_mode)       # read-only, files and folders
        fetches = metric(watch.get("/metrics").text, "reconciler_source_fetches_total")
        wait_until(lambda: metric(watch.get("/metrics").text, "reconciler_source_fetches_total") >= fetches + 2,
                   what="two more fetches")
        assert _live(emulator, A, "sandbox", "greeting") == before
        git(work, "checkout", "--", ".")
        set_value(work, B, "sandbox", "greeting", "Committed")
        commit_and_push(work, "Only B")
        wait_until(lambda: _live(emulator, B, "sandbox", "greeting") == "Committed", timeout=20, what="B live")
        assert _live(emulator, A, "sandbox", "greeting") == before


def test_a_force_push_applies_the_branchs_current_commit(tmp_path, emulator):
    work, _, watch = _start(tmp_path, emulator, "--interval", "1s")
    with watch:
        first = git(work, "rev-parse", "HEAD")
        original = _live(emulator, A, "sandbox", "greeting")
        set_value(work, A, "sandbox", "greeting", "Soon rewound")
        commit_and_push(work, "To be rewound")
        wait_until(lambda: _live(emulator, A, "sandbox", "greeting") == "Soon rewound", timeout=20, what="pushed")
        git(work, "reset", "--hard", "--quiet", first)
        git(work, "push", "--quiet", "--force", "origin", "HEAD:main")
        wait_until(lambda: _live(emulator, A, "sandbox", "greeting") == original, timeout=20, what="rewound live")
        wait_until(lambda: watch.status()["applied_revision"]["id"] == first, what="the rewound revision applied")
        assert watch.page(A, "sandbox")["revision"]["id"] == first


def test_an_unreachable_remote_at_start_exits_1_without_credentials_in_the_output(tmp_path):
    daemon_dir = tmp_path / "daemon"
    daemon_dir.mkdir()
    env = {"POLYAI_API_KEY": API_KEY, "RECONCILER_GIT_TOKEN": "tok-super-secret-42", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "reconciler", "watch", "--git", (tmp_path / "nothing.git").as_uri(),
                           "--listen", "127.0.0.1:0", "--log-format", "json"], cwd=daemon_dir, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot fetch" in proc.stderr and "tok-super-secret-42" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    bad = subprocess.run([sys.executable, "-m", "reconciler", "watch", "--git", "https://me:pw@example.com/x.git"],
                         cwd=daemon_dir, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "pw" not in bad.stdout + bad.stderr.replace("password", "")
    assert "RECONCILER_GIT_TOKEN" in bad.stdout + bad.stderr
