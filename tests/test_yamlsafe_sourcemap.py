"""yamlsafe: the data it builds and the lines it remembers; plus what it refuses outside the catalogue."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from reconciler.repository import yamlbuild, yamlsafe
from reconciler.errors import ConfigError

DOC = """\
greeting: Hello          # line 1
sites:                   # line 2
  - name: Camden         # line 3
    phone: "+442079460000"
  - name: Soho           # line 5
    hours:
      monday: "09:00-17:00"
expires: 2025-01-31      # line 8
empty:
ratio: 1.5
flag: true
"""


def test_lines_and_key_lines() -> None:
    data, smap = yamlsafe.parse_yaml(DOC, "v.yaml")
    assert smap.file == "v.yaml"
    assert smap.key_lines[("sites",)] == 2
    assert smap.lines[("sites",)] == 3                   # the value (a block list) starts on the next line
    assert smap.lines[("sites", 0)] == 3
    assert smap.lines[("sites", 0, "phone")] == 4
    assert smap.lines[("sites", 1, "hours", "monday")] == 7
    assert smap.line_of(("sites", 1, "hours", "tuesday")) == 7   # missing key: nearest ancestor's value
    assert smap.key_line_of(("sites", 1, "hours")) == 6
    assert smap.key_line_of(("greeting",)) == 1
    assert data["sites"][1]["hours"] == {"monday": "09:00-17:00"}


def test_scalars_are_json_values() -> None:
    data, _ = yamlsafe.parse_yaml(DOC, "v.yaml")
    assert data["expires"] == "2025-01-31"                # dates stay as written
    assert data["empty"] is None and data["ratio"] == 1.5 and data["flag"] is True


def test_merge_keys_explicit_wins_and_alias_lines() -> None:
    text = "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nother: *b\n"
    data, smap = yamlsafe.parse_yaml(text, "f.yaml")
    assert data["m"] == {"x": 1, "y": 3}
    assert data["other"] == {"x": 1, "y": 2}
    assert smap.lines[("other",)] == 5                    # the alias's own line, not the anchor's
    assert smap.lines[("m", "y")] == 4


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(ConfigError) as info:
        yamlsafe.parse_yaml("a:\n  b: 1\n  c: 2\n  b: 3\n", "f.yaml")
    assert info.value.code == "yaml.duplicate_key" and info.value.line == 4
    assert "line 2" in info.value.message and "line 4" in info.value.message


def test_billion_laughs_is_refused_fast() -> None:
    text = "a: &a [" + ",".join(["lol"] * 10) + "]\n" + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        yamlsafe.parse_yaml(text, "bomb.yaml")
    assert info.value.code == "yaml.alias_limit"
    assert time.perf_counter() - started < 1.0           # linear in distinct nodes, not 10**9


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(ConfigError) as info:
        yamlsafe.parse_yaml("a: " + "[" * 500 + "]" * 500 + "\n", "deep.yaml")
    assert info.value.code == "yaml.too_deep"


@pytest.mark.parametrize("text", ["a: !!binary aGk=\n", "a: !!set {x}\n", "? [1, 2]\n: x\n", "a: !!omap [x: 1]\n"])
def test_non_json_constructs_are_refused(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        yamlsafe.parse_yaml(text, "f.yaml")
    assert info.value.code in {"yaml.tag", "yaml.non_string_key"}
    assert info.value.line == 1


def test_scalar_top_level_is_allowed_when_asked() -> None:
    data, smap = yamlsafe.parse_yaml("- 1\n- 2\n", "f.yaml", require_mapping=False)
    assert data == [1, 2] and smap.lines[(1,)] == 2


def test_load_yaml_reports_path_relative_to_root(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.yaml").write_text("a: 1\na: 2\n")
    with pytest.raises(ConfigError) as info:
        yamlsafe.load_yaml(tmp_path / "d" / "f.yaml", tmp_path)
    assert str(info.value).startswith("d/f.yaml:2: duplicate key")


def test_utf8_bom_is_accepted_and_bad_bytes_are_located(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_bytes("\ufeffa: café\n".encode())
    assert yamlsafe.load_yaml(tmp_path / "ok.yaml", tmp_path)[0] == {"a": "café"}
    (tmp_path / "bad.yaml").write_bytes(b"a: 1\nb: 2\nc: \xff\n")
    with pytest.raises(ConfigError) as info:
        yamlsafe.load_yaml(tmp_path / "bad.yaml", tmp_path)
    assert (info.value.code, info.value.line) == ("yaml.encoding", 3)


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:                           # sparse: 50 MiB that costs nothing to make
        fh.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        yamlsafe.load_yaml(big, tmp_path)
    assert info.value.code == "yaml.too_large"
    assert time.perf_counter() - started < 0.5


def test_uses_libyaml_when_available() -> None:
    if yaml.__with_libyaml__:
        assert issubclass(yamlbuild.ComposingLoader, yaml.CSafeLoader)
