"""The compiled fast path (jsonschema-rs) and the full validator agree on valid / invalid.

``valuecheck.check_values`` trusts the fast path's "valid" alone, so a page
the full validator would fail must never be called valid by it; and a page
it calls invalid gets the full validator's messages, so it must really be
invalid. Pinned on the catalogue of broken repositories, on the example
repository, and on hypothesis-generated schemas and values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.checks import ecma, fastcheck, formats, fullvalidator, validation
from reconciler.repository import loader
from tests.test_validation_catalogue import CASES, write_repo

REPO = Path(__file__).resolve().parent.parent


def full_valid(schema, values) -> bool:
    return not any(True for _ in fullvalidator.validator_for(schema).iter_errors(values))


def _broken(schema, smap) -> bool:
    return any(f.blocks for f in validation.check_schema(schema, smap))     # warnings do not stop values checks


def checked_pairs(root: Path):
    """(file, schema, values) of every environment whose values validation would run."""
    desired = loader.load_repository(root)
    for agent in desired.agents.values():
        for env in agent.envs.values():
            if env.schema is None or env.values is None or _broken(env.schema, env.schema_map):
                continue
            yield env.values_map.file, env.schema, env.values


@pytest.mark.parametrize("case", sorted(CASES))
def test_catalogue_fast_and_full_agree(tmp_path: Path, case: str) -> None:
    write_repo(tmp_path, CASES[case][0])
    for file, schema, values in checked_pairs(tmp_path):
        fast = fastcheck.is_valid(schema, values)
        assert fast is not None, f"{case}: no compiled validator for {file}"
        assert fast == full_valid(schema, values), f"{case}: {file}: fast={fast}"


def test_catalogue_has_both_valid_and_invalid_pages(tmp_path: Path) -> None:
    verdicts = set()
    for case in sorted(CASES):
        root = tmp_path / case
        write_repo(root, CASES[case][0])
        verdicts |= {fastcheck.is_valid(schema, values) for _, schema, values in checked_pairs(root)}
    assert verdicts == {True, False}


def test_example_repository_agrees() -> None:
    pairs = list(checked_pairs(REPO))
    assert len(pairs) == 9
    for file, schema, values in pairs:
        assert fastcheck.is_valid(schema, values) is True and full_valid(schema, values), file


def test_invalid_page_still_gets_the_full_located_messages(tmp_path: Path) -> None:
    write_repo(tmp_path, CASES["nested-array-item"][0])
    [(file, schema, values)] = list(checked_pairs(tmp_path))
    assert fastcheck.is_valid(schema, values) is False
    desired = validation.validate_repository(tmp_path)
    [finding] = [f for f in desired.findings if f.code == "values.invalid"]
    assert (finding.file, finding.line, finding.path) == (file, 7, "sites[1].phone")
    assert "does not match" in finding.message


def test_fractional_multiple_of_is_left_to_the_full_validator() -> None:
    schema = {"type": "object", "properties": {"price": {"type": "number", "multipleOf": 0.1}}}
    assert fastcheck.is_valid(schema, {"price": 0.3}) is None       # jsonschema-rs would say valid
    assert not full_valid(schema, {"price": 0.3})                   # binary floating point says no
    assert fastcheck.is_valid({"multipleOf": 5}, 10) is True


def test_sensitive_value_messages_stay_masked_on_the_slow_path(tmp_path: Path) -> None:
    schema = ("type: object\nproperties:\n  token:\n    type: string\n    x-sensitive: true\n"
              "    pattern: '^tok_[0-9a-f]{8}$'\n")
    write_repo(tmp_path, {"configs/agent-a/live/schema.yaml": schema,
                          "configs/agent-a/live/values.yaml": "token: hunter2-secret\n"})
    [finding] = [f for f in validation.validate_repository(tmp_path).findings if f.code == "values.invalid"]
    assert "hunter2" not in finding.message and finding.line == 1


@pytest.mark.parametrize(("pattern", "value", "valid"), [
    ("\\bab", "éab", True),          # \b is an ASCII word boundary in the decided dialect (translated)
    ("\\bab", "_ab", False),
    ("^\\d+$", "٣", False),          # \d is [0-9]
    ("^\\w+$", "é", False),
    ("^[a-z]+$", "ab\n", False),      # $ is the very end, not before a trailing newline
    ("^[^]$", "\n", True),            # valid ECMA the engine only takes translated
    ("(?<d>[0-9])\\k<d>", "11", True),
    ("^\\p{L}+$", "éa", True),
])
def test_fast_path_matches_in_the_decided_regex_dialect(pattern: str, value: str, valid: bool) -> None:
    as_value = {"type": "object", "properties": {"v": {"type": "string", "pattern": pattern}}}
    as_key = {"type": "object", "patternProperties": {pattern: {"type": "string"}}, "additionalProperties": False}
    linear = ecma.linear_text(pattern) is not None      # \\b and backreferences need regress: no fast path
    for schema, instance in ((as_value, {"v": value}), (as_key, {value: value})):
        assert fastcheck.is_valid(schema, instance) is (valid if linear else None)
        assert full_valid(schema, instance) is valid


def test_only_patterns_that_need_regress_leave_the_fast_path() -> None:
    assert fastcheck.patterns_linear({"pattern": "^\\p{L}+$", "patternProperties": {"(?<$>a)": {}}})
    assert not fastcheck.patterns_linear({"properties": {"a": {"pattern": "(a)?b\\1"}}})
    assert fastcheck.is_valid({"pattern": "(a)?b\\1"}, "b") is None
    assert full_valid({"pattern": "(a)?b\\1"}, "b")          # a backreference to a group not set matches ""


def test_remote_refs_are_never_fetched() -> None:
    assert fastcheck.is_valid({"$ref": "http://127.0.0.1:9/schema.json"}, 1) is None


# ---- generated schemas and values ------------------------------------------------------------

# Patterns in the dialect regexguard decided (ECMA-262, Unicode mode), including the forms where it
# differs from Python's re (\d, \w, \b, $ before a newline) and those it translates ([^], \k<name>).
PATTERNS = ["^[a-z]+$", "^\\+[1-9]\\d{6,14}$", "[A-Z]", "^(blind|warm)$", "^.{2,4}$", "ab*c",
            "^\\d{2}:\\d{2}$", "x|y", "^$", "^[^@]+@[^@]+$", "^(a|b)?c{0,2}$", "^\\w+$", "\\bab",
            "^\\p{L}+$", "(?<d>[0-9])\\k<d>", "^[^]$", "(?<=a)b", "^\\s*$", "é"]
FORMATS = ["email", "ipv4", "ipv6", "date", "time", "date-time", "uri", "uri-reference", "hostname",
           "json-pointer", "regex", "no-such-format"]
KEYS = ["a", "b", "ab", "x1", "name", "phone"]
ALPHABET = st.sampled_from(list("abcxyAZ019+:@.-/ é\n_") + ["٣", "🎉", "\u00a0", "\ufeff"])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=False, allow_infinity=False, width=64), st.text(ALPHABET, max_size=8),
                    st.sampled_from(["+442079460000", "12:30", "a@b.example", "2024-02-29", "10.0.0.1",
                                     "http://x.example/a", "blind", "abbc"]),
                    st.sampled_from([0.3, 0.7, 1.0, 2.5, 7.5, 10, 2**64, 1e300]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)
numbers = st.one_of(st.integers(-100, 100), st.floats(-100, 100, allow_nan=False))
types = st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])


LEAF = {
    "type": st.one_of(types, st.lists(types, min_size=1, max_size=3, unique=True)),
    "enum": st.lists(scalars, min_size=1, max_size=4),
    "const": scalars,
    "minimum": numbers, "maximum": numbers, "exclusiveMinimum": numbers, "exclusiveMaximum": numbers,
    "multipleOf": st.one_of(st.integers(1, 7), st.sampled_from([0.5, 0.1, 2.5])),
    "minLength": st.integers(0, 5), "maxLength": st.integers(0, 8),
    "pattern": st.sampled_from(PATTERNS), "format": st.sampled_from(FORMATS),
    "minItems": st.integers(0, 3), "maxItems": st.integers(0, 4), "uniqueItems": st.booleans(),
    "minProperties": st.integers(0, 3), "maxProperties": st.integers(0, 4),
    "required": st.lists(st.sampled_from(KEYS), max_size=3, unique=True),
}


def some_of(strategies: dict, most: int) -> st.SearchStrategy[dict]:
    """A few keywords at a time: a schema with every keyword rejects nearly every value."""
    return st.lists(st.sampled_from(sorted(strategies)), max_size=most, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: strategies[name] for name in names}))


def with_children(children: st.SearchStrategy) -> st.SearchStrategy[dict]:
    nested = {
        "properties": st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
        "additionalProperties": st.one_of(st.booleans(), children),
        "patternProperties": st.dictionaries(st.sampled_from(PATTERNS), children, max_size=2),
        "items": st.one_of(children, st.lists(children, max_size=2)),
        "additionalItems": st.one_of(st.booleans(), children),
        "contains": children, "propertyNames": children, "not": children,
        "anyOf": st.lists(children, min_size=1, max_size=2), "allOf": st.lists(children, min_size=1, max_size=2),
        "oneOf": st.lists(children, min_size=1, max_size=2),
        "if": children, "then": children, "else": children,
        "dependencies": st.dictionaries(st.sampled_from(KEYS), st.one_of(
            children, st.lists(st.sampled_from(KEYS), max_size=2, unique=True)), max_size=2),
    }
    return st.tuples(some_of(LEAF, 2), some_of(nested, 2)).map(lambda parts: {**parts[0], **parts[1]})


schemas = st.recursive(some_of(LEAF, 3), with_children, max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas, values=st.lists(json_values, min_size=1, max_size=4))
def test_generated_schemas_and_values_agree(schema: dict, values: list) -> None:
    if _broken(schema, _NO_MAP):
        return                                     # values are only checked against a sound schema
    for value in values:
        fast = fastcheck.is_valid(schema, value)
        if fast is None:
            # the only schemas without a compiled validator
            assert fastcheck.float_multiple_of(schema) or not fastcheck.patterns_linear(schema)
            continue
        assert fast == full_valid(schema, value), (schema, value)


class _NoMap:
    file = "generated.yaml"

    def line_of(self, path):
        return None

    def key_line_of(self, path):
        return None


_NO_MAP = _NoMap()


# --- what the fast path decides without python-jsonschema ------------------------------------------------------

def test_the_shipped_draft7_meta_schema_is_python_jsonschemas() -> None:
    import jsonschema    # the test may import it: the fast path's copy must stay the very same document
    assert fastcheck.draft7_meta_schema() == jsonschema.Draft7Validator.META_SCHEMA


def test_every_format_the_full_validator_checks_is_checked_by_the_fast_path_the_same_way() -> None:
    checked = set(formats.format_checker().checkers)
    assert set(fastcheck.RS_FORMATS) == set(formats.COMPILED_FORMATS)
    assert set(fastcheck.PYTHON_FORMATS) == checked - set(formats.COMPILED_FORMATS) - {"regex"}
    assert not set(fastcheck.PYTHON_FORMATS) & set(fastcheck.RS_FORMATS)
    # "regex" is the one ECMA-262 decision's, on both sides (not Python's re)
    assert formats.format_checker().checkers["regex"][0] is ecma.is_valid


@pytest.mark.parametrize("name,value", [
    ("uri", "https://example.com/a?b#c"), ("uri", "not a uri"), ("uri-reference", "/a/b"), ("uri-reference", "\\\\"),
    ("iri", "https://bücher.de/straße"), ("iri", "http://exa mple.com/"), ("iri-reference", "//[::1]/x"),
    ("iri-reference", "a b"), ("date", "2025-01-31"), ("date", "2025-13-01"), ("email", "a@example.com"),
    ("email", "nope"), ("hostname", "-bad-"), ("json-pointer", "a"), ("regex", "(abc")])
def test_format_verdicts_agree(name: str, value: str) -> None:
    schema = {"format": name}
    assert fastcheck.is_valid(schema, value) is full_valid(schema, value)


@pytest.mark.parametrize("name", fastcheck.AT_SIGN_FORMATS)
@pytest.mark.parametrize("value", ["a@example.com", "@", "nope", "", "a@", "été@x", 5, None, ["a"], {"@": 1}])
def test_the_fast_paths_email_check_is_python_jsonschemas(name: str, value: object) -> None:
    assert fastcheck.has_at_sign(value) is formats.format_checker().conforms(value, name)
    assert fastcheck.is_valid({"format": name}, value) is full_valid({"format": name}, value)
