"""Every command finds its repository from any folder inside it, like git, and writes nothing without one.

Real processes (``python -m reconciler``) run from a sub-folder of a repository
served by the loopback emulator, and from a folder with no repository above it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e_helpers import cli, make_repo


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def no_repository_above(folder: Path) -> None:
    for parent in (folder, *folder.parents):
        if (parent / "reconciler.yaml").is_file() or (parent / "configs").is_dir():
            pytest.skip(f"{parent} looks like a config repository: the test needs a folder outside any")


@pytest.fixture
def repo(tmp_path: Path, emulator) -> Path:
    root = make_repo(tmp_path / "repo", emulator.url)
    emulator.seed("acme")
    return root


def test_validate_from_a_sub_folder_uses_the_root_and_litters_nothing(repo: Path) -> None:
    inner = repo / "configs" / "acme" / "sandbox"
    proc = cli(repo, "validate", cwd=inner, check_codes=(0,))
    assert "valid: 1 agent, 3 environments checked; 0 errors, 0 warnings" in proc.stdout
    assert f"repository: {repo}" in proc.stderr
    assert not (inner / ".reconciler").exists() and not (repo / "configs" / "acme" / ".reconciler").exists()
    assert (repo / ".reconciler" / "cache").is_dir()
    # A later run at the root has nothing to warn about (no stray .reconciler/ under configs/).
    assert "0 warnings" in cli(repo, "validate", ".", check_codes=(0,)).stdout


@pytest.mark.parametrize("given", [[], ["."]])
def test_plan_from_configs_x_y_finds_the_settings_two_levels_up(repo: Path, given: list[str]) -> None:
    inner = repo / "configs" / "acme" / "live"
    proc = cli(repo, "plan", *given, "--format", "json", cwd=inner, check_codes=(2,))
    assert {r["agent"] for r in json.loads(proc.stdout)["results"]} == {"acme"}
    assert f"repository: {repo} (found from {inner})" in proc.stderr


def test_apply_and_drift_from_a_sub_folder(repo: Path) -> None:
    inner = repo / "configs" / "acme"
    cli(repo, "apply", "--auto-approve", cwd=inner, check_codes=(0,))
    cli(repo, "drift", cwd=inner, check_codes=(0,))
    assert not (inner / ".reconciler").exists()


@pytest.mark.parametrize("args", [
    ["validate"], ["plan"], ["apply", "--auto-approve"], ["drift"], ["policies"], ["connectors"],
    ["import", "acme"], ["promote", "acme", "--from", "sandbox", "--to", "live"],
    ["export", "--adk", "out", "--agent", "acme"], ["watch", "--listen", "127.0.0.1:0"],
])
def test_no_repository_is_an_error_naming_the_folder_and_nothing_is_written(tmp_path: Path, args: list[str],
                                                                             emulator) -> None:
    lonely = tmp_path / "lonely" / "deeper"
    lonely.mkdir(parents=True)
    no_repository_above(lonely)
    before = tree(tmp_path)
    proc = cli(lonely, *args, "--api-url", emulator.url, cwd=lonely, check_codes=(1,)) \
        if args[0] in ("plan", "apply", "drift", "connectors", "import", "watch") \
        else cli(lonely, *args, cwd=lonely, check_codes=(1,))
    assert "no config repository found" in proc.stderr and str(lonely) in proc.stderr, proc.stderr
    assert tree(tmp_path) == before


def test_import_takes_agents_only_and_the_repository_as_repo(repo: Path, tmp_path: Path, emulator) -> None:
    emulator.seed("other", pages={"sandbox": {"schema": {"type": "object"}, "variables": {"a": 1}}})
    proc = cli(repo, "import", "other", ".", check_codes=(1,))
    assert "'.' is not an agent id; to write into '.', give --repo ." in proc.stderr
    assert not (repo / "configs" / "other").exists()
    # Inside the repository: the discovered root; elsewhere: --repo (or -C), created when missing.
    cli(repo, "import", "other", cwd=repo / "configs", check_codes=(0,))
    assert (repo / "configs" / "other" / "sandbox" / "values.yaml").is_file()
    fresh = tmp_path / "fresh"
    cli(tmp_path, "import", "other", "-C", str(fresh), "--api-url", emulator.url, check_codes=(0,))
    assert (fresh / "configs" / "other" / "sandbox" / "values.yaml").is_file()


@pytest.mark.parametrize("args, code", [(["validate"], 0), (["plan"], 2), (["apply", "--auto-approve"], 0),
                                        (["drift"], 0)])
def test_the_text_header_line_names_the_root_discovery_found(repo: Path, args: list[str], code: int) -> None:
    inner = repo / "configs" / "acme" / "sandbox"
    if args[0] == "drift":
        cli(repo, "apply", "--auto-approve", check_codes=(0,))
    proc = cli(repo, *args, cwd=inner, check_codes=(code,))
    header = proc.stdout.splitlines()[0]
    assert header.startswith(f"reconciler {args[0]} · repository {repo}"), header
    assert str(inner) not in header
    # Given as DIR at the root itself, the header names it too (an absolute path, not ".").
    assert cli(repo, *args, ".", check_codes=(0, 2)).stdout.splitlines()[0].startswith(
        f"reconciler {args[0]} · repository {repo}")


def test_json_reports_are_unchanged_by_the_header(repo: Path) -> None:
    inner = repo / "configs" / "acme"
    validate = json.loads(cli(repo, "validate", "--format", "json", cwd=inner, check_codes=(0,)).stdout)
    plan = json.loads(cli(repo, "plan", "--format", "json", cwd=inner, check_codes=(2,)).stdout)
    assert "repository" not in validate and "repository" not in plan
