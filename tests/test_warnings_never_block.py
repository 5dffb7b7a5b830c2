"""Warnings never block: a live schema set in the Configuration Builder whose only findings are
warnings is usable, so a values-only page is planned and PATCHed against it (DESIGN.md §3: only
errors block). The CLI runs as a subprocess against the loopback emulator."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.checks import schemacheck, validation
from reconciler.model import Severity
from tests.e2e_helpers import cli, writes

#: The most common phone pattern there is: `$`-anchored, which Python's `re` reads differently
#: from ECMA-262 (a trailing newline), hence a dialect warning and nothing else.
PHONE = r"^\+[1-9][0-9]{7,14}$"
UI_SCHEMA = {"type": "object", "properties": {
    "greeting": {"type": "string", "title": "Greeting"},
    "fallback_number": {"type": "string", "title": "Fallback", "pattern": PHONE}}}


def _repo(root: Path, url: str) -> Path:
    (root / "reconciler.yaml").write_text(f"api:\n  url: {url}\n", encoding="utf-8")
    live = root / "configs" / "acme" / "live"
    live.mkdir(parents=True)
    (live / "values.yaml").write_text("greeting: Hello\nfallback_number: '+442071234567'\n", encoding="utf-8")
    return root


def test_the_ui_schema_has_warnings_only() -> None:
    # The premise of the tests below: the live schema has findings, none of them an error.
    problems = schemacheck.schema_problems(UI_SCHEMA)
    assert problems and all(p.severity is Severity.WARNING for p in problems), problems


def test_a_values_only_page_plans_and_applies_against_a_live_schema_with_warnings(tmp_path: Path,
                                                                                   emulator) -> None:
    emulator.seed("acme", {"live": {"schema": UI_SCHEMA, "variables": {"greeting": "Hi"}}})
    root = _repo(tmp_path, emulator.url)

    proc = cli(root, "plan", ".", "--format", "json", check_codes=(2,))
    [result] = [r for r in json.loads(proc.stdout)["results"] if r["env"] == "live"]
    assert result["status"] == "changes" and result["errors"] == [], result

    emulator.reset_stats()
    cli(root, "apply", ".", "--auto-approve", check_codes=(0,))
    assert writes(emulator.requests()) == [("PATCH", "/v1/agents/acme/real-time-configs/live/variables")]
    assert emulator.peek("acme", "live")["variables"] == {"greeting": "Hello", "fallback_number": "+442071234567"}
    cli(root, "plan", ".", check_codes=(0,))


def test_an_error_in_the_live_schema_still_blocks_the_patch(tmp_path: Path, emulator) -> None:
    # The other side of the same decision: an invalid pattern is an error, and nothing is sent.
    broken = {"type": "object", "properties": {"fallback_number": {"type": "string", "pattern": "(unclosed"}}}
    emulator.seed("acme", {"live": {"schema": broken, "variables": {}}})
    root = _repo(tmp_path, emulator.url)
    proc = cli(root, "plan", ".", "--format", "json", check_codes=(1,))
    [result] = [r for r in json.loads(proc.stdout)["results"] if r["env"] == "live"]
    assert [e["code"] for e in result["errors"]] == ["plan.live_schema_unusable"]
    emulator.reset_stats()
    cli(root, "apply", ".", "--auto-approve", check_codes=(1,))
    assert writes(emulator.requests()) == []
