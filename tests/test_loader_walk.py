"""loader: what it walks, what it warns about, filters, and errors that stay local to one agent."""

from __future__ import annotations

from pathlib import Path

from reconciler.repository.loader import load_repository
from reconciler.model import ClientEnv, Severity


def put(root: Path, name: str, text: str = "a: 1\n") -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_walks_agents_and_envs_in_promotion_order(tmp_path: Path) -> None:
    put(tmp_path, "configs/b-agent/live/schema.yml", "type: object\n")
    put(tmp_path, "configs/b-agent/sandbox/values.yaml")
    put(tmp_path, "configs/a-agent/pre-release/values.yaml")
    desired = load_repository(tmp_path)
    assert desired.findings == ()
    assert list(desired.agents) == ["a-agent", "b-agent"]
    b = desired.agents["b-agent"]
    assert list(b.envs) == [ClientEnv.SANDBOX, ClientEnv.LIVE]
    assert b.envs[ClientEnv.LIVE].schema == {"type": "object"} and b.envs[ClientEnv.LIVE].values is None
    assert b.envs[ClientEnv.LIVE].schema_file == "configs/b-agent/live/schema.yml"
    assert b.envs[ClientEnv.SANDBOX].values == {"a": 1} and b.envs[ClientEnv.SANDBOX].schema is None


def test_stray_files_are_warnings_and_hidden_files_ignored(tmp_path: Path) -> None:
    put(tmp_path, "configs/README.md", "hi")
    put(tmp_path, "configs/agent/notes.txt", "hi")
    put(tmp_path, "configs/agent/live/values.yaml")
    put(tmp_path, "configs/agent/live/values.json", "{}")
    put(tmp_path, "configs/agent/live/.values.yaml.swp", "x")
    desired = load_repository(tmp_path)
    strays = sorted((f.file, f.severity) for f in desired.findings)
    assert strays == [("configs/README.md", Severity.WARNING), ("configs/agent/live/values.json", Severity.WARNING),
                      ("configs/agent/notes.txt", Severity.WARNING)]
    assert all(f.code == "repo.stray_file" for f in desired.findings)


def test_a_directory_named_like_a_managed_file_is_path_not_file(tmp_path: Path) -> None:
    put(tmp_path, "configs/agent/live/schema.yaml", "type: object\n")
    (tmp_path / "configs/agent/live/values.yaml").mkdir()
    (tmp_path / "configs/agent/sandbox/schema.yml").mkdir(parents=True)
    desired = load_repository(tmp_path)
    assert not [f for f in desired.findings if f.code == "repo.stray_file"], desired.findings
    found = sorted((f.code, f.severity, f.file) for f in desired.findings if f.code == "path.not_file")
    assert found == [("path.not_file", Severity.ERROR, "configs/agent/live/values.yaml"),
                     ("path.not_file", Severity.ERROR, "configs/agent/sandbox/schema.yml")], found


def test_one_bad_agent_does_not_stop_the_others(tmp_path: Path) -> None:
    put(tmp_path, "configs/bad/live/values.yaml", "a: 1\na: 2\n")
    put(tmp_path, "configs/good/live/values.yaml", "a: 1\n")
    desired = load_repository(tmp_path)
    [finding] = desired.findings
    assert (finding.agent, finding.env, finding.code, finding.line) == ("bad", "live", "yaml.duplicate_key", 2)
    assert desired.agents["good"].envs[ClientEnv.LIVE].values == {"a": 1}
    assert desired.agents["bad"].envs[ClientEnv.LIVE].values is None


def test_filters_and_unknown_agent(tmp_path: Path) -> None:
    for agent in ("one", "two"):
        for env in ("sandbox", "live"):
            put(tmp_path, f"configs/{agent}/{env}/values.yaml")
    desired = load_repository(tmp_path, agents=["two", "ghost"], envs=["live"])
    assert list(desired.agents) == ["two"] and list(desired.agents["two"].envs) == [ClientEnv.LIVE]
    [finding] = desired.findings
    assert finding.code == "repo.unknown_agent" and finding.agent == "ghost" and finding.blocks


def test_no_configs_directory_is_an_error(tmp_path: Path) -> None:
    [finding] = load_repository(tmp_path).findings
    assert finding.code == "repo.no_configs" and finding.agent is None and finding.blocks


def test_empty_environment_directory_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "configs" / "agent" / "sandbox").mkdir(parents=True)
    desired = load_repository(tmp_path)
    [finding] = desired.findings
    assert finding.code == "repo.empty_env" and finding.severity is Severity.WARNING
    assert ClientEnv.SANDBOX in desired.agents["agent"].envs
