"""Reliability: validate, plan and apply block exactly the same pages (issue 12).

The whole broken-repository catalogue of ``test_validation_catalogue.py``, plus
the hostile directory layouts that used to slip through ``plan`` (a symlinked
agent or environment directory pointing outside the repository, agent
directories named ``acmé-支持`` or ``acme support``), runs through the three
real commands against the loopback emulator:

- ``validate`` exits 1 exactly when :func:`reconciler.checks.verdict.decide` blocks something;
- ``plan`` reports ``error`` for exactly the pages that verdict blocks, and exits 1 too;
- ``apply`` exits 1 and the emulator's request log holds no write to a blocked page,
  while a healthy agent next door is still written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import cli
from reconciler.checks import verdict as blocking
from reconciler.checks.validation import validate_repository
from tests.test_validation_catalogue import CASES, write_repo

HEALTHY = "agent-ok"
HEALTHY_FILES = {f"configs/{HEALTHY}/sandbox/schema.yaml": "type: object\nproperties:\n  greeting: {type: string}\n",
                 f"configs/{HEALTHY}/sandbox/values.yaml": "greeting: Hello\n"}


def _hostile_layouts(tmp: Path) -> dict[str, object]:
    """Builders for layouts that need symlinks or odd names (not plain file contents)."""
    outside = tmp / "outside"
    (outside / "agent-x" / "live").mkdir(parents=True, exist_ok=True)
    (outside / "agent-x" / "live" / "values.yaml").write_text("greeting: from outside\n")

    def agent_symlink(root: Path) -> None:
        (root / "configs" / "agent-x").symlink_to(outside / "agent-x", target_is_directory=True)

    def env_symlink(root: Path) -> None:
        (root / "configs" / "agent-a" / "sandbox").symlink_to(outside / "agent-x" / "live",
                                                              target_is_directory=True)

    def odd_name(name: str):
        def build(root: Path) -> None:
            d = root / "configs" / name / "sandbox"
            d.mkdir(parents=True)
            (d / "values.yaml").write_text("greeting: hi\n")
        return build

    return {"symlinked-agent-dir": agent_symlink, "symlinked-env-dir": env_symlink,
            "agent-name-unicode": odd_name("acmé-支持"), "agent-name-space": odd_name("acme support")}


def _run(*args: str, capsys) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().out


def _build(tmp_path: Path, case: str) -> Path:
    root = tmp_path / "repo"
    if case in CASES:
        write_repo(root, {**HEALTHY_FILES, **CASES[case][0]})
    else:
        write_repo(root, HEALTHY_FILES)
        _hostile_layouts(tmp_path)[case](root)
    return root


ALL_CASES = sorted(CASES) + ["agent-name-space", "agent-name-unicode", "symlinked-agent-dir", "symlinked-env-dir"]


@pytest.mark.parametrize("case", ALL_CASES)
def test_validate_plan_and_apply_agree_on_every_page(tmp_path: Path, case: str, emulator, monkeypatch,
                                                     capsys) -> None:
    monkeypatch.setenv("POLYAI_API_KEY", emulator.api_key)
    monkeypatch.delenv("RECONCILER_API_URL", raising=False)
    for agent in ("agent-a", HEALTHY, "agent-x"):
        emulator.seed(agent)
    root = _build(tmp_path, case)
    verdict = blocking.decide(validate_repository(root))
    assert not verdict.ok, f"{case}: the catalogue case should block something"

    # validate
    code, _ = _run("validate", str(root), "--format", "json", capsys=capsys)
    assert code == 1

    # plan: the same pages are errors
    code, out = _run("plan", str(root), "--format", "json", "--api-url", emulator.url, capsys=capsys)
    assert code == 1, out
    planned = _statuses(out)
    if planned is not None:
        for (agent, env), status in planned.items():
            if status != "unmanaged":
                assert (status == "error") == bool(verdict.reasons(agent, _env(env))), (case, agent, env, status)
        # A page blocked by its own finding (even a directory the loader refused) is an error, never
        # "unmanaged"; so is every page of an agent directory the loader refused.
        loaded = _loaded(root)
        blocked_pages = {(a, e.value) for a, envs in verdict.pages.items() for e, why in envs.items()
                         if any(f.env == e.value and f.code != "plan.blocked" for f in why)
                         or (a not in loaded and why)}
        assert blocked_pages <= {k for k, s in planned.items() if s == "error"}, (case, planned)
    else:
        assert verdict.run, f"{case}: plan printed no report but nothing run-wide blocks"

    # apply: exit 1, not one write to a blocked page; the healthy agent is written unless all is blocked
    emulator.reset_stats()
    code, out = _run("apply", str(root), "--format", "json", "--api-url", emulator.url, "--auto-approve",
                     capsys=capsys)
    assert code == 1, out
    written = {(r["path"].split("/")[3], r["path"].split("/")[5]) for r in emulator.requests()
               if r["method"] in ("PUT", "PATCH")}
    for agent, env in written:
        assert not verdict.reasons(agent, _env(env)), f"{case}: wrote blocked page {agent}/{env}"
    healthy_blocked = verdict.blocks(HEALTHY, _env("sandbox"))
    assert ((HEALTHY, "sandbox") in written) != healthy_blocked, (case, written)


def _statuses(out: str) -> dict[tuple[str, str], str] | None:
    try:
        doc = json.loads(out)
    except ValueError:
        return None
    return {(r["agent"], r["env"]): r["status"] for r in doc["results"]}


def _env(name: str):
    from reconciler.model import ClientEnv

    return ClientEnv(name)


def _loaded(root: Path) -> set[str]:
    return set(validate_repository(root).agents)
