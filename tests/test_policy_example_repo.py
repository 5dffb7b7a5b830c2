"""The shipped example repository against its own default policies, through the real CLI (subprocess).

A copy of the example repository goes to tmp_path; breaking one phone number in
a live values.yaml (in a way the schema's own pattern still accepts) must make
`reconciler validate` exit 1 and name the line of that number and the policy rule.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def copy_example(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(ROOT / "configs", repo / "configs")
    shutil.copytree(ROOT / "policies", repo / "policies")
    shutil.copy(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    return repo


def reconciler(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def line_of(path: Path, needle: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text)


def test_example_repository_passes_its_default_policies(tmp_path):
    repo = copy_example(tmp_path)
    result = reconciler("validate", ".", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "policy.invalid" not in result.stdout


@pytest.mark.parametrize("agent, key, bad", [
    ("acme-support", "fallback_number", "+440000000000"),            # fits ^\+[1-9]\d{6,14}$, no such range
    ("bella-pizza-sites", "+13125550100", "+1312555010"),             # a digit short: too short for US
    ("northwind-transfers", "transfer_target", "+4411349600"),
])
def test_breaking_a_live_phone_number_fails_validate_at_its_line(tmp_path, agent, key, bad):
    repo = copy_example(tmp_path)
    values = repo / "configs" / agent / "live" / "values.yaml"
    line = line_of(values, key)
    text = values.read_text().splitlines(keepends=True)
    old = text[line - 1].split('"')[1]
    text[line - 1] = text[line - 1].replace(old, bad)
    values.write_text("".join(text))

    result = reconciler("validate", ".", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"configs/{agent}/live/values.yaml:{line}" in result.stdout + result.stderr
    assert "policies/phone-numbers.yaml:9" in result.stdout + result.stderr      # the rule, too

    report = json.loads(reconciler("validate", ".", "--format", "json", cwd=repo).stdout)
    findings = [f for f in _all_findings(report) if f.get("code") == "policy.e164"]
    assert len(findings) == 1, findings
    [finding] = findings
    assert (finding["file"], finding["line"], finding["agent"], finding["env"]) == (
        f"configs/{agent}/live/values.yaml", line, agent, "live")
    assert (finding["rule_file"], finding["rule_line"], finding["severity"]) == ("policies/phone-numbers.yaml", 9,
                                                                                 "error")


def _all_findings(node):
    """Every finding-shaped object anywhere in a JSON report (the report layout is validation's business)."""
    if isinstance(node, dict):
        if "code" in node and "severity" in node:
            yield node
        for child in node.values():
            yield from _all_findings(child)
    elif isinstance(node, list):
        for child in node:
            yield from _all_findings(child)


def test_policies_command_lists_rules_and_waivers(tmp_path):
    repo = copy_example(tmp_path)
    (repo / "policies" / "phone-numbers.yaml").write_text(
        (repo / "policies" / "phone-numbers.yaml").read_text().replace("exceptions: []", """exceptions:
  - rule: e164
    agents: [acme-support]
    environments: [live]
    reason: "Number porting, OPS-1234"
    expires: "2026-12-31"
"""))
    text = reconciler("policies", ".", "--today", "2027-01-01", cwd=repo)
    assert text.returncode == 0, text.stderr
    assert "phone-numbers  [error]" in text.stdout
    assert "rule e164 (line 9) [error, value rule]" in text.stdout
    assert "expires 2026-12-31 (EXPIRED); Number porting, OPS-1234" in text.stdout
    data = json.loads(reconciler("policies", ".", "--format", "json", "--today", "2026-01-01", cwd=repo).stdout)
    from reconciler import __version__
    assert (data["format_version"], data["command"], data["tool_version"]) == (1, "policies", __version__)
    assert data["created_at"].endswith("Z")
    phones = next(p for p in data["policies"] if p["name"] == "phone-numbers")
    assert phones["exceptions"][0]["expired"] is False
    assert {"agent": "acme-support", "env": "live"} in phones["matched"]
    blast = next(p for p in data["policies"] if p["name"] == "blast-radius")
    assert blast["rules"][0]["kind"] == "change" and len(blast["matched"]) == 3


def test_policies_command_exits_1_on_a_malformed_file_with_its_line(tmp_path):
    repo = copy_example(tmp_path)
    (repo / "policies" / "broken.yaml").write_text("name: broken\nrules:\n  - id: r\n    paths: [a]\n")
    result = reconciler("policies", ".", cwd=repo)
    assert result.returncode == 1
    assert "policies/broken.yaml:3: error: rule 'r' has no check" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    validate = reconciler("validate", ".", cwd=repo)
    assert validate.returncode == 1 and "policies/broken.yaml:3" in validate.stdout + validate.stderr


def test_parity_still_compares_with_pre_release_when_only_live_is_selected(tmp_path):
    from reconciler.checks import validation
    repo = copy_example(tmp_path)
    assert not [f for f in validation.validate_repository(repo, envs=["live"]).findings
                if f.code == "policy.parity"]
    schema = repo / "configs" / "acme-support" / "pre-release" / "schema.yaml"
    schema.write_text(schema.read_text().replace("minLength: 1\n    maxLength: 200", "minLength: 2\n    maxLength: 200"))
    found = [f for f in validation.validate_repository(repo, envs=["live"]).findings if f.code == "policy.parity"]
    assert [(f.agent, f.env, f.file) for f in found] == [("acme-support", "live",
                                                          "configs/acme-support/live/schema.yaml")]
    assert "properties.opening_hours" in found[0].message
