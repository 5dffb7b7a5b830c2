"""Settings, resolved once: CLI flag > environment variable > ``reconciler.yaml``.

OWNER: the loader/validation work (issue 3) implements :func:`load_settings`
(pydantic model of reconciler.yaml, unknown keys are errors with file:line).
The dataclasses below are the contract the rest of the code reads.

The exact reader of ``reconciler.yaml`` is its pydantic model
(:mod:`reconciler.repository.settingsfile`, also the source of ``reconciler
schema settings``). A file that uses only the plain keys (``api``,
``environments``, ``concurrency``, ``resync``) with plain values is read by
:func:`reconciler.repository.settingsplain.read_plain`, a subset of the model's
decisions with the same values, so ``validate`` of such a file does not import
pydantic (~0.15 s of start-up).
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
# Loading: reconciler.yaml (plain reader, else pydantic; unknown keys are errors) + environment + flags.
# --------------------------------------------------------------------------------------------

import os  # noqa: E402  (kept next to the loading code it serves)
from collections.abc import Mapping  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from reconciler.repository import settingsplain, yamlsafe   # noqa: E402
from reconciler.repository.settingsplain import PlainFile  # noqa: E402
from reconciler.repository.sourcefile import parse_duration  # noqa: E402
from reconciler.errors import ConfigError  # noqa: E402
from reconciler.model import SourceMap  # noqa: E402

if TYPE_CHECKING:
    from reconciler.repository.settingsfile import SettingsFile, SourceFile

#: The settings file at the repository root.
SETTINGS_FILE = "reconciler.yaml"
ENV_API_URL = "RECONCILER_API_URL"
ENV_CONCURRENCY = "RECONCILER_CONCURRENCY"
ENV_API_KEY = "POLYAI_API_KEY"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_NO_TARGET = ("no API target: set api.url or api.region in reconciler.yaml, "
              f"{ENV_API_URL}, or --api-url")


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
    file_api = parsed.api if parsed and parsed.api else settingsplain.PlainApi()
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


def governance_of(parsed: SettingsFile | PlainFile | None) -> governance.Governance:
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


def _resolve_url(flag: str | None, environ: Mapping[str, str], file_api: Any,
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


def _environments(envs: Mapping[str, Any] | None) -> tuple[EnvironmentSettings, ...]:
    if envs is None:
        return tuple(EnvironmentSettings(e) for e in ClientEnv)
    return tuple(EnvironmentSettings(ClientEnv(name), sync=SyncMode(env.sync), self_heal=env.selfHeal)
                 for name, env in envs.items())


def read_settings_file(root: Path) -> tuple[list[ConfigError], SettingsFile | PlainFile | None]:
    """Parse and check ``reconciler.yaml`` (absent: no problems, ``None``). Reports ALL problems.

    :func:`reconciler.repository.settingsplain.read_plain` reads a plain file; any other file, and every
    problem, is the pydantic model's (:func:`reconciler.repository.settingsfile.parse`): the same answer
    either way.
    """
    path = Path(root) / SETTINGS_FILE
    if not path.exists() and not path.is_symlink():
        return [], None
    try:
        data, smap = yamlsafe.load_yaml(path, Path(root))
    except ConfigError as exc:
        return [exc], None
    problems = _check_env_names(data, smap) + _check_api_url_in_file(data, smap)
    plain = None if problems else settingsplain.read_plain(data)
    if plain is not None:
        return [], plain
    from reconciler.repository import settingsfile  # deferred: pydantic, ~0.15 s of start-up a plain file never pays
    found, parsed = settingsfile.parse(data, smap)
    return problems + found, (parsed if not problems and not found else None)


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
