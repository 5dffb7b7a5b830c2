"""What a plan is made from, as two values: the repository snapshot and the live pages.

Built by the readers — the CLI's (:mod:`reconciler.planning.reading`: the
repository validated while the live reads run) and the daemon's
(:mod:`reconciler.daemon.repository`: a snapshot kept between passes, one GET
per pass) — and consumed by the one road to a plan,
:func:`reconciler.engine.plan_snapshot`. Plain frozen values: nothing here reads
a file or the network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.checks.policy.model import PolicySet
from reconciler.errors import ApiError
from reconciler.model import DesiredState, LiveAgent
from reconciler.settings import Settings


@dataclasses.dataclass(frozen=True)
class RepositorySnapshot:
    """The repository as one value: settings, the validated desired state and the loaded policies."""

    settings: Settings
    """``reconciler.yaml`` with the command line's overrides."""
    desired: DesiredState
    """The validated desired state (agents and every finding, run-wide ones included)."""
    policies: PolicySet
    """``policies/*.yaml`` and the packaged defaults, as the change rules evaluate them."""


@dataclasses.dataclass(frozen=True)
class LivePages:
    """The result of the live reads (one GET per agent): the pages read, and the agents that failed."""

    agents: Mapping[str, LiveAgent] = dataclasses.field(default_factory=dict)
    """Every page of each agent read, by agent id."""
    errors: Mapping[str, ApiError] = dataclasses.field(default_factory=dict)
    """The typed error of each agent that could not be read (the planner makes it an ``error``)."""
    sent_at: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """``time.monotonic()`` when each agent's read was sent, where known (an apply re-reads a page
    whose own read is too old, :mod:`reconciler.apply.writers`)."""
