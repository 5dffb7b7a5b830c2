"""`--help` examples name the example repository's agents and run as written (issue 9).

The examples of ``plan``, ``show``, ``apply`` and ``drift`` are read from the
real ``--help`` output and run, in that order, in a copy of the example
repository (a git work tree, so ``--changed-since HEAD`` works; ``url: local``).
An unknown agent's error names the agents that exist.
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

ROOT = Path(__file__).resolve().parents[1]
#: (command, exit codes its examples may end with). A plan of the fresh example exits 1 by design: the
#: blast-radius policy refuses to change every agent's live page at once (that is what the policy is for).
ORDER = (("plan", (0, 1, 2)), ("show", (0, 2)), ("apply", (0,)), ("drift", (0, 2)))


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("POLYAI_API_KEY", "RECONCILER_API_URL")}
    return {**env, "NO_COLOR": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def _examples(command: str) -> list[str]:
    out = _run(ROOT, command, "--help").stdout
    block = out[out.index("Examples"):]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip().startswith("reconciler ")]


@pytest.fixture
def example_repo(tmp_path):
    repo = tmp_path / "example"
    repo.mkdir()
    for name in ("configs", "policies"):
        shutil.copytree(ROOT / name, repo / name)
    shutil.copy(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "example"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=_env())
    return repo


def test_help_examples_name_existing_agents():
    agents = {p.name for p in (ROOT / "configs").iterdir() if p.is_dir()}
    for command, _ in ORDER:
        for example in _examples(command):
            named = re.findall(r"--agent\s+(\S+)", example)
            assert set(named) <= agents, (command, example)


@pytest.mark.slow
@pytest.mark.timeout(900)          # ~20 CLI processes, one after another; the shared box may be loaded
def test_help_examples_run_as_written(example_repo):
    ran = 0
    for command, codes in ORDER:
        examples = _examples(command)
        assert examples, command
        for example in examples:
            args = shlex.split(example)[1:]
            proc = _run(example_repo, *args)
            assert proc.returncode in codes, (example, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
            assert "Traceback" not in proc.stderr and "Usage:" not in proc.stderr, (example, proc.stderr)
            if proc.returncode == 1:           # ran, and reported (not a usage or settings error)
                assert "Plan: " in proc.stdout and "error:" not in proc.stderr, (example, proc.stderr)
            ran += 1
    assert ran >= 12


def test_an_unknown_agent_names_the_agents_that_exist(example_repo):
    proc = _run(example_repo, "plan", ".", "--agent", "acme-londn")
    assert proc.returncode == 1
    assert "known: acme-support, bella-pizza-sites, northwind-transfers" in proc.stderr
