"""Settings, resolved once: CLI flag > environment variable > ``reconciler.yaml``.

OWNER: the loader/validation work (issue 3) implements :func:`load_settings`
(pydantic model of reconciler.yaml, unknown keys are errors with file:line).
The dataclasses below are the contract the rest of the code reads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from reconciler import governance
from reconciler.checks import warnsettings
from reconciler.model import ClientEnv

#: Regions of the live API; ``api.region: us`` -> https://api.us.poly.ai
REGIONS = ("us", "uk", "eu", "studio")
#: The public ADK's names for the same regions (its ``project.yaml``), accepted wherever a region is.
ADK_REGIONS = {"us-1": "us", "uk-1": "uk", "euw-1": "eu", "studio": "studio"}
LOCAL = "local"


class SyncMode(enum.StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


@dataclass(frozen=True)
class ApiSettings:
    url: str
    """``"local"`` (embedded emulator, state in ``.reconciler/local.db``) or an https base URL."""
    timeout: float = 10.0
    """Seconds for connect/read/write of one request. Also bounds how long a silent server can hold a
    run: the circuit breaker (``reconciler.api.breaker``) stops the run after 3 consecutive timeouts,
    which with concurrent agents arrive together, so after about one timeout."""
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
class SourceSettings:
    """Daemon only: the git source ``reconciler watch`` clones and follows (``source:`` in reconciler.yaml)."""

    url: str
    """``https://``, ``ssh://`` or ``file://`` URL, without credentials (they come from the environment)."""
    branch: str = "main"
    interval: float = 60.0
    """Seconds between fetches; a signed push webhook fetches at once."""


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
    warnings: warnsettings.WarningSettings = warnsettings.WarningSettings()
    """Which warnings are shown (``warnings:`` of reconciler.yaml; see :mod:`reconciler.checks.warnfilter`)."""
    governance: governance.Governance = field(default_factory=governance.Governance)
    """Ownership rules, sync windows, suspend, history and notifications (:mod:`reconciler.governance`)."""
    source: SourceSettings | None = None
    """Daemon only: ``source:`` of reconciler.yaml (``--git`` beats it)."""

    @property
    def promotion_order(self) -> tuple[ClientEnv, ...]:
        return tuple(e.name for e in self.environments)


# --------------------------------------------------------------------------------------------
# Loading: reconciler.yaml (pydantic, unknown keys are errors) + environment + flags.
# --------------------------------------------------------------------------------------------

import os  # noqa: E402  (kept next to the loading code it serves)
from collections.abc import Mapping  # noqa: E402
from typing import Any, Literal  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import pydantic  # noqa: E402

from reconciler.repository import yamlhints, yamlsafe   # noqa: E402
from reconciler.repository.sourcefile import DURATION, SourceFile, parse_duration  # noqa: E402
from reconciler.errors import ConfigError  # noqa: E402
from reconciler.model import SourceMap  # noqa: E402

#: The settings file at the repository root.
SETTINGS_FILE = "reconciler.yaml"
ENV_API_URL = "RECONCILER_API_URL"
ENV_CONCURRENCY = "RECONCILER_CONCURRENCY"
ENV_API_KEY = "POLYAI_API_KEY"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_NO_TARGET = ("no API target: set api.url or api.region in reconciler.yaml, "
              f"{ENV_API_URL}, or --api-url")


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True, populate_by_name=False)


class ApiFile(_Strict):
    model_config = pydantic.ConfigDict(title="api", json_schema_extra={
        "description": "Where the Agents API is: set url or region, not both."})
    url: str | None = pydantic.Field(default=None, description=(
        "'local' (the embedded emulator, state in .reconciler/local.db) or an https:// base URL "
        "(plain http only on loopback)."), json_schema_extra={"pattern": r"^(local|https?://\S+)$"})
    region: Literal["us", "uk", "eu", "studio", "us-1", "uk-1", "euw-1"] | None = pydantic.Field(
        default=None, description=("Region of the live API: us -> https://api.us.poly.ai; the ADK's names "
                                   "us-1, uk-1, euw-1 are the same hosts as us, uk, eu."))
    timeout: float | None = pydantic.Field(default=None, gt=0, le=600,
                                           description="Seconds for connect/read/write of one request.")

    @pydantic.model_validator(mode="after")
    def _one_target(self) -> "ApiFile":
        if self.url is not None and self.region is not None:
            raise ValueError("set either api.url or api.region, not both")
        return self


class _EnvFile(_Strict):
    model_config = pydantic.ConfigDict(title="environment")
    sync: SyncMode = pydantic.Field(default=SyncMode.AUTO, description=(
        "Daemon only: auto applies, manual only reports."))
    selfHeal: bool = pydantic.Field(default=False, description=(
        "Daemon only: revert out-of-band edits (true) or report them as drift (false)."))

    @pydantic.field_validator("sync", mode="before")
    @classmethod
    def _sync_word(cls, value: Any) -> Any:
        if value not in SyncMode.__members__.values() and value not in ("auto", "manual"):
            raise ValueError("sync must be 'auto' or 'manual'")
        return SyncMode(value)


class SettingsFile(_Strict):
    model_config = pydantic.ConfigDict(title="rtc-reconciler settings (reconciler.yaml)", json_schema_extra={
        "description": "Settings of a config repository; flags and environment variables override them."})
    api: ApiFile | None = None
    environments: dict[str, _EnvFile] | None = pydantic.Field(
        default=None, description="The managed environments; their order is the promotion order.",
        json_schema_extra={"propertyNames": {"enum": list(ClientEnv.names())}, "minProperties": 1})
    concurrency: int | None = pydantic.Field(default=None, ge=1, le=256, description="Agents reconciled at once.")
    resync: Any = pydantic.Field(default=None, description=(
        "Daemon full resync period: 60s, 5m, 1h, 1h30m or a number of seconds (at least 1)."),
        json_schema_extra={"anyOf": [{"type": "number", "minimum": 1},
                                     {"type": "string", "pattern": DURATION.pattern}]})
    source: SourceFile | None = None

    ownership: list[governance.OwnershipFile] | None = pydantic.Field(default=None, description=(
        "Keys the live side owns (edited on purpose in the Configuration Builder), per agent glob and environment."))
    windows: list[governance.WindowFile] | None = pydantic.Field(default=None, description=(
        "Sync windows: when live may be written (allow/deny, cron start, duration, time zone, scope)."))
    suspend: list[governance.SuspendFile] | None = pydantic.Field(default=None, description=(
        "Pages never written by apply or the daemon while listed (drift is still reported)."))
    history: governance.HistoryFile | None = None
    notifications: governance.NotificationsFile | None = None
    warnings: warnsettings.WarningsFile | None = None

    @pydantic.field_validator("resync")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is not None:
            parse_duration(value)
        return value


def check_api_url(url: str) -> str:
    """Validate an API base URL (``local`` or http(s)); returns it without a trailing slash."""
    url = url.strip()
    if url == LOCAL:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"API URL {url!r} must be 'local' or an https:// URL (or use api.region)")
    if parts.hostname == "api.poly.ai":
        raise ValueError("the bare api.poly.ai has no API; set api.region (us, uk, eu or studio) "
                         "or a regional URL such as https://api.us.poly.ai")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ValueError(f"API URL {url!r} must use https (plain http is only allowed on loopback)")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"API URL {url!r} has a path ({parts.path or '?' + parts.query}); give the base URL without "
                         f"it: {parts.scheme}://{parts.netloc} (the reconciler adds /v1/agents/… itself)")
    return url.rstrip("/")


def missing_key_message(url: str) -> str:
    """Why a command that talks to ``url`` stopped before sending anything: no ``POLYAI_API_KEY``."""
    emulator = ("an emulator on loopback (`reconciler emulator`) accepts any non-empty key, e.g. POLYAI_API_KEY=dev"
                if urlsplit(url).hostname in _LOOPBACK else "only the emulator (url: local, or `reconciler emulator` "
                "on loopback) accepts any non-empty key; a real API needs a key allowed to read and write "
                "real-time configs")
    return (f"{ENV_API_KEY} is not set: the key for {url} is read from the {ENV_API_KEY} environment variable "
            f"only (never from the repository or a flag); export it, or in CI pass it from a secret. Note: {emulator}")


def region_url(region: str) -> str:
    """``us`` (or the ADK's ``us-1``) -> ``https://api.us.poly.ai``."""
    region = ADK_REGIONS.get(region, region)
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; use one of {', '.join(REGIONS + tuple(ADK_REGIONS))}")
    return f"https://api.{region}.poly.ai"


def adk_region(url: str) -> str | None:
    """The ADK's region name of a regional API URL (``https://api.us.poly.ai`` -> ``us-1``), else None."""
    by_host = {urlsplit(region_url(name)).hostname: name for name in ADK_REGIONS}
    return by_host.get(urlsplit(url).hostname or "") if url.startswith("https://") else None


def load_settings(root: Path, *, api_url: str | None = None, concurrency: int | None = None,
                  environ: Mapping[str, str] = os.environ, require_target: bool = True) -> Settings:
    """Resolve Settings once: flag > environment variable > ``reconciler.yaml`` > defaults.

    A missing ``reconciler.yaml`` is fine. Without any API target the result
    has ``api.url == ""`` when ``require_target`` is false (offline
    ``validate``); otherwise that is a :class:`ConfigError`. Every problem in
    the file is a ConfigError at its file:line with code ``settings.invalid``
    or ``settings.unknown_key``.
    """
    root = Path(root)
    problems, parsed = read_settings_file(root)
    if problems:
        raise problems[0]
    file_api = parsed.api if parsed and parsed.api else ApiFile()
    url = _resolve_url(api_url, environ, file_api, require_target)
    api = ApiSettings(url=url) if file_api.timeout is None else ApiSettings(url=url, timeout=file_api.timeout)
    return Settings(
        root=root,
        api=api,
        environments=_environments(parsed.environments if parsed else None),
        concurrency=_resolve_concurrency(concurrency, environ, parsed.concurrency if parsed else None),
        resync=parse_duration(parsed.resync) if parsed and parsed.resync is not None else 60.0,
        api_key=environ.get(ENV_API_KEY) or None,
        warnings=warnsettings.from_file(parsed.warnings if parsed else None),
        governance=governance_of(parsed),
        source=_source(parsed.source if parsed else None),
    )


def governance_of(parsed: "SettingsFile | None") -> governance.Governance:
    """The governance sections of a parsed ``reconciler.yaml`` (none: nothing governed)."""
    if parsed is None:
        return governance.Governance()
    return governance.Governance(ownership=governance.ownership_rules(parsed.ownership),
                                 windows=governance.window_rules(parsed.windows),
                                 suspend=governance.suspend_scopes(parsed.suspend),
                                 history_keep=parsed.history.keep if parsed.history else 10,
                                 notifications=governance.notifications_of(parsed.notifications))


def _source(source: SourceFile | None) -> SourceSettings | None:
    if source is None:
        return None
    return SourceSettings(url=source.git, branch=source.branch or "main",
                          interval=parse_duration(source.interval, "source.interval")
                          if source.interval is not None else 60.0)


def _resolve_url(flag: str | None, environ: Mapping[str, str], file_api: ApiFile,
                 require_target: bool) -> str:
    for source, value in (("--api-url", flag), (ENV_API_URL, environ.get(ENV_API_URL))):
        if value:
            try:
                return check_api_url(value)
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}", code="settings.invalid") from None
    if file_api.url is not None:
        return check_api_url(file_api.url)          # already checked while reading the file
    if file_api.region is not None:
        return region_url(file_api.region)
    if require_target:
        raise ConfigError(_NO_TARGET, code="settings.no_target")
    return ""


def _resolve_concurrency(flag: int | None, environ: Mapping[str, str], from_file: int | None) -> int:
    if flag is not None:
        value, source = flag, "--concurrency"
    elif environ.get(ENV_CONCURRENCY):
        raw = environ[ENV_CONCURRENCY].strip()
        if not raw.isdigit():
            raise ConfigError(f"{ENV_CONCURRENCY}={raw!r} is not an integer 1..256", code="settings.invalid")
        value, source = int(raw), ENV_CONCURRENCY
    else:
        return from_file if from_file is not None else 16
    if not 1 <= value <= 256:
        raise ConfigError(f"{source}: concurrency must be 1..256, got {value}", code="settings.invalid")
    return value


def _environments(envs: dict[str, _EnvFile] | None) -> tuple[EnvironmentSettings, ...]:
    if envs is None:
        return tuple(EnvironmentSettings(e) for e in ClientEnv)
    return tuple(EnvironmentSettings(ClientEnv(name), sync=env.sync, self_heal=env.selfHeal)
                 for name, env in envs.items())


def read_settings_file(root: Path) -> tuple[list[ConfigError], SettingsFile | None]:
    """Parse and check ``reconciler.yaml`` (absent: no problems, ``None``). Reports ALL problems."""
    path = Path(root) / SETTINGS_FILE
    if not path.exists() and not path.is_symlink():
        return [], None
    try:
        data, smap = yamlsafe.load_yaml(path, Path(root))
    except ConfigError as exc:
        return [exc], None
    problems = _check_env_names(data, smap) + _check_api_url_in_file(data, smap)
    try:
        parsed = SettingsFile.model_validate(data)
    except pydantic.ValidationError as exc:
        return problems + [_pydantic_problem(err, smap) for err in exc.errors()], None
    return problems, (parsed if not problems else None)


def _check_env_names(data: Mapping, smap: SourceMap) -> list[ConfigError]:
    envs = data.get("environments")
    if not isinstance(envs, Mapping):
        return []
    problems = [ConfigError(f"unknown environment {name!r}; allowed: {', '.join(ClientEnv.names())}",
                            file=smap.file, line=smap.key_line_of(("environments", name)),
                            code="settings.invalid")
                for name in envs if name not in ClientEnv.names()]
    if not envs:
        problems.append(ConfigError("environments must list at least one environment", file=smap.file,
                                    line=smap.line_of(("environments",)), code="settings.invalid"))
    return problems


def _check_api_url_in_file(data: Mapping, smap: SourceMap) -> list[ConfigError]:
    api = data.get("api")
    url = api.get("url") if isinstance(api, Mapping) else None
    if not isinstance(url, str):
        return []
    try:
        check_api_url(url)
    except ValueError as exc:
        return [ConfigError(str(exc), file=smap.file, line=smap.line_of(("api", "url")),
                            code="settings.invalid")]
    return []


def _pydantic_problem(err: Mapping[str, Any], smap: SourceMap) -> ConfigError:
    loc = tuple(part for part in err["loc"] if isinstance(part, (str, int)))
    # pydantic appends the tried type to the location of union members (e.g. "float"): drop them.
    while loc and not _in_map(loc, smap) and err["type"] != "extra_forbidden":
        loc = loc[:-1]
    where = ".".join(str(p) for p in loc) or "top level"
    if err["type"] == "extra_forbidden":
        parent = ".".join(str(p) for p in loc[:-1]) or "the top level"
        return ConfigError(f"unknown key {loc[-1]!r} in {parent}{_allowed(loc[:-1])}", file=smap.file,
                           line=smap.key_line_of(loc), code="settings.unknown_key")
    message = err["msg"].removeprefix("Value error, ")
    expected = _PYDANTIC_TYPES.get(str(err["type"]).split("_")[0])
    note = next((n for n in smap.notes if n.path == loc and not n.key), None)
    hint = yamlhints.schema_hint(note.text, expected) if note is not None and expected else None
    if hint:
        message += f" ({hint})"
    return ConfigError(f"{where}: {message}", file=smap.file, line=smap.line_of(loc), code="settings.invalid")


#: pydantic error type prefix -> JSON type, for the YAML 1.1 hint ("'no' is a string; write false …").
_PYDANTIC_TYPES = {"bool": "boolean", "int": "integer", "float": "number"}


def _in_map(loc: tuple, smap: SourceMap) -> bool:
    return loc in smap.lines


def _allowed(parent: tuple) -> str:
    model: type[pydantic.BaseModel] | None = {(): SettingsFile, ("api",): ApiFile,
                                              ("warnings",): warnsettings.WarningsFile,
                                              ("source",): SourceFile}.get(parent)
    if model is None and len(parent) == 2 and parent[0] == "environments":
        model = _EnvFile
    return f"; allowed: {', '.join(model.model_fields)}" if model else ""
