"""The daemon (``reconciler watch``): a long-running driver over the same engine as the CLI.

Modules, in the order a change flows through them::

    watcher (watchfiles, symlink flips) ─┐
    resync timer (jittered) ─────────────┼─▶ workqueue (keyed by agent) ─▶ reconcile (one agent's pass)
    repository (snapshot of the checkout)┘        loader/validation ─▶ planner ─▶ decide ─▶ executor
                                                                                         │
    state (what was applied, contested keys; on disk)  ◀──────────────────────────────────┤
    status (the board) ─▶ http (/healthz /readyz /metrics /status /) ─▶ page (HTML), metrics

``loop`` wires them together; ``sharding`` decides which agents one replica
owns; ``logs`` formats the log lines. In git mode ``gitsource`` (clone, fetch,
``trees``: read-only checkouts and the flipped symlink) replaces the file
watcher, ``webhook`` takes signed pushes and approvals, ``holds`` keeps a
revision over the blast radius from being written, ``revision`` and
``sourcing`` name the revision everywhere, ``findings`` locates every finding. Nothing here speaks to the Agents API
except through :mod:`reconciler.api`, and nothing reads ``configs/`` except
through the loader.
"""

from reconciler.daemon.loop import WatchOptions, run

__all__ = ["WatchOptions", "run"]
