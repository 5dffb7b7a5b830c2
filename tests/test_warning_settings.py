"""``warnings:`` in reconciler.yaml: an ignored warning appears in no report, no format, not in the daemon.

Real processes against the loopback emulator. The repository has three warnings:
a stray file (ignored repository-wide), a YAML 1.1 ambiguity under
``configs/legacy-*`` (ignored there by a glob) and the same ambiguity in another
agent (kept: the glob does not match it), so every test also proves the filter
hides only what it was told to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.daemon_helpers import Watch
from tests.e2e_helpers import cli, make_repo, values, write_env

WARNINGS = """warnings:
  ignore: [repo.stray_file]
  ignore_in:
    "configs/legacy-*/**": [yaml.ambiguous]
"""


def warned_repo(root: Path, emulator, *, with_section: bool = True) -> Path:
    make_repo(root, emulator.url, agents=("acme", "legacy-one"))
    emulator.seed("acme")
    emulator.seed("legacy-one")
    (root / "configs" / "acme" / "sandbox" / "notes.txt").write_text("not config\n")
    for agent in ("acme", "legacy-one"):
        path = root / "configs" / agent / "sandbox" / "values.yaml"
        path.write_text(path.read_text() + "country: NO\n")
    for agent in ("acme", "legacy-one"):
        schema = root / "configs" / agent / "sandbox" / "schema.yaml"
        schema.write_text(schema.read_text().replace("properties:\n", "properties:\n  country: {type: string, "
                                                     "title: Country, description: ISO code}\n", 1))
    if with_section:
        with (root / "reconciler.yaml").open("a") as fh:
            fh.write(WARNINGS)
    return root


def codes_and_files(doc: dict) -> list[tuple[str, str]]:
    return sorted((w["code"], w["file"]) for w in doc["warnings"])


def test_without_the_section_all_three_warnings_show(tmp_path: Path, emulator) -> None:
    root = warned_repo(tmp_path / "repo", emulator, with_section=False)
    doc = json.loads(cli(root, "validate", ".", "--format", "json", check_codes=(0,)).stdout)
    assert codes_and_files(doc) == [("repo.stray_file", "configs/acme/sandbox/notes.txt"),
                                    ("yaml.ambiguous", "configs/acme/sandbox/values.yaml"),
                                    ("yaml.ambiguous", "configs/legacy-one/sandbox/values.yaml")]


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_validate_hides_ignored_warnings_in_every_format(tmp_path: Path, emulator, fmt: str) -> None:
    root = warned_repo(tmp_path / "repo", emulator)
    out = cli(root, "validate", ".", "--format", fmt, check_codes=(0,)).stdout
    assert warned_files(out, fmt) == {("yaml.ambiguous", "configs/acme/sandbox/values.yaml")}


def warned_files(out: str, fmt: str) -> set[tuple[str, str]]:
    """(code, file) of every warning a report shows: JSON parsed, other formats line by line."""
    if fmt != "json":
        return {(code, path) for line in out.splitlines() for code in ("yaml.ambiguous", "repo.stray_file")
                for path in ("configs/acme/sandbox/values.yaml", "configs/legacy-one/sandbox/values.yaml",
                             "configs/acme/sandbox/notes.txt") if code in line and path in line}
    found: set[tuple[str, str]] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("severity") == "warning":
                found.add((node["code"], node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(json.loads(out))
    return found


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "github"])
def test_plan_hides_ignored_warnings_in_every_format(tmp_path: Path, emulator, fmt: str) -> None:
    root = warned_repo(tmp_path / "repo", emulator)
    out = cli(root, "plan", ".", "--allow-large-change", "--format", fmt, check_codes=(2,)).stdout
    assert warned_files(out, fmt) == {("yaml.ambiguous", "configs/acme/sandbox/values.yaml")}


def test_the_daemon_shows_no_ignored_warning(tmp_path: Path, emulator) -> None:
    root = warned_repo(tmp_path / "repo", emulator)
    with Watch(root) as watch:
        watch.wait_ready()
        watch.wait_page("legacy-one", "sandbox", "in_sync")
        seen = json.dumps(watch.status()) + watch.text()
    assert "notes.txt" not in seen and "legacy-one/sandbox/values.yaml" not in seen


def test_errors_are_never_hidden(tmp_path: Path, emulator) -> None:
    root = make_repo(tmp_path / "repo", emulator.url)
    write_env(root, "acme", "sandbox", vals=values("sandbox", max_hold="long"))
    with (root / "reconciler.yaml").open("a") as fh:
        fh.write("warnings:\n  ignore: [values.invalid]\n")
    doc = json.loads(cli(root, "validate", ".", "--format", "json", check_codes=(1,)).stdout)
    assert [e["code"] for e in doc["errors"]] == ["values.invalid"]


def test_a_bad_warnings_section_is_a_settings_error(tmp_path: Path, emulator) -> None:
    root = make_repo(tmp_path / "repo", emulator.url)
    with (root / "reconciler.yaml").open("a") as fh:
        fh.write("warnings:\n  ignore: [Stray File]\n  enable: [repo.stray_file]\n  hide: []\n")
    out = cli(root, "validate", ".", check_codes=(1,)).stdout
    assert "settings.invalid" in out and "warnings.ignore.0" in out
    assert "warnings.enable.0" in out
    assert "unknown key 'hide' in warnings; allowed: ignore, ignore_in, enable" in out


def test_schema_settings_describes_the_section(tmp_path: Path) -> None:
    schema = json.loads(cli(tmp_path, "schema", "settings", check_codes=(0,)).stdout)
    section = schema["definitions"]["WarningsFile"]["properties"]
    assert set(section) == {"ignore", "ignore_in", "enable"}
    assert section["enable"]["items"]["const"] == "schema.regex_dialect"
