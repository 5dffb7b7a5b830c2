"""Blast radius per revision: a new revision that changes too much is held until approved.

Called by the daemon's loop whenever a load brings a new revision (a commit of
the git source, or a git-sync flip to a new ``HEAD``), before the new snapshot
replaces the one being applied. The pages the revision changes are those whose
desired content differs from the snapshot being applied (at start: from what
the state record says was last applied; pages it never applied do not count).
They are put through the repository's own ``blast_radius`` rules (the same
:func:`reconciler.checks.policy.checks.blast_radius.evaluate` as ``plan``,
fleet = the agents this replica owns; rules of a non-blocking severity only
warn in ``plan`` and never hold here).

A held revision writes nothing: the loop keeps applying (and self-healing) the
previous snapshot. It proceeds when a later revision is within the limit
(compared with the snapshot still being applied) or when an operator approves
it by id (``POST /approve/{revision}``, :mod:`reconciler.daemon.webhook`).
Approvals and holds live in memory: after a restart the comparison is made
against the state record, so a held revision is held again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter

from reconciler.checks.policy.checks import blast_radius
from reconciler.daemon.repository import Snapshot
from reconciler.daemon.revision import Revision
from reconciler.daemon.state import StateRecord
from reconciler.daemon.status import now_iso
from reconciler.model import DesiredState
from reconciler.planning.plan import EnvPlan, Plan, Status

#: An approval names a revision by at least this many leading characters of its id.
MIN_ID = 7


@dataclasses.dataclass(frozen=True)
class Hold:
    revision: Revision
    reason: str
    """The blast-radius rule(s) exceeded, as ``plan`` words them."""
    pages: int
    """Pages (agent x environment) the revision would change."""
    since: str

    def to_json(self) -> dict:
        return {"revision": self.revision.to_json(), "reason": self.reason, "pages": self.pages,
                "since": self.since, "approve": f"POST /approve/{self.revision.id}"}


class Gate:
    """Holds and approvals of one daemon."""

    def __init__(self, registry: CollectorRegistry, log: logging.Logger) -> None:
        self.held: Hold | None = None
        self.approved: set[str] = set()
        self.log = log
        self.held_total = Counter("reconciler_held_revisions", "Revisions held for exceeding the blast radius",
                                  registry=registry)
        self._counted: set[str] = set()
        self.on_hold: Callable[[Hold, Snapshot], None] | None = None
        """Told once per newly held revision (the daemon's notifier: ``revision_held``)."""

    def admit(self, old: Snapshot | None, new: Snapshot, record: StateRecord) -> bool:
        """True when ``new`` may replace ``old``; False (and ``held`` set) when it is held."""
        revision = new.source_revision
        if revision is None or (old is not None and old.desired.agents and old.revision == new.revision):
            return True
        changed = _changed_pages(old, new, record)
        reasons = list(_excesses(old, new, changed))
        if not reasons or revision.id in self.approved:
            if self.held is not None:
                why = "approved" if revision.id in self.approved and reasons else "within the blast radius"
                self.log.info(f"revision {revision.short} {why}; applying it (held was "
                              f"{self.held.revision.short})", extra={"event": "hold_released",
                                                                    "revision": revision.id})
            self.held = None
            return True
        if self.held is None or self.held.revision.id != revision.id:
            self.held = Hold(revision, "; ".join(reasons), len(changed), now_iso())
            self.log.warning(f"revision {revision.short} held: it would change {len(changed)} pages; "
                             f"{self.held.reason}; approve with POST /approve/{revision.id}",
                             extra={"event": "revision_held", "revision": revision.id, "count": len(changed)})
            if self.on_hold is not None:
                self.on_hold(self.held, new)
        if revision.id not in self._counted:
            self._counted.add(revision.id)
            self.held_total.inc()
        return False

    def approve(self, revision: str) -> Hold | None:
        """Approve the held revision named by ``revision`` (full id or a prefix); the hold, or None."""
        held = self.held
        if held is None or len(revision) < MIN_ID or not held.revision.id.startswith(revision.lower()):
            return None
        self.approved.add(held.revision.id)
        self.log.warning(f"revision {held.revision.short} approved by an operator", extra={
            "event": "approved", "revision": held.revision.id})
        return held


def empty_like(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` without agents: what a daemon whose first revision is held applies (nothing)."""
    run_wide = tuple(f for f in snapshot.desired.findings if f.agent is None)
    desired = DesiredState(root=snapshot.desired.root, agents={}, findings=run_wide)
    return dataclasses.replace(snapshot, desired=desired, hashes={}, fingerprints={},
                               by_agent={None: run_wide}, revision=None, source_revision=None)


def _changed_pages(old: Snapshot | None, new: Snapshot, record: StateRecord) -> list[tuple[str, str]]:
    now = {(agent, env.value): digest for (agent, env), digest in new.hashes.items()}
    if old is not None and old.desired.agents:
        before = {(agent, env.value): digest for (agent, env), digest in old.hashes.items()}
        return sorted(key for key, digest in now.items() if before.get(key) != digest)
    # At start: against what the record says was applied; a page never applied is adopted, not changed.
    before = {key: page.desired_hash for key, page in record.pages.items()}
    return sorted(key for key, digest in now.items() if key in before and before[key] != digest)


def _excesses(old: Snapshot | None, new: Snapshot, changed: list[tuple[str, str]]) -> Iterator[str]:
    if not changed:
        return
    touched = set(changed)
    results = tuple(EnvPlan(agent=agent, env=env, status=Status.CHANGES if (agent, env.value) in touched
                            else Status.IN_SYNC)
                    for agent, desired in sorted(new.desired.agents.items()) for env in desired.envs)
    plan = Plan(results=results, target="")
    seen: set[tuple[str, str]] = set()
    policies = new.policies.policies + (old.policies.policies if old is not None else ())
    for policy in policies:
        for rule in policy.rules:
            if rule.check != "blast_radius" or (policy.name, rule.id) in seen:
                continue
            seen.add((policy.name, rule.id))
            if not policy.severity_of(rule).blocks:
                continue
            for excess in blast_radius.evaluate(plan, policy.selector, rule.args):
                yield f"{policy.name}/{rule.id}: {excess.describe(rule.args)}"
