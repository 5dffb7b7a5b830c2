"""The plain reader of reconciler.yaml agrees with the pydantic model: a subset of its decisions, the same values.

:func:`reconciler.repository.settingsplain.read_plain` lets ``validate`` of a plain
``reconciler.yaml`` skip pydantic (~0.15 s of start-up). It may leave any file to the
model, but a file it reads must be one the model accepts, read to the same values;
documents mixing valid and invalid pieces of every plain key check that, and plain
valid documents check that it does read them (else the start-up budget is lost
without a test noticing). Messages stay the model's: a few invalid files are read
through :func:`reconciler.settings.read_settings_file` and keep their file:line errors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from reconciler import settings
from reconciler.checks import schemas
from reconciler.model import ClientEnv
from reconciler.repository import settingsfile, settingsplain

ROOT = Path(__file__).resolve().parents[1]
ENV_NAMES = list(ClientEnv.names())

URLS = ["local", "https://api.us.poly.ai", "http://127.0.0.1:8080", "ftp://x", "", 5, None, ["local"]]
REGIONS = ["us", "uk", "eu", "studio", "us-1", "uk-1", "euw-1", "mars", "US", 3, None]
TIMEOUTS = [1, 10, 600, 0.5, 599.9, 0, -1, 601, 600.0001, True, False, math.nan, math.inf, "5", None]
SYNCS = ["auto", "manual", "Auto", "sometimes", "", None, True, 1, ["auto"]]
HEALS = [True, False, "no", "false", 0, 1, None]
CONCURRENCIES = [1, 16, 256, 0, 257, -3, 3.0, 16.5, True, False, "4", None]
RESYNCS = ["60s", "5m", "1h30m", "1h", 60, 1, 0.5, 1.5, 0, "0s", "soon", "", True, None, [1], {"s": 1}, math.nan]


def _maybe_extra(mapping: dict[str, Any], extra: Any) -> dict[str, Any]:
    if extra is not None:
        mapping[extra] = 1
    return mapping


@st.composite
def api_sections(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([None, "local", [], 3]))
    section = {}
    for key, values in (("url", URLS), ("region", REGIONS), ("timeout", TIMEOUTS)):
        if draw(st.booleans()):
            section[key] = draw(st.sampled_from(values))
    return _maybe_extra(section, draw(st.sampled_from([None] * 8 + ["token", "Url"])))


@st.composite
def environment_sections(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([None, [], "live", {}]))
    names = draw(st.lists(st.sampled_from(ENV_NAMES + ["prod", "Live"]), min_size=1, max_size=4, unique=True))
    out: dict[str, Any] = {}
    for name in names:
        if draw(st.integers(0, 7)) == 0:
            out[name] = draw(st.sampled_from([None, "auto", [], 1]))
            continue
        env = {}
        if draw(st.booleans()):
            env["sync"] = draw(st.sampled_from(SYNCS))
        if draw(st.booleans()):
            env["selfHeal"] = draw(st.sampled_from(HEALS))
        out[name] = _maybe_extra(env, draw(st.sampled_from([None] * 8 + ["self_heal", "mode"])))
    return out


@st.composite
def documents(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([None, [], "api: local", 3]))
    doc: dict[Any, Any] = {}
    for key, strategy in (("api", api_sections()), ("environments", environment_sections()),
                          ("concurrency", st.sampled_from(CONCURRENCIES)), ("resync", st.sampled_from(RESYNCS))):
        if draw(st.booleans()):
            doc[key] = draw(strategy)
    extra = draw(st.sampled_from([None] * 10 + ["ownership", "history", "source", "concurency", 1]))
    if extra is not None:
        doc[extra] = draw(st.sampled_from([None, {"keep": 5}, [], "x"]))
    return doc


def _model(doc: Any) -> settingsfile.SettingsFile | None:
    try:
        return settingsfile.SettingsFile.model_validate(doc)
    except pydantic.ValidationError:
        return None


def _same_values(plain: settingsplain.PlainFile, model: settingsfile.SettingsFile) -> None:
    if plain.api is None:
        assert model.api is None
    else:
        assert model.api is not None
        assert (plain.api.url, plain.api.region) == (model.api.url, model.api.region)
        assert plain.api.timeout == model.api.timeout and type(plain.api.timeout) is type(model.api.timeout)
    if plain.environments is None:
        assert model.environments is None
    else:
        assert model.environments is not None
        assert list(plain.environments) == list(model.environments)          # the promotion order
        for name, env in plain.environments.items():
            assert settings.SyncMode(env.sync) is model.environments[name].sync
            assert env.selfHeal is model.environments[name].selfHeal
    assert plain.concurrency == model.concurrency and type(plain.concurrency) is type(model.concurrency)
    assert plain.resync == model.resync or (plain.resync != plain.resync and model.resync != model.resync)
    for section in ("source", "ownership", "windows", "suspend", "history", "notifications", "warnings"):
        assert getattr(model, section) is None and getattr(plain, section) is None


@hsettings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_a_file_the_plain_reader_reads_is_one_the_model_accepts_with_the_same_values(doc):
    plain = settingsplain.read_plain(doc)
    if plain is None:
        return
    model = _model(doc)
    assert model is not None, f"the plain reader accepts what the model rejects: {doc!r}"
    _same_values(plain, model)


@st.composite
def plain_valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        api: dict[str, Any] = {}
        target = draw(st.sampled_from(["url", "region", None]))
        if target == "url":
            api["url"] = draw(st.sampled_from(["local", "https://api.us.poly.ai", "http://127.0.0.1:8080"]))
        elif target == "region":
            api["region"] = draw(st.sampled_from(sorted(settingsplain.REGION_NAMES)))
        if draw(st.booleans()):
            api["timeout"] = draw(st.one_of(st.integers(1, 600), st.floats(0.001, 600)))
        doc["api"] = api
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(ENV_NAMES), min_size=1, unique=True))
        doc["environments"] = {n: draw(st.fixed_dictionaries({}, optional={
            "sync": st.sampled_from(["auto", "manual"]), "selfHeal": st.booleans()})) for n in names}
    if draw(st.booleans()):
        doc["concurrency"] = draw(st.integers(1, 256))
    if draw(st.booleans()):
        doc["resync"] = draw(st.sampled_from(["60s", "5m", "1h", "1h30m", 60, 3600, 1.5]))
    return doc


@hsettings(max_examples=300, deadline=None)
@given(plain_valid_documents())
def test_the_plain_reader_reads_every_plain_valid_file(doc):
    plain = settingsplain.read_plain(doc)
    assert plain is not None, f"left to pydantic (start-up): {doc!r}"
    model = _model(doc)
    assert model is not None
    _same_values(plain, model)


def test_the_plain_vocabulary_is_the_models():
    schema = schemas.settings_schema()
    assert settingsplain.PLAIN_KEYS <= set(settingsfile.SettingsFile.model_fields)
    assert settingsplain.PLAIN_API_KEYS == set(settingsfile.ApiFile.model_fields)
    defs = schema["definitions"]
    env_def = defs[schema["properties"]["environments"]["anyOf"][0]["additionalProperties"]["$ref"].rsplit("/", 1)[1]]
    assert settingsplain.PLAIN_ENV_KEYS == set(env_def["properties"])
    api_def = defs[schema["properties"]["api"]["anyOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert settingsplain.REGION_NAMES == set(api_def["properties"]["region"]["anyOf"][0]["enum"])


def test_the_example_repository_is_read_without_the_model(tmp_path):
    assert settingsplain.read_plain(_yaml(ROOT / "reconciler.yaml")) is not None
    (tmp_path / "reconciler.yaml").write_text((ROOT / "reconciler.yaml").read_text(encoding="utf-8"))
    loaded = settings.load_settings(tmp_path, environ={})
    assert loaded.api.url == "local" and loaded.concurrency == 16 and loaded.resync == 60.0
    assert [(e.name, e.sync, e.self_heal) for e in loaded.environments] == [
        (ClientEnv.SANDBOX, settings.SyncMode.AUTO, False), (ClientEnv.PRE_RELEASE, settings.SyncMode.AUTO, False),
        (ClientEnv.LIVE, settings.SyncMode.MANUAL, False)]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("text, line, message", [
    ("api: {url: local}\nconcurrency: 0\n", 2, "concurrency: Input should be greater than or equal to 1"),
    ("api: {url: local, region: us}\n", 1, "api: set either api.url or api.region, not both"),
    ("api:\n  url: local\n  timeout: true\n", 3, "api.timeout: Input should be a valid number"),
    ("environments:\n  live: {sync: sometimes}\n", 2, "environments.live.sync: sync must be 'auto' or 'manual'"),
    ("environments:\n  live: {selfHeal: no}\n", 2, "environments.live.selfHeal: Input should be a valid boolean"),
    ("resync: soon\n", 1, "resync: resync 'soon' is not a duration such as 60s, 5m or 1h"),
])
def test_what_the_plain_reader_leaves_keeps_the_models_message_at_its_line(tmp_path, text, line, message):
    (tmp_path / "reconciler.yaml").write_text(text)
    problems, parsed = settings.read_settings_file(tmp_path)
    assert parsed is None
    assert [(p.line, p.code) for p in problems][:1] == [(line, "settings.invalid")]
    assert problems[0].message.startswith(message), problems[0].message
