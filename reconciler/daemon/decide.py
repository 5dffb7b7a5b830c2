"""What one pass does with one planned page: apply, revert, report, or leave it. Pure.

Called by :mod:`reconciler.daemon.reconcile` for every agent x environment of
a fresh plan. It reads the environment's settings (``sync``, ``selfHeal``),
the page's :class:`~reconciler.daemon.state.PageRecord` and the contested
keys, and returns a :class:`Decision`: the env plan to hand to the executor
(its writes kept, trimmed or removed) and the status the page will have if
those writes succeed. No I/O, no clock: the caller passes what it read.

Rules (DESIGN.md §6):

- ``sync: manual`` never writes: a difference is ``drift``.
- A difference whose desired content is the one last applied (the record's
  hash did not move) was made *out of band*: with ``selfHeal: true`` it is
  reverted, with ``selfHeal: false`` it is ``drift`` and left alone until the
  repository changes that page. Without a record (first start, lost or
  corrupt state) the repository wins: the page is applied.
- A contested key is never written while its repository value is the one it
  was contested at; it is cleared when that value changes or live comes back
  to it. A key reverted ``CONTEST_REVERTS`` times within the window becomes
  contested instead of being reverted again.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from reconciler.daemon.state import CONTEST_REVERTS, PageRecord, value_hash
from reconciler.planning.plan import EnvPlan, Status
from reconciler.settings import EnvironmentSettings, SyncMode


class PageStatus(enum.StrEnum):
    """A page's state as the daemon reports it (``/status``, metrics, the status page)."""

    IN_SYNC = "in_sync"
    APPLYING = "applying"
    DRIFT = "drift"
    ERROR = "error"
    UNMANAGED = "unmanaged"


class Cause(enum.StrEnum):
    """Who made live differ from the repository."""

    NONE = "none"
    REPOSITORY = "repository"
    OUT_OF_BAND = "out_of_band"


@dataclasses.dataclass(frozen=True)
class Decision:
    env_plan: EnvPlan
    """What the executor gets: the planned writes, trimmed (contested keys) or removed (report only)."""
    status: PageStatus
    """The page's status once the writes (if any) succeeded."""
    cause: Cause = Cause.NONE
    self_heal: bool = False
    """The writes revert an out-of-band edit."""
    contested: tuple[str, ...] = ()
    """Contested keys of the page after this decision (each still differs from the repository)."""
    newly_contested: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()
    """Keys that were contested and no longer are."""
    hold: Mapping[str, Any] | None = None
    """A sync window or ``suspend`` holds the writes (:mod:`reconciler.daemon.windowholds`): ``window_hold``."""

    @property
    def writes(self) -> bool:
        return self.env_plan.has_writes and self.env_plan.status is Status.CHANGES


def decide(env_plan: EnvPlan, env: EnvironmentSettings, record: PageRecord | None, desired_hash: str | None,
           desired_values: Mapping[str, Any] | None, contested: Mapping[str, str],
           reverts: Mapping[str, int]) -> Decision:
    """The decision for one page; ``contested``: key -> value hash when contested, ``reverts``: recent counts."""
    if env_plan.status is Status.UNMANAGED:
        return Decision(env_plan, PageStatus.UNMANAGED, cleared=tuple(contested))
    if env_plan.status in (Status.ERROR, Status.SKIPPED):
        return Decision(env_plan, PageStatus.ERROR, contested=tuple(contested))
    still, cleared = _split_contested(env_plan, desired_values or {}, contested)
    if not env_plan.has_writes:
        return Decision(env_plan, PageStatus.IN_SYNC, cleared=cleared)
    out_of_band = record is not None and desired_hash is not None and record.desired_hash == desired_hash
    cause = Cause.OUT_OF_BAND if out_of_band else Cause.REPOSITORY
    if env.sync is SyncMode.MANUAL or (out_of_band and not env.self_heal):
        return Decision(_without_writes(env_plan), PageStatus.DRIFT, cause, contested=still, cleared=cleared)
    newly = tuple(k for k in env_plan.variables_patch
                  if out_of_band and k not in still and reverts.get(k, 0) >= CONTEST_REVERTS)
    keep = set(env_plan.variables_patch) - set(still) - set(newly)
    trimmed = _trim(env_plan, keep)
    left = tuple(still) + newly
    status = PageStatus.DRIFT if left else PageStatus.IN_SYNC
    if not trimmed.has_writes:
        return Decision(trimmed, PageStatus.DRIFT, cause, contested=left, newly_contested=newly, cleared=cleared)
    return Decision(trimmed, status, cause, self_heal=out_of_band, contested=left, newly_contested=newly,
                    cleared=cleared)


def _split_contested(env_plan: EnvPlan, desired_values: Mapping[str, Any],
                     contested: Mapping[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(still contested, cleared): cleared when live is back to desired or the repository's value moved."""
    still, cleared = [], []
    for key, at in contested.items():
        differs = key in env_plan.variables_patch
        same_repo_value = key in desired_values and value_hash(desired_values[key]) == at
        (still if differs and same_repo_value else cleared).append(key)
    return tuple(still), tuple(cleared)


def _trim(env_plan: EnvPlan, keep: set[str]) -> EnvPlan:
    if keep == set(env_plan.variables_patch):
        return env_plan
    patch = {k: v for k, v in env_plan.variables_patch.items() if k in keep}
    masked = None if env_plan.masked_patch is None else {k: v for k, v in env_plan.masked_patch.items() if k in keep}
    return dataclasses.replace(env_plan, variables_patch=patch, masked_patch=masked)


def _without_writes(env_plan: EnvPlan) -> EnvPlan:
    return dataclasses.replace(env_plan, schema_put=None, variables_patch={}, masked_patch=None)
