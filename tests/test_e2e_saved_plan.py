"""Saved plans end to end (issue 9): `plan --save-plan`, `apply --plan`, `show`, over the loopback emulator.

Every refusal is checked against the emulator's request log: exit 1 and not
one PUT or PATCH. The plan file is grepped for a sensitive canary, and for the
unkeyed digests of the bodies (they must be keyed with the API key).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from e2e_helpers import SCHEMA, cli, make_repo, values, write_env, writes

from reconciler.planning import canonical

CANARY = "canary-pin-7731-zq"
SECRET_SCHEMA = copy.deepcopy(SCHEMA)
SECRET_SCHEMA["properties"]["supervisor_pin"] = {"type": "string", "x-sensitive": True, "title": "PIN",
                                                 "description": "Never shown"}


def _vals(env: str, **more):
    return values(env, supervisor_pin=CANARY, **more)


@pytest.fixture
def repo(tmp_path, emulator):
    emulator.seed("acme")
    root = make_repo(tmp_path / "repo", emulator.url, agents=("acme",))
    for env in ("sandbox", "pre-release", "live"):
        write_env(root, "acme", env, schema=SECRET_SCHEMA, vals=_vals(env))
    return root


def _save(repo, emulator, name="plan.json"):
    path = repo.parent / name
    cli(repo, "plan", str(repo), "--save-plan", str(path), "--out", str(repo.parent / "plan.txt"), check_codes=(2,))
    emulator.reset_stats()
    return path


def _refused(repo, emulator, plan, *extra, needle: str):
    proc = cli(repo, "apply", str(repo), "--plan", str(plan), "--auto-approve", *extra, check_codes=(1,))
    assert needle in proc.stderr, proc.stderr
    assert writes(emulator.requests()) == []
    return proc


def test_plan_save_apply_converges(repo, emulator):
    plan = _save(repo, emulator)
    proc = cli(repo, "apply", str(repo), "--plan", str(plan), "--auto-approve", check_codes=(0,))
    assert "Apply: 3 applied" in proc.stdout
    assert [m for m, _ in writes(emulator.requests())] == ["PUT", "PATCH"] * 3
    assert emulator.peek("acme", "live")["variables"]["supervisor_pin"] == CANARY
    cli(repo, "plan", str(repo), check_codes=(0,))


def test_a_second_apply_of_an_applied_plan_says_already_applied(repo, emulator):
    plan = _save(repo, emulator)
    cli(repo, "apply", str(repo), "--plan", str(plan), "--auto-approve", check_codes=(0,))
    emulator.reset_stats()
    proc = _refused(repo, emulator, plan, needle="acme/live changed since the plan")
    assert "it now matches what the plan would write — already applied?" in proc.stderr
    assert "was edited at" not in proc.stderr


def test_plan_file_has_the_issue_format_and_no_sensitive_value(repo, emulator):
    plan = _save(repo, emulator)
    text = plan.read_text()
    assert CANARY not in text
    doc = json.loads(text)
    assert doc["format_version"] == 1 and doc["kind"] == "rtc-reconciler-plan"
    for key in ("created_at", "tool_version", "target", "repository", "results", "pages"):
        assert key in doc
    assert doc["target"] == emulator.url
    assert set(doc["repository"]) >= {"revision", "content_sha256"} and doc["repository"]["revision"] is None
    assert "configs/acme/live/values.yaml" in doc["repository"]["files"]
    page = next(p for p in doc["pages"] if p["env"] == "live")
    assert set(page) == {"agent", "env", "live_last_updated", "schema_put_sha256", "patch_sha256"}
    assert page["live_last_updated"] == emulator.peek("acme", "live")["lastUpdated"]
    # Keyed: the plain SHA-256 of the body (what a brute force over PINs would compute) is not in the file.
    patch = values("live", supervisor_pin=CANARY)
    for body in ({"variables": patch}, patch):
        assert hashlib.sha256(canonical.canonical_text(body).encode()).hexdigest() not in text
    result = next(r for r in doc["results"] if r["env"] == "live")
    assert result["variables"]["patch"]["supervisor_pin"] == "***"


def test_an_edited_repository_file_refuses_with_nothing_written(repo, emulator):
    plan = _save(repo, emulator)
    write_env(repo, "acme", "live", schema=SECRET_SCHEMA, vals=_vals("live", max_hold=300))
    _refused(repo, emulator, plan, needle="configs/acme/live/values.yaml changed since the plan")


def test_an_out_of_band_edit_of_one_page_refuses_with_nothing_written(repo, emulator):
    plan = _save(repo, emulator)
    edited = emulator.edit_page("acme", "pre-release", variables={"greeting": "edited in the UI"})
    emulator.reset_stats()
    proc = _refused(repo, emulator, plan, needle="acme/pre-release was edited at")
    stamp = emulator.peek("acme", "pre-release")["lastUpdated"]
    assert stamp in proc.stderr and "acme/sandbox" not in proc.stderr
    del edited


def test_another_target_refuses(repo, emulator):
    plan = _save(repo, emulator)
    _refused(repo, emulator, plan, "--api-url", "http://127.0.0.1:9", needle="this plan is for target")


def test_a_tampered_plan_file_refuses(repo, emulator):
    plan = _save(repo, emulator)
    doc = json.loads(plan.read_text())
    next(p for p in doc["pages"] if p["env"] == "live")["live_last_updated"] = None
    plan.write_text(json.dumps(doc))
    _refused(repo, emulator, plan, needle="modified after it was written")


@pytest.mark.parametrize("algorithm", ["none", "HMAC-MD5", "", None, ["HMAC-SHA256"]])
def test_an_unknown_signature_algorithm_refuses_even_with_the_original_signature_value(repo, emulator, algorithm):
    plan = _save(repo, emulator)
    doc = json.loads(plan.read_text())
    doc["signature"]["algorithm"] = algorithm            # the value still matches: the algorithm is not signed
    plan.write_text(json.dumps(doc))
    _refused(repo, emulator, plan, needle="unknown signature algorithm")


def test_another_api_key_refuses(repo, emulator):
    plan = _save(repo, emulator)
    proc = cli(repo, "apply", str(repo), "--plan", str(plan), "--auto-approve", check_codes=(1,),
               extra_env={"POLYAI_API_KEY": "another-key"})
    assert "another API key" in proc.stderr and writes(emulator.requests()) == []


@pytest.mark.parametrize("mangle, needle", [
    (lambda t: t[: len(t) // 2], "not valid JSON"),
    (lambda t: t.replace('"format_version": 1', '"format_version": 2', 1), "newer reconciler (format_version 2"),
    (lambda t: t.replace('"rtc-reconciler-plan"', '"something-else"', 1), "not an rtc-reconciler plan file"),
    (lambda t: json.dumps({k: v for k, v in json.loads(t).items() if k != "pages"}), "missing pages"),
])
def test_corrupt_newer_or_foreign_files_are_clear_errors(repo, emulator, mangle, needle):
    plan = _save(repo, emulator)
    plan.write_text(mangle(plan.read_text()))
    _refused(repo, emulator, plan, needle=needle)


def test_a_json_report_is_not_a_plan_file(repo, emulator):
    report = repo.parent / "report.json"
    cli(repo, "plan", str(repo), "--format", "json", "--out", str(report), check_codes=(2,))
    emulator.reset_stats()
    _refused(repo, emulator, report, needle="JSON report, not a saved plan")


def test_plan_options_cannot_be_mixed_with_a_saved_plan(repo, emulator):
    plan = _save(repo, emulator)
    _refused(repo, emulator, plan, "--env", "sandbox", needle="--plan applies exactly the saved plan")


def test_live_still_needs_approval(repo, emulator):
    plan = _save(repo, emulator)
    proc = cli(repo, "apply", str(repo), "--plan", str(plan), check_codes=(1,))
    assert "apply it whole with --auto-approve" in proc.stderr
    assert writes(emulator.requests()) == []              # a reviewed plan: whole or not at all


def test_show_renders_every_format_with_no_request_and_no_repository(repo, emulator, tmp_path):
    plan = repo.parent / "plan.json"
    report = repo.parent / "report.json"
    cli(repo, "plan", str(repo), "--save-plan", str(plan), "--format", "json", "--out", str(report),
        check_codes=(2,))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy_of_plan = elsewhere / "plan.json"
    shutil.copy(plan, copy_of_plan)
    shutil.rmtree(repo)                      # no repository at all
    emulator.reset_stats()
    outputs = {}
    for fmt in ("text", "json", "markdown", "github"):
        proc = cli(elsewhere, "show", str(copy_of_plan), "--format", fmt, check_codes=(0,),
                   extra_env={"RECONCILER_API_URL": emulator.url})
        assert CANARY not in proc.stdout
        outputs[fmt] = proc.stdout
    assert emulator.requests() == []
    assert "acme / live: to change" in outputs["text"] and "supervisor_pin: added (value hidden)" in outputs["text"]
    assert "| `acme` |" in outputs["markdown"]
    assert "::notice file=configs/acme/live/values.yaml" in outputs["github"]
    # The JSON rendered from the plan file is the JSON report of the same run, key for key.
    assert json.loads(outputs["json"]) == json.loads(report.read_text())


def test_show_renders_a_drift_report_and_refuses_garbage(repo, emulator, tmp_path):
    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    emulator.edit_page("acme", "live", variables={**_vals("live"), "greeting": "from the UI"})
    report = tmp_path / "drift.json"
    cli(repo, "drift", str(repo), "--format", "json", "--out", str(report), check_codes=(2,))
    proc = cli(tmp_path, "show", str(report), check_codes=(0,))
    assert "greeting: \"from the UI\" → \"Hello from live\"" in proc.stdout
    assert "Drift: 1 drifted" in proc.stdout
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2")
    proc = cli(tmp_path, "show", str(garbage), check_codes=(1,))
    assert "not valid JSON" in proc.stderr
    proc = cli(tmp_path, "show", str(tmp_path / "missing.json"), check_codes=(1,))
    assert "cannot read" in proc.stderr


def _local_cli(root, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("POLYAI_API_KEY", "RECONCILER_API_URL")}
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=root, env={**env, "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_url_local_without_a_key_uses_a_random_key_kept_in_the_checkout(tmp_path):
    root = make_repo(tmp_path / "repo", "local", agents=("acme",))
    plan = tmp_path / "plan.json"
    assert _local_cli(root, "plan", ".", "--save-plan", str(plan), "--out", "p.txt").returncode == 2
    key = root / ".reconciler" / "plan.key"
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(plan.stat().st_mode) == 0o600
    assert key.read_text().strip() not in plan.read_text()
    moved = tmp_path / "elsewhere.key"
    key.rename(moved)                        # another checkout: no key, so the plan cannot be checked
    proc = _local_cli(root, "apply", ".", "--plan", str(plan), "--auto-approve")
    assert proc.returncode == 1 and "no .reconciler/plan.key in this checkout" in proc.stderr
    moved.rename(key)
    proc = _local_cli(root, "apply", ".", "--plan", str(plan), "--auto-approve")
    assert proc.returncode == 0, proc.stderr
    assert _local_cli(root, "plan", ".").returncode == 0


def test_an_unwritable_plan_file_is_a_clear_error(repo, emulator, tmp_path):
    proc = cli(repo, "plan", str(repo), "--save-plan", str(tmp_path / "no-such-dir" / "plan.json"),
               check_codes=(1,))
    assert "cannot write the plan file" in proc.stderr
