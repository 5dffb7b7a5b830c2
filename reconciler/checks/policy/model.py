"""The parsed form of a policy file: policies, rules, selectors and waivers.

Built by :mod:`reconciler.checks.policy.loader` after a file has passed the shipped
JSON Schema and the semantic checks; read by the engine, the checks and the
``reconciler policies`` command. Every value here is frozen and remembers where
it is written (file and line), so any finding it produces can point back at it.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import Severity

#: The check keys a rule may carry (exactly one per rule), in documentation order.
CHECK_KEYS: tuple[str, ...] = ("pattern", "e164", "jsonschema", "schema_hygiene", "parity",
                               "required_keys", "blast_radius")

#: Checks evaluated on the plan (change rules); the others run against the desired state.
CHANGE_CHECKS: frozenset[str] = frozenset({"blast_radius"})


def matches_any(name: str, globs: tuple[str, ...]) -> bool:
    """fnmatch, case-sensitive: agent ids and environment names are case-sensitive."""
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


@dataclass(frozen=True)
class Selector:
    """Which agents x environments a policy (or a waiver) applies to; globs, default everything."""

    agents: tuple[str, ...] = ("*",)
    environments: tuple[str, ...] = ("*",)

    def matches(self, agent: str, env: str) -> bool:
        return matches_any(agent, self.agents) and matches_any(env, self.environments)


@dataclass(frozen=True)
class Rule:
    """One rule of a policy: an id, one check with its arguments, and where the check reads values."""

    id: str
    check: str                                  # one of CHECK_KEYS
    args: Any                                   # the check's argument, as written (already validated)
    paths: tuple[str, ...] = ()
    severity: Severity | None = None            # overrides the policy's severity
    description: str | None = None
    line: int | None = None                     # line of the rule in the policy file

    @property
    def is_change_rule(self) -> bool:
        return self.check in CHANGE_CHECKS


@dataclass(frozen=True)
class Waiver:
    """An ``exceptions:`` entry: waives one rule's findings for some agents x environments until a date."""

    rule: str
    selector: Selector
    reason: str
    expires: _dt.date
    line: int | None = None

    def is_expired(self, today: _dt.date) -> bool:
        # The expiry day itself is still covered: "expires 2026-12-31" waives through that day.
        return self.expires < today


@dataclass(frozen=True)
class Policy:
    """One policy file."""

    name: str
    file: str                                   # relative to the repository root
    severity: Severity
    selector: Selector
    rules: tuple[Rule, ...]
    exceptions: tuple[Waiver, ...] = ()
    description: str | None = None
    line: int | None = None

    def severity_of(self, rule: Rule) -> Severity:
        return rule.severity or self.severity

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


@dataclass(frozen=True)
class PolicySet:
    """Every policy loaded from ``policies/``, plus the findings about files that could not be used."""

    policies: tuple[Policy, ...] = ()
    findings: tuple[Any, ...] = ()              # Finding values (code policy.invalid), agent=None
    files: Mapping[str, int] = field(default_factory=dict)   # file -> number of rules loaded from it
