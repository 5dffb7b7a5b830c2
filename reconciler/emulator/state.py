"""Mutable run-time state of one emulator app: store, faults, keys and traffic counters.

``app.create_app`` builds one :class:`EmulatorState`; the middleware, routes and
hooks reach it through ``request.app.state.emulator``. The traffic record is
what ``GET /_emulator/stats`` and ``GET /_emulator/requests`` report.
"""

from __future__ import annotations

import collections
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.faults import Faults
from reconciler.emulator.store import Store

#: The request log keeps only the most recent entries.
MAX_LOGGED_REQUESTS = 100_000


class Traffic:
    """Counts ``/v1`` requests by route template and logs them in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_route: collections.Counter[str] = collections.Counter()
        self._total = 0
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_LOGGED_REQUESTS)

    def record(self, method: str, path: str, route: str, *, correlation_id: str | None = None) -> dict[str, Any]:
        """Count one arrival; the returned entry's ``status`` is filled in when the response starts."""
        entry = {"method": method, "path": path, "route": f"{method} {route}", "status": None,
                 "correlation_id": correlation_id}
        with self._lock:
            self._total += 1
            self._by_route[entry["route"]] += 1
            self._log.append(entry)
        return entry

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self._total, "by_route": dict(self._by_route)}

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._log]

    def reset(self) -> None:
        with self._lock:
            self._by_route.clear()
            self._total = 0
            self._log.clear()


@dataclass
class EmulatorState:
    store: Store
    auto_create: bool = False
    api_keys: frozenset[str] = frozenset()
    """Accepted keys; empty = any non-empty key."""
    faults: Faults = field(default_factory=Faults)
    traffic: Traffic = field(default_factory=Traffic)
    rng: random.Random = field(default_factory=random.Random)
