"""Who moved: the ``cause`` of each drifted page, from ``git log`` and the page's ``lastUpdated``.

Called by :func:`reconciler.engine.run_drift` after the read-only plan. For
each page that differs, each part that differs is tied to its file (a schema
difference to ``schema.yaml``, a values difference or an orphan key to
``values.yaml``) and that file's last commit is compared with the time live
was last written:

- the file was committed after ``lastUpdated`` (or is changed and not yet
  committed, or the page was never written) -> ``repository``: a merged change
  not yet applied;
- ``lastUpdated`` is after the file's last commit -> ``out_of_band``: an edit in
  the UI or by another tool;
- no git work tree, a file with no history, an unreadable ``lastUpdated``, or
  parts that disagree -> ``unknown``.

No heuristics on values. One ``git log`` and one ``git status`` for the whole
run, and only when something drifted.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path

from reconciler.repository import gitinfo
from reconciler.model import DesiredState
from reconciler.planning.plan import DriftCause, EnvPlan, Plan


def with_causes(plan: Plan, desired: DesiredState, root: Path) -> Plan:
    """``plan`` with ``cause`` set on every page that differs."""
    drifted = [r for r in plan.results if r.differs]
    if not drifted:
        return plan
    times = gitinfo.last_commit_times(root)
    dirty = gitinfo.uncommitted(root) if times is not None else None
    causes = {(r.agent, r.env): page_cause(r, _files(r, desired), times, dirty) for r in drifted}
    return dataclasses.replace(plan, results=tuple(
        dataclasses.replace(r, cause=causes[(r.agent, r.env)]) if (r.agent, r.env) in causes else r
        for r in plan.results))


def _files(r: EnvPlan, desired: DesiredState) -> list[str | None]:
    """The files behind the parts of ``r`` that differ (None: that part has no file)."""
    env = desired.agents[r.agent].envs.get(r.env) if r.agent in desired.agents else None
    files: list[str | None] = []
    if r.schema_diff or r.schema_put is not None:
        files.append(env.schema_file if env else None)
    if r.variables_diff or r.variables_patch or r.orphans:
        files.append(env.values_file if env else None)
    return files


def page_cause(r: EnvPlan, files: list[str | None], times: dict[str, int] | None,
               dirty: set[str] | None) -> DriftCause:
    """The cause of one drifted page (pure: git facts are passed in)."""
    if times is None or not files:
        return DriftCause.UNKNOWN
    written = _parse_time(r.live_last_updated)
    causes = {_part_cause(f, written, times, dirty or set(), r.live_last_updated is None) for f in files}
    return causes.pop() if len(causes) == 1 else DriftCause.UNKNOWN


def _part_cause(file: str | None, written: float | None, times: dict[str, int], dirty: set[str],
                never_written: bool) -> DriftCause:
    if file is None:
        return DriftCause.UNKNOWN
    if file in dirty:
        return DriftCause.REPOSITORY          # changed in the working tree: newer than any write
    if file not in times:
        return DriftCause.UNKNOWN             # never committed
    if never_written:
        return DriftCause.REPOSITORY          # committed, and live never written
    if written is None:
        return DriftCause.UNKNOWN
    return DriftCause.REPOSITORY if times[file] > written else DriftCause.OUT_OF_BAND


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        stamp = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    return stamp.timestamp()
