"""Every report format renders the same plan; secrets never appear; colour only when asked."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

import reconciler
from planner_cases import LV, PR, SB, SCHEMA, SETTINGS, desired_state, env_desired, finding, live_agent, source
from reconciler.report import formats
from reconciler.planning import planner
from reconciler.model import Finding, Severity
from reconciler.planning.plan import ApplyResult, Outcome, OutcomeState
from reconciler.report import github, markdown

SECRETS = ("s3cret-token-A", "s3cret-token-B", "pin-1111", "pin-2222", "pin-3333")
LIVE_V = {"greeting": "hi", "max_retries": 3, "enabled": True, "api_token": SECRETS[0],
          "sites": [{"name": "a", "phone": "+441234567890", "pin": SECRETS[2]}]}
WANT_V = {**LIVE_V, "max_retries": 5, "api_token": SECRETS[1],
          "sites": [{"name": "a", "phone": "+441234567899", "pin": SECRETS[3]},
                    {"name": "b", "phone": "+15550100", "pin": SECRETS[4]}]}
CLOSED = SCHEMA | {"additionalProperties": False}


def _plan():
    desired = desired_state(
        env_desired("a1", SB, SCHEMA, WANT_V), env_desired("a1", PR, SCHEMA, LIVE_V),
        env_desired("b2", SB, CLOSED, LIVE_V, schema_map=source("b2", SB, "schema.yaml", key_lines={
            ("additionalProperties",): 9})),
        findings=(finding("a1", PR, Severity.WARNING, "policy.hygiene"),))
    live = {"a1": live_agent("a1", {SB: (SCHEMA, LIVE_V), PR: (SCHEMA, LIVE_V)}),
            "b2": live_agent("b2", {SB: (SCHEMA, {**LIVE_V, "old_key": 1})})}
    return planner.plan(desired, live, SETTINGS)


def _apply_result():
    plan = _plan()
    outcomes = (Outcome("a1", SB, OutcomeState.APPLIED, patched_keys=("max_retries", "api_token", "sites"),
                        last_updated="2026-01-02T00:00:00Z"),
                Outcome("a1", PR, OutcomeState.IN_SYNC), Outcome("a1", LV, OutcomeState.UNMANAGED),
                Outcome("b2", SB, OutcomeState.BLOCKED, errors=plan.results[3].errors),
                Outcome("b2", PR, OutcomeState.UNMANAGED), Outcome("b2", LV, OutcomeState.UNMANAGED))
    return ApplyResult(plan=plan, outcomes=outcomes)


@pytest.mark.parametrize("fmt", formats.FORMATS)
@pytest.mark.parametrize("command", ["plan", "drift", "apply"])
def test_no_format_shows_a_secret_yet_the_change_is_visible(fmt, command):
    value = _apply_result() if command == "apply" else _plan()
    out = formats.render(value, fmt, command=command, color=True)
    for secret in SECRETS:
        assert secret not in out
    if fmt != "github":
        assert "***" in out or "value hidden" in out
    if fmt in ("text", "markdown"):
        assert "api_token: changed (value hidden)" in out
        assert "sites[0].pin: changed (value hidden)" in out


def test_text_is_terraform_like_with_summary_and_file_line():
    out = formats.render(_plan(), "text", command="plan", color=False)
    assert "a1 / sandbox: to change" in out
    assert '    ~ max_retries: 3 → 5' in out
    assert '    ~ sites[0].phone: "+441234567890" → "+441234567899"' in out
    assert '    + sites[1]: {"name": "b", "phone": "+15550100", "pin": "***"}' in out
    assert "orphans (live only; PATCH cannot delete them): old_key" in out
    assert "configs/b2/sandbox/schema.yaml:9: error [plan.orphan_forbidden] old_key: live key(s)" in out
    assert "x.yaml:3: warning [policy.hygiene] policy.hygiene here" in out
    assert "a1 / pre-release: in sync" in out          # shown: it has a warning
    assert "a1: unmanaged (live)" in out                 # folded: nothing to say
    assert out.rstrip().splitlines()[-1] == "Plan: 1 to change, 1 in sync, 1 error."
    assert "\x1b[" not in out


def test_text_drift_wording():
    out = formats.render(_plan(), "text", command="drift", color=False)
    assert "a1 / sandbox: drift detected: live differs from the repository" in out
    assert "to change" not in out
    # b2/sandbox differs (an orphan the schema forbids) AND is an error: it counts in both.
    assert "b2 / sandbox: drift detected: live differs from the repository; error" in out
    assert out.rstrip().splitlines()[-1] == "Drift: 2 drifted, 1 in sync, 1 error."
    assert "Other pages with findings (not drifted or not compared):" in out     # a1/pre-release's warning
    md = formats.render(_plan(), "markdown", command="drift")
    assert "#### Other pages with findings (not drifted or not compared)" in md


def test_text_apply_shows_outcomes():
    out = formats.render(_apply_result(), "text", command="apply", color=False)
    assert "a1 / sandbox: to change → applied (PATCH max_retries, api_token, sites)" in out
    assert "b2 / sandbox: error → blocked" in out
    assert "a1 / pre-release: in sync\n" in out and "in_sync" not in out    # shown for its warning, no raw enum
    md = formats.render(_apply_result(), "markdown", command="apply")
    assert "**pre-release** — in sync\n" in md and "in_sync" not in md
    assert out.rstrip().splitlines()[-1] == "Apply: 1 applied, 1 in sync, 1 blocked."


def test_colour_only_when_asked_and_never_with_no_color(monkeypatch):
    assert "\x1b[" in formats.render(_plan(), "text", command="plan", color=True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Under pytest stdout is not a terminal: automatic colour is off.
    assert "\x1b[" not in formats.render(_plan(), "text", command="plan")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert formats.want_color(Tty()) is True
    assert formats.want_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert formats.want_color(Tty()) is False



@pytest.mark.parametrize("command", ["plan", "drift", "apply"])
def test_text_without_colour_is_the_coloured_text_without_its_escapes(command):
    """Without colour the report skips rich's renderer (a third of a 300-agent report's cost): the same
    characters, tabs, wide and control characters included, as rich prints, less its colour codes."""
    import re

    odd = Finding(Severity.WARNING, "policy.hygiene", "tab\there, wide 东京 ✓, bell \x07, end  ",
                  agent="a1", env="sandbox", file="configs/a1/sandbox/values.yaml", line=3)
    plan = dataclasses.replace(_plan(), findings=(odd,))
    value = dataclasses.replace(_apply_result(), plan=plan) if command == "apply" else plan
    plain = formats.render(value, "text", command=command, color=False)
    coloured = formats.render(value, "text", command=command, color=True)
    assert "\x07" not in plain and "\t" not in plain and "tab " in plain and "东京 ✓" in plain
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain

def test_json_has_the_exact_shape_and_masks_the_patch():
    doc = json.loads(formats.render(_plan(), "json", command="plan"))
    assert list(doc) == ["format_version", "command", "tool_version", "created_at", "changed_since", "target",
                         "environments", "summary", "findings", "results"]
    assert doc["format_version"] == 1 and doc["command"] == "plan" and doc["target"] == "local"
    assert doc["tool_version"] == reconciler.__version__
    assert doc["environments"] == ["sandbox", "pre-release", "live"]
    assert doc["summary"] == {"agents": 2, "in_sync": 1, "changes": 1, "errors": 1}
    first = doc["results"][0]
    assert set(first) == {"agent", "env", "status", "live_last_updated", "schema", "variables", "changed_keys",
                          "errors", "warnings"}
    assert (first["agent"], first["env"], first["status"]) == ("a1", "sandbox", "changes")
    assert first["schema"] == {"action": "none", "new": False, "diff": []}
    assert first["variables"]["action"] == "patch"
    assert first["variables"]["patch"]["api_token"] == "***"
    assert [s["pin"] for s in first["variables"]["patch"]["sites"]] == ["***", "***"]
    assert first["variables"]["patch"]["max_retries"] == 5
    token = next(d for d in first["variables"]["diff"] if d["path"] == "api_token")
    assert token == {"path": "api_token", "kind": "changed", "live": "***", "desired": "***", "sensitive": True}
    assert {"path": "max_retries", "kind": "changed", "live": 3, "desired": 5} in first["variables"]["diff"]
    b2 = doc["results"][3]
    assert b2["status"] == "error" and b2["variables"]["orphans"] == ["old_key"]
    assert b2["errors"][0]["code"] == "plan.orphan_forbidden"
    assert (b2["errors"][0]["file"], b2["errors"][0]["line"]) == ("configs/b2/sandbox/schema.yaml", 9)
    assert doc["results"][1]["warnings"][0]["code"] == "policy.hygiene"


def test_json_apply_carries_outcomes():
    doc = json.loads(formats.render(_apply_result(), "json", command="apply"))
    assert doc["command"] == "apply" and doc["ok"] is False
    outcome = doc["results"][0]["outcome"]
    assert outcome["state"] == "applied" and outcome["patched_keys"] == ["max_retries", "api_token", "sites"]
    assert doc["results"][3]["outcome"]["state"] == "blocked"


def test_markdown_table_details_and_drift():
    out = formats.render(_plan(), "markdown", command="plan")
    assert "| agent | sandbox | pre-release | live |" in out
    assert "| `a1` | 📝 changes | ✅ in sync | ➖ unmanaged |" in out
    assert "| `b2` | ❌ error | ➖ unmanaged | ➖ unmanaged |" in out
    assert "<details><summary><code>a1</code>" in out and out.count("</details>") == 2
    assert "```diff\n" in out and "! max_retries: 3 → 5" in out
    assert "**Plan: 1 to change, 1 in sync, 1 error.**" in out
    drift = formats.render(_plan(), "markdown", command="drift")
    assert "⚠️ drift" in drift and "drift detected: live differs from the repository" in drift


def test_markdown_is_capped_with_a_pointer_to_the_json_artifact():
    envs, live = [], {}
    for i in range(400):
        agent = f"agent-{i:03d}"
        big = {f"key_{k}": "x" * 40 + str(i) for k in range(20)}
        envs.append(env_desired(agent, SB, {"type": "object"}, big))
        live[agent] = live_agent(agent, {SB: ({"type": "object"}, {})})
    plan = planner.plan(desired_state(*envs), live, SETTINGS)
    out = formats.render(plan, "markdown", command="plan")
    assert len(out) <= markdown.MAX_CHARS
    assert "Truncated" in out and "--format json" in out
    assert out.count("<details>") == out.count("</details>")      # never cut inside a section
    small = markdown.render(_plan(), command="plan", max_chars=markdown.MAX_CHARS)
    assert "Truncated" not in small


def test_markdown_fence_survives_backticks_in_values():
    desired = desired_state(env_desired("a1", SB, {"type": "object"}, {"t": "```\n# not a heading"}))
    plan = planner.plan(desired, {"a1": live_agent("a1", {SB: ({"type": "object"}, {})})}, SETTINGS)
    out = formats.render(plan, "markdown", command="plan")
    assert "````diff\n" in out


def test_github_annotations_are_escaped_and_run_wide_errors_written_once():
    run_wide = finding(None, None, code="settings.invalid")
    desired = desired_state(env_desired("a1", SB, {"type": "object"}, {"x": 1}),
                            env_desired("a1", PR, {"type": "object"}, {"x": 1}), findings=(run_wide,))
    live = {"a1": live_agent("a1", {SB: ({"type": "object"}, {}), PR: ({"type": "object"}, {})})}
    out = formats.render(planner.plan(desired, live, SETTINGS), "github", command="plan")
    assert out.count("::error file=x.yaml,line=3,title=settings.invalid::settings.invalid here\n") == 1
    weird = github.annotation(Finding(severity=Severity.WARNING, code="c", message="50%\nnext",
                                      file="a,b:c.yaml", line=2, agent="a1", env="sandbox"))
    assert weird == "::warning file=a%2Cb%3Ac.yaml,line=2,title=c::a1/sandbox: 50%25%0Anext"
    assert out.rstrip().splitlines()[-1].startswith("Plan: ")


def test_unknown_format_or_command_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown report format"):
        formats.render(_plan(), "yaml", command="plan")
    with pytest.raises(ValueError, match="unknown report command"):
        formats.render(_plan(), "json", command="destroy")


@pytest.mark.parametrize("command", ["plan", "drift", "apply"])
def test_json_render_is_exactly_the_document_dumped_even_though_it_streams_results(command):
    from reconciler.report import json as json_report

    value = _apply_result() if command == "apply" else _plan()
    streamed = json_report.render(value, command=command)
    assert streamed == json_report.dumps(json_report.document(value, command=command))
    assert len(json.loads(streamed)["results"]) == len(value.plan.results if command == "apply" else value.results)
    empty = dataclasses.replace(value, plan=dataclasses.replace(value.plan, results=())) if command == "apply" \
        else dataclasses.replace(value, results=())
    assert json_report.render(empty, command=command) == json_report.dumps(json_report.document(empty,
                                                                                                command=command))
