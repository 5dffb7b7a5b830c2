"""Golden reports (issue 9): new-schema summary, enum reorder, required/key order, annotations and their cap.

Pure: literal desired and live states through the planner and the renderers,
compared with the exact text a reviewer reads.
"""

from __future__ import annotations

from planner_cases import SB, SETTINGS, desired_state, env_desired, live_agent, source
from reconciler.report import formats
from reconciler.planning import planner
from reconciler.planning.plan import Status
from reconciler.report import common

NAMES = ["sites", "fallback_number", "greeting", "after_hours", "max_hold", "language", "voice", "timezone",
         "holiday_mode", "menu", "queue_music", "sms_enabled", "crm_prefix", "survey"]
WIDE = {"type": "object", "properties": {n: {"type": "string", "title": n, "description": f"The {n}"}
                                         for n in NAMES}}


def _plan(desired_schema, live_schema, desired_values=None, live_values=None, **maps):
    desired = desired_state(env_desired("a1", SB, desired_schema, desired_values, **maps))
    live = {"a1": live_agent("a1", {SB: (live_schema, live_values or {})})}
    return planner.plan(desired, live, SETTINGS)


def _block(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("  ")]


def test_a_new_schema_is_one_summary_line():
    out = formats.render(_plan(WIDE, {}), "text", command="plan", color=False)
    assert _block(out) == [
        "  schema: PUT (whole schema)",
        "    + schema: new, 14 properties (sites, fallback_number, greeting, after_hours, max_hold, …)",
    ]
    md = formats.render(_plan(WIDE, {}), "markdown", command="plan")
    assert "+ schema: new, 14 properties (sites, fallback_number, greeting, after_hours, max_hold, …)" in md
    assert md.count("\n+ ") == 1


def test_detail_shows_every_key():
    out = formats.render(_plan(WIDE, {}), "text", command="plan", color=False, info=common.RunInfo(detail=True))
    for name in NAMES:
        # Every key is there: whole when it fits on a line, else one line per sub-key.
        assert (f'    + properties.{name}: {{"type": "string", "title": "{name}", "description": "The {name}"}}' in out
                or f'    + properties.{name}.description: "The {name}"' in out)


def test_a_new_environment_summarises_its_values_too():
    values = {n: f"v-{n}" for n in NAMES}
    out = formats.render(_plan(WIDE, {}, values, {}), "text", command="plan", color=False)
    assert "    + variables: new, 14 keys (sites, fallback_number, greeting, after_hours, max_hold, …)" in out
    drift = formats.render(_plan(WIDE, {}, values, {}), "text", command="drift", color=False)
    assert "    - variables: missing live, 14 keys (sites, fallback_number, greeting, after_hours, max_hold, …)" \
        in drift


def test_enum_order_is_a_change_shown_as_a_reorder():
    live = {"type": "object", "properties": {"size": {"type": "string", "enum": ["small", "medium", "large"]}}}
    want = {"type": "object", "properties": {"size": {"type": "string", "enum": ["large", "medium", "small"]}}}
    plan = _plan(want, live)
    assert plan.results[0].status is Status.CHANGES and plan.results[0].schema_put == want
    assert _block(formats.render(plan, "text", command="plan", color=False)) == [
        "  schema: PUT (whole schema)",
        '    ~ properties.size.enum: reordered ["small", "medium", "large"] → ["large", "medium", "small"]',
    ]
    item = plan.results[0].schema_diff[0]
    assert item.to_json() == {"path": "properties.size.enum", "kind": "changed", "reordered": True,
                              "live": ["small", "medium", "large"], "desired": ["large", "medium", "small"]}


def test_an_enum_with_a_new_item_is_not_a_reorder():
    live = {"properties": {"size": {"enum": ["s", "m"]}}}
    want = {"properties": {"size": {"enum": ["s", "m", "l"]}}}
    assert _block(formats.render(_plan(want, live), "text", command="plan", color=False)) == [
        "  schema: PUT (whole schema)",
        '    + properties.size.enum[2]: "l"',
    ]


def test_required_order_and_mapping_key_order_are_not_changes():
    live = {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
    want = {"properties": {"b": {"type": "string"}, "a": {"type": "string"}}, "required": ["b", "a"], "type": "object"}
    plan = _plan(want, live, {"a": "x", "b": {"q": 1, "p": 2}}, {"b": {"p": 2, "q": 1}, "a": "x"})
    assert plan.results[0].status is Status.IN_SYNC
    assert formats.render(plan, "text", command="plan", color=False).rstrip().splitlines()[-1] == \
        "Plan: 0 to change, 1 in sync, 0 errors."


def _many_keys_plan(n: int):
    keys = [f"key_{i:02d}" for i in range(n)]
    schema = {"type": "object", "properties": {k: {"type": "integer"} for k in keys}}
    lines = {(k,): 3 + i for i, k in enumerate(keys)}
    vmap = source("a1", SB, "values.yaml", lines={(): 1, **lines}, key_lines=lines)
    return _plan(schema, schema, {k: 2 for k in keys}, {k: 1 for k in keys}, values_map=vmap)


def test_github_annotations_sit_at_each_changed_key_and_are_capped():
    out = formats.render(_many_keys_plan(12), "github", command="plan").splitlines()
    notices = [line for line in out if line.startswith("::notice")]
    assert len(notices) == 10
    assert notices[0] == ("::notice file=configs/a1/sandbox/values.yaml,line=3,title=change::"
                          "a1/sandbox: `key_00` changes (variables PATCH)")
    assert notices[9].startswith("::notice file=configs/a1/sandbox/values.yaml,line=12,")
    rest = [line for line in out if line.startswith("… ")]
    assert rest == ["… 2 more annotation(s) not shown (2 notice): GitHub shows at most 10 of each type per step; "
                    "the full report: reconciler plan --format json"]


def test_github_annotations_below_the_cap_have_no_summary_line():
    out = formats.render(_many_keys_plan(10), "github", command="plan")
    assert out.count("::notice") == 10 and "more annotation(s)" not in out


def test_drift_annotations_are_warnings_with_the_cause():
    out = formats.render(_many_keys_plan(2), "github", command="drift").splitlines()
    assert out[0] == ("::warning file=configs/a1/sandbox/values.yaml,line=3,title=drift (unknown)::"
                      "a1/sandbox: `key_00` differs from live (cause: unknown; live last written "
                      "2026-01-01T00:00:00Z)")
