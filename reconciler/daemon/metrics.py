"""Prometheus metrics of the daemon (``GET /metrics``), on a registry of its own.

Counters and the histogram are moved by :mod:`reconciler.daemon.reconcile`
(applies, self-heals, file-event-to-applied time) and by the api client's
observer (every request attempt, by method and status code). The gauges are
read from the :class:`~reconciler.daemon.status.Board` at scrape time, so they
can never disagree with ``/status`` (``reconciler_held_pages`` and
``reconciler_held_until_timestamp_seconds`` from each page's ``window_hold``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler.daemon.decide import PageStatus
from reconciler.daemon.status import Board
from reconciler.model import ClientEnv

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: File event -> applied: most edits land within a second; the tail covers a loaded API.
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, board: Board) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.applies = Counter("reconciler_applies", "Page writes (PUT and/or PATCH of one agent x environment)",
                               ["env", "result"], registry=self.registry)
        self.self_heals = Counter("reconciler_self_heals", "Out-of-band edits reverted (selfHeal: true)",
                                  ["env"], registry=self.registry)
        self.unexpected_results = Counter("reconciler_unexpected_results",
                                          "Writes answered with a page other than the predicted one "
                                          "(apply.unexpected_result); writes are then held", ["env"],
                                          registry=self.registry)
        self.api_requests = Counter("reconciler_api_requests", "Agents API requests sent (retries included)",
                                    ["method", "code"], registry=self.registry)
        self.reconcile_seconds = Histogram("reconciler_reconcile_seconds",
                                           "From a file event to its page applied", buckets=_BUCKETS,
                                           registry=self.registry)
        self.registry.register(_BoardCollector(board))

    def observe_request(self, method: str, code: str) -> None:
        self.api_requests.labels(method=method, code=code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _BoardCollector(Collector):
    def __init__(self, board: Board) -> None:
        self._board = board

    def collect(self) -> Iterator[Metric]:
        pages = GaugeMetricFamily("reconciler_pages", "Pages (agent x environment) per status",
                                  labels=["env", "status"])
        counts: dict[tuple[str, str], int] = {(e.value, s.value): 0 for e in ClientEnv for s in PageStatus}
        for page in list(self._board.pages.values()):
            counts[(page.env.value, page.status.value)] += 1
        for (env, status), n in sorted(counts.items()):
            pages.add_metric([env, status], n)
        yield pages
        yield from _window_holds(list(self._board.pages.values()))
        yield GaugeMetricFamily("reconciler_contested_keys", "Keys no longer reverted because a human keeps "
                                "changing them", value=self._board.contested_count())
        yield GaugeMetricFamily("reconciler_ready", "1 once the first full sync finished",
                                value=1 if self._board.ready else 0)
        yield GaugeMetricFamily("reconciler_last_full_sync_timestamp_seconds",
                                "Unix time the last full sync finished (0: none yet)",
                                value=self._board.last_full_sync or 0)


def _window_holds(pages: list) -> Iterator[Metric]:
    """Pages whose writes a sync window or ``suspend`` holds, and until when (``window_hold`` in /status)."""
    held = GaugeMetricFamily("reconciler_held_pages", "Pages whose writes a sync window or suspend holds",
                             labels=["env", "kind"])
    counts = {(e.value, kind): 0 for e in ClientEnv for kind in ("window", "suspend")}
    until = GaugeMetricFamily("reconciler_held_until_timestamp_seconds",
                              "Unix time a held page may be written again (the window opens)", labels=["agent", "env"])
    for page in pages:
        hold = page.window_hold
        if hold is None:
            continue
        counts[(page.env.value, hold["kind"])] += 1
        if hold.get("until"):
            stamp = _dt.datetime.fromisoformat(hold["until"].replace("Z", "+00:00")).timestamp()
            until.add_metric([page.agent, page.env.value], stamp)
    for (env, kind), n in sorted(counts.items()):
        held.add_metric([env, kind], n)
    yield held
    yield until
