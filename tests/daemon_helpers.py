"""Running ``reconciler watch`` as a real subprocess in tests, and reading what it serves and logs.

Owned with tests/test_daemon_*.py. The daemon is started with ``--listen
127.0.0.1:0`` and JSON logs on stderr (redirected to a file, so a chatty
daemon can never block on a full pipe); its URL comes from the first log line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.e2e_helpers import API_KEY

_LISTENING = re.compile(r"listening on (http://[0-9A-Za-z.:\[\]-]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (httpx.HTTPError, KeyError, StopIteration, json.JSONDecodeError):
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def write_settings(root: Path, url: str, envs: str, resync: str = "60s") -> None:
    """reconciler.yaml with ``envs`` as the body of ``environments:`` (one env per line, already indented)."""
    (root / "reconciler.yaml").write_text(f"api:\n  url: {url}\nenvironments:\n{envs}concurrency: 8\n"
                                          f"resync: {resync}\n", encoding="utf-8")


def set_value(root: Path, agent: str, env: str, key: str, value: Any) -> None:
    path = root / "configs" / agent / env / "values.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


#: A policy that holds any revision changing more than one agent's sandbox (blast radius).
BLAST_ONE_AGENT = """name: blast-radius
description: at most one agent's sandbox per revision
severity: error
match: {environments: [sandbox]}
rules:
  - id: one-at-a-time
    blast_radius: {max_agents: 1}
"""


class Watch:
    """One ``reconciler watch`` subprocess."""

    def __init__(self, root: Path, *args: str, log: Path | None = None, extra_env: dict[str, str] | None = None,
                 wait_listening: bool = True) -> None:
        self.root = root
        self.log_path = log or root.parent / f"watch-{time.monotonic_ns()}.log"
        env = dict(os.environ, POLYAI_API_KEY=API_KEY, **(extra_env or {}))
        env.pop("RECONCILER_API_URL", None)
        self._log_file = open(self.log_path, "w", encoding="utf-8")
        # ResourceWarnings as errors: an unclosed HTTP session or socket would print "Exception ignored".
        self.proc = subprocess.Popen([sys.executable, "-W", "error::ResourceWarning", "-m", "reconciler", "watch", str(root), "--listen", "127.0.0.1:0",
                                      "--log-format", "json", *args], cwd=root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=self._log_file)
        self.url = ""
        try:
            if wait_listening:
                self.url = wait_until(self._listening, timeout=30, what="listening line")
            self.http = httpx.Client(base_url=self.url, timeout=10) if self.url else None
        except BaseException:
            self.proc.kill()                    # never leave a daemon behind a failed start
            self.proc.wait(10)
            self._log_file.close()
            raise

    def _listening(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"watch exited {self.proc.returncode}:\n{self.text()[-3000:]}")
        match = _LISTENING.search(self.text())
        return match.group(1) if match else None

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def status(self) -> dict[str, Any]:
        return self.get("/status").json()

    def page(self, agent: str, env: str) -> dict[str, Any]:
        return next(r for r in self.status()["results"] if r["agent"] == agent and r["env"] == env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until(lambda: self.get("/readyz").status_code == 200, timeout=timeout, what="/readyz 200")

    def wait_page(self, agent: str, env: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
        return wait_until(lambda: (p := self.page(agent, env))["status"] == status and p, timeout=timeout,
                          what=f"{agent}/{env} {status}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 25.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            if self.http is not None:
                self.http.close()
            self._log_file.close()
        assert API_KEY not in self.text()
        for word in ("Traceback", "Unclosed", "Exception ignored"):
            assert word not in self.text(), self.text()[-3000:]
        return code

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def v1_writes(requests: list[dict]) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in requests if r["method"] in ("PUT", "PATCH")]


def paths_of(requests: list[dict]) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in requests]


def ready_watch(root: Path, *args: str, **options: Any) -> Watch:
    """A :class:`Watch` past its first full sync (``/readyz`` 200); killed, never left behind, if it does not get there."""
    watch = Watch(root, *args, **options)
    try:
        watch.wait_ready()
    except BaseException:
        watch.stop(signal.SIGKILL)
        raise
    return watch
