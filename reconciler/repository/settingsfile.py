"""The pydantic model of ``reconciler.yaml``: the exact reader, and the source of its JSON Schema.

:class:`SettingsFile` (with the governance sections of
:mod:`reconciler.repository.governancefile`) is what ``reconciler schema settings``
prints, and :func:`parse` is how :func:`reconciler.settings.read_settings_file` checks
a file its plain reader does not decide: every problem at its file:line, with code
``settings.invalid`` or ``settings.unknown_key``. Building these models costs pydantic
and its plugin scan (~0.15 s of start-up), so :mod:`reconciler.settings` imports this
module only when it needs it; ``validate`` of a plain ``reconciler.yaml`` never does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import pydantic

from reconciler.errors import ConfigError
from reconciler.model import ClientEnv, SourceMap
from reconciler.checks import warnsettings
from reconciler.repository import governancefile, sourcefile, yamlhints
from reconciler.settings import SyncMode


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


class SourceFile(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True, populate_by_name=False, title="source",
                                       json_schema_extra={"description": (
                                           "Daemon only: the git repository reconciler watch clones and follows "
                                           "(--git beats it).")})
    git: str = pydantic.Field(description=(
        "https://, ssh:// or file:// URL of the repository, without credentials (a token comes from "
        "RECONCILER_GIT_TOKEN or RECONCILER_GIT_TOKEN_FILE, an ssh key from GIT_SSH_COMMAND)."),
        json_schema_extra={"pattern": r"^(https|ssh|file)://\S+$"})
    branch: str | None = pydantic.Field(default=None, description="The branch to follow (default main).",
                                        json_schema_extra={"pattern": r"^[^\s~^:?*\[\\-][^\s~^:?*\[\\]*$"})
    interval: Any = pydantic.Field(default=None, description=(
        "Seconds between fetches: 60s, 5m, 1h or a number of seconds (default 60s); a signed push webhook "
        "fetches at once."), json_schema_extra={"anyOf": [{"type": "number", "minimum": 1},
                                                          {"type": "string", "pattern": sourcefile.DURATION.pattern}]})

    @pydantic.field_validator("git")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "ssh", "file"):
            raise ValueError("source.git must be an https://, ssh:// or file:// URL")
        if parts.password or (parts.username and parts.scheme == "https"):
            raise ValueError("source.git must not carry credentials: use RECONCILER_GIT_TOKEN or "
                             "RECONCILER_GIT_TOKEN_FILE")
        return value

    @pydantic.field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is not None and (not value or value.startswith("-") or ".." in value
                                  or any(c in value for c in " ~^:?*[\\")):
            raise ValueError(f"{value!r} is not a branch name")
        return value

    @pydantic.field_validator("interval")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is not None:
            sourcefile.parse_duration(value, what="source.interval")
        return value


_Code = Annotated[str, pydantic.StringConstraints(pattern=warnsettings.CODE_PATTERN)]


class WarningsFile(pydantic.BaseModel):
    """The section as written in reconciler.yaml (unknown keys are errors, as everywhere in the file)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, populate_by_name=False, title="warnings",
                                       json_schema_extra={"description": "Warning codes to hide (errors are "
                                                                         "never hidden) or to show."})
    ignore: list[_Code] = pydantic.Field(default_factory=list, description="Warning codes hidden in every report "
                                        "of this repository, e.g. repo.stray_file.")
    ignore_in: dict[str, list[_Code]] = pydantic.Field(
        default_factory=dict, description=(
            "Path glob (relative to the repository root; * within a folder, ** across folders) -> warning "
            "codes hidden for the files it matches, e.g. \"configs/legacy-*/**\": [yaml.ambiguous]."))
    enable: list[Literal["schema.regex_dialect"]] = pydantic.Field(default_factory=list, description=(
        "Warnings that are off by default: schema.regex_dialect (a pattern Python's re would match "
        "differently; the reconciler always matches ECMA-262, so this is for developers only)."))


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
                                     {"type": "string", "pattern": sourcefile.DURATION.pattern}]})
    source: SourceFile | None = None

    ownership: list[governancefile.OwnershipFile] | None = pydantic.Field(default=None, description=(
        "Keys the live side owns (edited on purpose in the Configuration Builder), per agent glob and environment."))
    windows: list[governancefile.WindowFile] | None = pydantic.Field(default=None, description=(
        "Sync windows: when live may be written (allow/deny, cron start, duration, time zone, scope)."))
    suspend: list[governancefile.SuspendFile] | None = pydantic.Field(default=None, description=(
        "Pages never written by apply or the daemon while listed (drift is still reported)."))
    history: governancefile.HistoryFile | None = None
    notifications: governancefile.NotificationsFile | None = None
    warnings: WarningsFile | None = None

    @pydantic.field_validator("resync")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is not None:
            sourcefile.parse_duration(value)
        return value


def parse(data: Any, smap: SourceMap) -> tuple[list[ConfigError], SettingsFile | None]:
    """``data`` (the YAML of ``smap.file``) as a :class:`SettingsFile`, or every problem pydantic finds."""
    try:
        return [], SettingsFile.model_validate(data)
    except pydantic.ValidationError as exc:
        return [_pydantic_problem(err, smap) for err in exc.errors()], None


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
    model: type[pydantic.BaseModel] | None = {(): SettingsFile, ("api",): ApiFile, ("warnings",): WarningsFile,
                                               ("source",): SourceFile}.get(parent)
    if model is None and len(parent) == 2 and parent[0] == "environments":
        model = _EnvFile
    return f"; allowed: {', '.join(model.model_fields)}" if model else ""
