"""load_settings: the file model, its errors at file:line, and flag > environment > file."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.model import ClientEnv
from reconciler.settings import SyncMode, load_settings

EXAMPLE = """\
api:
  url: local
environments:
  sandbox:     {sync: auto}
  pre-release: {sync: auto}
  live:        {sync: manual, selfHeal: true}
concurrency: 8
resync: 5m
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "reconciler.yaml").write_text(text)
    return tmp_path


def test_full_file(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, EXAMPLE), environ={})
    assert s.api.url == "local" and s.api.is_local
    assert s.promotion_order == (ClientEnv.SANDBOX, ClientEnv.PRE_RELEASE, ClientEnv.LIVE)
    assert s.environments[2].sync is SyncMode.MANUAL and s.environments[2].self_heal is True
    assert (s.concurrency, s.resync, s.api_key) == (8, 300.0, None)


def test_environment_order_is_promotion_order(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "api: {url: local}\nenvironments:\n  live: {}\n  sandbox: {}\n"), environ={})
    assert s.promotion_order == (ClientEnv.LIVE, ClientEnv.SANDBOX)


@pytest.mark.parametrize("region", ["us", "uk", "eu", "studio"])
def test_region_url(tmp_path: Path, region: str) -> None:
    s = load_settings(write(tmp_path, f"api: {{region: {region}}}\n"), environ={})
    assert s.api.url == f"https://api.{region}.poly.ai"


@pytest.mark.parametrize("value,seconds", [("60s", 60), ("5m", 300), ("1h", 3600), ("1h30m", 5400), (90, 90)])
def test_resync_durations(tmp_path: Path, value, seconds) -> None:
    assert load_settings(write(tmp_path, f"api: {{url: local}}\nresync: {value}\n"), environ={}).resync == seconds


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    root = write(tmp_path, "api: {region: us}\nconcurrency: 4\n")
    env = {"RECONCILER_API_URL": "https://api.eu.poly.ai", "RECONCILER_CONCURRENCY": "7", "POLYAI_API_KEY": "k-1"}
    assert load_settings(root, environ={}).api.url == "https://api.us.poly.ai"
    from_env = load_settings(root, environ=env)
    assert (from_env.api.url, from_env.concurrency, from_env.api_key) == ("https://api.eu.poly.ai", 7, "k-1")
    from_flag = load_settings(root, api_url="http://127.0.0.1:8080/", concurrency=2, environ=env)
    assert (from_flag.api.url, from_flag.concurrency) == ("http://127.0.0.1:8080", 2)
    assert "k-1" not in repr(from_flag)


def test_missing_file_needs_a_target_unless_offline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no API target: set api.url or api.region"):
        load_settings(tmp_path, environ={})
    assert load_settings(tmp_path, environ={}, require_target=False).api.url == ""
    assert load_settings(tmp_path, environ={"RECONCILER_API_URL": "local"}).api.is_local


@pytest.mark.parametrize("text,code,line,fragment", [
    ("api: {url: local}\nconcurency: 3\n", "settings.unknown_key", 2, "allowed: api, environments"),
    ("api:\n  url: local\n  retries: 3\n", "settings.unknown_key", 3, "'retries' in api"),
    ("api: {url: local}\nenvironments:\n  live: {sync: auto, selfheal: true}\n", "settings.unknown_key", 3,
     "allowed: sync, selfHeal"),
    ("api:\n  url: https://api.poly.ai\n", "settings.invalid", 2, "api.region"),
    ("api:\n  url: http://10.1.2.3\n", "settings.invalid", 2, "https"),
    ("api: {region: mars}\n", "settings.invalid", 1, "'us', 'uk', 'eu', 'studio', 'us-1', 'uk-1' or 'euw-1'"),
    ("api: {url: local, region: us}\n", "settings.invalid", 1, "not both"),
    ("api: {url: local}\nenvironments:\n  staging: {}\n", "settings.invalid", 3, "sandbox, pre-release, live"),
    ("api: {url: local}\nenvironments:\n  live: {sync: sometimes}\n", "settings.invalid", 3, "auto"),
    ("api: {url: local}\nconcurrency: 0\n", "settings.invalid", 2, "greater than or equal to 1"),
    ("api: {url: local}\nconcurrency: '8'\n", "settings.invalid", 2, "integer"),
    ("api: {url: local}\nresync: soon\n", "settings.invalid", 2, "duration"),
    ("- api\n", "yaml.not_mapping", 1, "mapping"),
])
def test_file_errors_point_at_the_line(tmp_path: Path, text: str, code: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    err = info.value
    assert (err.code, err.file, err.line) == (code, "reconciler.yaml", line)
    assert fragment in err.message


@pytest.mark.parametrize("environ,fragment", [({"RECONCILER_CONCURRENCY": "many"}, "RECONCILER_CONCURRENCY"),
                                              ({"RECONCILER_CONCURRENCY": "999"}, "1..256"),
                                              ({"RECONCILER_API_URL": "ftp://x"}, "RECONCILER_API_URL")])
def test_bad_environment_variables(tmp_path: Path, environ: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(write(tmp_path, "api: {url: local}\n"), environ=environ)
