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
import tempfile
from pathlib import Path
from typing import List, Optional

import typer

from reconciler import errors
from reconciler.cli import rootdir
from reconciler.emulator import Faults, create_app, seed, server
from reconciler.repository import discover, statedir


def _announce(url: str) -> None:
    sys.stdout.write(f"listening on {url}\n")
    sys.stdout.flush()


def emulator(
    action: Optional[str] = typer.Argument(None, metavar="ACTION", show_default=False,
                                           help="seed: load DIR's configs/<agent>/<env>/{schema,values}.yaml "
                                                "into an emulator's database instead of serving."),
    fleet: Optional[Path] = typer.Argument(None, metavar="DIR", show_default=False,
                                           help="With seed: the fleet folder (laid out like a repository)."),
    url: Optional[str] = typer.Option(None, "--url", metavar="URL",
                                      help="With seed: the served emulator to load (default: the url: local "
                                           "database of the repository the working folder is in)."),
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", metavar="DIR", file_okay=False,
                                        help="With seed and no --url: the repository whose url: local database "
                                             "is loaded."),
    host: str = typer.Option("127.0.0.1", "--host", metavar="HOST", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, metavar="N", help="TCP port; 0 picks a free one."),
    db: Optional[Path] = typer.Option(None, "--db", metavar="FILE", show_default=False,
                                      help="SQLite file holding the state (default: .reconciler/emulator.db of the "
                                           "repository the working folder is in, else a temporary folder)."),
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
    """Serve the local Agents API emulator (a stand-in for tests and demos, NOT the real service).

    `reconciler emulator seed DIR` loads a fleet into one instead (see the examples).
    """
    if action is not None:
        _seed(action, fleet, url, repo)
        return
    faults = Faults(latency_ms=latency_ms, jitter_ms=jitter_ms, error_rate=error_rate,
                    rate_limit_rate=rate_limit_rate, retry_after_s=retry_after_s, drop_rate=drop_rate)
    try:
        faults.check()
    except ValueError as exc:
        raise errors.ReconcilerError(f"invalid fault setting: {exc}") from None
    db = db if db is not None else _default_db()
    env_keys = [k.strip() for k in os.environ.get("EMULATOR_API_KEYS", "").split(",") if k.strip()]
    app = create_app(db, auto_create=auto_create, api_keys=[*(api_key or []), *env_keys], faults=faults)
    try:
        asyncio.run(server.serve(app, host, port, _announce, log_level=log_level))
    except OSError as exc:
        raise errors.ReconcilerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _default_db() -> Path:
    """``<root>/.reconciler/emulator.db`` inside a repository; outside one, never a ``.reconciler/`` here."""
    try:
        root = discover.find_root(None).root
    except errors.ConfigError:
        folder = Path(tempfile.mkdtemp(prefix="reconciler-emulator-"))
        typer.echo(f"no repository here: the emulator's state is in {folder} (--db to choose)", err=True)
        return folder / "emulator.db"
    return statedir.ensure(root) / "emulator.db"


def _seed(action: str, fleet: Path | None, url: str | None, repo: Path | None) -> None:
    if action != "seed" or fleet is None:
        raise errors.ConfigError(f"unknown emulator action {action!r}: use `reconciler emulator seed DIR`"
                                 if action != "seed" else "seed needs DIR, the fleet to load", code="usage")
    if not fleet.is_dir():
        raise errors.ConfigError(f"seed {fleet}: no such directory", code="usage")
    root = None if url is not None else (repo if repo is not None else rootdir.repository(None))
    done = seed.seed(fleet, url=url, root=root)
    for problem in done.problems:
        typer.echo(f"skipped: {problem}", err=True)
    pages = sum(len(envs) for envs in done.agents.values())
    where = url if url is not None else f"{root}/.reconciler/local.db (url: local)"
    typer.echo(f"seeded {len(done.agents)} agent(s), {pages} page(s) into {where}")


_EXAMPLES = """\b
Examples (each prints `listening on http://HOST:PORT`; Ctrl-C stops it):
  reconciler emulator --port 0 --auto-create                # a free port, any agent id accepted
  reconciler emulator --port 8080 --db .reconciler/emulator.db --api-key test-key
  reconciler emulator --port 0 --latency-ms 50 --error-rate 0.05   # a slow, flaky API for retries

\b
Seeding (a fleet laid out like a repository; nothing is validated, as in the Configuration Builder):
  reconciler emulator seed . --url http://127.0.0.1:8080    # the emulator served above, from this repository
  reconciler emulator seed .                                # this repository's own url: local database
"""


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("emulator", epilog=_EXAMPLES)(emulator)
