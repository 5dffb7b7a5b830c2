"""Text and markdown expand a wide added/removed mapping key by key; JSON keeps the diff item whole."""

from __future__ import annotations

import json

from planner_cases import SB, SETTINGS, desired_state, env_desired, live_agent
from reconciler.report import formats
from reconciler.planning import planner
from reconciler.report import common

SECRET = "pin-98765"
NESTED = {"type": "object", "properties": {
    "transfer": {"type": "object", "title": "Call transfer", "description": "Where and how calls are transferred",
                 "properties": {
                     "target": {"type": "string", "title": "Transfer target", "description": "E.164 number"},
                     "pin": {"type": "string", "title": "PIN", "description": "Supervisor PIN", "x-sensitive": True},
                 }}}}
VALUES = {"transfer": {"target": "+442079460000", "pin": SECRET}}


def _plan():
    desired = desired_state(env_desired("a1", SB, NESTED, VALUES))
    return planner.plan(desired, {"a1": live_agent("a1", {SB: ({}, {})})}, SETTINGS)


def test_a_new_schema_is_shown_one_key_per_line_in_text_and_markdown_with_detail():
    plan = _plan()
    for fmt in ("text", "markdown"):
        out = formats.render(plan, fmt, command="plan", info=common.RunInfo(detail=True))
        assert "properties.transfer.properties.target.description: \"E.164 number\"" in out, fmt
        assert "properties.transfer.properties.pin.x-sensitive: true" in out, fmt
        diff_lines = [line for line in out.splitlines() if line.lstrip().startswith("+ ")]
        assert diff_lines and max(len(line) for line in diff_lines) < common.WIDE + 20, fmt


def test_json_keeps_the_item_whole():
    data = json.loads(formats.render(_plan(), "json", command="plan"))
    (result,) = [r for r in data["results"] if r["env"] == "sandbox"]
    assert {d["path"] for d in result["schema"]["diff"]} == {"type", "properties"}


def test_expansion_never_reveals_a_masked_value():
    plan = _plan()
    for fmt in ("text", "markdown", "json", "github"):
        assert SECRET not in formats.render(plan, fmt, command="plan"), fmt
    text = formats.render(plan, "text", command="plan", info=common.RunInfo(detail=True))
    assert '"pin": "***"' in text                      # the masked value, not the secret


def test_short_mappings_and_changes_stay_on_one_line():
    from reconciler.planning.plan import DiffItem, DiffKind

    short = DiffItem("a", DiffKind.ADDED, desired={"x": 1})
    changed = DiffItem("b", DiffKind.CHANGED, live={"k": "v" * 200}, desired={"k": "w" * 200})
    assert common.diff_lines(short) == [("+", 'a: {"x": 1}')]
    assert len(common.diff_lines(changed)) == 1
