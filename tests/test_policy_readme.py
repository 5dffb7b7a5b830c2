"""The README's policies section stays true: its YAML examples load as written."""

import re
import textwrap
from pathlib import Path

from test_policy_support import policy

README = Path(__file__).resolve().parents[1] / "docs" / "policies.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("<!-- section:policies -->")[1].split("<!-- /section:policies -->")[0]


def yaml_blocks() -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)```", section(), re.S)]


def test_full_example_loads():
    full = yaml_blocks()[0]
    parsed = policy(full)
    assert parsed.name == "phone-numbers" and parsed.exceptions[0].reason.startswith("Number porting")


def test_every_rule_example_loads():
    rules = [b for b in yaml_blocks() if b.lstrip().startswith("- ")]
    assert len(rules) == 7                                       # one per check
    checks = set()
    for block in rules:
        parsed = policy("name: example\nrules:\n" + textwrap.indent(block, "  "))
        checks.add(parsed.rules[0].check)
    assert checks == {"pattern", "e164", "jsonschema", "schema_hygiene", "parity", "required_keys", "blast_radius"}


def test_waiver_example_loads():
    [waivers] = [b for b in yaml_blocks() if b.startswith("exceptions:")]
    parsed = policy("name: p\nrules:\n  - {id: e164, paths: [x], e164: {}}\n" + waivers)
    assert parsed.exceptions[0].selector.agents == ("acme-*",)


def test_every_path_in_the_table_parses():
    from reconciler.checks.policy import paths
    table = section().split("## Paths")[1].split("\n## ")[0]
    examples = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    assert len(examples) == 7
    for example in examples:
        paths.parse(example)
