"""Property tests against a simulated API (PUT sets the schema, PATCH shallow-merges after validating).

For generated schemas, desired values and live pages: applying the plan's writes makes a re-plan
in sync; the plan is deterministic; PATCH keys are a subset of the differing keys; and nothing
that the API would reject (merged variables invalid for the page's schema) is ever sent.
"""

from __future__ import annotations

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner_cases import SB, SETTINGS, desired_state, env_desired, live_agent
from reconciler.planning import canonical, planner
from reconciler.planning.plan import Status

KEYS = ("a", "b", "c", "d")
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 1.5, -0.0]),
                    st.sampled_from(["", "x", "1", "true"]))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.sampled_from("xyz"), inner, max_size=2)),
                    max_leaves=6)
TYPES = {
    "string": st.sampled_from(["", "x", "1"]),
    "integer": st.integers(-3, 3),
    "boolean": st.booleans(),
    "number": st.sampled_from([0, 1.5, 2.0]),
    "array": st.lists(st.integers(0, 2), max_size=3),
    "object": st.fixed_dictionaries({"x": st.integers(0, 2)}),
}


@st.composite
def schemas(draw):
    names = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=4))
    props = {}
    for name in names:
        kind = draw(st.sampled_from(sorted(TYPES)))
        prop = {"type": kind}
        if kind == "array":
            prop["items"] = {"type": "integer"}
        if kind == "object":
            prop["properties"] = {"x": {"type": "integer"}}
        props[name] = prop
    schema = {"type": "object", "properties": props}
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    required = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    if required:
        schema["required"] = required
    return schema


@st.composite
def valid_values(draw, schema):
    out = {}
    for name, prop in schema["properties"].items():
        if name in schema.get("required", ()) or draw(st.booleans()):
            out[name] = draw(TYPES[prop["type"]])
    return out


@st.composite
def cases(draw):
    desired_schema = draw(schemas())
    desired_values = draw(valid_values(desired_schema))
    live_schema = draw(st.one_of(st.just({}), schemas()))
    live_values = draw(st.dictionaries(st.sampled_from(KEYS + ("e",)), JSON, max_size=5))
    if draw(st.booleans()):    # often start close to the desired state
        live_values = {**live_values, **{k: v for k, v in desired_values.items() if draw(st.booleans())}}
    return desired_schema, desired_values, live_schema, live_values


def _plan(schema, values, live_schema, live_values):
    desired = desired_state(env_desired("a1", SB, schema, values))
    return planner.plan(desired, {"a1": live_agent("a1", {SB: (live_schema, live_values)})}, SETTINGS)


def _api_apply(result, live_schema, live_values):
    """What the Agents API does with the plan's writes; it rejects an invalid PATCH."""
    if result.schema_put is not None:
        live_schema = result.schema_put
    if result.variables_patch:
        merged = {**live_values, **result.variables_patch}
        assert jsonschema.Draft7Validator(live_schema).is_valid(merged), "would be REAL_TIME_CONFIG_INVALID_FOR_SCHEMA"
        live_values = merged
    return live_schema, live_values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_apply_then_plan_is_in_sync_and_nothing_invalid_is_sent(case):
    schema, values, live_schema, live_values = case
    first = _plan(schema, values, live_schema, live_values)
    assert first == _plan(schema, values, live_schema, live_values)        # deterministic
    r = first.results[0]
    for key in r.variables_patch:                                          # PATCH keys ⊆ differing keys
        assert key not in live_values or canonical.canonical_text(live_values[key]) != canonical.canonical_text(values[key])
    merged = {**live_values, **r.variables_patch}
    if r.status is Status.ERROR:
        assert not r.has_writes
        assert not jsonschema.Draft7Validator(schema).is_valid(merged)     # only when the result is invalid
        return
    if r.status is Status.CHANGES:
        assert jsonschema.Draft7Validator(schema).is_valid(merged)
    new_schema, new_values = _api_apply(r, live_schema, live_values)
    again = _plan(schema, values, new_schema, new_values).results[0]
    assert again.status is Status.IN_SYNC and not again.has_writes


@settings(max_examples=100, deadline=None)
@given(schemas(), schemas(), st.dictionaries(st.sampled_from(KEYS), JSON, max_size=4))
def test_schema_only_management_converges_and_never_patches(schema, live_schema, live_values):
    r = _plan(schema, None, live_schema, live_values).results[0]
    assert r.status in (Status.CHANGES, Status.IN_SYNC) and not r.variables_patch
    new_schema, new_values = _api_apply(r, live_schema, live_values)
    assert _plan(schema, None, new_schema, new_values).results[0].status is Status.IN_SYNC
