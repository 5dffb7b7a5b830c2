"""Property-based, at the apply level (hypothesis, over the loopback emulator).

For generated schemas / values (desired) and generated live pages (including
values that no longer fit and orphan keys):
- plan is deterministic;
- an apply never meets a 400 (nothing invalid is ever sent, no INVALID_FOR_SCHEMA);
- PATCH keys are a subset of the keys whose values differ;
- apply then plan is in sync for every environment the plan did not block.
"""

from __future__ import annotations

import json
import uuid

from e2e_helpers import converge, desired_state, make_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.planning.plan import OutcomeState, Status

ENVS = ("sandbox", "pre-release", "live")
NAMES = ("a", "b", "c", "d", "zz")

KINDS = {
    "string": ({"type": "string", "maxLength": 4}, st.text(max_size=4)),
    "integer": ({"type": "integer", "minimum": 0, "maximum": 9}, st.integers(0, 9)),
    "boolean": ({"type": "boolean"}, st.booleans()),
    "enum": ({"type": "string", "enum": ["x", "y"]}, st.sampled_from(["x", "y"])),
    "array": ({"type": "array", "items": {"type": "integer"}}, st.lists(st.integers(-2, 2), max_size=3)),
    "object": ({"type": "object", "properties": {"n": {"type": "number"}}, "additionalProperties": False},
               st.fixed_dictionaries({"n": st.one_of(st.integers(0, 2), st.sampled_from([0.5, 1.0, 2.5]))})),
    "nullable": ({"type": ["string", "null"]}, st.one_of(st.none(), st.sampled_from(["", "q"]))),
}


@st.composite
def page(draw):
    """(schema, values) with values valid for the schema."""
    props = draw(st.dictionaries(st.sampled_from(NAMES), st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
    schema = {"type": "object", "properties": {n: KINDS[k][0] for n, k in sorted(props.items())},
              "additionalProperties": draw(st.booleans())}
    required = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
    if required:
        schema["required"] = sorted(required)
    keys = set(required) | set(draw(st.lists(st.sampled_from(sorted(props)), unique=True)))
    return schema, {k: draw(KINDS[props[k]][1]) for k in sorted(keys)}


@st.composite
def live_page(draw):
    """Anything the UI could have left behind: empty, a valid page, or one with junk / orphans."""
    kind = draw(st.sampled_from(["empty", "page", "junk"]))
    if kind == "empty":
        return {"schema": {}, "variables": {}}
    schema, values = draw(page())
    if kind == "junk":
        values = {**values, draw(st.sampled_from(NAMES)): draw(st.sampled_from([1, "s", True, None, [1]]))}
    return {"schema": schema, "variables": values}


@st.composite
def scenario(draw):
    managed = draw(st.lists(st.sampled_from(ENVS), unique=True, min_size=1))
    desired = {env: draw(page()) for env in ENVS if env in managed}
    live = {env: draw(live_page()) for env in ENVS}
    return desired, live


def text(value) -> str:
    return json.dumps(value, sort_keys=True)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(scenario())
def test_apply_then_plan_is_in_sync_and_nothing_invalid_is_sent(emulator, case):
    desired_pages, live_pages = case
    agent = f"prop-{uuid.uuid4().hex[:10]}"
    emulator.seed(agent, pages=live_pages)
    desired = desired_state({agent: desired_pages})

    first = make_plan(emulator.url, desired)
    assert make_plan(emulator.url, desired) == first                       # deterministic
    for r in first.results:                                                 # PATCH keys ⊆ differing keys
        live_vars = live_pages[r.env.value]["variables"]
        for key, value in r.variables_patch.items():
            assert key not in live_vars or text(live_vars[key]) != text(value)

    emulator.reset_stats()
    result = converge(emulator.url, desired)
    assert all(r["status"] < 400 for r in emulator.requests()), emulator.requests()
    outcomes = {o.env: o for o in result.outcomes}
    stopped = False
    for r in first.results:
        if r.status is Status.ERROR:
            # the first blocked environment is BLOCKED, the agent's later ones SKIPPED (or BLOCKED)
            expected = {OutcomeState.BLOCKED, OutcomeState.SKIPPED} if stopped else {OutcomeState.BLOCKED}
            assert outcomes[r.env].state in expected
            stopped = True
        elif r.status is Status.UNMANAGED:
            assert outcomes[r.env].state is OutcomeState.UNMANAGED
        elif stopped:
            assert outcomes[r.env].state is OutcomeState.SKIPPED
        elif r.status is Status.CHANGES:
            assert outcomes[r.env].state is OutcomeState.APPLIED
            assert set(outcomes[r.env].patched_keys) == set(r.variables_patch)

    second = make_plan(emulator.url, desired)
    blocked = False
    for before, after in zip(first.results, second.results):
        blocked = blocked or before.status is Status.ERROR
        if not blocked and before.status is not Status.UNMANAGED:
            assert after.status is Status.IN_SYNC, (before, after)
        if before.status is Status.UNMANAGED:
            assert emulator.peek(agent, before.env.value)["schema"] == live_pages[before.env.value]["schema"]
