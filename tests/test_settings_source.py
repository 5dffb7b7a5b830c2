"""``source:`` in reconciler.yaml: the git source of ``reconciler watch``, validated like every other key."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler import errors, settings

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, source: str) -> Path:
    (tmp_path / "reconciler.yaml").write_text(f"api:\n  url: local\nsource:\n{source}", encoding="utf-8")
    return tmp_path


def test_source_is_read_with_its_defaults(tmp_path):
    loaded = settings.load_settings(_write(tmp_path, "  git: https://github.com/acme/config.git\n"), environ={})
    assert loaded.source == settings.SourceSettings("https://github.com/acme/config.git", "main", 60.0)
    loaded = settings.load_settings(_write(tmp_path, "  git: ssh://git@example.com/x.git\n  branch: prod\n"
                                                     "  interval: 5m\n"), environ={})
    assert (loaded.source.branch, loaded.source.interval) == ("prod", 300.0)
    schema = json.loads((ROOT / "schemas" / "reconciler.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((tmp_path / "reconciler.yaml").read_text()), schema)


@pytest.mark.parametrize("body, line, words", [
    ("  git: https://me:hunter2@example.com/x.git\n", 4, "must not carry credentials"),
    ("  git: http://example.com/x.git\n", 4, "https://, ssh:// or file://"),
    ("  git: file:///srv/x.git\n  interval: 0\n", 5, "source.interval must be at least 1 second"),
    ("  git: file:///srv/x.git\n  branch: a..b\n", 5, "is not a branch name"),
    ("  git: file:///srv/x.git\n  depth: 1\n", 5, "unknown key 'depth' in source; allowed: git, branch, interval"),
])
def test_a_bad_source_is_an_error_at_its_line_and_never_echoes_a_password(tmp_path, body, line, words):
    with pytest.raises(errors.ConfigError) as caught:
        settings.load_settings(_write(tmp_path, body), environ={})
    assert caught.value.line == line and words in str(caught.value)
    assert "hunter2" not in str(caught.value)
