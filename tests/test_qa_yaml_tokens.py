"""`=` and `<<` as plain scalars: YAML 1.1 resolves them to tags with no data type (found by QA).

PyYAML's YAML 1.1 resolver gives ``=`` the tag ``!!value`` and ``<<`` the tag ``!!merge``; the
safe constructor has no constructor for either, so asking "what would YAML 1.1 make of this?"
raised KeyError: ``needs_quoting`` crashed and so did ``validate`` of ``key: =``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_helpers import cli
from reconciler.repository import yamlhints, yamlsafe, yamlwrite


@pytest.mark.parametrize("text", ["=", "<<"])
def test_needs_quoting_says_yes_without_raising(text: str) -> None:
    assert yamlhints.needs_quoting(text) is True
    written = yamlwrite.dump({"k": text})
    assert yamlsafe.parse_yaml(written, "w.yaml")[0] == {"k": text}


def test_validate_reads_a_plain_equals_sign_as_text(tmp_path: Path) -> None:
    env = tmp_path / "configs" / "eq-agent" / "sandbox"
    env.mkdir(parents=True)
    (env / "schema.yaml").write_text("type: object\nproperties:\n  op: {type: string, const: '='}\n",
                                     encoding="utf-8")
    (env / "values.yaml").write_text("op: =\n", encoding="utf-8")
    proc = cli(tmp_path, "validate", ".", check_codes=(0,))
    assert "yaml.ambiguous" in proc.stdout and "unexpected" not in proc.stderr
