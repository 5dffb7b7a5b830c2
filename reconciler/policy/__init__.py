"""Policy engine (issue 5). PLACEHOLDER seam until the policy work lands.

Contract used by the validation pipeline and the CLI:

- ``check_repository(desired, *, today=None) -> tuple[Finding, ...]``: load
  ``policies/*.yaml`` under ``desired.root`` and evaluate the value rules
  against every agent x environment (malformed policy files are findings with
  ``agent=None``, i.e. run-wide errors).
- ``check_plan(plan, root, *, allow_large_change=False, today=None) -> Plan``:
  evaluate change rules (blast radius) on a plan and return a new Plan in which
  the affected agent x environments have status ``error`` and carry the finding.
"""

from __future__ import annotations

import datetime as _dt

from reconciler.model import DesiredState, Finding
from reconciler.plan import Plan


def check_repository(desired: DesiredState, *, today: _dt.date | None = None) -> tuple[Finding, ...]:
    return ()


def check_plan(plan: Plan, root, *, allow_large_change: bool = False, today: _dt.date | None = None) -> Plan:
    return plan
