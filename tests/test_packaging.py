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
