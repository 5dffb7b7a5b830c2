"""The pydantic models of the governance sections of ``reconciler.yaml`` (fields of its file model).

:class:`reconciler.repository.settingsfile.SettingsFile` holds them, so
``reconciler schema settings`` describes them and an unknown key or a wrong value
is an error at its line; :mod:`reconciler.governance` turns a parsed section
into the frozen values the runs read (and holds the checks these validators call).
Imported only when pydantic reads the file (see :func:`reconciler.settings.read_settings_file`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pydantic

from reconciler import governance
from reconciler.apply import cron
from reconciler.model import ClientEnv

_ENV_ENUM = {"enum": list(ClientEnv.names())}


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True, populate_by_name=False)


def _globs(value: Any) -> Any:
    """``"acme-*"`` or ``["acme-*", "bella-*"]`` -> a list of globs."""
    return [value] if isinstance(value, str) else value


class _ScopeFile(_Strict):
    agents: list[str] = pydantic.Field(default_factory=lambda: ["*"], min_length=1, description=(
        "Agent ids or globs (acme-*); a single string is one glob. Default: every agent."),
        json_schema_extra={"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
    envs: list[str] = pydantic.Field(default_factory=list, description=(
        "Environments covered; empty or absent: every environment."),
        json_schema_extra={"items": {"type": "string", **_ENV_ENUM}})

    @pydantic.field_validator("agents", mode="before")
    @classmethod
    def _agent_globs(cls, value: Any) -> Any:
        return _globs(value)

    @pydantic.field_validator("envs")
    @classmethod
    def _env_names(cls, value: list[str]) -> list[str]:
        return governance.check_envs(value)

    def scope(self) -> governance.Scope:
        return governance.Scope(tuple(self.agents), tuple(self.envs))


class OwnershipFile(_ScopeFile):
    model_config = pydantic.ConfigDict(title="ownership rule", json_schema_extra={
        "description": "Keys the live side owns on the pages it matches: never compared, written, reverted "
                       "or reported as orphans, and never allowed in values.yaml."})
    liveOwns: list[str] = pydantic.Field(min_length=1, description=(
        "Top-level keys (holiday_message) or JSON pointers (/opening/emergency_closure) that live owns."))

    @pydantic.field_validator("liveOwns")
    @classmethod
    def _pointers(cls, value: list[str]) -> list[str]:
        for text in value:
            governance.parse_pointer(text)
        return value


class WindowFile(_ScopeFile):
    model_config = pydantic.ConfigDict(title="sync window", json_schema_extra={
        "description": "When live may be written: allow or deny, from each cron start for a duration."})
    kind: Literal["allow", "deny"] = pydantic.Field(description=(
        "deny: no write while open; allow: writes only while one of the page's allow windows is open."))
    schedule: str = pydantic.Field(description=(
        "5-field cron of the window's starts: minute hour day-of-month month day-of-week (0 9 * * mon-fri)."))
    duration: Any = pydantic.Field(description="How long the window stays open: 30m, 8h, 1h30m, 2d (1m..31d).",
                                   json_schema_extra={"anyOf": [
                                       {"type": "number", "minimum": 60},
                                       {"type": "string", "pattern": governance.WINDOW_DURATION.pattern}]})
    timeZone: str = pydantic.Field(default="UTC", description="IANA time zone of the cron times (Europe/London).")
    manualSync: bool = pydantic.Field(default=False, description=(
        "A CLI apply --ignore-windows may write through this window (the report says so)."))

    @pydantic.field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        cron.parse(value)
        return value

    @pydantic.field_validator("duration")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        governance.window_seconds(value)
        return value

    @pydantic.field_validator("timeZone")
    @classmethod
    def _zone(cls, value: str) -> str:
        cron.zone(value)
        return value


class HistoryFile(_Strict):
    model_config = pydantic.ConfigDict(title="history", json_schema_extra={
        "description": "The apply history kept per page: by the CLI in .reconciler/history/ (reconciler history), "
                       "by the daemon in its state record and /status."})
    keep: int = pydantic.Field(default=10, ge=1, le=1000, description="Entries kept per page (the last ones).")


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class TargetFile(_Strict):
    model_config = pydantic.ConfigDict(title="notification target", json_schema_extra={
        "description": "Where notifications go: a generic JSON webhook or a Slack incoming webhook."})
    name: str = pydantic.Field(min_length=1, description="The target's name, used by subscriptions.")
    kind: Literal["webhook", "slack"] = pydantic.Field(description="webhook: JSON POST; slack: incoming webhook.")
    url: str | None = pydantic.Field(default=None, description=(
        "webhook only: the https:// URL (plain http only on loopback); a secret URL goes in urlEnv instead."))
    urlEnv: str | None = pydantic.Field(default=None, description=(
        "Name of the environment variable holding the URL (required for slack)."),
        json_schema_extra={"pattern": _ENV_NAME})
    secretEnv: str | None = pydantic.Field(default=None, description=(
        "webhook only: environment variable holding the HMAC-SHA256 key; the body is then signed in "
        "X-Reconciler-Signature: sha256=<hex>."), json_schema_extra={"pattern": _ENV_NAME})

    @pydantic.model_validator(mode="after")
    def _where(self) -> "TargetFile":
        if (self.url is None) == (self.urlEnv is None):
            raise ValueError(f"target {self.name!r}: give url or urlEnv (one of them)")
        if self.kind == "slack" and self.url is not None:
            raise ValueError(f"target {self.name!r}: a Slack webhook URL is a secret: give it in urlEnv")
        if self.kind == "slack" and self.secretEnv is not None:
            raise ValueError(f"target {self.name!r}: secretEnv signs webhook targets only")
        if self.url is not None:
            governance.check_notify_url(self.url)
        for value in (self.urlEnv, self.secretEnv):
            if value is not None and not re.match(_ENV_NAME, value):
                raise ValueError(f"{value!r} is not an environment variable name")
        return self


class SubscriptionFile(_ScopeFile):
    model_config = pydantic.ConfigDict(title="notification subscription")
    on: list[Literal["apply_failed", "applied", "drift_detected", "contested_key", "revision_held",
                     "unexpected_result"]] = pydantic.Field(min_length=1, description="The triggers.")
    targets: list[str] = pydantic.Field(min_length=1, description="Names of the targets to send to.")


class NotificationsFile(_Strict):
    model_config = pydantic.ConfigDict(title="notifications", json_schema_extra={
        "description": "Who hears about applies, failures and drift (sent by apply/drift --notify and by the "
                       "daemon)."})
    targets: list[TargetFile] = pydantic.Field(min_length=1)
    subscriptions: list[SubscriptionFile] = pydantic.Field(min_length=1)
    oncePer: Literal["revision"] = pydantic.Field(default="revision", description=(
        "De-duplication: one notification per target, trigger and page for each git revision."))
    rateLimit: int = pydantic.Field(default=30, ge=1, le=10000, description=(
        "At most this many notifications per target per hour; the rest wait for a later run."))

    @pydantic.model_validator(mode="after")
    def _known_targets(self) -> "NotificationsFile":
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("notification target names must be unique")
        for sub in self.subscriptions:
            unknown = [t for t in sub.targets if t not in names]
            if unknown:
                raise ValueError(f"subscription names unknown target {unknown[0]!r}; targets: {', '.join(names)}")
        return self


class SuspendFile(_ScopeFile):
    model_config = pydantic.ConfigDict(title="suspend", json_schema_extra={
        "description": "Pages never written (by apply or the daemon) while listed; drift is still reported."})
