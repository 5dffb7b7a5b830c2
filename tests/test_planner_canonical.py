"""Golden cases: what is semantically equal never shows as drift; a JSON type change always does."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from planner_cases import SB, SETTINGS, desired_state, env_desired, live_agent
from reconciler.planning import canonical, diff, planner
from reconciler.planning.plan import DiffKind, Status

BASE_SCHEMA = {"type": "object"}


def _values_plan(desired_values, live_values, schema=BASE_SCHEMA):
    desired = desired_state(env_desired("a1", SB, schema, desired_values))
    live = {"a1": live_agent("a1", {SB: (schema, live_values)})}
    return planner.plan(desired, live, SETTINGS).results[0]


@pytest.mark.parametrize("desired, live", [
    ({"a": 1, "b": {"x": 1, "y": 2}}, {"b": {"y": 2, "x": 1}, "a": 1}),        # key order
    ({"n": 1}, {"n": 1.0}),                                                   # one JSON number
    ({"n": -0.0}, {"n": 0}),
    ({"d": dt.date(2024, 1, 2)}, {"d": "2024-01-02"}),                        # YAML date spelling
    ({"l": (1, 2)}, {"l": [1, 2]}),
    ({"s": "ü"}, {"s": "\u00fc"}),
])
def test_semantically_equal_values_are_in_sync(desired, live):
    assert _values_plan(desired, live).status is Status.IN_SYNC


@pytest.mark.parametrize("desired, live", [
    ({"n": True}, {"n": 1}),                   # True == 1 in Python, not in JSON
    ({"n": 1}, {"n": True}),
    ({"n": False}, {"n": 0}),
    ({"n": 1}, {"n": "1"}),
    ({"n": None}, {"n": 0}),
    ({"n": None}, {"n": False}),
    ({"n": {}}, {"n": []}),
    ({"n": 1.5}, {"n": 1}),
    ({"l": [1, True]}, {"l": [1, 1]}),         # ignore_order=True would hide this one
    ({"l": [1, 2]}, {"l": [2, 1]}),            # list order is data
])
def test_json_type_or_value_changes_are_changes(desired, live):
    r = _values_plan(desired, live)
    assert r.status is Status.CHANGES
    assert dict(r.variables_patch) == desired
    assert r.variables_diff and all(i.kind is DiffKind.CHANGED for i in r.variables_diff)


def test_null_vs_missing_is_an_addition():
    r = _values_plan({"n": None}, {})
    assert dict(r.variables_patch) == {"n": None}
    assert [(i.path, i.kind) for i in r.variables_diff] == [("n", DiffKind.ADDED)]


def test_nested_change_patches_the_whole_top_level_value_and_diff_names_the_leaf():
    live = {"sites": [{"name": "a", "phone": "1"}, {"name": "b", "phone": "2"}], "other": 1}
    desired = {"sites": [{"name": "a", "phone": "1"}, {"name": "b", "phone": "3"}], "other": 1}
    r = _values_plan(desired, live)
    assert dict(r.variables_patch) == {"sites": desired["sites"]}
    assert [(i.path, i.live, i.desired) for i in r.variables_diff] == [("sites[1].phone", "2", "3")]


@pytest.mark.parametrize("desired, live", [
    ({"type": "object", "required": ["b", "a"]}, {"required": ["a", "b"], "type": "object"}),
    ({"properties": {"c": {"type": ["string", "null"]}}}, {"properties": {"c": {"type": ["null", "string"]}}}),
    ({"properties": {"c": {"maximum": 10}}}, {"properties": {"c": {"maximum": 10.0}}}),
    ({"dependencies": {"a": ["c", "b"]}}, {"dependencies": {"a": ["b", "c"]}}),
])
def test_semantically_equal_schemas_are_in_sync(desired, live):
    assert canonical.canonical_schema_text(desired) == canonical.canonical_schema_text(live)
    plan = planner.plan(desired_state(env_desired("a1", SB, desired, None)),
                        {"a1": live_agent("a1", {SB: (live, {})})}, SETTINGS)
    assert plan.results[0].status is Status.IN_SYNC


@pytest.mark.parametrize("desired, live", [
    ({"items": [{"type": "string"}, {"type": "integer"}]}, {"items": [{"type": "integer"}, {"type": "string"}]}),
    ({"anyOf": [{"type": "string"}, {"const": 1}]}, {"anyOf": [{"const": 1}, {"type": "string"}]}),
    # a property *named* "required" is not the keyword
    ({"properties": {"required": {"enum": [1]}}, "default": ["b", "a"]},
     {"properties": {"required": {"enum": [1]}}, "default": ["a", "b"]}),
    ({"properties": {"c": {"enum": [1]}}}, {"properties": {"c": {"enum": [True]}}}),
    # enum order is the order of the dropdown in the Configuration Builder (issue 9)
    ({"properties": {"c": {"enum": ["x", 2, None]}}}, {"properties": {"c": {"enum": [None, "x", 2]}}}),
    ({"properties": {"c": {"const": 1}}}, {"properties": {"c": {"const": "1"}}}),
])
def test_order_carrying_or_typed_schema_differences_are_changes(desired, live):
    assert canonical.canonical_schema_text(desired) != canonical.canonical_schema_text(live)
    r = planner.plan(desired_state(env_desired("a1", SB, desired, None)),
                     {"a1": live_agent("a1", {SB: (live, {})})}, SETTINGS).results[0]
    assert r.status is Status.CHANGES and r.schema_put == desired and r.schema_diff


def test_canonical_text_is_compact_sorted_and_keeps_unicode():
    assert canonical.canonical_text({"b": 1.0, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'


def test_schema_diff_ignores_required_order_but_shows_real_change():
    items = diff.diff_schemas({"required": ["a", "b"], "type": "object"},
                              {"required": ["b", "a", "c"], "type": "object"})
    assert [(i.path, i.kind.value, i.desired) for i in items] == [("required[2]", "added", "c")]


def test_diff_is_deterministic_and_naturally_ordered():
    live = {f"k{i}": i for i in range(12)}
    desired = {f"k{i}": i + 1 for i in range(12)}
    first = diff.diff_documents(live, desired)
    assert first == diff.diff_documents(dict(reversed(live.items())), dict(reversed(desired.items())))
    assert [i.path for i in first] == sorted(live)
    # Lists are compared index by index, in natural index order.
    paths = [i.path for i in diff.diff_documents({"l": list(range(12))}, {"l": [x + 1 for x in range(12)]})]
    assert paths == [f"l[{i}]" for i in range(12)]


@pytest.mark.parametrize("a, b, expected", [
    ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
    (True, 1, False), ([1], [True], False), (0, False, False), (1, 1.0, True), ((1,), [1], True),
    ({"a": 1}, {"a": 1, "b": None}, False), (float("nan"), float("nan"), True),
])
def test_equal_uses_a_strict_fast_check_then_canonical_text(a, b, expected):
    assert canonical.equal(a, b) is expected
    assert canonical.equal(a, b) == (canonical.canonical_text(a) == canonical.canonical_text(b))
    if canonical.same(a, b):          # the fast check never claims more than canonical text
        assert canonical.canonical_text(a) == canonical.canonical_text(b)


def _strictly_same(a, b) -> bool:
    """:func:`canonical.same` by its definition: the same types all the way down, ``==`` on leaves."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strictly_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_strictly_same(x, y) for x, y in zip(a, b))
    return type(a) in (str, int, bool, float, type(None)) and a == b


_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.5, float("nan")]),
                  st.sampled_from(["", "a", "b"]))
_JSONISH = st.recursive(_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner), st.dictionaries(st.sampled_from("abc"), inner, max_size=3)),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_JSONISH, _JSONISH, st.booleans())
def test_same_is_strict_structural_equality(a, b, mirror):
    """The planner's hottest check (loops and inline leaves) says exactly what its definition says."""
    if mirror:
        b = copy.deepcopy(a)                           # equal structures, often, not only by chance
    assert canonical.same(a, b) is _strictly_same(a, b)
