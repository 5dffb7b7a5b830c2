"""Which events to send: once per target, trigger, page and revision (``oncePer: revision``), rate-limited.

Pure decisions (:func:`select`, :func:`remember`) over a small state kept in
``.reconciler/notifications/state.json`` by the CLI (:func:`load` / :func:`save`; the directory holds a
``.gitignore`` of ``*``) and in the daemon's state record by the daemon: for each
``target|trigger|agent/env`` the revision last notified, and per target the
times of the last hour's sends. It never holds a URL, a secret or a value.
An event whose send failed or was rate-limited is not remembered, so a later
run sends it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import governance
from reconciler.notify.events import Event
from reconciler.repository import writer

STATE_FILE = (".reconciler", "notifications", "state.json")
_GITIGNORE = "# rtc-reconciler's notification de-duplication state: never commit it\n*\n"
_HOUR = 3600.0


@dataclass
class State:
    sent: dict[str, str] = field(default_factory=dict)
    """``target|trigger|agent/env`` -> the revision notified (``-`` when there was none)."""
    recent: dict[str, list[float]] = field(default_factory=dict)
    """target -> send times (unix seconds) within the last hour."""

    def to_json(self) -> dict[str, Any]:
        return {"sent": dict(self.sent), "recent": {k: list(v) for k, v in self.recent.items()}}

    @classmethod
    def from_json(cls, data: Any) -> "State":
        """The state from :meth:`to_json`'s output; anything unreadable is an empty state (ValueError: never)."""
        try:
            return cls(sent={str(k): str(v) for k, v in data.get("sent", {}).items()},
                       recent={str(k): [float(x) for x in v] for k, v in data.get("recent", {}).items()})
        except (ValueError, TypeError, AttributeError):
            return cls()


def key(target: str, event: Event) -> str:
    return f"{target}|{event.trigger}|{event.agent}/{event.env}"


def select(events: list[Event], rules: governance.Notifications, state: State, now: float
           ) -> tuple[list[tuple[governance.Target, Event]], list[tuple[governance.Target, Event]]]:
    """(to send, held by the rate limit): every subscribed (target, event) not yet sent at its revision."""
    send, limited = [], []
    budget = {t.name: rules.rate_limit - len([s for s in state.recent.get(t.name, []) if now - s < _HOUR])
              for t in rules.targets}
    for event in events:
        for target in rules.targets_for(event.trigger, event.agent, event.env):
            if state.sent.get(key(target.name, event)) == (event.revision or "-"):
                continue
            if budget[target.name] <= 0:
                limited.append((target, event))
                continue
            budget[target.name] -= 1
            send.append((target, event))
    return send, limited


def remember(state: State, target: str, event: Event, now: float) -> None:
    state.sent[key(target, event)] = event.revision or "-"
    state.recent[target] = [s for s in state.recent.get(target, []) if now - s < _HOUR] + [now]


def load(root: Path) -> State:
    path = Path(root).joinpath(*STATE_FILE)
    try:
        if path.is_symlink():
            return State()
        return State.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return State()


def save(root: Path, state: State) -> None:
    path = writer.inside(Path(root), os.path.join(*STATE_FILE))
    if not (path.parent / ".gitignore").exists():
        writer.write_atomic(path.parent / ".gitignore", _GITIGNORE)
    writer.write_atomic(path, json.dumps(state.to_json(), indent=1, sort_keys=True) + "\n")
