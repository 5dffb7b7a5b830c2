"""Packaging metadata: the licence is an SPDX expression (the TOML-table form is deprecated by setuptools)."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_expression_in_pyproject_and_in_the_installed_metadata() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "Apache-2.0"
    assert importlib.metadata.metadata("rtc-reconciler").get("License-Expression") == "Apache-2.0"


def _imported_top_level_modules() -> set[str]:
    import ast
    import sys

    names: set[str] = set()
    for path in (ROOT / "reconciler").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "reconciler"}


def test_every_imported_package_is_declared_and_every_dependency_says_why() -> None:
    import re

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = {re.split(r"[\[<>=!~ ]", d, maxsplit=1)[0].lower().replace("_", "-")
                for d in tomllib.loads(text)["project"]["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    missing = {m for m in _imported_top_level_modules()
               if not {d.lower().replace("_", "-") for d in distributions.get(m, [m])} & declared}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
    block = text[text.index("dependencies = ["):text.index("]\n", text.index("dependencies = ["))]
    lines = block.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith('"'):
            assert "#" in line or lines[i - 1].strip().startswith("#"), f"no comment saying why: {line.strip()}"
