"""Malformed policy files: each problem is a run-wide policy.invalid error at file:line, never a traceback."""

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from reconciler.model import DesiredState, Severity
from reconciler.checks.policy import check_repository, loader
from test_policy_support import problems

GOOD = """\
name: phones
description: numbers
severity: error
match: {agents: ["acme-*"], environments: [live, pre-release]}
rules:
  - id: e164
    paths: ["fallback_number", "**.transfer_target", "sites[*].phone"]
    e164: {regions: [GB, US]}
exceptions:
  - rule: e164
    agents: [acme-london]
    environments: [live]
    reason: "Number porting in progress, OPS-1234"
    expires: "2026-12-31"
"""


def test_the_issue_example_loads():
    from test_policy_support import policy
    parsed = policy(GOOD)
    assert parsed.name == "phones" and parsed.severity is Severity.ERROR
    assert parsed.selector.agents == ("acme-*",)
    [rule] = parsed.rules
    assert (rule.id, rule.check, rule.line, rule.args) == ("e164", "e164", 6, {"regions": ["GB", "US"]})
    [waiver] = parsed.exceptions
    assert (waiver.rule, waiver.line, waiver.expires.isoformat()) == ("e164", 10, "2026-12-31")


@pytest.mark.parametrize("text, line, needle", [
    ("name: p\nrules:\n  - id: r\n    paths: [a]\n    regex: x\n    pattern: x\n", 5, "unknown key 'regex'"),
    ("name: p\nrules:\n  - id: r\n    paths: [a]\n", 3, "has no check"),
    ("name: p\nrules:\n  - id: r\n    paths: [a]\n    pattern: x\n    e164: {}\n", 3, "has 2 checks (pattern, e164)"),
    ("name: p\nrules:\n  - id: r\n    paths: [a]\n    pattern: '(unclosed'\n", 5, "invalid regular expression"),
    ("name: p\nrules:\n  - id: r\n    paths: ['a..b']\n    pattern: x\n", 4, "invalid path"),
    ("name: p\nrules:\n  - id: r\n    pattern: x\n", 3, "needs 'paths'"),
    ("name: p\nrules:\n  - id: r\n    paths: [a]\n    schema_hygiene: {}\n", 4, "does not read 'paths'"),
    ("name: p\nrules:\n  - id: r\n    parity: {reference: staging}\n", 4, "parity"),
    ("name: p\nmatch: {environments: [prod]}\nrules:\n  - id: r\n    schema_hygiene: {}\n", 2,
     "matches no environment"),
    ("name: p\nmatch:\n  agents: ['acme london']\nrules:\n  - id: r\n    schema_hygiene: {}\n", 3, "bad agent glob"),
    ("name: p\nseverity: fatal\nrules:\n  - id: r\n    schema_hygiene: {}\n", 2, "severity"),
    ("name: p\nrules:\n  - id: r\n    schema_hygiene: {}\nexceptions:\n  - rule: r\n    reason: x\n"
     "    expires: '2026-02-30'\n", 8, "not a real date"),
    ("name: p\nrules:\n  - id: r\n    schema_hygiene: {}\nexceptions:\n  - rule: r\n    reason: x\n"
     "    expires: 'next week'\n", 8, "not a date in YYYY-MM-DD form"),
    ("name: p\nrules:\n  - id: r\n    schema_hygiene: {}\nexceptions:\n  - rule: other\n    reason: x\n"
     "    expires: '2026-01-01'\n", 6, "does not have"),
    ("name: p\nrules:\n  - id: r\n    schema_hygiene: {}\n  - id: r\n    schema_hygiene: {}\n", 5, "duplicate rule id"),
    ("name: p\nrules:\n  - id: r\n    paths: [a]\n    jsonschema: {type: strung}\n", 5, "not valid Draft 7"),
    ("name: p\nrules:\n  - id: r\n    paths: [a]\n    e164: {regions: [XX]}\n", 5, "unknown region"),
    ("name: p\nrules:\n  - id: r\n    blast_radius: {}\n", 4, "needs max_agents and/or max_percent"),
    ("rules:\n  - id: r\n    schema_hygiene: {}\n", 1, "'name' is a required property"),
])
def test_malformed_policy_is_invalid_with_line(text, line, needle):
    found = problems(text)
    assert found, "expected a finding"
    assert all(f.code == "policy.invalid" and f.severity is Severity.ERROR and f.agent is None for f in found)
    assert all(f.file == "policies/test.yaml" for f in found)
    hit = [f for f in found if needle in f.message]
    assert hit, [f.message for f in found]
    if line is not None:
        assert hit[0].line == line, [(f.line, f.message) for f in found]


def write(root: Path, name: str, text: str) -> None:
    (root / "policies").mkdir(exist_ok=True)
    (root / "policies" / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_yaml_errors_in_policy_files_are_global_errors(tmp_path):
    write(tmp_path, "a.yaml", "name: a\nname: b\nrules: []\n")
    write(tmp_path, "b.yaml", "name: [unclosed\n")
    write(tmp_path, "ok.yaml", "name: ok\nrules:\n  - id: r\n    schema_hygiene: {}\n")
    state = DesiredState(root=tmp_path, agents={})
    found = check_repository(state)
    files = sorted((f.file, f.line, f.code) for f in found)
    assert files == [("policies/a.yaml", 2, "policy.invalid"), ("policies/b.yaml", 2, "policy.invalid")]
    state = DesiredState(root=tmp_path, agents={}, findings=tuple(found))
    assert len(state.global_errors) == 2
    assert "duplicate" in next(f.message for f in found if f.file == "policies/a.yaml")


def test_duplicate_policy_names_across_files(tmp_path):
    write(tmp_path, "a.yaml", "name: same\nrules:\n  - id: r\n    schema_hygiene: {}\n")
    write(tmp_path, "b.yaml", "name: same\nrules:\n  - id: r\n    schema_hygiene: {}\n")
    policy_set = loader.load_policies(tmp_path)
    [finding] = policy_set.findings
    assert (finding.file, finding.line, finding.code) == ("policies/b.yaml", 1, "policy.invalid")


def test_no_policies_directory_means_no_policies(tmp_path):
    assert loader.load_policies(tmp_path).policies == ()
    assert check_repository(DesiredState(root=tmp_path, agents={})) == ()


def test_shipped_schema_is_valid_draft7_and_packaged():
    schema = loader.policy_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    on_disk = json.loads((Path(loader.__file__).parent / "policy.schema.json").read_text())
    assert on_disk == schema


def test_shipped_default_policies_are_valid():
    root = Path(__file__).resolve().parents[1]
    policy_set = loader.load_policies(root)
    assert policy_set.findings == ()
    assert {p.name for p in policy_set.policies} >= {"phone-numbers", "schema-hygiene", "environment-parity",
                                                     "blast-radius"}


def test_unquoted_expiry_date_is_accepted():
    from test_policy_support import policy
    parsed = policy("name: p\nrules:\n  - {id: r, schema_hygiene: {}}\nexceptions:\n"
                    "  - {rule: r, reason: why, expires: 2026-12-31}\n")
    assert parsed.exceptions[0].expires.isoformat() == "2026-12-31"
    assert parsed.exceptions[0].selector.agents == ("*",)
