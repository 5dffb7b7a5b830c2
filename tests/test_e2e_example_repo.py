"""The shipped example repository end to end (a copy, against the loopback emulator).

It converges and then plans in sync; breaking one phone number in a copy of its
live values makes the policy block that agent's live page: apply sends nothing
for it, and everything else still goes out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from e2e_helpers import cli, cli_json, writes

PROJECT = Path(__file__).resolve().parent.parent
AGENTS = sorted(p.name for p in (PROJECT / "configs").iterdir() if p.is_dir())


@pytest.fixture
def example(tmp_path, emulator):
    root = tmp_path / "example"
    shutil.copytree(PROJECT / "configs", root / "configs")
    shutil.copytree(PROJECT / "policies", root / "policies")
    shutil.copy(PROJECT / "reconciler.yaml", root / "reconciler.yaml")
    for agent in AGENTS:
        emulator.seed(agent)
    return root


def test_example_repository_converges_and_is_then_in_sync(example, emulator):
    url = ("--api-url", emulator.url)
    # A first apply changes every agent's live page: more than the blast-radius policy allows without the flag.
    code, report = cli_json(example, "plan", str(example), *url)
    assert code == 1 and any("blast-radius" in e["message"] for r in report["results"] for e in r["errors"])
    cli(example, "apply", str(example), *url, "--auto-approve", "--allow-large-change", check_codes=(0,))
    code, report = cli_json(example, "plan", str(example), *url)
    assert code == 0, report["summary"]


def test_a_broken_live_phone_number_blocks_that_page_only(example, emulator):
    values = example / "configs" / "acme-support" / "live" / "values.yaml"
    text = values.read_text(encoding="utf-8")
    assert '"+442079460000"' in text
    # Fits the schema's pattern, but is no dialable number: only the E.164 policy can catch it.
    values.write_text(text.replace('"+442079460000"', '"+4420794600"'), encoding="utf-8")

    proc = cli(example, "apply", str(example), "--api-url", emulator.url, "--auto-approve",
               "--allow-large-change", check_codes=(1,))
    sent = writes(emulator.requests())
    assert not any("/acme-support/real-time-configs/live/" in p for _, p in sent)
    assert any("/acme-support/real-time-configs/pre-release/" in p for _, p in sent)
    for agent in AGENTS:
        if agent != "acme-support":
            assert any(f"/{agent}/real-time-configs/live/" in p for _, p in sent)
    assert emulator.peek("acme-support", "live")["schema"] == {}
    assert "fallback_number" in proc.stdout
    assert "configs/acme-support/live/values.yaml" in proc.stdout
