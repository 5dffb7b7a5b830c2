"""The daemon's notifier in-process (its own event loop, a real loopback receiver): an event being sent is not
sent again by the passes that find it meanwhile, and what the rate limit exceeds waits (counted once)."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CollectorRegistry

from reconciler import governance
from reconciler.daemon import notifying
from reconciler.daemon.state import StateRecord
from reconciler.notify.events import Event
from tests.hook_receiver import Receiver


def _rules(url: str, rate_limit: int) -> governance.Notifications:
    target = governance.Target("ops", "webhook", url=f"{url}/hook")
    return governance.Notifications((target,), (governance.Subscription(("apply_failed",), ("ops",)),),
                                    rate_limit=rate_limit)


def test_the_notifier_sends_once_while_in_flight_and_holds_what_the_rate_limit_exceeds():
    registry = CollectorRegistry()

    async def scenario(url: str) -> StateRecord:
        record = StateRecord()
        notifier = notifying.Notifier(record, registry, logging.getLogger("test.notify"), lambda: None)
        first = Event("apply_failed", "a", "live", "rev1", "a/live: apply blocked")
        second = Event("apply_failed", "b", "live", "rev1", "b/live: apply blocked")
        rules = _rules(url, rate_limit=1)
        notifier.emit(rules, [first, second])          # the budget (1 per hour) takes the first only
        notifier.emit(rules, [first])                  # in flight: not sent twice
        await asyncio.sleep(0.5)
        notifier.emit(rules, [first, second])          # sent at rev1; the second still over the limit
        await asyncio.sleep(0.2)
        await notifier.aclose()
        return record

    with Receiver() as hooks:
        record = asyncio.run(scenario(hooks.url))
        assert [(d["agent"], d["revision"]) for d in hooks.documents("/hook")] == [("a", "rev1")]
    assert record.notifications.sent == {"ops|apply_failed|a/live": "rev1"}
    for result in ("rate_limited", "sent"):
        assert registry.get_sample_value("reconciler_notifications_total",
                                         {"trigger": "apply_failed", "result": result}) == 1
