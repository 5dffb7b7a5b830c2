"""The command line of ``reconciler watch`` as the deployment files use it.

``WATCH_FLAGS`` is the documented contract (issue 8, README "Run it in a cluster"); every flag takes
a value. :func:`split_watch_args` reads an argument list the way the daemon's CLI does for those
flags; :func:`real_watch_command` returns the real click command once ``watch`` is registered in
the ``reconciler`` app (``None`` before), so tests can parse the same lists with the real parser.
"""

from __future__ import annotations

from typing import Any

WATCH_FLAGS = frozenset({"--listen", "--resync", "--shard", "--state-dir", "--log-format", "--api-url",
                         "--concurrency", "--git", "--branch", "--interval", "--webhook-listen",
                         "--webhook-secret-file"})


def split_watch_args(args: list[str]) -> tuple[str | None, dict[str, str]]:
    """(DIR, {flag: value}) of ``["watch", DIR?, --flag value | --flag=value ...]``; ValueError otherwise."""
    if not args or args[0] != "watch":
        raise ValueError(f"not a watch command line: {args!r}")
    directory: str | None = None
    flags: dict[str, str] = {}
    rest = list(args[1:])
    while rest:
        word = rest.pop(0)
        if not word.startswith("--"):
            if directory is not None:
                raise ValueError(f"a second positional argument: {word!r}")
            directory = word
            continue
        name, eq, value = word.partition("=")
        if name not in WATCH_FLAGS:
            raise ValueError(f"{name} is not a documented flag of reconciler watch")
        if not eq:
            if not rest:
                raise ValueError(f"{name} needs a value")
            value = rest.pop(0)
        if name in flags:
            raise ValueError(f"{name} given twice")
        flags[name] = value
    return directory, flags


def real_watch_command() -> Any | None:
    """The click command behind ``reconciler watch``, or None while this build has no such command."""
    from reconciler import cli

    return cli.commands().get("watch")


def parse_with_real_cli(args: list[str], existing_dir: str | None = None) -> dict[str, Any]:
    """Parse ``args`` (starting with "watch") with the real command; click errors propagate.

    The command checks that DIR exists; in a pod it does (git-sync-init clones it first), here it does not,
    so ``existing_dir`` stands in for it (DIR right after ``watch``, as the deployment files write it). Values the command checks only when it runs (``--shard``,
    ``--listen``) are not checked by parsing.
    """
    command = real_watch_command()
    assert command is not None, "reconciler watch is not registered"
    rest = list(args[1:])
    if existing_dir is not None and rest and not rest[0].startswith("-"):
        rest[0] = existing_dir
    with command.make_context("watch", rest) as ctx:
        return dict(ctx.params)
