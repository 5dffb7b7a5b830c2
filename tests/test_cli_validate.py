"""`reconciler validate` as a real process: exit codes, formats, --out, filters, and no secret in any output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PIN_SCHEMA = r"""type: object
properties:
  escalation_pin: {type: string, title: PIN, description: Secret., pattern: '^\d{4}$', x-sensitive: true}
  greeting: {type: string, title: Greeting, description: Hello.}
"""


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    full.pop("RECONCILER_API_URL", None)
    return subprocess.run([sys.executable, "-m", "reconciler", "validate", *args], capture_output=True,
                          text=True, timeout=60, env=full)


def test_example_repository_is_valid_with_no_warning() -> None:
    out = run(str(PROJECT))
    assert out.returncode == 0, out.stdout + out.stderr
    # Patterns are matched as ECMA-262 everywhere: what Python's re would do is no user's concern.
    assert out.stdout.splitlines() == [f"reconciler validate · repository {PROJECT}",
                                       "valid: 3 agents, 9 environments checked; 0 errors, 0 warnings"]


def test_regex_dialect_notes_only_when_enabled(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "configs", tmp_path / "configs")
    (tmp_path / "reconciler.yaml").write_text("warnings:\n  enable: [schema.regex_dialect]\n")
    out = run(str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert all("[schema.regex_dialect]" in line for line in out.stdout.splitlines()[1:-1])
    # Each dialect warning is whole: the pattern as written, never cut before its repeat count.
    assert ("pattern `^\\+[1-9]\\d{6,14}$`: `\\d` is ASCII 0-9 only, `$` is the very end (Python's re: "
            "any Unicode digit; also before a final newline) (same pattern in 8 more places)") in out.stdout
    assert "…" not in out.stdout


def secret_repo(root: Path) -> Path:
    live = root / "configs" / "agent-a" / "live"
    live.mkdir(parents=True)
    (live / "schema.yaml").write_text(PIN_SCHEMA)
    (live / "values.yaml").write_text("escalation_pin: 'S3CR3T-PIN'\ngreeting: 42\n")
    return root


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_sensitive_values_never_printed(tmp_path: Path, fmt: str) -> None:
    out = run(str(secret_repo(tmp_path)), "--format", fmt)
    assert out.returncode == 1
    assert "S3CR3T-PIN" not in out.stdout + out.stderr
    assert "escalation_pin" in out.stdout and "42 is not of type 'string'" in out.stdout


def test_text_format_lines_and_summary_without_colour_when_piped(tmp_path: Path) -> None:
    out = run(str(secret_repo(tmp_path)))
    lines = out.stdout.splitlines()
    assert lines[0].startswith("reconciler validate · repository ")
    assert lines[1] == ("configs/agent-a/live/values.yaml:1: error [values.invalid] escalation_pin: "
                        "sensitive value (masked) fails pattern: '^\\\\d{4}$'")
    assert lines[-1] == "invalid: 1 agent, 1 environment checked; 2 errors, 0 warnings"
    assert "\x1b[" not in out.stdout


def test_out_writes_the_report_and_prints_the_summary(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    out = run(str(secret_repo(tmp_path / "repo")), "--format", "json", "--out", str(report))
    assert out.returncode == 1
    assert out.stdout.startswith("invalid:")
    doc = json.loads(report.read_text())
    assert [e["path"] for e in doc["errors"]] == ["escalation_pin", "greeting"]
    assert doc["warnings"] == []


def test_filters_limit_what_is_checked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(PROJECT / "configs", repo / "configs")
    (repo / "configs" / "acme-support" / "live" / "values.yaml").write_text("oops: [\n")
    assert run(str(repo), "--agent", "acme-support", "--env", "sandbox").returncode == 0
    assert run(str(repo), "--agent", "bella-pizza-sites").returncode == 0
    broken = run(str(repo), "--env", "live", "--format", "json")
    assert broken.returncode == 1
    assert [e["code"] for e in json.loads(broken.stdout)["errors"]] == ["yaml.syntax"]


def test_json_report_carries_the_versioned_document_header(tmp_path: Path) -> None:
    from reconciler import __version__

    repo = tmp_path / "repo"
    shutil.copytree(PROJECT / "configs", repo / "configs")
    (repo / "configs" / "acme-support" / "live" / "values.yaml").write_text("oops: [\n")
    doc = json.loads(run(str(repo), "--format", "json").stdout)
    assert doc["format_version"] == 1 and doc["command"] == "validate" and doc["tool_version"] == __version__
    assert doc["created_at"].endswith("Z") and doc["created_at"][:2] == "20"
    assert doc["summary"] == {"errors": len(doc["errors"]), "warnings": len(doc["warnings"])}
    assert doc["summary"]["errors"] >= 1


def test_usage_errors(tmp_path: Path) -> None:
    bad_env = run(str(tmp_path), "--env", "staging")
    assert bad_env.returncode == 1 and "Traceback" not in bad_env.stderr
    assert "'staging' is not one of 'sandbox', 'pre-release', 'live'" in bad_env.stderr
    bad_format = run(str(tmp_path), "--format", "xml")
    assert bad_format.returncode == 1 and "'--format' / '-f': 'xml' is not one of" in bad_format.stderr
    assert "Value error" not in bad_env.stderr + bad_format.stderr
    missing = run(str(tmp_path / "nope"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_help_has_examples() -> None:
    out = subprocess.run([sys.executable, "-m", "reconciler", "validate", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "Examples:" in out.stdout and "--format" in out.stdout
