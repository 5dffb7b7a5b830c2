"""Settings that cannot work are refused when they are read, before anything is sent.

Real processes against the loopback emulator: an API URL with a path (every
request would go to ``/v1/v1/…``), and a missing key for a network target.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e_helpers import cli, make_repo


@pytest.mark.parametrize("where", ["flag", "file"])
def test_an_api_url_with_a_path_is_refused_with_the_fix(tmp_path: Path, emulator, where: str) -> None:
    root = make_repo(tmp_path / "repo", emulator.url)
    if where == "file":
        (root / "reconciler.yaml").write_text(f"api:\n  url: {emulator.url}/v1\n")
        args: tuple[str, ...] = ()
    else:
        args = ("--api-url", f"{emulator.url}/v1/")
    proc = cli(root, "plan", *args, check_codes=(1,))
    assert f"has a path (/v1" in proc.stderr + proc.stdout
    assert f"give the base URL without it: {emulator.url}" in proc.stderr + proc.stdout
    assert emulator.stats()["total"] == 0


def test_a_region_url_with_v1_names_the_bare_host(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", "https://api.us.poly.ai/v1")
    proc = cli(root, "validate", check_codes=(1,))
    assert "give the base URL without it: https://api.us.poly.ai" in proc.stdout


def test_a_missing_key_for_a_network_target_says_where_it_is_read_from(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", "https://api.eu.poly.ai")
    proc = cli(root, "plan", check_codes=(1,), extra_env={"POLYAI_API_KEY": ""})
    assert "POLYAI_API_KEY is not set: the key for https://api.eu.poly.ai is read from the POLYAI_API_KEY " \
           "environment variable only" in proc.stderr
    assert "only the emulator (url: local, or `reconciler emulator` on loopback) accepts any non-empty key" \
        in proc.stderr


def test_a_missing_key_for_a_loopback_emulator_suggests_any_key(tmp_path: Path, emulator) -> None:
    root = make_repo(tmp_path / "repo", emulator.url)
    proc = cli(root, "drift", check_codes=(1,), extra_env={"POLYAI_API_KEY": ""})
    assert "accepts any non-empty key, e.g. POLYAI_API_KEY=dev" in proc.stderr
    assert emulator.stats()["total"] == 0


def test_url_local_needs_no_key(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", "local")
    cli(root, "plan", check_codes=(2,), extra_env={"POLYAI_API_KEY": ""})
