"""What was applied to each page: ``.reconciler/history/<agent>/<env>.json``, the last N entries.

Written by :mod:`reconciler.engine` after every CLI ``apply`` / ``rollback``
(:func:`record`), read by ``reconciler history`` (:func:`read`). The daemon
makes the same entries (:func:`entries_of`) and keeps them in its state record
(:mod:`reconciler.daemon.history`). One entry per
page the run wrote or tried to write: the repository's git revision, the
time, the command, the outcome, whether the schema was PUT, the *names* of
the changed top-level keys (never a value: nothing sensitive can rest here)
and the API's correlation id when a failure carried one. Each page keeps its
last ``history.keep`` entries (default 10), oldest first.

The directory holds a ``.gitignore`` of ``*`` (never committed). A missing or
unreadable file is an empty history, never an error: history decorates a
run, it never stops one.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.model import ClientEnv
from reconciler.planning.plan import ApplyResult, EnvPlan, Outcome, OutcomeState
from reconciler.repository import gitinfo, writer

HISTORY_DIR = (".reconciler", "history")
DEFAULT_KEEP = 10
_GITIGNORE = "# rtc-reconciler's apply history: never commit it\n*\n"
_ERROR_ID = re.compile(r"\(error_id ([A-Za-z0-9._:-]{1,100})\)")
#: Outcomes that mean a write was sent (or tried): they make an entry.
_WRITTEN = (OutcomeState.APPLIED, OutcomeState.FAILED)


@dataclass(frozen=True)
class Entry:
    """One apply of one page."""

    agent: str
    env: str
    revision: str | None
    """``git rev-parse HEAD`` of the repository when applied (None: not a git work tree)."""
    time: str
    """When the run wrote it, ISO 8601 UTC."""
    command: str
    """``apply`` or ``rollback``; ``watch`` for the daemon's writes."""
    outcome: str
    """``applied`` or ``failed``."""
    schema_put: bool
    changed_keys: tuple[str, ...]
    """Top-level variable keys sent (planned, for a failure): names only, never values."""
    correlation_id: str | None = None
    """The API's ``error_id`` of a failed write, when it sent one."""
    rolled_back_to: str | None = None
    """``rollback --to``: the revision whose files were applied."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["changed_keys"] = list(self.changed_keys)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Entry":
        return cls(agent=str(data["agent"]), env=str(data["env"]), revision=data.get("revision"),
                   time=str(data["time"]), command=str(data.get("command") or "apply"),
                   outcome=str(data["outcome"]), schema_put=bool(data.get("schema_put")),
                   changed_keys=tuple(str(k) for k in data.get("changed_keys") or ()),
                   correlation_id=data.get("correlation_id"), rolled_back_to=data.get("rolled_back_to"))


def entries_of(result: ApplyResult, *, revision: str | None, time: str, command: str = "apply",
               rolled_back_to: str | None = None) -> list[Entry]:
    """The entries an apply result makes (pages written or tried). Pure."""
    plans = {(r.agent, r.env): r for r in result.plan.results}
    out = []
    for outcome in result.outcomes:
        if outcome.state in _WRITTEN:
            out.append(_entry(outcome, plans.get((outcome.agent, outcome.env)), revision, time, command,
                              rolled_back_to))
    return out


def _entry(outcome: Outcome, planned: EnvPlan | None, revision: str | None, time: str, command: str,
           rolled_back_to: str | None) -> Entry:
    if outcome.state is OutcomeState.APPLIED:
        keys, schema = tuple(outcome.patched_keys), outcome.schema_put
    else:
        keys = tuple(planned.variables_patch) if planned else ()
        schema = bool(planned and planned.schema_put is not None)
    # The API's error_id when it differs from the request's correlation id (the message names it), else that id.
    ids = (m.group(1) if m else f.request_id for f in outcome.errors
           for m in [_ERROR_ID.search(f.message)] if m or f.request_id)
    return Entry(agent=outcome.agent, env=outcome.env.value, revision=revision, time=time, command=command,
                 outcome=outcome.state.value, schema_put=schema, changed_keys=keys,
                 correlation_id=next(ids, None), rolled_back_to=rolled_back_to)


def record_result(root: Path, result: ApplyResult, *, keep: int, time: str, command: str = "apply",
                  rolled_back_to: str | None = None) -> None:
    """One entry per page ``result`` wrote or tried, at the repository's HEAD; a failure to write is logged."""
    entries = entries_of(result, revision=gitinfo.revision(root), time=time, command=command,
                         rolled_back_to=rolled_back_to)
    try:
        record(root, entries, keep=keep)
    except (OSError, ConfigError) as exc:          # history decorates a run: it never fails one
        logging.getLogger(__name__).warning(f"apply history not written: {exc}")


def record(root: Path, entries: Iterable[Entry], keep: int = DEFAULT_KEEP) -> None:
    """Append ``entries`` to their pages' files, keeping the last ``keep`` of each."""
    by_page: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        by_page.setdefault((entry.agent, entry.env), []).append(entry)
    if not by_page:
        return
    directory = _directory(Path(root))
    for (agent, env), new in by_page.items():
        path = directory / agent / f"{env}.json"
        kept = (_read_file(path) + new)[-keep:]
        writer.write_atomic(path, json.dumps([e.to_json() for e in kept], indent=2, ensure_ascii=False) + "\n")


def read(root: Path, agent: str | None = None, env: ClientEnv | str | None = None) -> list[Entry]:
    """Every recorded entry (of ``agent``, of ``env``), sorted by page then time."""
    base = Path(root).joinpath(*HISTORY_DIR)
    if not base.is_dir():
        return []
    out: list[Entry] = []
    for agent_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
        if agent is not None and agent_dir.name != agent:
            continue
        for path in sorted(agent_dir.glob("*.json")):
            if env is None or path.stem == str(env):
                out += _read_file(path)
    order = {e.value: i for i, e in enumerate(ClientEnv)}
    return sorted(out, key=lambda e: (e.agent, order.get(e.env, 9)))


def _read_file(path: Path) -> list[Entry]:
    try:
        if path.is_symlink():
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Entry.from_json(item) for item in data]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _directory(root: Path) -> Path:
    directory = writer.inside(root, os.path.join(*HISTORY_DIR))
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        writer.write_atomic(ignore, _GITIGNORE)
    return directory
