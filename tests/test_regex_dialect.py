"""One regex dialect, ECMA-262 (Unicode mode), in validate and in the emulator — two engines.

The cases in tests/data/ecmascript_regex_cases.json come from the official
JSON-Schema-Test-Suite (see the file's ``source``); both engines must pass all of them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import regress

from reconciler.checks import ecma as checks_ecma
from reconciler.checks import fullvalidator, regexguard, regexsyntax, schemacheck
from reconciler.emulator import ecma, schemas

CASES = json.loads((Path(__file__).parent / "data" / "ecmascript_regex_cases.json").read_text(encoding="utf-8"))
TESTS = [pytest.param(g["schema"], t["data"], t["valid"], id=f"{g['description']} / {t['description']}")
         for g in CASES["groups"] for t in g["tests"]]


@pytest.mark.parametrize("schema,data,valid", TESTS)
def test_validate_engine_passes_the_suite(schema, data, valid) -> None:
    assert (not list(fullvalidator.make_validator(schema).iter_errors(data))) is valid


@pytest.mark.parametrize("schema,data,valid", TESTS)
def test_emulator_engine_passes_the_suite(schema, data, valid) -> None:
    assert schemas.check_schema(schema) is None
    assert (not schemas.variables_errors(schema, data)) is valid


@pytest.mark.parametrize("pattern", CASES["invalid"])
def test_suite_invalid_patterns_are_refused_by_both(pattern: str) -> None:
    with pytest.raises(regexsyntax.RegexError):
        regexguard.compile_pattern(pattern)
    assert ecma.pattern_problem(pattern)


# What the issue names, plus the Unicode-mode syntax rules: the same verdict from both engines.
VERDICTS = {
    r"^\p{L}+$": True, r"(?<year>\d{4})": True, r"(?<n>a)\k<n>": True, r"[\w-.]+": False,
    r"[.\w-]+": True, r"\a": False, r"(?i)abc": False, r"(?P<x>a)": False, r"a{,3}": False,
    r"\_": False, r"[\-]": True, r"[^]": True, r"[]": True, r"\0": True, r"[\b]": True,
    r"\u{1F600}": True, r"\k<zz>": False, r"(a)\2": False, r"{": False, r"]": False, r"\Z": False,
}


@pytest.mark.parametrize("pattern,ok", sorted(VERDICTS.items()))
def test_both_engines_give_the_same_verdict(pattern: str, ok: bool) -> None:
    try:
        regexguard.compile_pattern(pattern)
        ours = True
    except regexsyntax.RegexError:
        ours = False
    assert ours is ok
    assert (ecma.pattern_problem(pattern) is None) is ok


@pytest.mark.parametrize("pattern,text,found", [
    (r"^\p{L}+$", "été", True), (r"(?<year>\d{4})", "in 2025", True), (r"\bé", " é", False),
    (r"\ba", " a", True), (r"(?<n>a)\k<n>", "aa", True), (r"[^]", "\n", True), (r"[]", "a", False),
    (r"[\b]", "\x08", True), (r"^\d{4}$", "1234\n", False), (r"^\d{4}$", "\u0661\u0662\u0663\u0664", False),
    (r"^.$", "\u2028", False), (r"^.$", "\U0001F600", True), (r"\0", "\x00", True),
    (r"^(?<n>a)\k<n>0$", "aa0", True), (r"(?!b)\D", "\u0663", True), (r"(?!b)\cJ", "\n", True),
    (r"^\ud83d\ude00$", "\U0001F600", True), (r"^[\D]$", "\u0663", True), (r"^[^\W]$", "\u00e9", False),
])
def test_both_engines_match_alike(pattern: str, text: str, found: bool) -> None:
    assert regexguard.search(pattern, text) is found
    assert ecma.search(pattern, text, deadline=time.monotonic() + 5) is found


def test_emulator_search_is_bounded_and_recovers() -> None:
    started = time.monotonic()
    with pytest.raises(ecma.PatternTimeout):          # a backreference: run on regress, in the worker
        ecma.search(r"^((a|aa)+)\1$", "a" * 64 + "!", deadline=time.monotonic() + 0.3)
    assert time.monotonic() - started < 5
    assert ecma.search(r"^(a|aa)+$", "a" * 10_000 + "!", deadline=time.monotonic() + 5) is False   # linear
    assert ecma.search(r"^a+$", "aaa", deadline=time.monotonic() + 5)      # a fresh worker answers


def test_python_re_differences_are_named() -> None:
    notes = [h for h, _ in regexsyntax.python_re_differences(r"^\d{4}$")]
    assert notes == ["`\\d` is ASCII 0-9 only", "`$` is the very end"]
    assert any("\\w" in h for h, _ in regexsyntax.python_re_differences(r"^\w+"))
    assert any("\\s" in h for h, _ in regexsyntax.python_re_differences(r"\s"))
    assert regexsyntax.python_re_differences(r"^[a-z]+[0-9]") == ()
    assert regexsyntax.python_re_differences(r"^a\$") == ()          # an escaped $ is a literal


def test_dialect_warning_quotes_the_pattern_as_written_and_is_never_cut() -> None:
    from reconciler.checks import validation
    long = "^" + "(ab|cd)" * 30 + r"\d\w\s\b$"
    message = schemacheck.dialect_message(long, regexsyntax.python_re_differences(long))
    assert "\\\\" not in message and "`^(ab|cd)" in message          # not repr-escaped
    assert message.endswith("also before a final newline)")               # whole, not cut mid-sentence
    short = schemacheck.dialect_message(r"^\d{4}$", regexsyntax.python_re_differences(r"^\d{4}$"))
    assert short == ("pattern `^\\d{4}$`: `\\d` is ASCII 0-9 only, `$` is the very end "
                     "(Python's re: any Unicode digit; also before a final newline)")



#: Every 97th code point, and every one where Unicode versions part (new letters, pictographs).
SAMPLES = sorted((set(range(0, 0x110000, 97)) | set(range(0x0860, 0x0900)) | set(range(0xA7C0, 0xA800))
                  | set(range(0x1F000, 0x1FB00)) | {0x10FFFF}) - set(range(0xD800, 0xE000)))


@pytest.mark.parametrize("prop", [r"\p{L}", r"\P{Lu}", r"\p{Nd}", r"\p{Script=Greek}", r"\p{scx=Deva}",
                                  r"\p{Extended_Pictographic}", r"\p{Lo}", r"\p{Any}", r"\p{White_Space}"])
def test_linear_engine_uses_regress_own_unicode_tables(prop: str) -> None:
    # Rust's tables are another Unicode version (they differ on ~4,600 letters and 689 pictographs
    # here): the linear engine is given the code points regress itself puts in the property.
    pattern = f"^[{prop}]$"
    assert checks_ecma.linear_text(pattern) is not None
    reference = regress.Regex(pattern, "u")
    wrong = [hex(c) for c in SAMPLES if checks_ecma.search(pattern, chr(c)) is not (reference.find(chr(c)) is not None)]
    assert not wrong, (prop, wrong[:10])
