"""Sensitive keys kept in live only (what `reconciler import` leaves out) are neither drift nor orphans,
and `validate` does not require them in values.yaml."""

from __future__ import annotations

from planner_cases import SB, SETTINGS, desired_state, env_desired, live_agent
from reconciler.checks import masking, valuecheck
from reconciler.planning import planner
from reconciler.model import SourceMap
from reconciler.planning.plan import Status

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["greeting", "token"],
          "properties": {"greeting": {"type": "string"}, "token": {"type": "string", "x-sensitive": True},
                         "creds": {"type": "object", "properties": {"pw": {"type": "string", "writeOnly": True},
                                                                     "user": {"type": "string"}}},
                         "legacy": {"type": "string"}}}
LIVE = {"greeting": "hi", "token": "s3cret", "creds": {"pw": "x", "user": "u"}, "legacy": "old"}


def _plan(values, live=LIVE, schema=SCHEMA):
    desired = desired_state(env_desired("a1", SB, schema, values))
    return planner.plan(desired, {"a1": live_agent("a1", {SB: (schema, live)})}, SETTINGS).results[0]


def test_sensitive_live_only_keys_are_not_orphans_and_not_changes():
    r = _plan({"greeting": "hi", "legacy": "old"})
    assert r.status is Status.IN_SYNC
    assert r.orphans == ()


def test_a_plain_live_only_key_is_still_an_orphan():
    r = _plan({"greeting": "hi"})
    assert r.orphans == ("legacy",)


def test_an_object_without_any_sensitive_value_is_an_orphan():
    r = _plan({"greeting": "hi", "legacy": "old", "token": "s3cret"}, live=dict(LIVE, creds={"user": "u"}))
    assert r.orphans == ("creds",)


def test_live_only_keys_definition():
    assert masking.live_only_keys(LIVE, SCHEMA) == {"token", "creds"}
    assert masking.live_only_keys(LIVE, {"type": "object"}) == frozenset()


def test_validate_allows_a_missing_required_sensitive_key_but_not_others():
    vmap = SourceMap(file="configs/a1/sandbox/values.yaml", lines={(): 1})
    assert valuecheck.check_values({"greeting": "hi"}, vmap, SCHEMA) == []
    [finding] = valuecheck.check_values({"token": "x"}, vmap, SCHEMA)
    assert "'greeting' is a required property" in finding.message


def test_the_planner_still_catches_a_sensitive_key_missing_live_too():
    r = _plan({"greeting": "bye"}, live={"greeting": "hi"})
    assert r.status is Status.ERROR and "token" in r.errors[0].message
