"""Settings, resolved once: CLI flag > environment variable > ``reconciler.yaml``.

OWNER: the loader/validation work (issue 3) implements :func:`load_settings`
(pydantic model of reconciler.yaml, unknown keys are errors with file:line).
The dataclasses below are the contract the rest of the code reads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.model import ClientEnv

#: Regions of the live API; ``api.region: us`` -> https://api.us.poly.ai
REGIONS = ("us", "uk", "eu", "studio")
LOCAL = "local"


class SyncMode(enum.StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


@dataclass(frozen=True)
class ApiSettings:
    url: str
    """``"local"`` (embedded emulator, state in ``.reconciler/local.db``) or an https base URL."""
    timeout: float = 30.0
    """Seconds for connect/read/write of one request."""
    backoffs: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    """Delay before retry n (jittered); its length bounds the number of retries."""
    max_retry_seconds: float = 120.0
    """Bound on the total time spent retrying one request."""

    @property
    def is_local(self) -> bool:
        return self.url == LOCAL


@dataclass(frozen=True)
class EnvironmentSettings:
    name: ClientEnv
    sync: SyncMode = SyncMode.AUTO
    """Daemon only: ``auto`` applies, ``manual`` only reports."""
    self_heal: bool = False
    """Daemon only: revert out-of-band edits (``true``) or report them as drift."""


@dataclass(frozen=True)
class Settings:
    root: Path
    """The config repository (directory holding reconciler.yaml)."""
    api: ApiSettings
    environments: tuple[EnvironmentSettings, ...] = tuple(EnvironmentSettings(e) for e in ClientEnv)
    """Promotion order; environments are planned and applied in this order."""
    concurrency: int = 16
    """Agents reconciled at once."""
    resync: float = 60.0
    """Daemon full resync period, seconds."""
    api_key: str | None = field(default=None, repr=False)
    """From POLYAI_API_KEY only; never printed."""

    @property
    def promotion_order(self) -> tuple[ClientEnv, ...]:
        return tuple(e.name for e in self.environments)
