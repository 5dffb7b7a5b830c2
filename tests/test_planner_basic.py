"""Planner statuses: in sync, changes, unmanaged, filters, order, fast path."""

from __future__ import annotations

import copy

import deepdiff
import pytest

from planner_cases import LV, PR, SB, SCHEMA, SETTINGS, desired_state, env_desired, live_agent
from reconciler.planning import planner
from reconciler.planning.plan import Status

VALUES = {"greeting": "hi", "max_retries": 3, "enabled": True, "api_token": "s3cret",
          "sites": [{"name": "a", "phone": "+441234567890", "pin": "1234"}]}


def _plan(desired, live, **kw):
    return planner.plan(desired, live, SETTINGS, **kw)


def test_equal_is_in_sync_and_unmanaged_envs_stay_unmanaged():
    desired = desired_state(env_desired("a1", SB, SCHEMA, VALUES))
    live = {"a1": live_agent("a1", {SB: (SCHEMA, VALUES), PR: ({}, {"x": 1})})}
    result = _plan(desired, live)
    assert [(r.env, r.status) for r in result.results] == [
        (SB, Status.IN_SYNC), (PR, Status.UNMANAGED), (LV, Status.UNMANAGED)]
    assert result.results[0].live_last_updated == "2026-01-01T00:00:00Z"
    assert result.results[0].sensitive_keys == {"api_token"}
    assert not result.has_changes and not result.has_errors


def test_fast_path_calls_no_deepdiff_when_equal(monkeypatch):
    calls = []
    real = deepdiff.DeepDiff
    monkeypatch.setattr(deepdiff, "DeepDiff", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    reordered = {"required": ["max_retries", "greeting"], **{k: v for k, v in reversed(SCHEMA.items())
                                                              if k != "required"}}
    desired = desired_state(env_desired("a1", SB, reordered, dict(reversed(VALUES.items()))))
    live = {"a1": live_agent("a1", {SB: (SCHEMA, VALUES)})}
    assert _plan(desired, live).results[0].status is Status.IN_SYNC
    assert calls == []
    # ...and the seam is real: a change goes through it.
    changed = desired_state(env_desired("a1", SB, SCHEMA, {**VALUES, "greeting": "hello"}))
    assert _plan(changed, live).results[0].status is Status.CHANGES
    assert calls


def test_patch_holds_only_differing_top_level_keys_and_schema_put_is_whole():
    new_schema = copy.deepcopy(SCHEMA)
    new_schema["properties"]["greeting"]["maxLength"] = 50
    values = {**VALUES, "max_retries": 5}
    desired = desired_state(env_desired("a1", SB, new_schema, values))
    live = {"a1": live_agent("a1", {SB: (SCHEMA, VALUES)})}
    r = _plan(desired, live).results[0]
    assert r.status is Status.CHANGES
    assert r.schema_put == new_schema
    assert dict(r.variables_patch) == {"max_retries": 5}
    assert [(i.path, i.kind.value, i.live, i.desired) for i in r.schema_diff] == [
        ("properties.greeting.maxLength", "added", None, 50)]
    assert [(i.path, i.kind.value, i.live, i.desired) for i in r.variables_diff] == [
        ("max_retries", "changed", 3, 5)]


def test_results_sorted_by_agent_then_promotion_order_and_filters():
    desired = desired_state(*(env_desired(a, e, SCHEMA, VALUES) for a in ("b", "a") for e in (LV, SB, PR)))
    live = {a: live_agent(a, {e: (SCHEMA, VALUES) for e in (SB, PR, LV)}) for a in ("a", "b")}
    result = _plan(desired, live)
    assert [(r.agent, r.env) for r in result.results] == [
        ("a", SB), ("a", PR), ("a", LV), ("b", SB), ("b", PR), ("b", LV)]
    only = _plan(desired, live, agents=["b"], envs=["live", "sandbox"])
    assert [(r.agent, r.env) for r in only.results] == [("b", SB), ("b", LV)]
