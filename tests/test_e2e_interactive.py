"""Interactive `apply` on a terminal (a pty): live is written only after "yes", and a page
edited in the UI while the human was deciding is re-read, detected and re-planned."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest
from e2e_helpers import API_KEY, converge, desired_state, full, make_repo, values, write_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


class Terminal:
    """The CLI with stdin/stdout/stderr on a pseudo-terminal."""

    def __init__(self, *args: str, cwd) -> None:
        self.master, slave = pty.openpty()
        env = dict(os.environ, POLYAI_API_KEY=API_KEY, NO_COLOR="1", COLUMNS="200", TERM="dumb")
        self.proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env,
                                     stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"did not see {needle!r} in:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    chunk = ""
                if not chunk:
                    assert needle in self.seen, f"EOF before {needle!r}:\n{self.seen}"
                self.seen += chunk
        return self.seen

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    break
        code = self.proc.wait(max(0.1, deadline - time.monotonic()))
        os.close(self.master)
        return code


@pytest.fixture
def repo(tmp_path, emulator):
    emulator.seed("alpha")
    root = make_repo(tmp_path / "repo", emulator.url, agents=("alpha",))
    converge(emulator.url, desired_state(full("alpha")))
    emulator.reset_stats()
    return root


def test_yes_writes_live_and_an_edit_during_the_prompt_is_replanned(repo, emulator):
    for env in ("sandbox", "live"):
        write_env(repo, "alpha", env, vals=values(env, max_hold=200))
    term = Terminal("apply", str(repo), cwd=repo)
    term.expect("Only 'yes' is accepted")
    assert "max_hold" in term.seen                           # the prompt shows what changes in live
    # While the human reads the plan, someone edits sandbox in the Configuration Builder.
    emulator.edit_page("alpha", "sandbox", variables={**values("sandbox"), "greeting": "from the UI"})
    emulator.reset_stats()
    term.send("yes")
    assert term.finish() == 0, term.seen
    log = [(r["method"], r["path"]) for r in emulator.requests()]
    base = "/v1/agents/alpha/real-time-configs"
    # Waiting for a human makes the plan older than the run: every page is re-read before writing;
    # sandbox had moved, so the agent was read again (one GET) and re-planned.
    assert log[:2] == [("GET", f"{base}/sandbox"), ("GET", base)]
    assert ("PATCH", f"{base}/live/variables") in log
    assert "re-planned" in term.seen
    page = emulator.peek("alpha", "sandbox")["variables"]
    assert page["max_hold"] == 200 and page["greeting"] == values("sandbox")["greeting"]
    assert emulator.peek("alpha", "live")["variables"]["max_hold"] == 200


def test_anything_but_yes_refuses_live(repo, emulator):
    write_env(repo, "alpha", "live", vals=values("live", max_hold=7))
    term = Terminal("apply", str(repo), cwd=repo)
    term.expect("Only 'yes' is accepted")
    term.send("y")
    assert term.finish() == 1
    assert "live not written" in term.seen and "not approved" in term.seen
    assert emulator.peek("alpha", "live")["variables"]["max_hold"] == 120
