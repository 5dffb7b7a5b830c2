"""The path syntax shared by every check: parse errors, resolve (incl. ** and arrays), missing."""

import pytest

from reconciler.checks.policy import paths

DOC = {
    "fallback_number": "+442079460958",
    "sites": [{"name": "a", "phone": "+1"}, {"name": "b", "phone": "+2"}, {"name": "c"}],
    "call_transfer": {"transfer_target": "+3", "nested": {"transfer_target": "+4"}},
    "routing": {"queues": [{"transfer_target": "+5"}]},
    "odd.key": {"x": 1},
}


def values(path):
    return [v for _, v in paths.resolve(DOC, path)]


def test_plain_keys_and_nesting():
    assert paths.resolve(DOC, "fallback_number") == [(("fallback_number",), "+442079460958")]
    assert values("call_transfer.transfer_target") == ["+3"]
    assert values("call_transfer.missing") == []
    assert values("fallback_number.deeper") == []          # a scalar has no children


def test_array_wildcard_and_index():
    assert paths.resolve(DOC, "sites[*].phone") == [(("sites", 0, "phone"), "+1"), (("sites", 1, "phone"), "+2")]
    assert paths.resolve(DOC, "sites[1].phone") == [(("sites", 1, "phone"), "+2")]
    assert paths.resolve(DOC, "sites[-3].name") == [(("sites", 0, "name"), "a")]
    assert values("sites[7].phone") == []
    assert values("call_transfer[*]") == []                 # [*] only iterates lists


def test_any_key_one_level():
    assert values("call_transfer.*") == ["+3", {"transfer_target": "+4"}]
    assert values("sites.*") == []                          # * only iterates mappings


def test_any_depth_includes_top_level_and_lists():
    found = paths.resolve(DOC, "**.transfer_target")
    assert [p for p, _ in found] == [("call_transfer", "transfer_target"),
                                     ("call_transfer", "nested", "transfer_target"),
                                     ("routing", "queues", 0, "transfer_target")]
    assert paths.resolve(DOC, "**.fallback_number") == [(("fallback_number",), "+442079460958")]
    assert values("**.sites[*].phone") == ["+1", "+2"]


def test_quoted_keys():
    assert values('["odd.key"].x') == [1]
    assert values("['odd.key'].x") == [1]


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a.", "a b", "a[x]", "**", "a.**", "a.[0]", "a[0"])
def test_parse_errors_say_what_is_wrong(bad):
    with pytest.raises(paths.PathError) as info:
        paths.parse(bad)
    assert str(info.value)


def test_missing_reports_each_absent_place():
    assert paths.missing(DOC, "fallback_number") == []
    assert paths.missing(DOC, "greeting") == [("greeting",)]
    assert paths.missing(DOC, "sites[*].phone") == [("sites", 2, "phone")]
    assert paths.missing(DOC, "call_transfer.nested.x") == [("call_transfer", "nested", "x")]
    assert paths.missing(DOC, "**.transfer_target") == []
    assert paths.missing(DOC, "**.nowhere") == [("nowhere",)]
    assert paths.missing({"sites": []}, "sites[*].phone") == []


from hypothesis import given, settings, strategies as st  # noqa: E402

KEYS = st.sampled_from(["a", "b", "phone", "sites"])
DOCS = st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=3)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
                    max_leaves=20)


def _get(doc, where):
    for part in where:
        doc = doc[part]
    return doc


@settings(max_examples=200, deadline=None)
@given(DOCS)
def test_any_depth_finds_exactly_every_key_with_that_name(doc):
    found = paths.resolve(doc, "**.phone")
    for where, value in found:
        assert where[-1] == "phone" and _get(doc, where) is value

    def count(node):
        if isinstance(node, dict):
            return ("phone" in node) + sum(count(v) for v in node.values())
        if isinstance(node, list):
            return sum(count(v) for v in node)
        return 0

    assert len(found) == count(doc)
    assert (paths.missing(doc, "**.phone") == []) == bool(found)
