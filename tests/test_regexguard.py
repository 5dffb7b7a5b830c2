"""regexguard: invalid patterns are readable errors, slow ones time out, the validator uses both."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.checks import formats, fullvalidator, regexguard, regexsyntax


def test_invalid_pattern_is_a_readable_error() -> None:
    with pytest.raises(regexsyntax.RegexError, match=r"invalid regular expression '\(abc'"):
        regexguard.compile_pattern("(abc")
    assert issubclass(regexsyntax.RegexError, ValueError)


def test_search_is_unanchored_like_json_schema() -> None:
    assert regexguard.search(r"\d{3}", "abc123def")
    assert not regexguard.search(r"^\d{3}$", "abc123def")


def test_catastrophic_search_times_out_instead_of_hanging() -> None:
    started = time.perf_counter()
    # A back-reference forces regress (a backtracking engine), in its worker, stopped at its time bound.
    with pytest.raises(regexguard.RegexTimeout, match="catastrophic"):
        regexguard.search(r"^((a|aa)+)\1$", "a" * 60 + "!")
    # Without one the engine is linear: the classic exponential shape answers at once.
    assert regexguard.search(r"^(a|aa)+$", "a" * 100_000 + "!") is False
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("pattern,bad", [(r"^(a|aa)+$", True), (r"^(\w|\w\w)*$", True),
                                         (r"^\+[1-9]\d{6,14}$", False),
                                         (r"^(closed|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$", False)])
def test_probe_flags_exponential_patterns_only(pattern: str, bad: bool) -> None:
    assert regexguard.looks_catastrophic(pattern) is bad



def _children() -> set[int]:
    """Live child processes of this one (from /proc: the regex worker is one)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the worker process")
@pytest.mark.parametrize("pattern", [r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", r"^\d{3}-?\d{2,4}?x?$",
                                     r"^(?:ab|cd)[a-z]{1,3}\.?[a-z]{0,2}$"])
def test_bounded_patterns_are_judged_without_starting_the_worker(pattern: str) -> None:
    """Every quantifier bounded, none on a group: a few ways to try each position, linear in the text —
    answered at once, no probe and no worker process (what an uncached run of a fleet pays ~30 ms for)."""
    from reconciler.checks import ecma

    ecma.stop_worker()
    before = _children()
    assert regexguard.looks_catastrophic(pattern) is False
    assert _children() == before
    assert regexguard.looks_catastrophic(rf"^[a-z]+-?[a-z]+{len(pattern)}$") is False      # unbounded: probed
    assert _children() - before, "an unbounded pattern is probed on the worker"
    ecma.stop_worker()

def test_validator_reports_timeouts_with_their_path() -> None:
    validator = fullvalidator.validator_for({"properties": {"p": {"type": "string", "pattern": r"^((a|aa)+)\1$"}}})
    [error] = list(validator.iter_errors({"p": "a" * 60 + "!"}))
    assert isinstance(error, fullvalidator.PatternTimeoutError)
    assert list(error.absolute_path) == ["p"]


def test_validator_pattern_properties_and_additional_properties() -> None:
    schema = {"type": "object", "patternProperties": {"^x_": {"type": "integer"}},
              "properties": {"name": {"type": "string", "pattern": "^[A-Z]"}}, "additionalProperties": False}
    validator = fullvalidator.make_validator(schema)
    errors = sorted((list(e.absolute_path), e.message) for e in validator.iter_errors(
        {"x_a": "s", "name": "lower", "zzz": 1, "x_b": 2}))
    assert errors == [([], "Additional properties are not allowed ('zzz' was unexpected)"),
                      (["name"], "'lower' does not match '^[A-Z]'"),
                      (["x_a"], "'s' is not of type 'integer'")]


def test_validator_checks_formats() -> None:
    validator = fullvalidator.make_validator({"format": "email"})
    assert [e.message for e in validator.iter_errors("nope")] == ["'nope' is not a 'email'"]
    assert not list(fullvalidator.make_validator({"format": "date"}).iter_errors("2025-01-31"))
    assert list(fullvalidator.make_validator({"format": "iri"}).iter_errors("http://exa mple.com/"))


def test_every_draft7_format_is_checked_without_jsonschema_format_extras() -> None:
    # jsonschema is installed without its format extras: each format's library is our own dependency,
    # and the uri / iri formats are jsonschema-rs's (no rfc3986-validator, no rfc3987-syntax needed).
    assert set(formats.format_checker().checkers) == {
        "date", "date-time", "email", "hostname", "idn-email", "idn-hostname", "ipv4", "ipv6", "json-pointer",
        "regex", "relative-json-pointer", "time", "uri-template", "uri", "uri-reference", "iri", "iri-reference"}
    cases = {"uri": ("https://example.com/a?b#c", "not a uri"), "uri-reference": ("/a/b", "\\\\"),
             "iri": ("https://bücher.de/straße", "http://exa mple.com/"), "iri-reference": ("//[::1]/x", "a b"),
             "date-time": ("2025-01-31T10:00:00Z", "2025-13-01T10:00:00Z"), "hostname": ("example.com", "-bad-"),
             "json-pointer": ("/a/0", "a"), "uri-template": ("/v{id}", "/v{id")}
    for name, (good, bad) in cases.items():
        validator = fullvalidator.make_validator({"format": name})
        assert not list(validator.iter_errors(good)), (name, good)
        assert [e.message for e in validator.iter_errors(bad)] == [f"{bad!r} is not a {name!r}"], (name, bad)
