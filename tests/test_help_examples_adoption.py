"""The `--help` examples of validate, policies, connectors, export, promote and import run as written.

(``plan``/``show``/``apply``/``drift`` have their own test, tests/test_cli_help_examples.py.) Each
command's Examples block is read from the real ``--help`` and run by bash, in that order, in a copy of
the example repository, with ``reconciler`` on PATH; it must exit 0, with no traceback and no API key
in the output. Import's block starts an emulator on port 8080 in the background: here the session's
emulator stands in for it (the three agents seeded empty, as ``--auto-create`` would), and its port
replaces 8080.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEY = "canary-key-123456"
AGENTS = ("acme-support", "bella-pizza-sites", "northwind-transfers")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RECONCILER_API_URL"}
    bin_dir = str(Path(sys.executable).parent)
    return {**env, "POLYAI_API_KEY": KEY, "NO_COLOR": "1", "TMPDIR": str(tmp_path),
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}


def _examples(command: str, env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "reconciler", command, "--help"], env={**env, "COLUMNS": "200"},
                         capture_output=True, text=True, timeout=60, check=True).stdout
    block = out[out.index("Example"):]
    block = block.split("\nArguments:")[0].split("\nOptions:")[0]
    lines = [line.strip() for line in block.splitlines()[1:]]
    first = re.sub(r"^Examples?[^:]*:\s*", "", block.splitlines()[0]).strip()   # "Example: reconciler …"
    return [line for line in [first, *lines] if line and not line.endswith(":")]


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "example"
    repo.mkdir()
    for name in ("configs", "policies"):
        shutil.copytree(ROOT / name, repo / name)
    shutil.copy(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    return repo


def _run_block(repo: Path, lines: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("command", ["validate", "policies", "connectors", "export", "promote"])
def test_offline_help_examples_run_as_written(command: str, example_repo: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    lines = _examples(command, env)
    assert lines and all(line.startswith("reconciler ") for line in lines), lines
    proc = _run_block(example_repo, lines, env)
    assert proc.returncode == 0, (lines, proc.stdout[-3000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr and KEY not in proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_import_help_examples_run_as_written_and_again(emulator, example_repo: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    lines = _examples("import", env)
    started = [line for line in lines if line.startswith("reconciler emulator ")]
    assert started == ["reconciler emulator --port 8080 --auto-create &"], lines
    for agent in AGENTS:
        emulator.seed(agent)
    port = emulator.url.rsplit(":", 1)[1]
    body = [line.replace("127.0.0.1:8080", f"127.0.0.1:{port}") for line in lines if line not in started]
    for attempt in (1, 2):          # a second run must work too: nothing it writes is in the way
        proc = _run_block(example_repo, body, env)
        assert proc.returncode == 0, (attempt, body, proc.stdout[-3000:], proc.stderr[-3000:])
        assert "Traceback" not in proc.stderr and KEY not in proc.stdout + proc.stderr
        assert proc.stdout.count("imported 2 agent(s)") == 1 and "imported 1 agent(s)" in proc.stdout
