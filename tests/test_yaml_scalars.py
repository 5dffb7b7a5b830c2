"""Golden table: how every plain scalar is read (YAML 1.2 core, JSON-only numbers) and when it warns.

Each row: the text as written after ``v: ``, the value we send, its JSON type, and whether
YAML 1.1 would have read it differently (a ``yaml.ambiguous`` warning at its line).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from reconciler.checks import validation
from reconciler.repository import yamlhints, yamlsafe
from reconciler.errors import ConfigError
from reconciler.checks.policy.loader import load_policies

GOLDEN = [
    # text                 value              JSON type   warns
    ("NO",                 "NO",              "string",  True),    # 1.1: false
    ("No",                 "No",              "string",  True),
    ("no",                 "no",              "string",  True),
    ("yes",                "yes",             "string",  True),    # 1.1: true
    ("Yes",                "Yes",             "string",  True),
    ("on",                 "on",              "string",  True),
    ("off",                "off",             "string",  True),
    ("OFF",                "OFF",             "string",  True),
    ("+441632960001",      "+441632960001",   "string",  True),    # 1.1: int 441632960001
    ("+12",                "+12",             "string",  True),
    ("0644",               "0644",            "string",  True),    # 1.1: octal 420
    ("012",                "012",             "string",  True),
    ("17:30",              "17:30",           "string",  True),    # 1.1: base-60 1050
    ("190:20:30",          "190:20:30",       "string",  True),
    ("1_000",              "1_000",           "string",  True),    # 1.1: 1000
    ("2025-01-31",         "2025-01-31",      "string",  True),    # 1.1: a date
    ("2025-01-31 10:00:00", "2025-01-31 10:00:00", "string", True),
    (".5",                 ".5",              "string",  True),    # 1.1: float 0.5
    ("1.",                 "1.",              "string",  True),
    ("GB",                 "GB",              "string",  False),
    ("y",                  "y",               "string",  False),
    ("hello world",        "hello world",     "string",  False),
    ("'NO'",               "NO",              "string",  False),   # quoting silences it
    ('"0644"',             "0644",            "string",  False),
    ("'17:30'",            "17:30",           "string",  False),
    ("true",               True,              "boolean", False),
    ("True",               True,              "boolean", False),
    ("TRUE",               True,              "boolean", False),
    ("false",              False,             "boolean", False),
    ("FALSE",              False,             "boolean", False),
    ("null",               None,              "null",    False),
    ("Null",               None,              "null",    False),
    ("NULL",               None,              "null",    False),
    ("~",                  None,              "null",    False),
    ("",                   None,              "null",    False),
    ("-12",                -12,               "integer", False),
    ("0",                  0,                 "integer", False),
    ("441632960001",       441632960001,      "integer", False),
    ("3.5",                3.5,               "number",  False),
    ("-0.25",              -0.25,             "number",  False),
    ("1e3",                1000.0,            "number",  True),    # 1.1 (PyYAML): the string "1e3"
    ("2.5E-2",             0.025,             "number",  False),
    ("1.5e+3",             1500.0,            "number",  False),
    ("0o17",               15,                "integer", True),    # 1.1: the string "0o17"
    ("0x1F",               31,                "integer", False),
]

JSON_TYPE = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


@pytest.mark.parametrize("text,value,json_type,warns", GOLDEN, ids=[row[0] or "empty" for row in GOLDEN])
def test_golden_scalar(text: str, value: object, json_type: str, warns: bool) -> None:
    data, smap = yamlsafe.parse_yaml(f"a: 1\nv: {text}\n", "values.yaml")
    assert data["v"] == value and JSON_TYPE[type(data["v"])] == json_type
    assert json.loads(json.dumps(data))["v"] == value                 # what is sent is what was read
    notes = [(n.line, n.path) for n in smap.notes]
    assert notes == ([(2, ("v",))] if warns else [])


def test_warning_message_has_the_documented_form() -> None:
    _, smap = yamlsafe.parse_yaml("country: NO\n", "values.yaml")
    [finding] = yamlsafe.note_findings(smap)
    assert (finding.code, finding.severity.value, finding.line, finding.path) == \
        ("yaml.ambiguous", "warning", 1, "country")
    assert finding.message == """'NO' is read as the string "NO" (YAML 1.2); quote it to make that explicit"""


def test_sequence_items_keys_and_aliases() -> None:
    data, smap = yamlsafe.parse_yaml("regions: [GB, NO]\non: 1\nbase: &b off\nagain: *b\n", "p.yaml")
    assert data == {"regions": ["GB", "NO"], "on": 1, "base": "off", "again": "off"}
    assert [(n.line, n.path, n.key) for n in smap.notes] == [
        (1, ("regions", 1), False), (2, ("on",), True), (3, ("base",), False)]    # the alias is not repeated


@pytest.mark.parametrize("text,code", [
    ("v: .nan", "yaml.non_finite"), ("v: .inf", "yaml.non_finite"), ("v: -.Inf", "yaml.non_finite"),
    ("v: !!float .nan", "yaml.non_finite"), ("v: 1e999", "yaml.non_finite"), ("v: !!float -1e400", "yaml.non_finite"), ("retries: !!int three", "yaml.bad_literal"),
    ("v: !!float x", "yaml.bad_literal"), ("v: !!bool x", "yaml.bad_literal"), ("v: !!null x", "yaml.bad_literal"),
])
def test_non_json_numbers_and_bad_tagged_literals_are_located_errors(text: str, code: str) -> None:
    with pytest.raises(ConfigError) as info:
        yamlsafe.parse_yaml(f"a: 1\n{text}\n", "values.yaml")
    assert (info.value.code, info.value.file, info.value.line) == (code, "values.yaml", 2)
    assert "bug" not in info.value.message


@pytest.mark.parametrize("text,value", [("!!int 12", 12), ("!!int 0x1F", 31), ("!!float 2", 2.0),
                                        ("!!bool true", True), ("!!str 0644", "0644"), ("!!str yes", "yes"),
                                        ("!!int '7'", 7), ("!!null ''", None)])
def test_explicit_tags_take_yaml_12_literals_without_a_warning(text: str, value: object) -> None:
    data, smap = yamlsafe.parse_yaml(f"v: {text}\n", "values.yaml")
    assert data["v"] == value and type(data["v"]) is type(value) and not smap.notes


def test_quoted_strings_are_never_numbers_and_finite_floats_stay_finite() -> None:
    data, _ = yamlsafe.parse_yaml("a: '.nan'\nb: '1e3'\nc: 1e308\n", "v.yaml")
    assert data == {"a": ".nan", "b": "1e3", "c": 1e308} and math.isfinite(data["c"])


@pytest.mark.parametrize("text", ["NO", "yes", "off", "+441632960001", "0644", "17:30", "1_000", "2025-01-31",
                                  "true", "null", "~", "", "12", "-1.5", "1e3", "0o17", "0x1F", ".inf", ".nan",
                                  " padded", "a: b", "a #b", "- x", "[x]", "{x}", "*x", "&x", "!x", "|", ">",
                                  "'q'", '"q"', "%x", "@x", "`x", "line\nbreak", "tab\there", "x:"])
def test_needs_quoting_covers_both_yaml_versions(text: str) -> None:
    assert yamlhints.needs_quoting(text)
    data, smap = yamlsafe.parse_yaml(f"v: {json.dumps(text)}\n", "v.yaml")   # quoted: always the string
    assert data["v"] == text and not smap.notes


@pytest.mark.parametrize("text", ["GB", "hello world", "acme-support", "y", "n", "foo:bar", "a-b", "x.y",
                                  "Hello, World", "+", "é"])
def test_plain_safe_strings_need_no_quotes(text: str) -> None:
    assert not yamlhints.needs_quoting(text)
    data, smap = yamlsafe.parse_yaml(f"v: {text}\n", "v.yaml")
    assert data["v"] == text and not smap.notes


# ---- the files that carry them ---------------------------------------------------------------

def _repo(root: Path) -> Path:
    live = root / "configs" / "acme" / "live"
    live.mkdir(parents=True)
    (live / "schema.yaml").write_text(
        "type: object\nproperties:\n  country: {enum: [GB, US, NO, SE]}\n  greeting: {type: string}\n"
        "  after_hours: {type: boolean}\n", encoding="utf-8")
    (live / "values.yaml").write_text("country: NO\ngreeting: off\nafter_hours: yes\n", encoding="utf-8")
    (root / "reconciler.yaml").write_text(
        "api:\n  url: local\nenvironments:\n  sandbox: {sync: auto}\n  live: {sync: manual, selfHeal: no}\n",
        encoding="utf-8")
    (root / "policies").mkdir()
    (root / "policies" / "phones.yaml").write_text(
        "name: phones\nseverity: error\nrules:\n  - id: e164\n    paths: [fallback_number]\n"
        "    e164: {regions: [GB, NO]}\n", encoding="utf-8")
    return root


def test_ambiguous_scalars_in_values_settings_and_policies_warn_at_their_lines(tmp_path: Path) -> None:
    desired = validation.validate_repository(_repo(tmp_path))
    ambiguous = sorted((f.file, f.line, f.path) for f in desired.findings if f.code == "yaml.ambiguous")
    assert ambiguous == [("configs/acme/live/schema.yaml", 3, "properties.country.enum[2]"),
                         ("configs/acme/live/values.yaml", 1, "country"),
                         ("configs/acme/live/values.yaml", 2, "greeting"),
                         ("configs/acme/live/values.yaml", 3, "after_hours"),
                         ("policies/phones.yaml", 6, "rules[0].e164.regions[1]"),
                         ("reconciler.yaml", 5, "environments.live.selfHeal")]
    errors = sorted((f for f in desired.findings if f.blocks), key=lambda f: f.code)
    # 'NO' is in the enum as the string it reads as; 'yes' and 'no' fail boolean with a hint.
    assert [(f.code, f.file, f.line) for f in errors] == [("settings.invalid", "reconciler.yaml", 5),
                                                          ("values.invalid", "configs/acme/live/values.yaml", 3)]
    assert "'no' is a string; write false for a boolean" in errors[0].message
    assert "'yes' is a string; write true for a boolean" in errors[1].message


def test_policy_regions_gb_no_load_as_strings(tmp_path: Path) -> None:
    policies = load_policies(_repo(tmp_path))
    assert not [f for f in policies.findings if f.blocks]
    [policy] = policies.policies
    assert policy.rules[0].args == {"regions": ["GB", "NO"]}
