"""A reviewed plan is applied whole or not at all: its approval is decided before the first write.

Called by :func:`reconciler.engine.run_apply_saved` (``apply --plan FILE``) once the
saved plan has been checked against the repository and live. A plan that writes
``live`` needs approval — ``--auto-approve`` or one interactive "yes" — and
without it the whole plan is refused before anything is sent: applying its
sandbox half and refusing live would spend the reviewed plan (its pages'
``lastUpdated`` moved) and leave the environments half promoted. The refusal
leaves the plan file usable, so the same plan can be applied again with
approval. An interactive "yes" covers the whole plan, asked once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from reconciler.errors import ReconcilerError
from reconciler.model import ClientEnv
from reconciler.planning.plan import Plan


class PlanNotApprovedError(ReconcilerError):
    """A saved plan writes live and was not approved: nothing was written, the plan is still usable."""


def live_agents(plan: Plan) -> tuple[str, ...]:
    """Agents whose ``live`` page the plan would write."""
    return tuple(r.agent for r in plan.results if r.env is ClientEnv.LIVE and r.status.needs_apply and r.has_writes)


def approve(plan: Plan, approve_live: Callable[[Plan], bool] | bool, started: float) -> tuple[bool, float]:
    """(live may be written, when the run's writes start) — or :class:`PlanNotApprovedError` before any write.

    ``approve_live``: True (``--auto-approve``), False (not interactive) or the question to ask once.
    After a human answered, the run's clock restarts (every page is re-read before it is written).
    """
    agents = live_agents(plan)
    if not agents or approve_live is True:
        return True, started
    if approve_live is False:
        raise PlanNotApprovedError(
            f"the plan writes live for {len(agents)} agent(s) ({', '.join(agents)}) and this run is not "
            "interactive: nothing was written, and the plan file is still usable; apply it whole with "
            "--auto-approve (a reviewed plan is applied whole or not at all)")
    if not approve_live(plan):
        raise PlanNotApprovedError("not approved: nothing was written, and the plan file is still usable "
                                   "(a reviewed plan is applied whole or not at all)")
    return True, time.monotonic()
