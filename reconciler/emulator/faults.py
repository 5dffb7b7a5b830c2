"""Injected faults: latency, 5xx, 429 with Retry-After, dropped connections, and write semantics.

Set at start (``reconciler emulator --latency-ms …``) or at run time through
``PUT /_emulator/faults``. The middleware asks :meth:`Faults.decide` once per
``/v1`` request *before* any handler runs, so a faulted request never changes
state: a write either fully happened (no fault) or did not happen at all.
Hooks under ``/_emulator`` are never faulted.

Two faults change what a write *does* instead (applied by the PATCH route, for
every request while set): ``patch_replaces`` makes ``PATCH …/variables``
replace the variables with the body instead of shallow-merging it, and
``trim_strings`` strips leading/trailing whitespace from every string value of
the body (nested ones too) before it is stored. They stand for what the real
service might do and the reconciler cannot know in advance; its write
verification must catch both (``apply.unexpected_result``).
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


#: The true/false settings (the others are numbers).
SWITCHES = frozenset({"patch_replaces", "trim_strings"})


def _trimmed(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _trimmed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trimmed(v) for v in value]
    return value


class FaultKind(enum.StrEnum):
    NONE = "none"
    DROP = "drop"              # close the connection without any response bytes
    ERROR = "error"            # 500 or 503 with the error envelope
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After


@dataclass(frozen=True)
class Faults:
    """Fault settings; every field defaults to 0 (no fault)."""

    latency_ms: float = 0
    """Fixed delay added to every /v1 request."""
    jitter_ms: float = 0
    """Extra uniform random delay in [0, jitter_ms]."""
    error_rate: float = 0.0
    """Probability of answering 500 or 503 (half each) instead of handling the request."""
    rate_limit_rate: float = 0.0
    """Probability of answering 429."""
    retry_after_s: int = 0
    """Value of the 429's Retry-After header in whole seconds (0 = retry at once)."""
    drop_rate: float = 0.0
    """Probability of closing the connection without sending a response."""
    patch_replaces: bool = False
    """``PATCH …/variables`` replaces the variables with the body instead of merging it in."""
    trim_strings: bool = False
    """``PATCH …/variables`` stores every string value of the body with surrounding whitespace stripped."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Faults":
        """Build from a hook body; raises ValueError naming the bad key."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name in names:
            raw = data.get(name, 0)
            if raw is None:
                raw = 0
            if name in SWITCHES:
                if not isinstance(raw, bool) and raw != 0:
                    raise ValueError(f"{name} must be true or false")
                values[name] = bool(raw)
                continue
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise ValueError(f"{name} must be a number")
            values[name] = raw
        faults = cls(**values)
        faults.check()
        return faults

    def check(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "drop_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("latency_ms", "jitter_ms", "retry_after_s"):
            if not 0 <= getattr(self, name) <= 3_600_000:
                raise ValueError(f"{name} must be between 0 and 3600000")
        if int(self.retry_after_s) != self.retry_after_s:
            raise ValueError("retry_after_s must be a whole number of seconds")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def incoming_variables(self, variables: dict[str, Any]) -> dict[str, Any]:
        """The PATCH body's variables as this emulator stores them (``trim_strings`` rewrites them)."""
        return _trimmed(variables) if self.trim_strings else variables

    def merged(self, current: Mapping[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        """The page's variables after a PATCH: a shallow merge, or the body alone (``patch_replaces``)."""
        return dict(variables) if self.patch_replaces else {**current, **variables}

    def delay_s(self, rng: random.Random) -> float:
        jitter = rng.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0
        return (self.latency_ms + jitter) / 1000.0

    def decide(self, rng: random.Random) -> FaultKind:
        """One independent draw per kind, in the order drop, error, rate limit."""
        if self.drop_rate and rng.random() < self.drop_rate:
            return FaultKind.DROP
        if self.error_rate and rng.random() < self.error_rate:
            return FaultKind.ERROR
        if self.rate_limit_rate and rng.random() < self.rate_limit_rate:
            return FaultKind.RATE_LIMIT
        return FaultKind.NONE
