"""`cause` of a drifted page (issue 9): pure rules, and git facts read from a real repository.

``drift.page_cause`` takes the git facts as values, so the rules are tested
with literals; ``gitinfo`` is tested against ``git init`` in tmp_path,
including a config repository that is a subdirectory of the git work tree.
"""

from __future__ import annotations

import os
import subprocess

from reconciler.planning import drift
from reconciler.repository import gitinfo
from reconciler.model import ClientEnv
from reconciler.planning.plan import DiffItem, DiffKind, DriftCause, EnvPlan, Status

VALUES = "configs/a/live/values.yaml"
SCHEMA = "configs/a/live/schema.yaml"
T0 = 1_800_000_000                                  # 2027-01-15T08:00:00Z
WRITTEN = "2027-01-15T08:00:00.500Z"                # half a second after T0


def _page(last_updated=WRITTEN, schema=False, values=True, orphans=()):
    item = DiffItem("x", DiffKind.CHANGED, live=1, desired=2)
    return EnvPlan(agent="a", env=ClientEnv.LIVE, status=Status.CHANGES, live_last_updated=last_updated,
                   schema_diff=(item,) if schema else (), variables_diff=(item,) if values else (), orphans=orphans)


def test_a_commit_after_the_last_write_is_repository():
    assert drift.page_cause(_page(), [VALUES], {VALUES: T0 + 60}, set()) is DriftCause.REPOSITORY


def test_a_write_after_the_last_commit_is_out_of_band():
    assert drift.page_cause(_page(), [VALUES], {VALUES: T0}, set()) is DriftCause.OUT_OF_BAND


def test_no_git_or_no_history_is_unknown():
    assert drift.page_cause(_page(), [VALUES], None, None) is DriftCause.UNKNOWN
    assert drift.page_cause(_page(), [VALUES], {}, set()) is DriftCause.UNKNOWN


def test_parts_that_disagree_are_unknown():
    times = {SCHEMA: T0 + 60, VALUES: T0 - 60}       # schema merged after the write, values edited in the UI
    assert drift.page_cause(_page(schema=True), [SCHEMA, VALUES], times, set()) is DriftCause.UNKNOWN


def test_uncommitted_edits_and_never_written_pages_are_repository():
    assert drift.page_cause(_page(), [VALUES], {VALUES: T0 - 60}, {VALUES}) is DriftCause.REPOSITORY
    assert drift.page_cause(_page(last_updated=None), [VALUES], {VALUES: T0}, set()) is DriftCause.REPOSITORY


def test_an_unreadable_last_updated_is_unknown():
    assert drift.page_cause(_page(last_updated="yesterday"), [VALUES], {VALUES: T0}, set()) is DriftCause.UNKNOWN


def _git(cwd, *args, date=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, env=env)


def test_gitinfo_reads_last_commit_times_relative_to_a_subdirectory(tmp_path):
    top = tmp_path / "top"
    repo = top / "infra" / "rtc"
    (repo / "configs" / "a" / "live").mkdir(parents=True)
    (repo / "configs/a/live/values.yaml").write_text("x: 1\n")
    (repo / "configs/a/live/schema.yaml").write_text("type: object\n")
    _git(top, "init", "-q")
    assert gitinfo.revision(repo) is None and gitinfo.last_commit_times(repo) == {}
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "one", date="2027-01-15T08:00:00+0000")
    (repo / "configs/a/live/values.yaml").write_text("x: 2\n")
    _git(top, "commit", "-q", "-am", "two", date="2027-01-15T09:00:00+0000")
    assert gitinfo.last_commit_times(repo) == {VALUES: T0 + 3600, SCHEMA: T0}
    assert len(gitinfo.revision(repo) or "") == 40
    assert gitinfo.uncommitted(repo) == set()
    (repo / "configs/a/live/schema.yaml").write_text("type: object\ntitle: t\n")
    (repo / "configs/a/sandbox").mkdir()
    (repo / "configs/a/sandbox/values.yaml").write_text("y: 1\n")
    assert gitinfo.uncommitted(repo) == {SCHEMA, "configs/a/sandbox/values.yaml"}


def test_gitinfo_outside_a_work_tree_is_none(tmp_path):
    assert gitinfo.last_commit_times(tmp_path) is None
    assert gitinfo.uncommitted(tmp_path) is None and gitinfo.revision(tmp_path) is None
