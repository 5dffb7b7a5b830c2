"""Reliability: no fragment of a sensitive value in any message, whatever its length (issue 12).

Messages about a whole document (``maxProperties``, ``not``, ``anyOf``, a root
``type``…) quote the instance. They used to be cut to 160 characters *before*
masking, so a secret straddling the cut no longer matched and its first
characters leaked. Each case here pads a non-sensitive value over a range of
lengths so that the secret sits on the cut at least once, and checks that not
even the first 8 characters of the canary appear — in validate's text and JSON,
in the plan's text, JSON and markdown, and in the CLI's real output.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
import yaml

from reconciler.report import formats
from reconciler.apply import executor
from reconciler.planning import planner
from reconciler.api import envelope
from reconciler.api.breaker import CircuitBreaker
from reconciler.model import ClientEnv, DesiredState
from reconciler.planning.plan import EnvPlan, Plan, Status
from reconciler.report import findings as render_findings
from reconciler.settings import ApiSettings, Settings
from reconciler.checks.validation import validate_repository
from tests.e2e_helpers import cli

CANARY = "SECRET-CANARY-0123456789"
FRAGMENT = CANARY[:8]                       # "SECRET-C": the first 8 characters must never show
SENSITIVE = {"type": "string", "x-sensitive": True}
PADDINGS = range(0, 200, 6)                 # the secret (24 chars) lands on the 160-char cut at least once

# id: (schema, values with {pad} for the padding) — each gives an error whose message quotes the instance.
CASES: dict[str, tuple[dict, dict]] = {
    "maxProperties": ({"type": "object", "maxProperties": 1,
                       "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE}},
                      {"greeting": "{pad}", "secret": CANARY}),
    "not": ({"type": "object", "not": {"required": ["greeting"]},
             "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE}},
            {"greeting": "{pad}", "secret": CANARY}),
    "anyOf": ({"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
               "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE}},
              {"greeting": "{pad}", "secret": CANARY}),
    "oneOf": ({"type": "object", "oneOf": [{"required": ["greeting"]}, {"required": ["secret"]}],
               "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE}},
              {"greeting": "{pad}", "secret": CANARY}),
    "dependencies": ({"type": "object", "dependencies": {"greeting": {"maxProperties": 1}},
                      "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE}},
                     {"greeting": "{pad}", "secret": CANARY}),
    "root-type": ({"type": "array", "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE}},
                  {"greeting": "{pad}", "secret": CANARY}),
    "const": ({"type": "object", "properties": {
        "greeting": {"type": "string"},
        "secret": {"type": "string", "x-sensitive": True, "const": CANARY}}},
        {"greeting": "{pad}", "secret": "not-the-expected-one"}),
    "const-closest": ({"type": "object", "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE},
                       "anyOf": [{"properties": {"secret": {"const": CANARY}}},
                                 {"properties": {"secret": {"const": CANARY + "-b"}}}]},
                      {"greeting": "{pad}", "secret": "wrong"}),
    "enum": ({"type": "object", "enum": [{"greeting": "x"}],
              "properties": {"greeting": {"type": "string"}, "secret": SENSITIVE}},
             {"greeting": "{pad}", "secret": CANARY}),
    "nested-object": ({"type": "object", "properties": {"greeting": {"type": "string"}, "transfer": {
        "type": "object", "maxProperties": 1,
        "properties": {"note": {"type": "string"}, "pin": SENSITIVE}}}},
        {"greeting": "x", "transfer": {"note": "{pad}", "pin": CANARY}}),
}


def _fill(values: dict, pad: str) -> dict:
    return json.loads(json.dumps(values).replace("{pad}", pad))


def _write(root: Path, schema: dict, values: dict) -> None:
    env = root / "configs" / "acme" / "sandbox"
    env.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text("api:\n  url: local\n", encoding="utf-8")
    (env / "schema.yaml").write_text(yaml.safe_dump(schema), encoding="utf-8")
    (env / "values.yaml").write_text(yaml.safe_dump(values, width=10_000), encoding="utf-8")


def _outputs(root: Path) -> dict[str, str]:
    """Every rendering of one repository's findings: validate text/json, plan text/json/markdown."""
    desired = validate_repository(root)
    settings = Settings(root=root, api=ApiSettings(url="local"))
    plan = planner.plan(desired, {}, settings)
    return {"validate-text": render_findings.render_text(desired.findings),
            "validate-json": render_findings.render_json(desired.findings, command="validate"),
            **{f"plan-{fmt}": formats.render(plan, fmt, command="plan", color=False)
               for fmt in ("text", "json", "markdown", "github")}}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_fragment_of_a_secret_in_any_format_at_any_length(tmp_path: Path, case: str) -> None:
    schema, values = CASES[case]
    seen_error = False
    for width in PADDINGS:
        _write(tmp_path, schema, _fill(values, "g" * width))
        outputs = _outputs(tmp_path)
        assert "values.invalid" in outputs["validate-json"], (case, outputs["validate-json"])
        seen_error = True
        for name, text in outputs.items():
            assert FRAGMENT not in text, f"{case}, padding {width}, {name}:\n{text}"
    assert seen_error


def test_the_messages_still_say_what_is_wrong(tmp_path: Path) -> None:
    schema, values = CASES["maxProperties"]
    _write(tmp_path, schema, _fill(values, "hello"))
    [finding] = [f for f in validate_repository(tmp_path).findings if f.code == "values.invalid"]
    assert finding.message == "{'greeting': 'hello', 'secret': ***} has too many properties"
    assert finding.file == "configs/acme/sandbox/values.yaml" and finding.line == 1


def test_the_issue_canary_through_the_real_commands(tmp_path: Path) -> None:
    # The exact report: 23 of 24 characters printed by validate, validate --format json, plan --format markdown.
    schema, values = CASES["maxProperties"]
    for width in (108, 112, 116):
        _write(tmp_path, schema, _fill(values, "g" * width))
        outs = [cli(tmp_path, "validate", ".", check_codes=(1,)),
                cli(tmp_path, "validate", ".", "--format", "json", check_codes=(1,)),
                cli(tmp_path, "plan", ".", "--format", "markdown", check_codes=(1,))]
        for proc in outs:
            assert "values.invalid" in proc.stdout
            assert FRAGMENT not in proc.stdout + proc.stderr, proc.stdout


class _RefusingApi:
    """The executor's client seam (``executor.AgentsApi``), refusing every PATCH with one API error."""

    target = base_url = "http://agents.invalid"

    def __init__(self, error: Exception) -> None:
        self.error, self.breaker = error, CircuitBreaker(self.base_url)

    async def get_agent(self, agent):
        raise AssertionError("no read expected: the plan was made in this run")

    get_page = put_schema = get_agent

    async def patch_variables(self, agent, env, variables):
        raise self.error


def test_an_api_error_echoing_the_patch_is_masked_before_it_is_cut(tmp_path: Path) -> None:
    # A server message that quotes the PATCH body with the secret right on the client's 800-char cut.
    for width in range(730, 770, 3):
        echoed = "invalid variables: {'greeting': '" + "g" * width + f"', 'pin': '{CANARY}'}}"
        response = httpx.Response(400, json={"success": False, "error": "bad", "error_id": "e-1",
                                             "error_code": "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA",
                                             "error_message": echoed, "data": None})
        exc = envelope.error_for_response(response, method="PATCH", path="/v1/agents/acme/x")
        env_plan = EnvPlan(agent="acme", env=ClientEnv.SANDBOX, status=Status.CHANGES,
                           variables_patch={"greeting": "g", "pin": CANARY},
                           masked_patch={"greeting": "g", "pin": "***"}, sensitive_keys=frozenset({"pin"}))
        settings = Settings(root=Path("."), api=ApiSettings(url="local"))
        result = asyncio.run(executor.apply_plan(
            Plan(results=(env_plan,), target="local"), _RefusingApi(exc), settings=settings,
            desired=DesiredState(root=Path("."), agents={}), allow_live=True, planned_at=(now := time.monotonic()),
            started_at_monotonic=now))
        [outcome] = result.outcomes
        [error] = outcome.errors
        assert "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA" in error.message and "e-1" in error.message
        assert FRAGMENT not in error.message, (width, error.message[-120:])


@pytest.mark.parametrize("case", ["maxProperties", "not", "root-type", "const-closest"])
def test_planner_errors_against_the_live_schema_are_masked_before_they_are_cut(case: str) -> None:
    # values.yaml without schema.yaml: the planner validates against the LIVE schema and explains.
    from reconciler.model import AgentDesired, DesiredState, EnvDesired, LiveAgent, LivePage, SourceMap

    schema, values = CASES[case]
    for width in PADDINGS:
        vals = _fill(values, "g" * width)
        env = EnvDesired(agent="acme", env=ClientEnv.SANDBOX, values=vals,
                         values_map=SourceMap("configs/acme/sandbox/values.yaml"))
        desired = DesiredState(root=Path("."), agents={"acme": AgentDesired("acme", {ClientEnv.SANDBOX: env})})
        live = {"acme": LiveAgent("acme", {ClientEnv.SANDBOX: LivePage(ClientEnv.SANDBOX, schema, {}, "t0")})}
        plan = planner.plan(desired, live, Settings(root=Path("."), api=ApiSettings(url="local")))
        [result] = [r for r in plan.results if r.env is ClientEnv.SANDBOX]
        assert result.status is Status.ERROR and result.errors
        for fmt in ("text", "json", "markdown"):
            text = formats.render(plan, fmt, command="plan", color=False)
            assert FRAGMENT not in text, (case, width, fmt, text)
