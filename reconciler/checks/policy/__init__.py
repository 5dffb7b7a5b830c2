"""Policy engine (issue 5): declarative rules in ``policies/*.yaml``, evaluated offline and on plans.

Public surface (used by validation, the plan/apply engine and the CLI):

- ``check_repository(desired, *, today=None) -> tuple[Finding, ...]``: load
  ``policies/*.yaml`` under ``desired.root`` and evaluate the value rules
  (pattern, e164, jsonschema, schema_hygiene, parity, required_keys) against
  every matched agent x environment. Malformed policy files are ``policy.invalid``
  findings with ``agent=None``, i.e. run-wide errors.
- ``check_plan(plan, root, *, allow_large_change=False, today=None) -> Plan``:
  evaluate change rules (blast_radius) on a plan and return a new Plan in which
  the affected agent x environments have status ``error`` and carry the finding
  (a warning instead with ``allow_large_change``).

``today`` decides which waivers have expired; it defaults to the local date and
is a parameter so tests are deterministic. Modules: ``loader`` (files -> Policy
values or findings), ``paths`` (the path syntax), ``checks/`` (one module per
check), ``waivers``, ``engine`` (evaluation, location, masking).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from reconciler.checks.policy import engine, loader
from reconciler.model import DesiredState, Finding
from reconciler.planning.plan import Plan
from reconciler.repository import loader as repo_loader


def check_repository(desired: DesiredState, *, today: _dt.date | None = None) -> tuple[Finding, ...]:
    policy_set = loader.load_policies(desired.root)
    found = engine.evaluate_repository(desired, policy_set, today or _dt.date.today(),
                                       references=_references(desired, policy_set))
    return policy_set.findings + found


def _references(desired: DesiredState, policy_set) -> DesiredState | None:
    # A run narrowed with --env live still compares live with pre-release: load just those references
    # (through the repository loader, the only reader of configs/); their own problems are not reported here.
    agents, envs = engine.missing_references(desired, policy_set)
    if not agents:
        return None
    return repo_loader.load_repository(Path(desired.root), agents=sorted(agents), envs=sorted(envs))


def check_plan(plan: Plan, root, *, allow_large_change: bool = False, today: _dt.date | None = None,
               policy_set=None) -> Plan:
    """``policy_set``: policies already loaded (the daemon keeps them between passes); default: read ``root``."""
    # Malformed files are not reported again here: validation already made them run-wide errors.
    if policy_set is None:
        policy_set = loader.load_policies(Path(root))
    return engine.evaluate_plan(plan, policy_set, allow_large_change=allow_large_change,
                                today=today or _dt.date.today())
