"""The governance sections of ``reconciler.yaml``: who owns a key, when live may change, who hears about it.

Read by :mod:`reconciler.settings` (the pydantic models of these sections,
:mod:`reconciler.repository.governancefile`, are fields of its file model, so
``reconciler schema settings`` covers them and an unknown key is an error at its
line) and turned into the frozen values that
:class:`reconciler.settings.Settings` carries in ``governance``. This module
imports no pydantic: the commands that only read the values (``validate``)
never pay for the models.

- ``ownership``: keys the live side owns (edited on purpose in the Configuration
  Builder); applied by :mod:`reconciler.planning.ownership`, checked by
  :mod:`reconciler.checks.ownership`, left out by ``import``.
- ``windows`` and ``suspend``: when live may be written
  (:mod:`reconciler.apply.windows` answers, the clock passed in);
- ``history`` and ``notifications``: what the CLI and the daemon record and who
  they tell (:mod:`reconciler.apply.history`, :mod:`reconciler.notify`,
  :mod:`reconciler.daemon.history`, :mod:`reconciler.daemon.notifying`).

Scopes use shell-style globs on agent ids (``acme-*``) and environment names;
an empty ``envs`` list means every environment. Nothing here does I/O.
"""

from __future__ import annotations

import fnmatch
import re
from urllib.parse import urlsplit
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.model import ClientEnv, JsonPath

if TYPE_CHECKING:
    from reconciler.repository.governancefile import NotificationsFile, OwnershipFile, SuspendFile, WindowFile

#: A window's ``duration``: ``2d``, ``8h``, ``1h30m``, ``90m``, ``45s`` (or a number of seconds).
WINDOW_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
#: Longest window: the next opening is looked for about a month ahead.
MAX_WINDOW = 31 * 86400


def window_seconds(value: Any) -> float:
    """``"8h"``, ``"1h30m"``, ``"2d"``, ``"90m"``, or seconds -> seconds (1 minute .. 31 days)."""
    if isinstance(value, bool):
        raise ValueError("duration must be such as 30m, 8h, 1h30m or 2d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = WINDOW_DURATION.match(str(value).strip())
        if not match or not any(match.groups()):
            raise ValueError(f"duration {value!r} is not such as 30m, 8h, 1h30m or 2d")
        d, h, m, s = (int(g) if g else 0 for g in match.groups())
        seconds = float(d * 86400 + h * 3600 + m * 60 + s)
    if not 60 <= seconds <= MAX_WINDOW:
        raise ValueError("duration must be between 1m and 31d")
    return seconds


#: What can send a notification (``applied`` only for the environments a subscription lists).
TRIGGERS = ("apply_failed", "applied", "drift_detected", "contested_key", "revision_held", "unexpected_result")


def check_notify_url(url: str) -> str:
    """https, or plain http on loopback only (as for the API URL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("notification URL must be an https:// URL")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("notification URL must use https (plain http is only allowed on loopback)")
    return url


def check_envs(names: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in ClientEnv.names()]
    if unknown:
        raise ValueError(f"unknown environment {unknown[0]!r}; allowed: {', '.join(ClientEnv.names())}")
    return list(names)


def parse_pointer(text: str) -> JsonPath:
    """``holiday_message`` -> ``("holiday_message",)``; ``/a/b~1c/0`` -> ``("a", "b/c", 0)`` (RFC 6901).

    A part made of digits addresses an array item when the document holds an array there.
    """
    if not isinstance(text, str) or not text or text == "/":
        raise ValueError(f"{text!r} is not a key or a JSON pointer (e.g. holiday_message or /opening/closed)")
    if not text.startswith("/"):
        return (text,)
    parts: list[str | int] = []
    for raw in text[1:].split("/"):
        if raw == "" or "~" in raw.replace("~0", "").replace("~1", ""):
            raise ValueError(f"{text!r} is not a valid JSON pointer (empty part or a bare '~')")
        part = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() and parts else part)
    return tuple(parts)


@dataclass(frozen=True)
class Scope:
    """Which pages a rule covers: agent globs and environment names (empty: every environment)."""

    agents: tuple[str, ...] = ("*",)
    envs: tuple[str, ...] = ()

    def matches(self, agent: str, env: ClientEnv | str) -> bool:
        env_name = env.value if isinstance(env, ClientEnv) else str(env)
        return (not self.envs or env_name in self.envs) and \
            any(fnmatch.fnmatchcase(agent, glob) for glob in self.agents)

    def describe(self) -> str:
        return f"agents {', '.join(self.agents)}; environments {', '.join(self.envs) or 'all'}"


@dataclass(frozen=True)
class OwnershipRule:
    """One ``ownership`` entry: on the pages of ``scope``, live owns ``keys`` (as written in the file)."""

    scope: Scope
    keys: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"agents": list(self.scope.agents), "envs": list(self.scope.envs), "liveOwns": list(self.keys)}


@dataclass(frozen=True)
class WindowRule:
    """One ``windows`` entry (see :mod:`reconciler.apply.windows`)."""

    kind: str                          # "allow" | "deny"
    schedule: str                      # 5-field cron
    duration: float                    # seconds
    time_zone: str = "UTC"
    scope: Scope = Scope()
    manual_sync: bool = False

    def describe(self) -> str:
        hours = f"{self.duration / 3600:g}h" if self.duration >= 3600 else f"{self.duration / 60:g}m"
        return f'"{self.schedule}" for {hours} ({self.time_zone})'

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "schedule": self.schedule, "duration_seconds": self.duration,
                "timeZone": self.time_zone, "agents": list(self.scope.agents), "envs": list(self.scope.envs),
                "manualSync": self.manual_sync}


@dataclass(frozen=True)
class Target:
    """A notification target; URLs and secrets are named by environment variable, never held here."""

    name: str
    kind: str                          # "webhook" | "slack"
    url: str | None = None             # a non-secret webhook URL written in reconciler.yaml
    url_env: str | None = None
    secret_env: str | None = None


@dataclass(frozen=True)
class Subscription:
    triggers: tuple[str, ...]
    targets: tuple[str, ...]
    scope: Scope = Scope()


@dataclass(frozen=True)
class Notifications:
    targets: tuple[Target, ...]
    subscriptions: tuple[Subscription, ...]
    rate_limit: int = 30
    """Per target per hour."""

    def targets_for(self, trigger: str, agent: str, env: str) -> tuple[Target, ...]:
        names = {t for s in self.subscriptions if trigger in s.triggers and s.scope.matches(agent, env)
                 for t in s.targets}
        return tuple(t for t in self.targets if t.name in names)


@dataclass(frozen=True)
class Governance:
    """Every governance section of ``reconciler.yaml``, resolved (all empty: nothing governed)."""

    ownership: tuple[OwnershipRule, ...] = ()
    """Keys the live side owns, per scope (:mod:`reconciler.planning.ownership`)."""
    windows: tuple[WindowRule, ...] = ()
    """Allow/deny sync windows (:mod:`reconciler.apply.windows`)."""
    suspend: tuple[Scope, ...] = ()
    """Pages never written while listed."""
    history_keep: int = 10
    """Apply history entries kept per page (``history.keep``)."""
    notifications: Notifications | None = None
    """Targets and subscriptions (``notifications``), or None."""

    def owned_keys(self, agent: str, env: ClientEnv | str) -> tuple[str, ...]:
        """The keys/pointers live owns on one page, as written, in file order, without repeats."""
        keys = (k for rule in self.ownership if rule.scope.matches(agent, env) for k in rule.keys)
        return tuple(dict.fromkeys(keys))


def ownership_rules(entries: Sequence[OwnershipFile] | None) -> tuple[OwnershipRule, ...]:
    return tuple(OwnershipRule(Scope(tuple(e.agents), tuple(e.envs)), tuple(e.liveOwns)) for e in entries or ())


def window_rules(entries: Sequence[WindowFile] | None) -> tuple[WindowRule, ...]:
    return tuple(WindowRule(e.kind, e.schedule, window_seconds(e.duration), e.timeZone, e.scope(), e.manualSync)
                 for e in entries or ())


def suspend_scopes(entries: Sequence[SuspendFile] | None) -> tuple[Scope, ...]:
    return tuple(e.scope() for e in entries or ())


def notifications_of(entry: NotificationsFile | None) -> Notifications | None:
    if entry is None:
        return None
    return Notifications(
        targets=tuple(Target(t.name, t.kind, t.url, t.urlEnv, t.secretEnv) for t in entry.targets),
        subscriptions=tuple(Subscription(tuple(s.on), tuple(s.targets), s.scope()) for s in entry.subscriptions),
        rate_limit=entry.rateLimit)
