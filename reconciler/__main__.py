"""``python -m reconciler``: SIGINT/SIGTERM are accounted for before the command line is even imported."""

from reconciler import interruption


def _load_main():
    from reconciler.cli import main    # deferred: imported once the signal handler is in place (run_cli)

    return main


interruption.run_cli(_load_main)
