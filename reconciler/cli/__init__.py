"""The ``reconciler`` command line: thin commands and one error boundary.

Each command module (``cli/validate.py``, ``cli/plan.py``, …) parses options,
builds Settings, calls one library function, renders a report and returns an
exit code. :func:`main` is the only place that turns exceptions into exit codes:
a :class:`~reconciler.errors.ReconcilerError` becomes a one-line message and
exit 1, a usage error (unknown option, missing directory) exit 1 too — never
2, which ``plan``/``drift`` reserve for "changes pending" — Ctrl-C exit 130,
and anything unexpected a short message plus a crash log (never a traceback
on the terminal).
"""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import typer

from reconciler import __version__, errors

app = typer.Typer(
    name="reconciler",
    help="Config-as-code for PolyAI real-time configuration: validate, plan, apply, drift.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

#: Command modules; each exposes ``register(app)``.
_COMMAND_MODULES = ("validate", "plan", "show", "policies", "emulator", "watch", "adopt", "connectors", "github",
                    "schema", "init")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"reconciler {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Config-as-code for PolyAI real-time configuration.

    Exit codes: 0 ok / in sync, 1 error, 2 changes pending (plan) or drift (drift).
    """


def _register_commands(argv: list[str] | None = None) -> None:
    """Register the commands; ``reconciler validate …`` imports only ``cli/validate.py``.

    Start-up time matters for the commands run on every commit (validate in a
    pre-commit hook): when the first argument names a command module, only that
    module is imported (plan's HTTP client and the emulator's web framework are
    not). Anything else (``--help``, ``apply``…) registers every command.
    """
    import importlib

    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    names = (first,) if first in _COMMAND_MODULES else _COMMAND_MODULES
    for name in names:
        module = importlib.import_module(f"reconciler.cli.{name}")
        module.register(app)


def _write_crash_log(exc: BaseException) -> Path:
    """Write the traceback to a new file of its own (mode 0600) in the temporary directory.

    ``mkstemp`` creates the file exclusively under an unpredictable name: two crashes in the same
    second never overwrite each other, a link planted in a shared ``/tmp`` is never followed, and
    other users of the machine cannot read the traceback (it may quote a value).
    """
    import os
    import tempfile        # only on a crash: kept out of every start-up
    import traceback

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    fd, name = tempfile.mkstemp(prefix=f"reconciler-crash-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    return Path(name)


#: Commands that run for as long as they are left running: the garbage collector keeps its defaults there.
_SERVERS = ("watch", "emulator")


def _tune_gc(argv: list[str] | None) -> None:
    """A one-shot command builds a large, acyclic tree of data and then exits: collect rarely.

    Everything imported so far is frozen out of the collector's scans, and a
    young-generation collection runs every 20,000 allocations instead of 700.
    Measured on a 1,000-agent plan: ~380 collections costing ~0.15 s of CPU
    (full collections over the parsed fleet included) became ~15.
    """
    import gc

    args = sys.argv[1:] if argv is None else argv
    if next((a for a in args if not a.startswith("-")), None) in _SERVERS:
        return
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and ``python -m reconciler``."""
    _register_commands(argv)
    _tune_gc(argv)
    try:
        # With standalone_mode=False, click *returns* the code of a typer.Exit instead of raising it.
        result = app(args=argv, prog_name="reconciler", standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return _finish(result)
    except SystemExit as exc:               # typer.Exit / click's own exits
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return _finish(code)
    except errors.ReconcilerError as exc:
        typer.echo(f"error: {exc}", err=True)
        return _finish(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return _finish(130)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return _finish(1)
    except typer.TyperException as exc:      # usage errors: typer's own message, exit 1
        # Not click's usual 2: for plan/drift, 2 means "changes pending", and a CI job must never
        # read a mistyped flag as drift (DESIGN.md §4: any error is 1).
        if isinstance(getattr(exc, "message", None), str):     # typer validates choices through pydantic
            exc.message = exc.message.removeprefix("Value error, ")
        exc.show()
        return _finish(1)
    except Exception as exc:
        log = _write_crash_log(exc)
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc} (this is a bug; details in {log})", err=True)
        return _finish(1)
    return _finish(0)


def _finish(code: int) -> int:
    sys.stdout.flush()
    return code


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())
