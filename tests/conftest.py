"""Shared pytest fixtures.

``emulator_server`` (session scope, one per xdist worker) runs the Agents API
emulator under uvicorn in a thread on a free loopback port with a temporary
SQLite file; any non-empty ``x-api-key`` is accepted (tests use
``EMULATOR_TEST_KEY``). ``emulator`` (function scope) resets it — agents,
counters, request log, faults — and returns an :class:`EmulatorHandle`.
Add new fixtures below with small edits; keep this file tidy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from reconciler.emulator import create_app
from reconciler.emulator.server import ThreadedServer

EMULATOR_TEST_KEY = "test-key"


class EmulatorHandle:
    """A small sync client for the emulator's hooks (``/_emulator``) plus one /v1 read.

    Hook calls are never counted in stats nor faulted; :meth:`page` goes through
    /v1 (counted, and subject to faults), :meth:`peek` reads the same via a hook.
    """

    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url
        self.api_key = EMULATOR_TEST_KEY
        self._client = client

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = self._client.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_emulator/reset")

    def seed(self, agent_id: str, pages: Mapping[str, Mapping[str, Any]] | None = None,
             connectors: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """Create/replace an agent; ``pages`` = {env: {"schema"?, "variables"?}}, unvalidated."""
        body = {"agentId": agent_id, "pages": dict(pages or {}), "connectors": list(connectors or [])}
        return self._call("POST", "/_emulator/agents", json=body)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_emulator/stats")

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_emulator/requests")["requests"]

    def reset_stats(self) -> None:
        self._call("POST", "/_emulator/stats/reset")

    def set_faults(self, **faults: float) -> dict[str, Any]:
        """Replace the fault settings (latency_ms, jitter_ms, error_rate, rate_limit_rate, retry_after_s, drop_rate;
        the switches patch_replaces, trim_strings)."""
        return self._call("PUT", "/_emulator/faults", json=faults)

    def edit_page(self, agent: str, env: str, schema: Mapping[str, Any] | None = None,
                  variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Simulate a UI edit: replace schema and/or variables wholesale (unvalidated)."""
        body = {k: v for k, v in (("schema", schema), ("variables", variables)) if v is not None}
        return self._call("PUT", f"/_emulator/agents/{agent}/pages/{env}", json=body)

    def page(self, agent: str, env: str) -> dict[str, Any]:
        """The page as the live API returns it (GET /v1/…, counted in stats)."""
        return self._call("GET", f"/v1/agents/{agent}/real-time-configs/{env}",
                          headers={"x-api-key": self.api_key})

    def peek(self, agent: str, env: str) -> dict[str, Any]:
        """The same page via a hook: not counted, never faulted."""
        pages = self._call("GET", f"/_emulator/agents/{agent}")["configPages"]
        return next(p for p in pages if p["clientEnv"] == env)


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of an emulator served by uvicorn on 127.0.0.1 (one per xdist worker)."""
    app = create_app(tmp_path_factory.mktemp("emulator") / "emulator.db")
    server = ThreadedServer(app).start()
    yield server.url
    server.stop()


@pytest.fixture
def emulator(emulator_server: str) -> Iterator[EmulatorHandle]:
    """The session's emulator, reset to empty (no agents, counters or faults)."""
    with httpx.Client(base_url=emulator_server, timeout=30) as client:
        handle = EmulatorHandle(emulator_server, client)
        handle.reset()
        yield handle


@pytest.fixture(scope="session")
def fake_github_server() -> Iterator[str]:
    """Base URL of the loopback fake GitHub REST API (tests/fake_github.py), one per xdist worker."""
    import fake_github

    server = ThreadedServer(fake_github.create_app()).start()
    yield server.url
    server.stop()


@pytest.fixture
def fake_github(fake_github_server: str):
    """The session's fake GitHub, reset (no pulls, issues, comments, requests or faults)."""
    import fake_github as fake

    with httpx.Client(base_url=fake_github_server, timeout=30) as client:
        handle = fake.FakeGitHub(fake_github_server, client)
        handle.reset()
        yield handle


@pytest.fixture(scope="session", autouse=True)
def _private_cache_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """CLI runs keep the on-disk cache's key under $XDG_CACHE_HOME: a temporary one, never the user's."""
    import os

    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved
