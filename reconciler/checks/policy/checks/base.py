"""What a value check receives and returns; shared by every module in ``checks``.

The engine builds one :class:`EnvContext` per (policy, rule, agent x environment)
and turns each :class:`Violation` into a Finding with file:line, severity,
policy/rule location and masking. Checks never read files and never format
locations themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.checks import masking
from reconciler.model import MASK, ClientEnv, DesiredState, EnvDesired, JsonPath, Severity
from reconciler.checks.policy import paths as _paths
from reconciler.checks.policy.model import Rule


@dataclass(frozen=True)
class Violation:
    """One thing a check found wrong. ``where`` says which file of the environment ``path`` points into."""

    message: str
    path: JsonPath = ()
    where: Literal["values", "schema"] = "values"
    code: str | None = None                  # default: "policy.<check>"
    severity: Severity | None = None         # default: the rule's / policy's severity


@dataclass(frozen=True)
class EnvContext:
    desired: DesiredState
    env: EnvDesired
    rule: Rule
    #: Environments outside this run's --agent/--env selection, loaded only to serve as references (parity).
    references: DesiredState | None = None

    def other_env(self, env: ClientEnv) -> EnvDesired | None:
        """Another environment of the same agent: from this run, else from the reference-only load."""
        for state in (self.desired, self.references):
            agent = state.agents.get(self.env.agent) if state is not None else None
            if agent is not None and env in agent.envs:
                return agent.envs[env]
        return None

    def matched_values(self) -> Iterator[tuple[JsonPath, Any]]:
        """Every (json_path, value) the rule's paths match in this environment's values (none if unmanaged)."""
        if self.env.values is None:
            return
        seen: set[JsonPath] = set()
        for path in self.rule.paths:
            for where, value in _paths.resolve(self.env.values, path):
                if where not in seen:
                    seen.add(where)
                    yield where, value

    def is_sensitive(self, path: JsonPath) -> bool:
        return bool(self.env.schema) and masking.is_sensitive(self.env.schema, path)

    def show(self, path: JsonPath, value: Any) -> str:
        """How a value may appear in a message: quoted, or hidden when the schema marks it sensitive."""
        if self.is_sensitive(path):
            return f"value {MASK} (hidden: sensitive)"
        return repr(value) if not isinstance(value, str) else f"'{value}'"
