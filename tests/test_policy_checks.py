"""Each value check, pass and fail, evaluated through the engine on literal repositories.

Every failing case also checks the location: file:line of the offending value
(or schema node) and the policy file:line of the rule.
"""

import pytest

from reconciler.model import Severity
from reconciler.checks.policy.checks import e164
from test_policy_support import desired, env, evaluate

VALUES = """\
fallback_number: "+442079460958"
sites:
  - name: london
    phone: "+442079460000"
  - name: boston
    phone: "+1 617 555 0100"
call_transfer:
  transfer_target: "020 7946 0958"
  escalation:
    transfer_target: "+4420794"
"""

E164_POLICY = """\
name: phones
severity: error
rules:
  - id: e164
    paths: ["fallback_number", "sites[*].phone", "**.transfer_target"]
    e164: {}
"""


def test_e164_flags_each_bad_number_at_its_line():
    found = evaluate(desired(env("acme", "live", values=VALUES)), E164_POLICY)
    by_path = {f.path: f for f in found}
    assert set(by_path) == {"sites[1].phone", "call_transfer.transfer_target",
                            "call_transfer.escalation.transfer_target"}
    spaced = by_path["sites[1].phone"]
    assert (spaced.file, spaced.line) == ("configs/acme/live/values.yaml", 6)
    assert "remove spaces" in spaced.message
    assert (spaced.code, spaced.severity, spaced.agent, spaced.env) == ("policy.e164", Severity.ERROR, "acme", "live")
    assert (spaced.policy, spaced.rule, spaced.rule_file, spaced.rule_line) == ("phones", "e164", "policies/p0.yaml", 4)
    assert spaced.blocks
    assert by_path["call_transfer.transfer_target"].line == 8
    assert "must start with '+'" in by_path["call_transfer.transfer_target"].message
    assert "too short" in by_path["call_transfer.escalation.transfer_target"].message
    assert by_path["call_transfer.escalation.transfer_target"].line == 10


@pytest.mark.parametrize("value, regions, expected", [
    ("+442079460958", (), None),
    ("+11234567890", (), "not a valid number for region US"),          # area code 123 does not exist
    ("+12025550123", ("GB",), "allowed regions: GB"),
    ("+442079460958", ("GB", "US"), None),
    ("+4420794609581234", (), "too long"),
    ("+441000000000", (), "not a valid number for region GB"),
    ("+44207", (), "too short"),
    ("+999123456789", (), "unknown country code"),
    ("+44-20-7946-0958", (), "remove spaces, dashes"),
    ("442079460958", (), "must start with '+'"),
    (442079460958, (), "not a phone number string"),
    (None, (), "not a phone number string"),
])
def test_e164_reasons(value, regions, expected):
    why = e164.problem(value, regions)
    if expected is None:
        assert why is None
    else:
        assert why is not None and expected in why


def test_e164_regions_restrict_countries():
    state = desired(env("acme", "live", values='fallback_number: "+12025550123"\n'))
    policy = E164_POLICY.replace("e164: {}", "e164: {regions: [GB]}")
    [finding] = evaluate(state, policy)
    assert "is a US number; allowed regions: GB" in finding.message


def test_pattern_check_pass_fail_and_non_string():
    values = "code: AB-12\nother: ab-1\nnumber: 5\n"
    state = desired(env("acme", "sandbox", values=values))
    found = evaluate(state, """\
        name: codes
        severity: warning
        rules:
          - id: code-format
            paths: [code, other, number]
            pattern: "^[A-Z]{2}-[0-9]+$"
        """)
    assert [(f.path, f.line, f.severity) for f in found] == [("other", 2, Severity.WARNING),
                                                             ("number", 3, Severity.WARNING)]
    assert "'ab-1' does not match" in found[0].message
    assert "expected a string" in found[1].message
    assert not any(f.blocks for f in found)


def test_catastrophic_regex_in_policy_is_an_error_not_a_hang():
    state = desired(env("acme", "live", values='name: "' + "a" * 40 + '!"\n'))
    found = evaluate(state, """\
        name: slow
        severity: warning
        rules:
          - id: evil
            paths: [name]
            pattern: "^((a|aa)+)\\\\1$"
        """)
    [finding] = found
    assert finding.code == "policy.regex_timeout"
    assert finding.severity is Severity.ERROR and finding.line == 1


def test_jsonschema_check_on_nested_array_items():
    values = """\
    sites:
      - name: london
        opening_hours: {open: "09:00", close: "17:00"}
      - name: boston
        opening_hours: {open: "9am"}
    """
    found = evaluate(desired(env("acme", "pre-release", values=values)), """\
        name: hours
        rules:
          - id: hours-shape
            paths: ["sites[*].opening_hours"]
            jsonschema:
              type: object
              required: [open, close]
              properties:
                open: {type: string, pattern: "^[0-2][0-9]:[0-5][0-9]$"}
        """)
    assert sorted((f.path, f.line) for f in found) == [("sites[1].opening_hours", 5),
                                                       ("sites[1].opening_hours.open", 5)]
    assert {f.code for f in found} == {"policy.jsonschema"}
    assert any("'close' is a required property" in f.message for f in found)


SCHEMA = """\
type: object
properties:
  fallback_number:
    type: string
    title: Fallback number
    description: Where calls go when the agent cannot help
  greeting:
    type: string
    title: Greeting
  sites:
    type: array
    title: Sites
    description: Offices
    items:
      type: object
      properties:
        phone:
          type: string
          title: Phone
          description: Main line
          pattern: "^\\\\+[1-9][0-9]{7,14}$"
        backup_number:
          type: string
          title: ""
          description: Backup
"""


def test_schema_hygiene_finds_missing_labels_and_unpatterned_phones_at_schema_lines():
    found = evaluate(desired(env("acme", "live", schema=SCHEMA)), """\
        name: hygiene
        severity: warning
        rules:
          - id: labels
            schema_hygiene: {}
        """)
    summary = sorted((f.path, f.line, f.message.split(": ", 1)[1][:40]) for f in found)
    assert [s[:2] for s in summary] == [("properties.fallback_number", 3),
                                        ("properties.greeting", 7),
                                        ("properties.sites.items.properties.backup_number", 22),
                                        ("properties.sites.items.properties.backup_number", 22)]
    assert all(f.file == "configs/acme/live/schema.yaml" and f.code == "policy.schema_hygiene" for f in found)
    messages = " | ".join(f.message for f in found)
    assert "'greeting' has no description" in messages
    assert "'backup_number' has no title" in messages
    assert "'fallback_number' declares neither 'pattern' nor 'format'" in messages


def test_parity_equal_schemas_pass_regardless_of_key_order():
    a = "type: object\nproperties:\n  x: {type: string, title: X}\n"
    b = "properties:\n  x: {title: X, type: string}\ntype: object\n"
    state = desired(env("acme", "pre-release", schema=a), env("acme", "live", schema=b))
    assert evaluate(state, PARITY) == []


PARITY = """\
name: parity
severity: warning
match: {environments: [live]}
rules:
  - id: live-equals-pre-release
    parity: {reference: pre-release}
"""


def test_parity_difference_reported_at_the_matched_env_schema():
    a = "type: object\nproperties:\n  x: {type: string}\n"
    b = "type: object\nproperties:\n  x: {type: integer}\n  y: {type: string}\n"
    state = desired(env("acme", "pre-release", schema=a), env("acme", "live", schema=b))
    [finding] = evaluate(state, PARITY)
    assert (finding.file, finding.line, finding.env) == ("configs/acme/live/schema.yaml", 1, "live")
    assert "properties.x" in finding.message and "properties.y" in finding.message
    assert finding.severity is Severity.WARNING


def test_parity_with_unmanaged_reference_warns_instead_of_crashing():
    state = desired(env("acme", "live", schema="type: object\n"))
    [finding] = evaluate(state, PARITY.replace("severity: warning", "severity: error"))
    assert "pre-release" in finding.message and "unmanaged" in finding.message
    assert finding.severity is Severity.WARNING


def test_required_keys_point_at_nearest_parent():
    values = "greeting: hi\nsites:\n  - name: a\n    phone: '+1'\n  - name: b\n"
    found = evaluate(desired(env("acme", "live", values=values)), """\
        name: required
        rules:
          - id: must-have
            required_keys: [greeting, fallback_number, "sites[*].phone"]
        """)
    assert sorted((f.path, f.line) for f in found) == [("fallback_number", 1), ("sites[1].phone", 5)]
    assert all(f.code == "policy.required_keys" for f in found)


def test_required_keys_skip_environments_without_values():
    state = desired(env("acme", "live", schema="type: object\n"))
    assert evaluate(state, "name: r\nrules:\n  - id: k\n    required_keys: [x]\n") == []
