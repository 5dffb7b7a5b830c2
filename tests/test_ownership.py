"""Ownership rules: keys live owns are never diffed, patched, reverted or orphans; never in values.yaml.

Planner and validation with literal values (no server); the settings file model; import's page files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from planner_cases import LV, SB, SETTINGS, desired_state, env_desired, live_agent, source
from reconciler import governance
from reconciler.adoption import importer
from reconciler.checks import ownership as owned_check
from reconciler.errors import ConfigError
from reconciler.planning import ownership, planner
from reconciler.planning.plan import Status
from reconciler.repository import yamlsafe
from reconciler.settings import load_settings

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["greeting", "emergency_closure"],
          "properties": {"greeting": {"type": "string"}, "emergency_closure": {"type": "boolean"},
                         "holiday_message": {"type": "string"},
                         "opening": {"type": "object", "properties": {"closed": {"type": "boolean"},
                                                                        "hours": {"type": "string"}}}}}
RULES = governance.Governance(ownership=(
    governance.OwnershipRule(governance.Scope(("acme-*",), ("live",)),
                             ("emergency_closure", "holiday_message", "/opening/closed")),))
SETTINGS_OWNED = dataclasses.replace(SETTINGS, governance=RULES)


def _plan(values, live, settings=SETTINGS_OWNED, env=LV, agent="acme-1", read_only=False):
    desired = desired_state(env_desired(agent, env, SCHEMA, values))
    results = planner.plan(desired, {agent: live_agent(agent, {env: (SCHEMA, live)})}, settings,
                        read_only=read_only).for_agent(agent)
    return next(r for r in results if r.env is env)


REPO = {"greeting": "hi", "opening": {"hours": "9-5"}}
LIVE = {"greeting": "hi", "emergency_closure": True, "holiday_message": "Closed today",
        "opening": {"hours": "9-5", "closed": True}}


def test_a_ui_edit_of_owned_keys_is_in_sync_and_nothing_is_sent():
    r = _plan(REPO, LIVE)
    assert r.status is Status.IN_SYNC and not r.has_writes
    assert r.orphans == () and r.variables_diff == () and not r.differs
    assert r.live_owned == ("emergency_closure", "holiday_message", "/opening/closed")


def test_without_the_rule_the_same_page_is_orphans_and_a_change():
    r = _plan(REPO, LIVE, settings=SETTINGS)
    assert set(r.orphans) == {"emergency_closure", "holiday_message"}
    assert r.variables_patch == {"opening": {"hours": "9-5"}} and r.live_owned == ()


def test_a_nested_owned_key_keeps_live_value_when_its_parent_changes():
    r = _plan({"greeting": "hi", "opening": {"hours": "8-6"}}, LIVE)
    assert r.status is Status.CHANGES
    assert r.variables_patch == {"opening": {"hours": "8-6", "closed": True}}       # live's closed, not dropped


def test_drift_ignores_owned_keys_too():
    assert not _plan(REPO, LIVE, read_only=True).differs


def test_rules_only_cover_their_scope():
    assert _plan(REPO, LIVE, env=SB).orphans                       # sandbox is not covered
    assert _plan(REPO, LIVE, agent="bella-1").orphans              # nor another agent
    assert RULES.owned_keys("acme-x", "live") and not RULES.owned_keys("acme-x", "sandbox")


def test_an_owned_key_missing_live_is_not_invented_and_a_required_one_is_caught():
    r = _plan(dict(REPO, greeting="bye"), {"greeting": "hi", "opening": {"hours": "9-5"}})
    assert r.status is Status.ERROR and "emergency_closure" in r.errors[0].message and not r.has_writes


def test_take_from_live_never_mutates_and_handles_arrays_and_escapes():
    values = {"a": {"b/c": 1, "d": [1, 2]}, "x": 1}
    paths = ((t, governance.parse_pointer(t)) for t in ("/a/b~1c", "/a/d/1", "x"))
    out = ownership.take_from_live(values, {"a": {"b/c": 9, "d": [7, 8]}}, tuple(paths))
    assert out == {"a": {"b/c": 9, "d": [1, 8]}} and values == {"a": {"b/c": 1, "d": [1, 2]}, "x": 1}


@pytest.mark.parametrize("bad", ["", "/", "/a//b", "/a~2"])
def test_bad_pointers_are_refused(bad):
    with pytest.raises(ValueError):
        governance.parse_pointer(bad)


def _values_env(text: str):
    data, smap = yamlsafe.parse_yaml(text, "configs/acme-1/live/values.yaml")
    return desired_state(env_desired("acme-1", LV, SCHEMA, data, values_map=smap))


def test_an_owned_key_in_values_yaml_is_an_error_at_its_line():
    desired = _values_env("greeting: hi\nemergency_closure: false\nopening:\n  closed: false\n")
    found = owned_check.adjust([], desired, RULES)
    assert [(f.code, f.line, f.path) for f in found] == [("values.live_owned", 2, "emergency_closure"),
                                                          ("values.live_owned", 4, "opening.closed")]
    assert all(f.blocks for f in found)


def test_a_missing_required_owned_key_is_excused_but_no_other():
    from reconciler.checks import validation
    desired = _values_env("greeting: hi\n")
    env = desired.agents["acme-1"].envs[LV]
    raw = validation.check_env(env)
    assert any("emergency_closure" in f.message for f in raw)           # without the rule: required
    assert owned_check.adjust(raw, desired, RULES) == []
    other = _values_env("holiday_message: x\nemergency_closure: true\n")
    kept = owned_check.adjust(validation.check_env(other.agents["acme-1"].envs[LV]), other, RULES)
    assert any("'greeting' is a required property" == f.message for f in kept)


def test_settings_file_reads_ownership_and_refuses_mistakes(tmp_path: Path):
    (tmp_path / "reconciler.yaml").write_text(
        "api: {url: local}\nownership:\n  - agents: acme-*\n    envs: [live]\n"
        "    liveOwns: [emergency_closure, /opening/closed]\n")
    s = load_settings(tmp_path, environ={})
    assert s.governance.owned_keys("acme-2", "live") == ("emergency_closure", "/opening/closed")
    for body, word in (("  - liveOwns: []\n", "liveOwns"), ("  - liveOwns: [a]\n    envs: [prod]\n", "prod"),
                       ("  - liveOwns: [a]\n    owner: ui\n", "owner"), ("  - liveOwns: ['/a//b']\n", "pointer")):
        (tmp_path / "reconciler.yaml").write_text("api: {url: local}\nownership:\n" + body)
        with pytest.raises(ConfigError) as info:
            load_settings(tmp_path, environ={})
        assert word in str(info.value) and info.value.line is not None


def test_import_leaves_owned_keys_out_with_a_comment():
    files, left = importer.page_files("acme-1", LV, SCHEMA, LIVE, rules=RULES)
    text = files["configs/acme-1/live/values.yaml"]
    assert f"# emergency_closure: {importer.OWNED}" in text and f"# holiday_message: {importer.OWNED}" in text
    assert f"# {importer.OWNED}: /opening/closed" in text
    data, _ = yamlsafe.parse_yaml(text, "v.yaml")
    assert data == {"greeting": "hi", "opening": {"hours": "9-5"}}
    assert set(left) == {"emergency_closure", "holiday_message", "/opening/closed"}
    files, left = importer.page_files("acme-1", SB, SCHEMA, LIVE, rules=RULES)
    assert "emergency_closure: true" in files["configs/acme-1/sandbox/values.yaml"] and not left
