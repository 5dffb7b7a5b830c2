"""``.reconciler/`` ignores itself: after plan, save-plan, apply, the daemon and the cache, git stages nothing of it.

Real git, real processes, a fresh repository with ``url: local`` (the embedded
emulator's database, the plan-signing key, the apply lock, the daemon's state
record and the cache all land in ``.reconciler/``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.daemon_helpers import Watch
from tests.e2e_helpers import cli, make_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root,
                          check=True, capture_output=True, text=True).stdout


def test_every_writer_leaves_a_state_folder_that_git_ignores(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", "local")
    git(root, "init", "-q")
    cli(root, "validate", check_codes=(0,))
    assert (root / ".reconciler" / ".gitignore").read_text().splitlines()[-1] == "*"
    keyless = {"POLYAI_API_KEY": ""}          # url: local without a key: the plan is signed with .reconciler/plan.key
    cli(root, "plan", "--save-plan", ".reconciler/reviewed.json", check_codes=(2,), extra_env=keyless)
    cli(root, "apply", "--plan", ".reconciler/reviewed.json", "--auto-approve", check_codes=(0,), extra_env=keyless)
    with Watch(root, "--api-url", "local") as watch:
        watch.wait_ready()
    state = {p.name for p in (root / ".reconciler").iterdir()}
    assert {"local.db", "plan.key", "reviewed.json", "apply.lock", "cache", ".gitignore"} <= state, state
    status = git(root, "status", "--porcelain", "--ignored").splitlines()
    assert [line for line in status if ".reconciler" in line] == ["!! .reconciler/"]
    git(root, "add", "-A")
    staged = git(root, "diff", "--cached", "--name-only").splitlines()
    assert staged and not [name for name in staged if name.startswith(".reconciler")], staged


@pytest.mark.parametrize("first", [["plan"], ["apply", "--auto-approve"], ["plan", "--no-cache"]])
def test_the_first_write_of_any_kind_already_ignores_the_folder(tmp_path: Path, first: list[str]) -> None:
    root = make_repo(tmp_path / "repo", "local")
    git(root, "init", "-q")
    cli(root, *first, "--no-cache", check_codes=(0, 2))
    git(root, "add", "-A")
    assert not [n for n in git(root, "diff", "--cached", "--name-only").splitlines() if ".reconciler" in n]
