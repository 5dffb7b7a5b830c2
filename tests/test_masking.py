"""masking: sensitive nodes are found through every schema construct and never printed."""

from __future__ import annotations

from reconciler.checks import masking
from reconciler.model import MASK

SCHEMA = {
    "type": "object",
    "definitions": {"pin": {"type": "string", "x-sensitive": True}},
    "properties": {
        "escalation_pin": {"$ref": "#/definitions/pin"},
        "greeting": {"type": "string"},
        "sites": {"type": "array", "items": {"type": "object", "properties": {
            "token": {"type": "string", "writeOnly": True}, "name": {"type": "string"}}}},
        "either": {"anyOf": [{"type": "string", "x-sensitive": True}, {"type": "integer"}]},
        "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "string", "x-sensitive": True}]},
        "not_secret": {"type": "string", "x-sensitive": False},
    },
    "patternProperties": {"^secret_": {"x-sensitive": True}},
    "additionalProperties": {"type": "string"},
}
VALUES = {"escalation_pin": "4815", "greeting": "Hello", "sites": [{"token": "tok-123", "name": "Camden"}],
          "either": 42, "tuple": ["a", "b-secret"], "secret_x": {"q": [7, 8]}, "other": "x", "not_secret": "y"}


def test_is_sensitive_through_refs_items_combinators_and_patterns() -> None:
    assert masking.is_sensitive(SCHEMA, ["escalation_pin"])
    assert masking.is_sensitive(SCHEMA, ["sites", 3, "token"])
    assert not masking.is_sensitive(SCHEMA, ["sites", 3, "name"])
    assert masking.is_sensitive(SCHEMA, ["either"])                 # any branch marked: masked
    assert masking.is_sensitive(SCHEMA, ["tuple", 1]) and not masking.is_sensitive(SCHEMA, ["tuple", 0])
    assert masking.is_sensitive(SCHEMA, ["secret_x", "q", 0])       # subtree of a sensitive node
    assert not masking.is_sensitive(SCHEMA, ["other"]) and not masking.is_sensitive(SCHEMA, ["not_secret"])
    assert masking.is_sensitive({"x-sensitive": True}, [])


def test_sensitive_top_level_keys() -> None:
    # declared properties only: "tuple" holds a secret but is not one; "secret_x" is not declared
    assert masking.sensitive_top_level_keys(SCHEMA) == frozenset({"escalation_pin", "either"})


def test_mask_replaces_sensitive_nodes_in_a_copy() -> None:
    masked = masking.mask(VALUES, SCHEMA)
    assert masked == {"escalation_pin": MASK, "greeting": "Hello", "sites": [{"token": MASK, "name": "Camden"}],
                      "either": MASK, "tuple": ["a", MASK], "secret_x": MASK, "other": "x", "not_secret": "y"}
    assert VALUES["escalation_pin"] == "4815"                       # the input is untouched


def test_mask_message_removes_every_form_of_a_secret() -> None:
    secrets = masking.sensitive_values(VALUES, SCHEMA)
    message = "'4815' is bad; {'q': [7, 8]} too; token tok-123; \"b-secret\""
    masked = masking.mask_message(message, secrets)
    for secret in ("4815", "tok-123", "b-secret", "[7, 8]"):
        assert secret not in masked
    assert masked.count(MASK) == 4
    assert masking.mask_message("pin 4815 leaked", ["4815"]) == f"pin {MASK} leaked"
