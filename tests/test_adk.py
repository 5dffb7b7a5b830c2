"""ADK layout in and out: `import --from-adk` and `export --adk`, pinned by golden files both ways."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from e2e_helpers import cli
from reconciler import settings
from reconciler.adoption import adk
from reconciler.repository import loader

GOLDEN = Path(__file__).parent / "golden"
ADK_PROJECT = GOLDEN / "adk" / "acme-support"          # real_time_configuration/{draft_and_sandbox,live}/…
REPO = GOLDEN / "adk-repo"                              # what importing it must write, byte for byte
EXAMPLE = Path(__file__).resolve().parents[1]
RTC = "real_time_configuration"


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


def _json_tree(root: Path) -> dict[str, object]:
    return {rel: json.loads(text) for rel, text in _tree(root).items()}


def test_import_from_adk_writes_the_golden_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    proc = cli(repo, "import", "--from-adk", str(ADK_PROJECT), "--repo", ".", check_codes=(0,))
    assert "acme-support: wrote" in proc.stdout
    assert _tree(repo / "configs") == _tree(REPO / "configs")


def test_export_writes_the_golden_adk_project_byte_for_byte(tmp_path: Path) -> None:
    # project.yaml (region from api.region: us-1), both files per environment ({} for the unmanaged
    # live schema), sorted keys, 2-space indent, a trailing newline: exactly what the ADK holds.
    out = tmp_path / "adk-out"
    cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", "--account", "acct-golden",
        check_codes=(0,))
    assert _tree(out) == _tree(ADK_PROJECT)
    assert (out / "real_time_configuration/live/schema.json").read_text(encoding="utf-8") == "{}\n"


def test_adk_round_trip_is_byte_identical(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "reconciler.yaml").write_text("api:\n  region: us-1\n", encoding="utf-8")
    adk.import_adk(ADK_PROJECT, repo)
    out = tmp_path / "back"
    adk.export_adk(repo, "acme-support", out, account="acct-golden")
    assert _tree(out) == _tree(ADK_PROJECT)


def test_the_project_files_id_wins_over_the_folder_name(tmp_path: Path) -> None:
    project = tmp_path / "some-checkout"
    shutil.copytree(ADK_PROJECT, project)
    repo = tmp_path / "repo"
    proc = cli(tmp_path, "import", "--from-adk", str(project), "--repo", str(repo), check_codes=(0,))
    assert "acme-support: wrote" in proc.stdout and not (repo / "configs/some-checkout").exists()
    proc = cli(tmp_path, "import", "--from-adk", str(project), "--repo", str(tmp_path / "other"),
               "--agent", "someone-else", check_codes=(1,))
    assert "project_id" in proc.stderr and "someone-else" in proc.stderr
    assert not (tmp_path / "other" / "configs").exists()
    # Without project.yaml the folder name is the fallback.
    (project / "project.yaml").unlink()
    cli(tmp_path, "import", "--from-adk", str(project), "--repo", str(tmp_path / "third"), check_codes=(0,))
    assert (tmp_path / "third/configs/some-checkout/sandbox/schema.yaml").is_file()


def test_an_existing_file_in_another_key_order_is_not_other_content(tmp_path: Path) -> None:
    out = tmp_path / "adk-out"
    shutil.copytree(ADK_PROJECT, out)
    data = out / "real_time_configuration/live/data.json"
    unsorted = json.loads(data.read_text(encoding="utf-8"))
    data.write_text(json.dumps(dict(reversed(list(unsorted.items()))), indent=4) + "\n", encoding="utf-8")
    cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", "--account", "acct-golden",
        check_codes=(0,))
    assert _tree(out) == _tree(ADK_PROJECT)          # rewritten as the ADK writes it, no --force needed


def test_a_project_file_naming_another_agent_is_other_content(tmp_path: Path) -> None:
    out = tmp_path / "adk-out"
    out.mkdir()
    (out / "project.yaml").write_text("project_id: someone-else\naccount_id: x\nregion: us-1\n", encoding="utf-8")
    proc = cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", check_codes=(1,))
    assert "project.yaml" in proc.stderr and "--force" in proc.stderr
    assert not (out / RTC).exists()


def test_adk_region_names_are_the_same_hosts(tmp_path: Path) -> None:
    for adk_name, host in (("us-1", "us"), ("uk-1", "uk"), ("euw-1", "eu"), ("studio", "studio")):
        (tmp_path / "reconciler.yaml").write_text(f"api:\n  region: {adk_name}\n", encoding="utf-8")
        url = settings.load_settings(tmp_path, environ={}).api.url
        assert url == f"https://api.{host}.poly.ai"
        assert settings.adk_region(url) == (adk_name if host != "eu" else "euw-1")


def test_example_repository_exported_and_reimported_is_unchanged(tmp_path: Path) -> None:
    original = loader.load_repository(EXAMPLE)
    assert original.agents
    fresh = tmp_path / "fresh"
    for agent in original.agents:
        project = tmp_path / "adk" / agent
        cli(EXAMPLE, "export", ".", "--adk", str(project), "--agent", agent, check_codes=(0,))
        cli(tmp_path, "import", "--from-adk", str(project), "--repo", str(fresh), check_codes=(0,))
    again = loader.load_repository(fresh)
    assert not [f for f in again.findings if f.blocks]
    assert sorted(again.agents) == sorted(original.agents)
    for agent, desired in original.agents.items():
        assert set(again.agents[agent].envs) == set(desired.envs)
        for env, page in desired.envs.items():
            back = again.agents[agent].envs[env]
            # Equal data (the ADK's JSON has sorted keys, so key order is the ADK's, not the repository's).
            assert back.schema == page.schema and back.values == page.values, (agent, env)


def test_import_from_adk_never_overwrites_without_force(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    cli(tmp_path, "import", "--from-adk", str(ADK_PROJECT), "--repo", str(repo), check_codes=(0,))
    (repo / "configs/acme-support/live/values.yaml").write_text("greeting: mine\n", encoding="utf-8")
    proc = cli(tmp_path, "import", "--from-adk", str(ADK_PROJECT), "--repo", str(repo), check_codes=(1,))
    assert "--force" in proc.stderr
    assert (repo / "configs/acme-support/live/values.yaml").read_text(encoding="utf-8") == "greeting: mine\n"
    cli(tmp_path, "import", "--from-adk", str(ADK_PROJECT), "--repo", str(repo), "--force", check_codes=(0,))
    assert _tree(repo / "configs") == _tree(REPO / "configs")


def test_bad_adk_json_is_a_clear_error(tmp_path: Path) -> None:
    project = tmp_path / "broken-agent"
    shutil.copytree(ADK_PROJECT, project)
    data = project / "real_time_configuration/live/data.json"
    data.write_text('{"greeting": "a",\n "greeting": "b"}\n', encoding="utf-8")
    proc = cli(tmp_path, "import", "--from-adk", str(project), "--repo", str(tmp_path / "repo"), check_codes=(1,))
    assert "duplicate key 'greeting'" in proc.stderr and "data.json" in proc.stderr
    assert not (tmp_path / "repo" / "configs").exists()
    proc = cli(tmp_path, "import", "--from-adk", str(tmp_path), "--repo", str(tmp_path / "repo"), check_codes=(1,))
    assert "real_time_configuration" in proc.stderr


def test_export_refuses_to_replace_other_content_without_force(tmp_path: Path) -> None:
    out = tmp_path / "adk-out"
    cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", check_codes=(0,))
    cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", check_codes=(0,))   # same content: fine
    target = out / "real_time_configuration/live/data.json"
    target.write_text("{}\n", encoding="utf-8")
    proc = cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", check_codes=(1,))
    assert "--force" in proc.stderr and target.read_text(encoding="utf-8") == "{}\n"
    cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", "--force", check_codes=(0,))
    assert json.loads(target.read_text(encoding="utf-8"))["answer_mode"] == "off"
    proc = cli(REPO, "export", ".", "--adk", str(out), "--agent", "nobody", check_codes=(1,))
    assert "nobody" in proc.stderr


def test_never_writes_through_a_symlink_out_of_the_repository(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / "configs").symlink_to(outside)
    proc = cli(repo, "import", "--from-adk", str(ADK_PROJECT), "--repo", ".", check_codes=(1,))
    assert "outside the repository" in proc.stderr
    assert list(outside.iterdir()) == []
