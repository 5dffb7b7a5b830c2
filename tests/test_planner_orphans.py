"""Orphans (live keys the repository lacks) and the prediction of the page after PUT + PATCH."""

from __future__ import annotations

from planner_cases import SB, SETTINGS, desired_state, env_desired, live_agent, source
from reconciler.planning import planner
from reconciler.model import Severity
from reconciler.planning.plan import Status

OPEN = {"type": "object", "properties": {"a": {"type": "integer"}}}
CLOSED = {**OPEN, "additionalProperties": False}


def _plan_one(schema, values, live_schema, live_values, **maps):
    desired = desired_state(env_desired("a1", SB, schema, values, **maps))
    return planner.plan(desired, {"a1": live_agent("a1", {SB: (live_schema, live_values)})}, SETTINGS).results[0]


def test_orphans_are_reported_sorted_and_never_patched():
    r = _plan_one(OPEN, {"a": 2}, OPEN, {"a": 1, "zz": 1, "old": "x"})
    assert r.status is Status.CHANGES
    assert r.orphans == ("old", "zz")
    assert dict(r.variables_patch) == {"a": 2}


def test_orphans_alone_do_not_make_a_change():
    r = _plan_one(OPEN, {"a": 1}, OPEN, {"a": 1, "old": "x"})
    assert r.status is Status.IN_SYNC and r.orphans == ("old",)


def test_orphan_forbidden_by_additional_properties_false_is_an_error_with_both_ways_out():
    schema_map = source("a1", SB, "schema.yaml", lines={(): 1, ("additionalProperties",): 7},
                        key_lines={("additionalProperties",): 7})
    r = _plan_one(CLOSED, {"a": 1}, OPEN, {"a": 1, "legacy_flag": True}, schema_map=schema_map)
    assert r.status is Status.ERROR
    assert r.schema_put is None and not r.variables_patch and not r.has_writes   # nothing to send
    [err] = r.errors
    assert err.code == "plan.orphan_forbidden" and err.severity is Severity.ERROR
    assert "`legacy_flag`" in err.message
    assert "keep `legacy_flag` in schema.yaml" in err.message
    assert "Configuration Builder UI" in err.message and "PATCH cannot delete keys" in err.message
    assert (err.file, err.line) == ("configs/a1/sandbox/schema.yaml", 7)
    assert r.schema_diff      # the reviewer still sees what was wanted


def test_orphan_forbidden_by_a_type_change():
    old = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}}
    new = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
    r = _plan_one(new, {"a": 1}, old, {"a": 1, "b": "text"})
    assert r.status is Status.ERROR
    assert [e.code for e in r.errors] == ["plan.orphan_forbidden"] and "`b`" in r.errors[0].message


def test_orphan_that_the_new_schema_still_allows_is_fine():
    r = _plan_one(OPEN | {"properties": {"a": {"type": "integer"}, "b": {}}, "additionalProperties": False},
                  {"a": 2}, OPEN, {"a": 1, "b": "x"})
    assert r.status is Status.CHANGES and r.orphans == ("b",)


def test_values_managed_schema_unmanaged_checks_the_live_schema():
    values_map = source("a1", SB, "values.yaml", lines={(): 1, ("a",): 4})
    desired = desired_state(env_desired("a1", SB, None, {"a": "not-an-int"}, values_map=values_map))
    r = planner.plan(desired, {"a1": live_agent("a1", {SB: (OPEN, {"a": 1})})}, SETTINGS).results[0]
    assert r.status is Status.ERROR and not r.has_writes
    [err] = r.errors
    assert err.code == "values.invalid_for_live_schema"
    assert (err.file, err.line, err.path) == ("configs/a1/sandbox/values.yaml", 4, "a")


def test_invalid_result_names_the_path_and_masks_secrets():
    schema = {"type": "object", "properties": {"tok": {"type": "string", "x-sensitive": True, "maxLength": 3}}}
    desired = desired_state(env_desired("a1", SB, None, {"tok": "supersecretvalue"}))
    r = planner.plan(desired, {"a1": live_agent("a1", {SB: (schema, {})})}, SETTINGS).results[0]
    assert r.status is Status.ERROR
    assert "`tok`" in r.errors[0].message and "supersecretvalue" not in repr(r)


def test_schema_only_management_warns_when_live_values_stop_validating():
    new = {"type": "object", "properties": {"a": {"type": "string"}}}
    r = _plan_one(new, None, OPEN, {"a": 1})
    assert r.status is Status.CHANGES and r.schema_put == new and not r.variables_patch
    [warning] = r.warnings
    assert warning.code == "plan.live_values_invalid" and warning.severity is Severity.WARNING
    assert "`a`" in warning.message and warning.file == "configs/a1/sandbox/schema.yaml"
    # no warning when the live values still fit
    assert _plan_one(OPEN | {"title": "t"}, None, OPEN, {"a": 1}).warnings == ()


def test_bad_pattern_in_schema_is_an_error_not_a_crash():
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "([a-"}}}
    r = _plan_one(schema, {"a": "x"}, OPEN, {})
    assert r.status is Status.ERROR and not r.has_writes
