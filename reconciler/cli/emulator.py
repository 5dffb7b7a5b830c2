"""`reconciler emulator`: serve the local Agents API emulator (not the real service).

Parses options, builds the app with ``reconciler.emulator.create_app`` and serves
it with ``reconciler.emulator.server.serve``. Prints exactly one line,
``listening on http://HOST:PORT``, once connections are accepted (``--port 0``
prints the port actually chosen); SIGINT/SIGTERM stop it with exit code 0.
Accepted keys: every ``--api-key`` plus ``EMULATOR_API_KEYS`` (comma-separated);
none configured = any non-empty ``x-api-key``. Keys are never printed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from reconciler import errors
from reconciler.emulator import Faults, create_app, server


def _announce(url: str) -> None:
    sys.stdout.write(f"listening on {url}\n")
    sys.stdout.flush()


def emulator(
    host: str = typer.Option("127.0.0.1", "--host", metavar="HOST", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, metavar="N", help="TCP port; 0 picks a free one."),
    db: Path = typer.Option(Path(".reconciler/emulator.db"), "--db", metavar="FILE", help="SQLite file holding the state."),
    auto_create: bool = typer.Option(False, "--auto-create", help="Create unknown agents on first use."),
    api_key: Optional[List[str]] = typer.Option(None, "--api-key", metavar="KEY", help="Accepted x-api-key (repeatable)."),
    latency_ms: float = typer.Option(0, "--latency-ms", metavar="MS", help="Fixed latency added to /v1 requests."),
    jitter_ms: float = typer.Option(0, "--jitter-ms", metavar="MS", help="Extra random latency, 0..N ms."),
    error_rate: float = typer.Option(0, "--error-rate", metavar="R", help="Probability of a 500/503."),
    rate_limit_rate: float = typer.Option(0, "--rate-limit-rate", metavar="R", help="Probability of a 429."),
    retry_after_s: int = typer.Option(0, "--retry-after-s", metavar="S", help="Retry-After seconds on injected 429s."),
    drop_rate: float = typer.Option(0, "--drop-rate", metavar="R", help="Probability of closing the connection unanswered."),
    log_level: str = typer.Option("warning", "--log-level", metavar="LEVEL", help="uvicorn log level (stderr)."),
) -> None:
    """Serve the local Agents API emulator (a stand-in for tests and demos, NOT the real service)."""
    faults = Faults(latency_ms=latency_ms, jitter_ms=jitter_ms, error_rate=error_rate,
                    rate_limit_rate=rate_limit_rate, retry_after_s=retry_after_s, drop_rate=drop_rate)
    try:
        faults.check()
    except ValueError as exc:
        raise errors.ReconcilerError(f"invalid fault setting: {exc}") from None
    env_keys = [k.strip() for k in os.environ.get("EMULATOR_API_KEYS", "").split(",") if k.strip()]
    app = create_app(db, auto_create=auto_create, api_keys=[*(api_key or []), *env_keys], faults=faults)
    try:
        asyncio.run(server.serve(app, host, port, _announce, log_level=log_level))
    except OSError as exc:
        raise errors.ReconcilerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


_EXAMPLES = """\b
Examples (each prints `listening on http://HOST:PORT`; Ctrl-C stops it):
  reconciler emulator --port 0 --auto-create                # a free port, any agent id accepted
  reconciler emulator --port 8080 --db .reconciler/emulator.db --api-key test-key
  reconciler emulator --port 0 --latency-ms 50 --error-rate 0.05   # a slow, flaky API for retries
"""


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("emulator", epilog=_EXAMPLES)(emulator)
