"""``source:`` of reconciler.yaml (the git repository ``reconciler watch`` follows) and the durations it shares.

Read by :mod:`reconciler.settings` as one section of its file model; the
daemon's source (:mod:`reconciler.daemon.sourcing`) reads the parsed section.
:func:`parse_duration` is the one reader of durations (``resync``,
``source.interval``, ``--resync``, ``--interval``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pydantic

#: ``60``, ``60s``, ``5m``, ``1h``, ``1h30m`` …
DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(value: Any, what: str = "resync") -> float:
    """``60`` / ``"60s"`` / ``"5m"`` / ``"1h30m"`` -> seconds (at least 1); ``what`` names it in errors."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a duration such as 60s, 5m or 1h")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = DURATION.match(str(value).strip())
        if not match or not any(match.groups()):
            raise ValueError(f"{what} {value!r} is not a duration such as 60s, 5m or 1h")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds < 1:
        raise ValueError(f"{what} must be at least 1 second")
    return seconds


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
                                                          {"type": "string", "pattern": DURATION.pattern}]})

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
            parse_duration(value, what="source.interval")
        return value
