"""The text report through the real CLI: no ANSI in a pipe, colour on a terminal, NO_COLOR respected."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

SCHEMA = """type: object
properties:
  greeting: {type: string, title: Greeting, description: What the agent says first}
  token: {type: string, x-sensitive: true, title: Token, description: A secret}
"""


@pytest.fixture()
def repo(tmp_path):
    env_dir = tmp_path / "configs" / "demo-agent" / "sandbox"
    env_dir.mkdir(parents=True)
    (tmp_path / "reconciler.yaml").write_text("api:\n  url: local\n")
    (env_dir / "schema.yaml").write_text(SCHEMA)
    (env_dir / "values.yaml").write_text("greeting: hello\ntoken: supersecret-123\n")
    return tmp_path


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "POLYAI_API_KEY")}
    env.update(extra)
    return env


def _run_in_pty(args, cwd, env) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:          # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_plan_in_a_pipe_has_no_ansi_and_no_secret(repo):
    out = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(repo)], cwd=repo, env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "demo-agent / sandbox: to change" in out.stdout
    assert "token: added (value hidden)" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1] == "Plan: 1 to change, 0 in sync, 0 errors."
    assert "\x1b[" not in out.stdout and "supersecret-123" not in out.stdout + out.stderr


def test_plan_on_a_terminal_is_coloured_unless_no_color(repo):
    args = [sys.executable, "-m", "reconciler", "plan", str(repo)]
    code, coloured = _run_in_pty(args, repo, _env(TERM="xterm-256color"))
    assert code == 2 and "\x1b[" in _line(coloured, "to change")
    code, plain = _run_in_pty(args, repo, _env(TERM="xterm-256color", NO_COLOR="1"))
    # Only the report's lines: a progress bar (stderr, slow runs) may move the cursor.
    assert code == 2 and "\x1b[" not in _line(plain, "to change") + _line(plain, "Plan:")
    assert "supersecret-123" not in coloured + plain


def _line(output: str, needle: str) -> str:
    return next(line for line in output.splitlines() if needle in line)
