"""The `reconciler-validate` pre-commit hook (.pre-commit-hooks.yaml).

Two levels: the hook definition run by hand (its ``files`` pattern, its
``entry`` in a copy of the example repository: passes, then fails on a broken
file) — always; and ``pre-commit try-repo`` of this project against the
example repository — when pre-commit is installed and this checkout is a git
repository (pre-commit builds the hook's virtualenv with pip, so it needs the
package index; it takes a minute or two).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def hook() -> dict:
    [definition] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return definition


def example_copy(tmp_path: Path) -> Path:
    repo = tmp_path / "example"
    repo.mkdir()
    for name in ("configs", "policies", "schemas"):
        shutil.copytree(ROOT / name, repo / name)
    shutil.copy(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    return repo


def run_entry(repo: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(hook()["entry"])
    assert argv[0] == "reconciler"
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "reconciler", *argv[1:]], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120)


def test_hook_definition():
    definition = hook()
    assert definition["id"] == "reconciler-validate"
    assert definition["language"] == "python" and definition["pass_filenames"] is False
    pattern = re.compile(definition["files"])
    for path in ("configs/acme/live/values.yaml", "policies/phone-numbers.yaml", "reconciler.yaml"):
        assert pattern.search(path), path
    for path in ("README.md", "reconciler/cli/validate.py", "tests/configs/x.yaml", "docs/reconciler.yaml.md"):
        assert not pattern.search(path), path


def test_hook_entry_validates_the_example_and_fails_on_a_broken_file(tmp_path):
    repo = example_copy(tmp_path)
    ok = run_entry(repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    values = next(iter(sorted(repo.glob("configs/*/sandbox/values.yaml"))))
    values.write_text(values.read_text() + "greeting: [twice\n")
    bad = run_entry(repo)
    assert bad.returncode == 1
    assert str(values.relative_to(repo)) in bad.stdout + bad.stderr


def _precommit() -> str | None:
    candidate = Path(sys.executable).with_name("pre-commit")
    return str(candidate) if candidate.exists() else shutil.which("pre-commit")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pre_commit_try_repo_validates_the_example(tmp_path):
    tool = _precommit()
    if tool is None:
        pytest.skip("pre-commit is not installed (it is in the dev extra: pip install -e '.[dev]')")
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--git-dir"], capture_output=True).returncode != 0:
        pytest.skip("this checkout is not a git repository: pre-commit try-repo needs one")
    repo = example_copy(tmp_path)
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "example"], check=True)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), NO_COLOR="1")
    proc = subprocess.run([tool, "try-repo", str(ROOT), "reconciler-validate", "--all-files"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=880)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and ("Could not find a version" in output or "NewConnectionError" in output):
        pytest.skip(f"pre-commit could not install the hook's environment (no package index?): {output[-500:]}")
    assert proc.returncode == 0, output[-3000:]
    assert re.search(r"reconciler validate\.+Passed", output), output[-3000:]
