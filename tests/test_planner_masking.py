"""Sensitive values never leave the planner unmasked, yet their changes stay visible."""

from __future__ import annotations

from planner_cases import SB, SETTINGS, desired_state, env_desired, live_agent
from reconciler.planning import diff, planner
from reconciler.planning.plan import DiffKind

SECRET_SCHEMA = {"type": "object", "properties": {
    "token": {"type": "string", "writeOnly": True, "default": "default-secret"},
    "sites": {"type": "array", "items": {"type": "object", "properties": {"pin": {"x-sensitive": True}}}}}}


def test_schema_diff_masks_instances_of_a_sensitive_property():
    new = {"type": "object", "properties": {
        "token": {"type": "string", "writeOnly": True, "default": "other-secret", "enum": ["other-secret"]},
        "sites": SECRET_SCHEMA["properties"]["sites"], "extra": {"x-sensitive": True, "const": "c0nst"}}}
    items = diff.diff_schemas(SECRET_SCHEMA, new)
    text = repr(items)
    for secret in ("default-secret", "other-secret", "c0nst"):
        assert secret not in text
    assert {(i.path, i.kind) for i in items} >= {("properties.token.default", DiffKind.CHANGED),
                                                 ("properties.token.enum", DiffKind.ADDED)}


def test_a_key_sensitive_only_in_the_live_schema_is_still_masked():
    desired_schema = {"type": "object", "properties": {"token": {"type": "string"}}}
    desired = desired_state(env_desired("a1", SB, desired_schema, {"token": "new-value"}))
    live = {"a1": live_agent("a1", {SB: (SECRET_SCHEMA, {"token": "old-value"})})}
    r = planner.plan(desired, live, SETTINGS).results[0]
    assert r.variables_patch == {"token": "new-value"}             # the real value is sent...
    assert r.masked_patch == {"token": "***"}                      # ...but never shown
    assert [(i.path, i.kind, i.sensitive) for i in r.variables_diff] == [("token", DiffKind.CHANGED, True)]
    assert "old-value" not in repr(r.variables_diff) and r.sensitive_keys == {"token"}


def test_nested_sensitive_values_are_masked_in_patch_and_diff():
    values = {"sites": [{"pin": "9999", "name": "x"}]}
    desired = desired_state(env_desired("a1", SB, SECRET_SCHEMA, values))
    live = {"a1": live_agent("a1", {SB: (SECRET_SCHEMA, {"sites": [{"pin": "1111", "name": "x"}]})})}
    r = planner.plan(desired, live, SETTINGS).results[0]
    assert r.masked_patch == {"sites": [{"pin": "***", "name": "x"}]}
    [item] = r.variables_diff
    assert (item.path, item.kind, item.live, item.desired, item.sensitive) == ("sites[0].pin", DiffKind.CHANGED,
                                                                               "***", "***", True)
