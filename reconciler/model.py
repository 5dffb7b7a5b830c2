"""Values that flow from the loader to the planner: desired state, live state, findings.

The loader builds a :class:`DesiredState` from the repository; the api client
builds :class:`LiveAgent` values from the Agents API; validation and policies
produce :class:`Finding` values. None of these types does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: agentId syntax of the live API (DESIGN.md §1).
AGENT_ID_PATTERN = r"^[a-zA-Z0-9-]+$"

#: What replaces a sensitive value (``x-sensitive: true`` / ``writeOnly: true``) in any output.
MASK = "***"


class ClientEnv(enum.StrEnum):
    """A config page's environment, in default promotion order."""

    SANDBOX = "sandbox"
    PRE_RELEASE = "pre-release"
    LIVE = "live"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(e.value for e in cls)


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def blocks(self) -> bool:
        """An error blocks its agent x environment (and later ones in promotion order)."""
        return self is Severity.ERROR


PathPart = str | int
JsonPath = tuple[PathPart, ...]


def leaves(doc: Any) -> Iterator[tuple[JsonPath, Any]]:
    """Every scalar of a JSON document with its path (containers walked, not yielded)."""
    todo: list[tuple[JsonPath, Any]] = [((), doc)]
    while todo:
        path, node = todo.pop()
        if isinstance(node, Mapping):
            todo.extend((path + (k,), v) for k, v in node.items())
        elif isinstance(node, list):
            todo.extend((path + (i,), v) for i, v in enumerate(node))
        else:
            yield path, node


def format_path(parts: Iterable[PathPart]) -> str:
    """``("sites", 0, "phone")`` -> ``"sites[0].phone"``; the root is ``""``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class YamlNote:
    """A plain scalar that YAML 1.1 would have read differently (a ``yaml.ambiguous`` warning)."""

    line: int
    path: JsonPath
    text: str                                   # the scalar as written
    message: str
    key: bool = False                           # the note is about a mapping key, not a value


@dataclass(frozen=True)
class SourceMap:
    """Where each node of one YAML document sits: JSON path -> 1-based line.

    ``key_lines`` holds the line of a mapping key, ``lines`` the line where the
    node's value starts. :meth:`line_of` falls back to the nearest ancestor, so
    a path that does not exist (a missing required key) points at its parent.
    """

    file: str                                   # path relative to the repository root
    lines: Mapping[JsonPath, int] = field(default_factory=dict)
    key_lines: Mapping[JsonPath, int] = field(default_factory=dict)
    notes: tuple[YamlNote, ...] = ()            # yaml.ambiguous remarks, in document order
    big_ints: tuple[JsonPath, ...] | None = None
    """Paths of integers outside the 64-bit range, found while building the data (document order);
    None when unknown (data not built by :mod:`reconciler.repository.yamlsafe`): then the data is walked."""
    digest: bytes | None = field(default=None, compare=False, repr=False)
    """The file's content digest (:func:`reconciler.repository.reader.content_digest`) when read by the loader: the key
    of its results in the on-disk cache. Not part of equality."""

    def line_of(self, path: Iterable[PathPart]) -> int | None:
        parts = tuple(path)
        while True:
            if parts in self.lines:
                return self.lines[parts]
            if not parts:
                return None
            parts = parts[:-1]

    def key_line_of(self, path: Iterable[PathPart]) -> int | None:
        parts = tuple(path)
        return self.key_lines.get(parts) or self.line_of(parts)


@dataclass(frozen=True)
class Finding:
    """One problem or remark, located where possible. Serialised as-is by every report."""

    severity: Severity
    code: str                          # stable identifier, e.g. "yaml.duplicate_key", "values.invalid"
    message: str                       # already masked: never contains a sensitive value
    file: str | None = None            # relative to the repository root
    line: int | None = None
    path: str | None = None            # JSON path inside the document, e.g. "sites[0].phone"
    agent: str | None = None
    env: str | None = None
    policy: str | None = None          # policy name, for policy findings
    rule: str | None = None            # rule id, for policy findings
    rule_file: str | None = None       # where the policy rule is written
    rule_line: int | None = None
    waived: str | None = None          # the waiver's reason when a waiver covers this finding
    request_id: str | None = None      # a failed API request: the X-PolyAI-Correlation-Id it was sent with

    @property
    def blocks(self) -> bool:
        return self.severity.blocks and self.waived is None

    def to_json(self) -> dict[str, Any]:
        data = {"severity": self.severity.value, "code": self.code, "message": self.message,
                "file": self.file, "line": self.line, "path": self.path}
        for name in ("agent", "env", "policy", "rule", "rule_file", "rule_line", "waived", "request_id"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True)
class EnvDesired:
    """What the repository wants for one agent x environment. ``None``: that file is absent (unmanaged part)."""

    agent: str
    env: ClientEnv
    schema: Mapping[str, Any] | None = None
    values: Mapping[str, Any] | None = None
    schema_map: SourceMap | None = None
    values_map: SourceMap | None = None

    @property
    def schema_file(self) -> str | None:
        return self.schema_map.file if self.schema_map else None

    @property
    def values_file(self) -> str | None:
        return self.values_map.file if self.values_map else None


@dataclass(frozen=True)
class AgentDesired:
    agent: str
    envs: Mapping[ClientEnv, EnvDesired]       # only managed environments (directory present)


@dataclass(frozen=True)
class DesiredState:
    """The whole repository after loading and validation (policies add their findings later)."""

    root: Path
    agents: Mapping[str, AgentDesired]
    findings: tuple[Finding, ...] = ()

    def findings_for(self, agent: str, env: ClientEnv | str | None = None) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings
                     if f.agent == agent and (env is None or f.env == str(env)))

    @property
    def global_errors(self) -> tuple[Finding, ...]:
        """Errors that make the whole run untrustworthy (settings, malformed policy files)."""
        return tuple(f for f in self.findings if f.blocks and f.agent is None)


@dataclass(frozen=True)
class LivePage:
    """One config page as the Agents API returns it."""

    env: ClientEnv
    schema: Mapping[str, Any]
    variables: Mapping[str, Any]
    last_updated: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "LivePage":
        return cls(env=ClientEnv(data["clientEnv"]), schema=data.get("schema") or {},
                   variables=data.get("variables") or {}, last_updated=data.get("lastUpdated"))


@dataclass(frozen=True)
class LiveAgent:
    agent: str
    pages: Mapping[ClientEnv, LivePage]
