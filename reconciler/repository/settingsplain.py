"""The plain reader of ``reconciler.yaml``: the keys most files use, decided without pydantic.

The exact reader is the pydantic model (:mod:`reconciler.repository.settingsfile`),
which costs pydantic and its plugin scan (~0.15 s of start-up). :func:`read_plain`
accepts a subset of what the model accepts — the keys ``api``, ``environments``,
``concurrency`` and ``resync``, each value of exactly the type the model takes in
strict mode and within its bounds — and gives the same values, as objects with the
model's attribute names; everything else, valid or not, it leaves to the model,
which also writes every message. :func:`reconciler.settings.read_settings_file`
asks it first, so ``validate`` of such a file never imports pydantic.
``tests/test_settings_plain.py`` holds the two readers to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.repository.sourcefile import parse_duration


@dataclass(frozen=True)
class PlainApi:
    """``api:`` as :func:`read_plain` reads it (the attributes of the model's ``ApiFile``)."""

    url: str | None = None
    region: str | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class PlainEnvironment:
    """One entry of ``environments:`` (the attributes of the model's, named as in the file)."""

    sync: str = "auto"                    # the model's is a SyncMode, a StrEnum: equal to its string
    selfHeal: bool = False


@dataclass(frozen=True)
class PlainFile:
    """A ``reconciler.yaml`` :func:`read_plain` decided: the model's attributes, the other sections absent."""

    api: PlainApi | None = None
    environments: dict[str, PlainEnvironment] | None = None
    concurrency: int | None = None
    resync: Any = None
    source: None = None
    ownership: None = None
    windows: None = None
    suspend: None = None
    history: None = None
    notifications: None = None
    warnings: None = None


class _Undecided(Exception):
    """Not a plain file: the pydantic model decides."""


#: The keys, API keys, regions and environment keys the plain reader knows (those of the model).
PLAIN_KEYS = frozenset({"api", "environments", "concurrency", "resync"})
PLAIN_API_KEYS = frozenset({"url", "region", "timeout"})
PLAIN_ENV_KEYS = frozenset({"sync", "selfHeal"})
REGION_NAMES = frozenset({"us", "uk", "eu", "studio", "us-1", "uk-1", "euw-1"})


def read_plain(data: Any) -> PlainFile | None:
    """``data`` (the YAML of ``reconciler.yaml``, free of the problems
    :func:`reconciler.settings.read_settings_file` finds itself) read without pydantic, or None when the model
    must decide (an ``api`` with both ``url`` and ``region`` included: the model says why)."""
    if type(data) is not dict or not data.keys() <= PLAIN_KEYS:
        return None
    try:
        concurrency, resync = data.get("concurrency"), data.get("resync")
        if concurrency is not None and not (type(concurrency) is int and 1 <= concurrency <= 256):
            raise _Undecided
        if resync is not None:
            parse_duration(resync)               # the model's validator
        return PlainFile(api=_plain_api(data.get("api")), environments=_plain_envs(data.get("environments")),
                         concurrency=concurrency, resync=resync)
    except (_Undecided, ValueError):
        return None


def _plain_api(api: Any) -> PlainApi | None:
    if api is None:
        return None
    if type(api) is not dict or not api.keys() <= PLAIN_API_KEYS:
        raise _Undecided
    url, region, timeout = api.get("url"), api.get("region"), api.get("timeout")
    if url is not None and region is not None:
        raise _Undecided
    if url is not None and type(url) is not str:
        raise _Undecided
    if region is not None and (type(region) is not str or region not in REGION_NAMES):
        raise _Undecided
    if timeout is not None and not (type(timeout) in (int, float) and 0 < timeout <= 600):
        raise _Undecided                          # NaN fails the comparison too
    return PlainApi(url, region, None if timeout is None else float(timeout))


def _plain_envs(envs: Any) -> dict[str, PlainEnvironment] | None:
    if envs is None:
        return None
    if type(envs) is not dict:
        raise _Undecided
    out = {}
    for name, env in envs.items():
        if type(name) is not str or type(env) is not dict or not env.keys() <= PLAIN_ENV_KEYS:
            raise _Undecided
        sync, heal = env.get("sync", "auto"), env.get("selfHeal", False)
        if type(sync) is not str or sync not in ("auto", "manual") or type(heal) is not bool:
            raise _Undecided
        out[name] = PlainEnvironment(sync, heal)
    return out
