"""validate, the emulator and a JavaScript engine agree on ECMA-262 patterns (issue 20).

Every case goes through validate's own path (the schema check, then the values check) and the
emulator's (its PUT check, then its PATCH validation), with the pattern as a ``pattern`` and
as a ``format: regex`` value. Cases: the JSON-Schema-Test-Suite's ``optional/ecmascript-regex``
cases (tests/data/ecmascript_regex_cases.json), the ones issue 20 names, and generated patterns
(hypothesis, bounded batches). Where ``node`` is on PATH, ONE node process (per module) answers
each batch as ``new RegExp(p, 'u')`` does, and both must agree with it; without node those
tests skip with the reason, and validate vs the emulator is still compared.

Left out of the node comparison on purpose: ECMAScript 2025 syntax (pattern modifiers, a group
name used twice), which the decision refuses and Node accepts from version 23 on
(:data:`ES2025`, checked without node), and lone surrogates (regress takes scalar values only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.checks import validation, valuecheck
from reconciler.emulator import schemas as emulator_schemas
from reconciler.model import SourceMap
from tests import node_oracle
from tests.test_regex_differential import piece

SUITE = json.loads((Path(__file__).parent / "data" / "ecmascript_regex_cases.json").read_text(encoding="utf-8"))

#: (pattern, text or None for validity only, what ECMA-262 says) — the disagreements issue 20 found, and kin.
ISSUE_CASES = [
    ("(a)?b\\1", "b", "match"), ("^(a)?b\\1$", "b", "match"), ("(a)|\\1b", "b", "match"),
    ("\\k<n>(?<n>a)", "a", "match"), ("((a)|b)+\\2", "aba", "match"),
    ("\\p{Greek}", None, "invalid"), ("\\p{l}", None, "invalid"), ("\\p{letter}", None, "invalid"),
    ("\\p{Script=greek}", None, "invalid"), ("\\p{L&}", None, "invalid"), ("\\p{InBasicLatin}", None, "invalid"),
    ("\\p{Script=Greek}", "\u03b1", "match"), ("\\p{Script=Greek}", "a", "nomatch"), ("\\p{sc=Grek}", "\u03b1", "match"),
    ("\\p{scx=Grek}", "\u03b1", "match"), ("\\p{L}", "\u00e9", "match"), ("\\p{Letter}", "\u00e9", "match"),
    ("\\p{gc=Lu}", "\u00c9", "match"), ("\\p{digit}", "\u0663", "match"), ("\\P{L}", "1", "match"),
    ("^[\\p{L}\\d]+$", "\u00e9t\u00e91", "match"), ("^[^\\p{L}]$", "\u00e9", "nomatch"),
    ("\\p{Any}", "\U0001F600", "match"), ("\\p{ASCII}", "\u00e9", "nomatch"), ("\\p{White_Space}", "\u00a0", "match"),
    ("(?<$>a)", "a", "match"), ("(?<\u00e9>x)", "x", "match"), ("(?<\\u0061>x)\\k<a>", "xx", "match"),
    ("(?<a1>x)", None, "valid"), ("(?<1a>x)", None, "invalid"), ("(?<a>x)(?<a>y)", None, "invalid"),
    ("\\u{61}", "a", "match"), ("^\\u{1F600}$", "\U0001F600", "match"), ("\\u{110000}", None, "invalid"),
    ("\\u{0000000061}", "a", "match"), ("a{99999999999}", None, "valid"), ("a{99999999999}", "a", "nomatch"),
    ("a{3,99999999999}", "aaa", "match"), ("a{99999999999,}", "a", "nomatch"), ("a{4294967296}", None, "valid"),
    ("a{2,1}", None, "invalid"), ("\\c", None, "invalid"), ("\\00", None, "invalid"), ("(?=a)*", None, "invalid"),
    ("(?=a)?", None, "invalid"), ("[\\p{L}--\\p{Lu}]", None, "invalid"), ("[\\q{abc}]", None, "invalid"),
    ("(?i)a", None, "invalid"), ("(?x:a)", None, "invalid"), ("\\bfoo", "a foo", "match"),
    ("\\bfoo", "\u00e9foo", "match"), ("^\\s$", "\ufeff", "match"), ("^\\s$", "\x1c", "nomatch"),
]
#: ECMAScript 2025 syntax: refused by the decision (and by Node before 23), so checked without node.
ES2025 = ["(?i:a)", "(?-i:a)", "(?ims-:a)", "(?m:^a)", "(?<a>x)|(?<a>y)", "(?<n>a)|b|(?<n>c)"]


def _pattern_schema(pattern: str) -> dict:
    return {"type": "object", "properties": {"k": {"type": "string", "pattern": pattern}}}


_REGEX_FORMAT = {"type": "object", "properties": {"k": {"type": "string", "format": "regex"}}}


def validate_verdict(pattern: str, text: str | None) -> str:
    """validate's answer: the schema check, then the values check; and ``format: regex`` says the same."""
    schema = _pattern_schema(pattern)
    blocking = [f for f in validation.check_schema(schema, SourceMap("schema.yaml")) if f.blocks]
    assert {f.code for f in blocking} <= {"schema.bad_regex"}, (pattern, blocking)
    as_format = valuecheck.check_values({"k": pattern}, SourceMap("values.yaml"), _REGEX_FORMAT)
    assert bool(as_format) is bool(blocking), (pattern, as_format, blocking)
    if blocking:
        return "invalid"
    if text is None:
        return "valid"
    findings = valuecheck.check_values({"k": text}, SourceMap("values.yaml"), schema)
    return "nomatch" if any(f.blocks for f in findings) else "match"


def emulator_verdict(pattern: str, text: str | None) -> str:
    """The emulator's answer: its PUT check, then its PATCH validation."""
    schema = _pattern_schema(pattern)
    if emulator_schemas.check_schema(schema) is not None:
        return "invalid"
    if text is None:
        return "valid"
    return "nomatch" if emulator_schemas.variables_errors(schema, {"k": text}) else "match"


def suite_cases() -> Iterator[tuple[str, str | None, str]]:
    """Each suite test as (pattern, string, verdict); a patternProperties test (additionalProperties
    false) as one case per key: all match when it is valid, its only key does not when it is not."""
    for group in SUITE["groups"]:
        schema = group["schema"]
        for test in group["tests"]:
            verdict = "match" if test["valid"] else "nomatch"
            if "pattern" in schema and isinstance(test["data"], str):
                yield schema["pattern"], test["data"], verdict
            elif "patternProperties" in schema and (test["valid"] or len(test["data"]) == 1):
                [pattern] = schema["patternProperties"]
                yield from ((pattern, key, verdict) for key in test["data"])
    for pattern in SUITE["invalid"]:
        yield pattern, None, "invalid"


ALL_FIXED = list(suite_cases()) + ISSUE_CASES


@pytest.fixture(scope="module")
def oracle() -> Iterator[node_oracle.Oracle | None]:
    found = node_oracle.start()
    yield found
    if found is not None:
        found.close()


def _need(oracle: node_oracle.Oracle | None) -> node_oracle.Oracle:
    if oracle is None:
        pytest.skip(node_oracle.SKIP_REASON)
    return oracle


@pytest.mark.parametrize("pattern,text,expected", ALL_FIXED, ids=[f"{p!r}~{t!r}" for p, t, _ in ALL_FIXED])
def test_validate_and_emulator_give_the_ecma_verdict(pattern: str, text: str | None, expected: str) -> None:
    assert validate_verdict(pattern, text) == expected
    assert emulator_verdict(pattern, text) == expected


def test_node_agrees_on_every_suite_and_issue_case(oracle) -> None:
    node = _need(oracle).verdicts([(p, t) for p, t, _ in ALL_FIXED])
    wrong = [(p, t, want, got) for (p, t, want), got in zip(ALL_FIXED, node) if want != got]
    assert not wrong, f"node {oracle.version} disagrees: {wrong}"


@pytest.mark.parametrize("pattern", ES2025)
def test_ecmascript_2025_syntax_is_refused_by_both(pattern: str) -> None:
    assert validate_verdict(pattern, None) == emulator_verdict(pattern, None) == "invalid"


# ---- generated patterns, in batches (one node call per batch) ----------------------------------

EXTRA = [("(a)?\\1", "", "x"), ("\\p{Script=Greek}", "\u03b1", "a"), ("(?<$>b)", "b", "$"), ("\\u{61}", "a", "b"),
         ("a{99999999999}", "a", ""), ("\\p{Greek}", "", ""), ("\\p{l}", "", ""), ("(?<n>a)?\\k<n>", "", "a"),
         ("[\\p{L}\\d]", "\u00e9", "-"), ("\\P{Lu}", "e", "E")]


@st.composite
def generated(draw) -> tuple[str, str | None]:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 3)) == 0:
            atom, hit, miss = draw(st.sampled_from(EXTRA))
            parts.append((atom, draw(st.sampled_from([hit, miss]))))
        else:
            parts.append(draw(piece()))
    start, end = draw(st.booleans()), draw(st.booleans())
    pattern = ("^" if start else "") + "".join(p for p, _ in parts) + ("$" if end else "")
    witness = "".join(w for _, w in parts)
    text = draw(st.sampled_from([witness, witness + "\n", "x" + witness, witness[1:], None]))
    return pattern, text


BATCH = st.lists(generated(), min_size=60, max_size=60)
BATCH_SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))


@BATCH_SETTINGS
@given(BATCH)
def test_generated_validate_and_emulator_agree(batch) -> None:
    for pattern, text in batch:
        assert validate_verdict(pattern, text) == emulator_verdict(pattern, text), (pattern, text)


@BATCH_SETTINGS
@given(batch=BATCH)
def test_generated_both_agree_with_node(oracle, batch) -> None:
    node = _need(oracle).verdicts(batch)
    for (pattern, text), theirs in zip(batch, node):
        ours = validate_verdict(pattern, text)
        assert ours == emulator_verdict(pattern, text) == theirs, (pattern, text, ours, theirs, oracle.version)
