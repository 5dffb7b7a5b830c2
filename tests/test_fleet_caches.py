"""Fleet-scale caches (parse by text, schema checks by text, validators by text) never share state.

A fleet repeats the same schema across agents and environments, so the loader
parses each distinct text once and validation checks each distinct schema once.
These tests pin what must still hold: every caller gets its own data, every
finding names its own file, and the guards still fire.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.checks import fullvalidator, masking, validation
from reconciler.repository import reader, yamlsafe, yamlscalars
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv, SourceMap

SCHEMA = "type: object\nproperties:\n  n:\n    type: string\n    title: N\n    description: d\n"


def test_same_text_parsed_twice_gives_independent_data_and_own_file():
    first, first_map = yamlsafe.parse_yaml(SCHEMA, "configs/a/live/schema.yaml")
    first["properties"]["n"]["type"] = "integer"           # a caller mutating its copy
    second, second_map = yamlsafe.parse_yaml(SCHEMA, "configs/b/live/schema.yaml")
    assert second["properties"]["n"]["type"] == "string"
    assert (first_map.file, second_map.file) == ("configs/a/live/schema.yaml", "configs/b/live/schema.yaml")
    assert second_map.line_of(("properties", "n", "type")) == 4


def test_errors_are_not_cached_and_name_each_file():
    bad = "a: 1\na: 2\n"
    for name in ("one.yaml", "two.yaml"):
        with pytest.raises(ConfigError) as info:
            yamlsafe.parse_yaml(bad, name)
        assert (info.value.file, info.value.code, info.value.line) == (name, "yaml.duplicate_key", 2)


def test_deep_nesting_without_aliases_is_still_refused():
    text = "a: " + "[" * 150 + "]" * 150 + "\n"
    assert "*" not in text                                  # the alias pass is skipped for this text
    with pytest.raises(ConfigError) as info:
        yamlsafe.parse_yaml(text, "deep.yaml")
    assert info.value.code == "yaml.too_deep"


def test_identical_invalid_schemas_each_get_a_finding_at_their_own_file_and_line():
    text = "type: object\nproperties:\n  n:\n    type: strng\n"
    placed = []
    for name in ("configs/a/sandbox/schema.yaml", "configs/b/sandbox/schema.yaml"):
        schema, smap = yamlsafe.parse_yaml(text, name)
        placed.extend(validation.check_schema(schema, smap))
    assert [(f.file, f.line, f.code) for f in placed] == [
        ("configs/a/sandbox/schema.yaml", 4, "schema.invalid"),
        ("configs/b/sandbox/schema.yaml", 4, "schema.invalid"),
    ]


def test_validator_is_shared_per_schema_text_and_distinct_otherwise():
    a = fullvalidator.validator_for({"type": "object", "required": ["x"]})
    b = fullvalidator.validator_for({"required": ["x"], "type": "object"})      # same schema, other key order
    c = fullvalidator.validator_for({"type": "object", "required": ["y"]})
    assert a is b and a is not c
    assert [e.message for e in c.iter_errors({"x": 1})] == ["'y' is a required property"]


@pytest.mark.parametrize("schema, expected", [
    ({"properties": {"pin": {"type": "string"}}}, False),
    ({"properties": {"pin": {"type": "string", "x-sensitive": True}}}, True),
    ({"definitions": {"s": {"writeOnly": True}}, "properties": {"pin": {"$ref": "#/definitions/s"}}}, True),
    ({"properties": {"pin": {"x-sensitive": "yes"}}}, False),
])
def test_has_sensitive(schema, expected):
    assert masking.has_sensitive(schema) is expected


def test_json_memo_computes_once_per_text_and_evicts_the_oldest():
    from reconciler.memo import JsonMemo

    calls = []
    cache = JsonMemo(size=2)
    compute = lambda doc: calls.append(doc) or len(calls)      # noqa: E731 - a counting stand-in
    assert cache.get({"a": 1, "b": 2}, compute) == 1
    assert cache.get({"b": 2, "a": 1}, compute) == 1            # same text once keys are sorted
    assert cache.get({"a": True}, compute) == 2                 # True is not 1: another text
    assert cache.get({"c": 3}, compute) == 3                    # evicts {"a": 1, "b": 2}
    assert cache.get({"a": 1, "b": 2}, compute) == 4
    assert cache.get({"x": {1, 2}}, compute) == 5               # not JSON: computed, never stored
    assert cache.get({"x": {1, 2}}, compute) == 6


# ---- fleet-scale sharing and lazy source maps (issue 13) -------------------------------------

def test_identical_files_share_one_read_only_object_and_maps_are_built_on_demand(tmp_path):
    from reconciler.repository import loader

    for agent in ("agent-a", "agent-b"):
        d = tmp_path / "configs" / agent / "live"
        d.mkdir(parents=True)
        (d / "schema.yaml").write_text(SCHEMA, encoding="utf-8")
        (d / "values.yaml").write_text(f"n: {agent}\n", encoding="utf-8")
    desired = loader.load_repository(tmp_path)
    a, b = (desired.agents[x].envs[ClientEnv.LIVE] for x in ("agent-a", "agent-b"))
    assert a.schema is b.schema                      # one object for one text: 10,000 agents, a few schemas
    assert a.values is not b.values and a.values == {"n": "agent-a"}
    source = a.schema_map.lines._source
    assert source.maps is None                        # nothing asked for a line yet
    assert a.schema_map.line_of(("properties", "n", "type")) == 4
    assert a.schema_map.key_line_of(("properties", "n")) == 3
    assert source.maps is not None


def test_a_file_changed_after_reading_gives_no_line_rather_than_a_wrong_one(tmp_path):
    from reconciler.repository import loader

    d = tmp_path / "configs" / "agent-a" / "live"
    d.mkdir(parents=True)
    (d / "values.yaml").write_text("a: 1\nb: 2\n", encoding="utf-8")
    env = loader.load_repository(tmp_path).agents["agent-a"].envs[ClientEnv.LIVE]
    (d / "values.yaml").write_text("\n\n\nb: 2\na: 1\n", encoding="utf-8")
    assert env.values_map.line_of(("a",)) is None
    assert env.values_map.file == "configs/agent-a/live/values.yaml"


def test_live_schemas_with_the_same_text_are_one_object(emulator):
    import asyncio

    from reconciler.api import AgentsApi, fetch_live

    schema = {"type": "object", "properties": {"n": {"type": "string", "title": "N", "description": "d"}}}
    for agent in ("share-a", "share-b"):
        emulator.seed(agent, pages={"live": {"schema": schema}, "sandbox": {"schema": schema}})
    emulator.seed("share-c", pages={"live": {"schema": {"type": "object"}}})

    async def read():
        async with AgentsApi(emulator.url, api_key=emulator.api_key) as api:
            return await fetch_live(api, ["share-a", "share-b", "share-c"])
    live, errors = asyncio.run(read())
    assert not errors
    pages = [live[a].pages[e] for a in ("share-a", "share-b") for e in (ClientEnv.LIVE, ClientEnv.SANDBOX)]
    assert all(p.schema is pages[0].schema for p in pages) and pages[0].schema == schema
    assert live["share-c"].pages[ClientEnv.LIVE].schema is not pages[0].schema


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(max_size=8), st.sampled_from(
    ["yes", "No", "off", "ON", "null", "Null", "~", "true", "FALSE", "y", "n", "nan", "no_way", "onwards", "<<",
     "=", "0x1F", "0o17", "1_000", "17:30", "2024-01-01", ".inf", "+44", "0644", "trueish", "Nope"])))
def test_plainly_text_agrees_with_full_resolution(text):
    if yamlscalars.plainly_text(text):
        assert yamlscalars.resolve_plain(text) == text
        assert yamlscalars.ambiguity(text, text) is None


def test_the_builder_notes_integers_beyond_64_bits_so_validation_need_not_walk_the_data(tmp_path):
    text = ("a: &big 99999999999999999999\nb: *big\nok: 9223372036854775807\nlist:\n  - -9223372036854775809\n"
            "tagged: !!int 18446744073709551616\nbase: &m {n: 1e400}\nmerged:\n  <<: *m\n")
    data, smap = yamlsafe.parse_yaml(text.replace("1e400", "12345678901234567890"), "v.yaml")
    assert smap.big_ints == (("a",), ("b",), ("list", 0), ("tagged",), ("base", "n"), ("merged", "n"))
    again = yamlsafe.parse_yaml(text.replace("1e400", "12345678901234567890"), "w.yaml")[1]   # parse cache hit
    assert again.big_ints == smap.big_ints
    found = validation.check_integers(data, smap, "values")
    assert [(f.code, f.line) for f in found] == [("values.integer_too_large", n) for n in (1, 2, 5, 6, 7, 7)]
    # Data that yamlsafe did not build (big_ints None) is still walked: same findings, any order.
    walked = validation.check_integers(data, SourceMap("v.yaml", lines=smap.lines), "values")
    assert sorted(f.line for f in walked) == [1, 2, 5, 6, 7, 7]
    path = tmp_path / "values.yaml"
    path.write_text("x: 99999999999999999999\n")
    read = reader.DocumentReader().load(str(path), "values.yaml")[1]       # the loader's reader keeps them too
    assert read.big_ints == (("x",),)


def test_mapping_keys_are_one_shared_string_across_files(tmp_path):
    documents = reader.DocumentReader()
    docs = []
    for i in range(2):
        path = tmp_path / f"values{i}.yaml"
        path.write_text(f"greeting_{'x' * 30}: hello {i}\nsites:\n  - site_name_{'y' * 30}: s{i}\n")
        docs.append(documents.load(str(path), path.name)[0])
    keys = [next(iter(d)) for d in docs]
    assert keys[0] == keys[1] and keys[0] is keys[1]            # one object: a fleet of 30,000 files shares it
    inner = [next(iter(d["sites"][0])) for d in docs]
    assert inner[0] is inner[1]


def test_live_variables_keys_are_one_shared_string_across_pages(emulator):
    import asyncio

    from reconciler.api import AgentsApi

    long_key = "transfer_" + "k" * 40
    for agent in ("one", "two"):
        emulator.seed(agent, {"sandbox": {"schema": {"type": "object"},
                                          "variables": {long_key: agent, "sites": [{long_key + "_x": 1}]}}})

    async def read():
        async with AgentsApi(emulator.url, api_key="k") as api:
            return [await api.get_agent(a) for a in ("one", "two")]

    one, two = asyncio.run(read())
    a, b = (next(iter(x.pages[ClientEnv.SANDBOX].variables)) for x in (one, two))
    assert a == b == long_key and a is b
    c, d = (next(iter(x.pages[ClientEnv.SANDBOX].variables["sites"][0])) for x in (one, two))
    assert c is d


def test_yaml11_ambiguity_is_worked_out_once_per_text():
    yamlscalars.ambiguity_of.cache_clear()
    yamlscalars.read_plain.cache_clear()
    first = [yamlsafe.parse_yaml(f"n: 0644\nflag: NO\nother_{i}: x\n", f"v{i}.yaml")[1].notes for i in range(3)]
    info = yamlscalars.read_plain.cache_info()
    assert info.misses == 2 and info.hits == 4                # 0644 and NO resolved once, then remembered
    assert yamlscalars.ambiguity_of.cache_info().misses == 2  # and their YAML 1.1 readings worked out once
    assert [len(notes) for notes in first] == [2, 2, 2]       # NO and 0644 warn in every file, memo or not
    assert yamlscalars.ambiguity("NO", "NO") is not None and yamlscalars.ambiguity("x", "x") is None
