"""Differential property: ``validate`` accepts exactly what the emulator's PUT + PATCH accept.

Hypothesis generates small schemas (patterns from an ECMA-262 grammar with valid and
invalid forms, patternProperties, enums, numbers), values that fit or do not, and sends
them both ways: through :mod:`reconciler.checks.validation` and, over HTTP on loopback, to the
emulator; both use the one ECMA-262 decision (:mod:`reconciler.checks.ecma`). A value that passes validate
and is refused by the emulator is a defect, and so is the reverse.

Left out on purpose: ``format`` (the service treats formats as annotations; validate
checks them — validate is deliberately stricter there) and catastrophic patterns (both refuse
them at the schema step, by the same probe: tests/test_emulator_writes.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.checks import fastcheck, validation, valuecheck
from reconciler.emulator import schemas as emulator_schemas
from reconciler.model import SourceMap

# ---- patterns, each atom with strings that sit where ECMA-262 and other dialects part ----------

ATOMS: dict[str, list[str]] = {
    "a": ["a"], "Z": ["Z", "z"], "0": ["0"], "-": ["-"], "\\.": [".", "x"], ".": ["a", "\n", "\u2028", "\U0001F600"],
    "\\d": ["7", "\u0663"], "\\w": ["_", "\u00e9"], "\\s": [" ", "\u00a0", "\ufeff", "\x1c"],
    "\\D": ["a", "\u0663"], "\\W": ["-", "\u00e9"], "\\S": ["a", "\ufeff"], "[a-z]": ["q", "\u00e9"],
    "[^0-9]": ["a", "5"], "[.\\w-]": [".", "-", "\u00e9"], "[\\-a]": ["-"], "\\p{L}": ["\u00e9", "1"],
    "\\p{Lu}": ["\u00c9", "e"], "\\p{Nd}": ["\u0663"], "\\u00e9": ["\u00e9"], "\\x41": ["A"], "[^]": ["\n"],
    "(?:ab)": ["ab"], "(a|b)": ["b"], "(?<n>b)": ["b"], "\\bé": ["\u00e9", " \u00e9"], "\\ba": [" a", "\u00e9a"],
    "\\Bb": ["ab", "\u00e9b"], "[\\b]": ["\b"], "\\cJ": ["\n"], "\\0": ["\x00"], "\\/": ["/"],
    "(a)\\1": ["aa"], "(?<n>a)\\k<n>": ["aa"], "(?=a)": [""], "(?!b)": [""], "(?<=a)": [""],
}
INVALID = ["[\\w-.]", "\\a", "(?i)", "\\_", "{", "]", "(?P<x>a)", "a{,3}", "\\k<zz>", "\\Z", "[\\d-z]", "(", "\\e",
           "\\-"]
QUANTIFIERS = {"": (1, 1), "?": (0, 1), "*": (0, 2), "+": (1, 2), "{2}": (2, 2), "{1,3}": (1, 3)}


@st.composite
def piece(draw) -> tuple[str, str]:
    """(regex piece, a string the piece should match in ECMA-262 or in a dialect it may be confused with)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(INVALID)), ""
    atom = draw(st.sampled_from(sorted(ATOMS)))
    quantifier = "" if atom.startswith("(?") and atom[2] in "=!<" and atom[3] != "n" else \
        draw(st.sampled_from(sorted(QUANTIFIERS)))
    low, high = QUANTIFIERS[quantifier]
    witnesses = [draw(st.sampled_from(ATOMS[atom])) for _ in range(draw(st.integers(low, high)))]
    return atom + quantifier, "".join(witnesses)


@st.composite
def pattern_and_text(draw) -> tuple[str, str]:
    pieces = draw(st.lists(piece(), min_size=1, max_size=3))
    start, end = draw(st.booleans()), draw(st.booleans())
    pattern = ("^" if start else "") + "".join(p for p, _ in pieces) + ("$" if end else "")
    witness = "".join(w for _, w in pieces)
    text = draw(st.one_of(st.just(witness), st.just(witness + "\n"), st.just("x" + witness), any_text))
    return pattern, text


SNIPPETS = ["a", "b", "ab", "Z", "0", "12", "-", ".", " ", "\u00e9", "\u0663", "\n", "\u00a0", "\U0001F600"]
any_text = st.lists(st.sampled_from(SNIPPETS), max_size=4).map("".join)
text = any_text
scalar = st.one_of(text, st.integers(-5, 5), st.booleans(), st.none(), st.sampled_from([1.5, -0.5]))


@st.composite
def case(draw) -> tuple[dict[str, Any], dict[str, Any]]:
    properties: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 2))):
        name = f"p{index}"
        kind = draw(st.sampled_from(["pattern", "pattern", "props", "enum", "number"]))
        if kind == "pattern":
            regex, sample = draw(pattern_and_text())
            properties[name] = {"type": "string", "pattern": regex}
            value = sample if draw(st.integers(0, 5)) else draw(scalar)
        elif kind == "props":
            regex, sample = draw(pattern_and_text())
            properties[name] = {"type": "object", "patternProperties": {regex: {"type": "string"}},
                                "additionalProperties": draw(st.booleans())}
            value = {sample: draw(st.one_of(text, st.integers(0, 3))), **draw(st.dictionaries(text, text, max_size=2))}
        elif kind == "enum":
            properties[name] = {"enum": draw(st.lists(scalar, min_size=1, max_size=3, unique_by=repr))}
            value = draw(scalar)
        else:
            properties[name] = {"type": draw(st.sampled_from(["integer", "number"])), "minimum": -2, "maximum": 3}
            value = draw(st.one_of(st.integers(-4, 5), st.sampled_from([0.5, 2.5, "1"])))
        if draw(st.integers(0, 5)):
            values[name] = value
    schema = {"type": "object", "properties": properties,
              "additionalProperties": draw(st.booleans())}
    if not draw(st.integers(0, 5)):
        values[draw(st.sampled_from(["extra", "p9"]))] = draw(scalar)
    return schema, values


def validate_accepts(schema: dict[str, Any], values: dict[str, Any]) -> bool:
    if any(f.blocks for f in validation.check_schema(schema, SourceMap("schema.yaml"))):
        return False
    return not any(f.blocks for f in valuecheck.check_values(values, SourceMap("values.yaml"), schema))


def emulator_accepts(client: httpx.Client, schema: dict[str, Any], values: dict[str, Any]) -> bool:
    agent = f"diff-{uuid.uuid4().hex[:10]}"
    client.post("/_emulator/agents", json={"agentId": agent, "pages": {}, "connectors": []}).raise_for_status()
    base = f"/v1/agents/{agent}/real-time-configs/sandbox"
    put = client.put(f"{base}/schema", json={"schema": schema})
    assert put.status_code in (200, 400), put.text
    if put.status_code == 400:
        assert put.json()["error_code"] == "REAL_TIME_CONFIG_INVALID_SCHEMA", put.text
        return False
    patch = client.patch(f"{base}/variables", json={"variables": values})
    assert patch.status_code in (200, 400), patch.text
    if patch.status_code == 400:
        assert patch.json()["error_code"] == "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA", patch.text
    return patch.status_code == 200


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_validate_accepts_exactly_what_the_emulator_accepts(emulator_server: str, example) -> None:
    """End to end: the emulator served on loopback, its real PUT and PATCH."""
    schema, values = example
    with httpx.Client(base_url=emulator_server, timeout=30, headers={"x-api-key": "test-key"}) as client:
        assert validate_accepts(schema, values) == emulator_accepts(client, schema, values), (schema, values)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern_and_text(), st.booleans())
def test_one_pattern_one_value_same_verdict(example, as_key: bool) -> None:
    """Many more patterns, no HTTP: the emulator's PUT check and PATCH validation called directly."""
    regex, value = example
    if as_key:
        schema = {"type": "object", "patternProperties": {regex: {"type": "string"}}, "additionalProperties": False}
        values = {"k": {value: "v"}}
    else:
        schema = {"type": "string", "pattern": regex}
        values = {"k": value}
    schema = {"type": "object", "properties": {"k": schema}}
    ours = validate_accepts(schema, values)
    theirs = emulator_schemas.check_schema(schema) is None and not emulator_schemas.variables_errors(schema, values)
    assert ours == theirs, (regex, value)
    if ours or emulator_schemas.check_schema(schema) is None:
        # The compiled fast path agrees wherever it answers (every pattern linear), and only there.
        fast = fastcheck.is_valid(schema, values)
        assert fast in (ours, None), (regex, value)
        assert (fast is None) is (not fastcheck.patterns_linear(schema)), (regex, value)
