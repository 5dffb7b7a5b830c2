"""The YAML writer: block style, live key order, literal blocks, and strings quoted whenever any reader
(YAML 1.1 — PyYAML's safe_load — or YAML 1.2 core) could take them for something else."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.repository import yamlsafe, yamlwrite

#: YAML 1.2 core schema resolution of plain scalars (non-strings).
_CORE_12 = re.compile(r"""^(?:null|Null|NULL|~|true|True|TRUE|false|False|FALSE
    |[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+
    |[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$""", re.X)

TRICKY = ["NO", "no", "off", "On", "y", "n", "yes", "null", "Null", "~", "0644", "+441632960001", "17:30",
          "1_000", "0x1F", "0o17", "1e3", ".5", "-", "- x", "*alias", "&anchor", "!tag", "%directive", "@at",
          "`tick", "|pipe", ">fold", "'q", '"q', "#hash", "a #b", "a: b", "a:b", "key:", "[x]", "{x}", ",x",
          "? x", " lead", "trail ", "", " ", "2025-01-31", "12:30:45", ".inf", "-.inf", ".nan", "NaN", "Infinity",
          "=", "<<", "true ", "é", "Ünïcödé ok", "tab\there", "nul\x00", "bell\x07", "del\x7f", "c1\x85",
          "ls\u2028x", "bom\ufeff", "emoji 😀", "multi\nline", "multi\nline\n", "trail\n\n\n", "\nlead",
          "  indented\nnext", "crlf\r\nx", "space \nx", "x\n  y\n\n z", "\n", "\n\n", "---", "...", "a\n---\nb"]


def _plain_scalars(text: str) -> list[str]:
    """Every plain (unquoted, non-block) scalar the text holds."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        if isinstance(n, yaml.ScalarNode):
            if n.style is None:
                out.append(n.value)
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                todo.extend((k, v))
    return out


def _assert_reads_back(data: dict) -> str:
    text = yamlwrite.dump(data)
    exact = json.dumps(data, ensure_ascii=False)
    assert json.dumps(yamlsafe.parse_yaml(text, "x.yaml")[0], ensure_ascii=False) == exact, text
    assert json.dumps(yaml.safe_load(text), ensure_ascii=False) == exact, text     # YAML 1.1 reader
    for plain in _plain_scalars(text):
        if isinstance(plain, str) and plain not in ("true", "false", "null") and not _is_number_we_wrote(plain):
            assert not _CORE_12.match(plain), f"plain {plain!r} is not a string under YAML 1.2 core"
    return text


def _is_number_we_wrote(token: str) -> bool:
    return re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+(e[-+][0-9]+)?)?", token) is not None


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_strings_read_back_as_the_same_string(value: str) -> None:
    _assert_reads_back({"k": value, value or "empty": [value], "n": {"x": value}})


@pytest.mark.parametrize("word", ["NO", "off", "0644", "+441632960001", "17:30", "null", "*x", "&x", "!x"])
def test_ambiguous_words_are_double_quoted(word: str) -> None:
    assert yamlwrite.dump({"k": word}) == f'k: "{word}"\n'


def test_block_style_keys_in_given_order_and_literal_blocks() -> None:
    data = {"z": 1, "a": {"nested": [1, {"b": True, "c": None}], "empty": {}, "none": []},
            "text": "line one\nline two\n", "f": 1.0e20}
    assert yamlwrite.dump(data) == (
        "z: 1\n"
        "a:\n"
        "  nested:\n"
        "    - 1\n"
        "    - b: true\n"
        "      c: null\n"
        "  empty: {}\n"
        "  none: []\n"
        "text: |\n"
        "  line one\n"
        "  line two\n"
        "f: 1.0e+20\n")


def test_replaced_keys_become_comments_in_place() -> None:
    text = yamlwrite.dump({"a": 1, "secret": "s3cr3t", "b": 2}, replaced={"secret": "secret: pin"})
    assert text == "a: 1\n# secret: pin\nb: 2\n"
    assert "s3cr3t" not in text
    assert yamlwrite.dump({"secret": "x"}, replaced={"secret": "secret: pin"}) == "# secret: pin\n{}\n"


def test_not_json_data_is_refused() -> None:
    with pytest.raises(yamlwrite.YamlWriteError):
        yamlwrite.dump({"k": float("nan")})
    with pytest.raises(yamlwrite.YamlWriteError):
        yamlwrite.dump({1: "x"})


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30) | st.sampled_from(TRICKY)
_scalars = (st.none() | st.booleans() | st.integers(-(2 ** 53), 2 ** 53)
            | st.floats(allow_nan=False, allow_infinity=False) | _text)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_text, _json, max_size=6))
def test_any_json_document_reads_back_identically(data: dict) -> None:
    _assert_reads_back(data)
