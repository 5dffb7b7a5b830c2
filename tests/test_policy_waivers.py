"""Selectors, severities, waivers (active, expired, unused) and masking of sensitive values in findings."""

import datetime as _dt

from reconciler.model import MASK, Severity
from test_policy_support import TODAY, desired, env, evaluate

BAD = 'fallback_number: "0207946"\n'


def fleet():
    return desired(*(env(agent, name, values=BAD)
                     for agent in ("acme-london", "acme-paris", "bella")
                     for name in ("sandbox", "live")))


PHONES = """\
name: phones
severity: error
match: {agents: ["acme-*"], environments: [live]}
rules:
  - id: e164
    paths: [fallback_number]
    e164: {}
"""


def test_selectors_match_agent_and_environment_globs():
    found = evaluate(fleet(), PHONES)
    assert sorted((f.agent, f.env) for f in found) == [("acme-london", "live"), ("acme-paris", "live")]


def test_default_selector_matches_everything():
    found = evaluate(fleet(), PHONES.replace('match: {agents: ["acme-*"], environments: [live]}\n', ""))
    assert len(found) == 6


def test_rule_severity_overrides_policy_severity():
    found = evaluate(fleet(), PHONES.replace("    e164: {}", "    e164: {}\n    severity: warning"))
    assert {f.severity for f in found} == {Severity.WARNING}
    assert not any(f.blocks for f in found)


def waiver(expires: str, agents='["acme-london"]', rule="e164") -> str:
    return PHONES + f"""\
exceptions:
  - rule: {rule}
    agents: {agents}
    environments: [live]
    reason: "Number porting in progress, OPS-1234"
    expires: "{expires}"
"""


def test_active_waiver_marks_the_finding_waived_but_still_reports_it():
    found = evaluate(fleet(), waiver("2026-06-01"))          # expiry day itself is still covered
    london = next(f for f in found if f.agent == "acme-london")
    paris = next(f for f in found if f.agent == "acme-paris")
    assert london.waived == "Number porting in progress, OPS-1234"
    assert london.severity is Severity.ERROR and not london.blocks
    assert london.to_json()["waived"] == "Number porting in progress, OPS-1234"
    assert paris.waived is None and paris.blocks
    assert len(found) == 2                                     # no finding about the waiver itself


def test_expired_waiver_is_an_error_at_its_line_and_waives_nothing():
    found = evaluate(fleet(), waiver("2026-05-31"), today=TODAY)
    assert all(f.waived is None for f in found)
    [expired] = [f for f in found if f.code == "policy.waiver_expired"]
    assert expired.severity is Severity.ERROR and expired.blocks
    assert (expired.file, expired.line) == ("policies/p0.yaml", 9)
    assert (expired.agent, expired.env) == ("acme-london", "live")   # blocks exactly what it covered
    assert "expired on 2026-05-31" in expired.message


def test_expired_waiver_covering_nothing_is_a_run_wide_error():
    found = evaluate(fleet(), waiver("2020-01-01", agents='["nobody"]'))
    [expired] = [f for f in found if f.code == "policy.waiver_expired"]
    assert expired.agent is None and expired.blocks


def test_unused_waiver_is_a_warning():
    found = evaluate(fleet(), waiver("2027-01-01", agents='["bella"]'))
    [unused] = [f for f in found if f.code == "policy.waiver_unused"]
    assert unused.severity is Severity.WARNING and not unused.blocks
    assert (unused.file, unused.line, unused.rule) == ("policies/p0.yaml", 9, "e164")


def test_today_decides_expiry():
    text = waiver("2026-06-01")
    assert any(f.waived for f in evaluate(fleet(), text, today=_dt.date(2026, 6, 1)))
    assert not any(f.waived for f in evaluate(fleet(), text, today=_dt.date(2026, 6, 2)))


SENSITIVE_SCHEMA = """\
type: object
properties:
  escalation_pin: {type: string, x-sensitive: true}
  secret_line: {type: string, writeOnly: true}
  backup: {type: object, x-sensitive: true, properties: {transfer_target: {type: string}}}
"""
SENSITIVE_VALUES = """\
escalation_pin: "48151623"
secret_line: "0207946SECRET"
backup: {transfer_target: "0201234999"}
"""


def test_sensitive_values_never_appear_in_findings():
    state = desired(env("acme", "live", schema=SENSITIVE_SCHEMA, values=SENSITIVE_VALUES))
    found = evaluate(state, """\
        name: leaky
        rules:
          - id: pin-format
            paths: [escalation_pin]
            pattern: "^[0-9]{4}$"
          - id: phones
            paths: [secret_line, "**.transfer_target"]
            e164: {}
          - id: shape
            paths: [backup]
            jsonschema: {type: object, required: [other], properties: {transfer_target: {maxLength: 3}}}
        """)
    assert {f.rule for f in found} == {"pin-format", "phones", "shape"}
    for finding in found:
        text = str(finding.to_json())
        for secret in ("48151623", "0207946SECRET", "0201234999"):
            assert secret not in text, finding
    pin = next(f for f in found if f.rule == "pin-format")
    assert MASK in pin.message and "hidden" in pin.message
