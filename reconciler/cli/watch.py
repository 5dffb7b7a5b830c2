"""`reconciler watch`: parse options, run the daemon (:mod:`reconciler.daemon`) until SIGTERM/SIGINT.

Exit codes: 0 after a clean stop; 1 for a usage error (a bad ``--listen``,
``--shard`` or ``--resync``), an invalid ``reconciler.yaml`` at start, a
missing API key or a port already in use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler import daemon
from reconciler.cli import rootdir
from reconciler.daemon import gitsource
from reconciler.daemon.sharding import parse_shard
from reconciler.settings import parse_duration
from reconciler.cli.plan import ConcurrencyOpt, DirArg, UrlOpt

_EXAMPLES = """
\b
Examples (the example repository is url: local, no key; a network --api-url needs POLYAI_API_KEY):
  reconciler watch .                                   # serves http://127.0.0.1:8080
  reconciler watch . --listen 127.0.0.1:0 --resync 30s # a free port; resync every 30 s
  reconciler watch . --shard 0/3 --state-dir /var/lib/reconciler --log-format json
  reconciler watch . --api-url http://127.0.0.1:8081 --concurrency 8
  reconciler watch --git https://github.com/acme/rtc-config.git --branch main --interval 5m \\
      --state-dir /state --webhook-listen 0.0.0.0:9000   # RECONCILER_WEBHOOK_SECRET signs pushes
"""


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise typer.BadParameter(f"{text!r} must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)")
    return host, int(port)


def watch(
    root: DirArg = Path("."),
    listen: Annotated[str, typer.Option("--listen", metavar="HOST:PORT",
                                        help="Where /healthz, /readyz, /metrics, /status and / are served.")
                      ] = "127.0.0.1:8080",
    resync: Annotated[str | None, typer.Option("--resync", metavar="DURATION",
                                               help="Full resync period, e.g. 30s, 5m (default: reconciler.yaml's "
                                                    "resync, else 60s).")] = None,
    shard: Annotated[str, typer.Option("--shard", metavar="I/N",
                                       help="Own only the agents whose stable hash falls in shard I of N.")] = "0/1",
    state_dir: Annotated[Path | None, typer.Option("--state-dir", metavar="DIR",
                                                   help="Where the state record lives (default: DIR/.reconciler).")
                         ] = None,
    log_format: Annotated[str | None, typer.Option("--log-format", metavar="json|text",
                                                   help="Log lines as JSON or text (default: text on a terminal, "
                                                        "JSON otherwise).")] = None,
    api_url: UrlOpt = None,
    concurrency: ConcurrencyOpt = None,
    git: Annotated[str | None, typer.Option("--git", metavar="URL",
                                            help="Follow this git repository's branch (https://, ssh:// or "
                                                 "file://; credentials from RECONCILER_GIT_TOKEN[_FILE] or "
                                                 "GIT_SSH_COMMAND) instead of the files in DIR.")] = None,
    branch: Annotated[str | None, typer.Option("--branch", metavar="NAME",
                                               help="With --git: the branch to follow (default main).")] = None,
    interval: Annotated[str | None, typer.Option("--interval", metavar="DURATION",
                                                 help="With --git: time between fetches (default 60s); a signed "
                                                      "push webhook fetches at once.")] = None,
    webhook_listen: Annotated[str | None, typer.Option("--webhook-listen", metavar="HOST:PORT",
                                                       help="Serve POST /hooks/github and POST /approve/REV on "
                                                            "their own listener (default: on --listen).")] = None,
    webhook_secret_file: Annotated[Path | None, typer.Option(
        "--webhook-secret-file", metavar="FILE",
        help="The webhook secret (default: RECONCILER_WEBHOOK_SECRET); without one there is no webhook.")] = None,
) -> int:
    """Run the daemon: apply repository changes as they are saved, resync live state, serve status."""
    host, port = parse_listen(listen)
    try:
        shard_value = parse_shard(shard)
        resync_seconds = parse_duration(resync) if resync is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if log_format not in (None, "json", "text"):
        raise typer.BadParameter(f"--log-format {log_format!r}: use json or text")
    git_options = _git_options(git, branch, interval)
    if git_options is None:                         # --git clones; DIR is not a repository then
        root = rootdir.repository(root)
    options = daemon.WatchOptions(root=root, host=host, port=port, resync=resync_seconds, shard=shard_value,
                                  state_dir=state_dir, log_format=log_format, api_url=api_url,
                                  concurrency=concurrency, git=git_options,
                                  webhook_listen=parse_listen(webhook_listen) if webhook_listen else None,
                                  webhook_secret_file=webhook_secret_file)
    return daemon.run(options)


def _git_options(url: str | None, branch: str | None, interval: str | None) -> gitsource.GitOptions | None:
    if url is None:
        if branch is not None or interval is not None:
            raise typer.BadParameter("--branch and --interval need --git")
        return None
    try:
        return gitsource.GitOptions(url=gitsource.check_url(url), branch=gitsource.check_branch(branch or "main"),
                                    interval=parse_duration(interval, "--interval") if interval else 60.0)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("watch", epilog=_EXAMPLES)(watch)
