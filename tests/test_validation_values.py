"""Values checks that the catalogue cannot reach through a whole repository."""

from __future__ import annotations

from reconciler.repository import yamlsafe
from reconciler.checks.valuecheck import check_values


def test_value_regex_timeout_is_its_own_error_at_the_value() -> None:
    # The schema probe would flag this pattern first; here we check the value-side guard on its own.
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": r"^((a|aa)+)\1$"}}}
    values, vmap = yamlsafe.parse_yaml("other: 1\ncode: " + "a" * 60 + "!\n", "v.yaml")
    [finding] = check_values(values, vmap, schema)
    assert (finding.code, finding.line, finding.path) == ("values.regex_timeout", 2, "code")


def test_any_of_messages_are_masked_and_name_the_closest_branch() -> None:
    schema = {"type": "object", "properties": {
        "pin": {"type": "string", "x-sensitive": True},
        "either": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}},
        "not": {"required": ["forbidden"]}}
    values, vmap = yamlsafe.parse_yaml("pin: '9911'\neither: text\nforbidden: 1\n", "v.yaml")
    findings = check_values(values, vmap, schema)
    messages = " ".join(f.message for f in findings)
    assert "9911" not in messages                                   # the parent-level `not` error quotes it
    assert "closest:" in messages
