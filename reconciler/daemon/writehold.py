"""The daemon's hold on its writes after a write came back unexpected (``apply.unexpected_result``).

Used by :mod:`reconciler.daemon.reconcile` around every pass that writes. One
:class:`WriteHold` per daemon process: its :class:`~reconciler.apply.canary.WriteGate`
is shared by all passes, so the daemon's first page write goes alone (even at the
first full sync, when many agents are due at once), and once a write's answer is
not the predicted page no pass starts another write. The hold stays until the
repository changes (a new snapshot: a commit, a file event) or the process
restarts; then writes resume, the first one alone again. While held, the
``/status`` document (``writes_held``), the status page and ``/readyz`` say so.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from reconciler.apply import verify
from reconciler.apply.canary import WriteGate
from reconciler.daemon.status import now_iso
from reconciler.model import Finding, Severity
from reconciler.planning.plan import EnvPlan, Outcome, OutcomeState


class WriteHold:
    """Whether the daemon may write, and why not."""

    def __init__(self) -> None:
        self.gate = WriteGate()
        self.detail: dict[str, Any] | None = None
        """``{"agent", "env", "code", "message", "since"}`` of the write that stopped the writes; None: not held."""
        self._snapshot: weakref.ref[Any] | None = None

    def check(self, snapshot: Any) -> dict[str, Any] | None:
        """The hold's detail while it applies to ``snapshot``; once the repository changed, lift it."""
        if self.detail is None:
            return None
        if self._snapshot is not None and self._snapshot() is snapshot:
            return self.detail
        self.detail, self._snapshot = None, None
        self.gate.reset()
        return None

    def observe(self, outcomes: Sequence[Outcome], snapshot: Any) -> Outcome | None:
        """Hold the writes when an outcome is an unexpected write answer; returns that outcome (newly held)."""
        if self.detail is not None:
            return None
        for outcome in outcomes:
            found = next((e for e in outcome.errors if e.code == verify.UNEXPECTED_RESULT), None)
            if found is not None:
                self.gate.halt()
                self._snapshot = weakref.ref(snapshot)
                self.detail = {"agent": outcome.agent, "env": outcome.env.value, "code": found.code,
                               "message": found.message, "since": now_iso()}
                return outcome
        return None

    def held_outcome(self, env_plan: EnvPlan) -> Outcome:
        """A page this daemon would write, not written because writes are held."""
        where = f"{self.detail['agent']}/{self.detail['env']}" if self.detail else "another page"
        message = (f"not written: writes are held since a write to {where} was answered with an unexpected "
                   f"page ({verify.UNEXPECTED_RESULT}); they resume after the next repository change or a restart")
        finding = Finding(Severity.WARNING, "apply.skipped", message, agent=env_plan.agent, env=env_plan.env.value)
        return Outcome(env_plan.agent, env_plan.env, OutcomeState.SKIPPED, warnings=(finding,))
