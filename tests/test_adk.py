"""ADK layout in and out: `import --from-adk` and `export --adk`, pinned by golden files both ways."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from e2e_helpers import cli
from reconciler.adoption import adk
from reconciler.repository import loader

GOLDEN = Path(__file__).parent / "golden"
ADK_PROJECT = GOLDEN / "adk" / "acme-support"          # real_time_configuration/{draft_and_sandbox,live}/…
REPO = GOLDEN / "adk-repo"                              # what importing it must write, byte for byte
EXAMPLE = Path(__file__).resolve().parents[1]


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


def test_export_writes_the_golden_adk_tree(tmp_path: Path) -> None:
    out = tmp_path / "adk-out"
    cli(REPO, "export", ".", "--adk", str(out), "--agent", "acme-support", check_codes=(0,))
    assert _json_tree(out) == _json_tree(ADK_PROJECT)
    # Key order is kept as well (json equality alone would not show it).
    for rel, text in _tree(out).items():
        assert list(json.loads(text)) == list(json.loads((ADK_PROJECT / rel).read_text(encoding="utf-8")))


def test_adk_round_trip_gives_equal_json(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    adk.import_adk(ADK_PROJECT, repo, agent="other-agent")
    out = tmp_path / "back"
    adk.export_adk(repo, "other-agent", out)
    assert _json_tree(out) == _json_tree(ADK_PROJECT)


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
            assert json.dumps(back.schema) == json.dumps(page.schema), (agent, env)
            assert json.dumps(back.values) == json.dumps(page.values), (agent, env)


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
