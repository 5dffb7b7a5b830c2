"""The git source's trees: each flip shows exactly the commit's files, read-only, however buffers are reused.

Real git (a bare remote, a clone that commits adds, edits, deletions and a rewind), no daemon.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.daemon.gitsource import GitOptions, GitSource
from reconciler.daemon.revision import describe
from tests.git_helpers import commit_and_push, git, remote_with_clone


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def _committed(work: Path) -> dict[str, bytes]:
    return {k: v for k, v in _files(work).items() if not k.startswith(".git/") and k != ".git"}


def test_every_revision_is_exactly_its_commit_and_read_only(tmp_path):
    work, remote = remote_with_clone(tmp_path, "http://127.0.0.1:9", ("t-a", "t-b"))
    source = GitSource(GitOptions(url=remote), tmp_path / "state" / "git")
    first, _ = source.sync()
    steps = [
        lambda: (work / "configs" / "t-a" / "sandbox" / "values.yaml").write_text("greeting: edited\n"),
        lambda: (work / "configs" / "t-b" / "live" / "values.yaml").unlink(),
        lambda: git(work, "mv", "configs/t-b", "configs/t-c"),
        lambda: [p.unlink() for p in (work / "configs" / "t-a" / "pre-release").iterdir()],
        lambda: (work / "policies").mkdir() or (work / "policies" / "p.yaml").write_text("name: p\n"),
    ]
    seen = set()
    for number, step in enumerate(steps):
        step()
        sha = commit_and_push(work, f"step {number}")
        revision, paths = source.sync()
        assert revision.id == sha and paths                      # only what the commit touched
        tree = Path(os.path.realpath(source.link))
        seen.add(tree)
        assert _files(tree) == _committed(work), f"step {number}"
        assert describe(tree) == revision
        for folder, _, names in os.walk(tree):
            assert os.stat(folder).st_mode & 0o222 == 0
            assert all(os.stat(Path(folder) / n).st_mode & 0o222 == 0 for n in names)
        assert source.sync() is None                             # nothing new: no flip
    assert len(seen) == 2                                        # with no load reading, two buffers alternate
    # A tree a load is reading is never rewritten: the third buffer is used meanwhile.
    with source.trees.reading() as read:
        before = _files(read)
        for number in range(3):
            (work / "configs" / "t-a" / "sandbox" / "values.yaml").write_text(f"greeting: {number}\n")
            commit_and_push(work, f"while reading {number}")
            source.sync()
            assert Path(os.path.realpath(source.link)) != read
            assert _files(read) == before and _files(Path(os.path.realpath(source.link))) == _committed(work)
    git(work, "reset", "--hard", "--quiet", first.id)             # a rewind is one more revision
    git(work, "push", "--quiet", "--force", "origin", "HEAD:main")
    revision, _ = source.sync()
    assert revision.id == first.id
    assert _files(Path(os.path.realpath(source.link))) == _committed(work)
