"""Seeding the emulator from a repository-shaped fleet, and a per-key UI edit hook (real processes).

``reconciler emulator seed DIR`` into a served emulator (``--url``) and into the
``url: local`` database of a repository, each followed by a plan that is in
sync; ``PATCH /_emulator/agents/{id}/pages/{env}`` merges keys and moves lastUpdated.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx

from tests.e2e_helpers import cli, make_repo, values, write_env

ROOT = Path(__file__).resolve().parents[1]


def test_seed_a_served_emulator_then_the_repository_plans_in_sync(tmp_path: Path, emulator) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, agents=("acme", "bella"))
    proc = cli(repo, "emulator", "seed", ".", "--url", emulator.url, check_codes=(0,))
    assert f"seeded 2 agent(s), 6 page(s) into {emulator.url}" in proc.stdout
    assert emulator.peek("bella", "live")["variables"] == values("live")
    cli(repo, "plan", check_codes=(0,))


def test_seed_the_url_local_database_of_the_repository(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    for name in ("configs",):
        shutil.copytree(ROOT / name, fleet / name)
    repo = tmp_path / "repo"
    shutil.copytree(fleet / "configs", repo / "configs")
    (repo / "reconciler.yaml").write_text("api: {url: local}\n")
    proc = cli(repo, "emulator", "seed", str(fleet), cwd=repo / "configs", check_codes=(0,))
    assert "seeded 3 agent(s), 9 page(s) into" in proc.stdout and "local.db (url: local)" in proc.stdout
    assert (repo / ".reconciler" / ".gitignore").is_file()
    doc = json.loads(cli(repo, "plan", "--format", "json", check_codes=(0,)).stdout)
    assert {r["status"] for r in doc["results"]} == {"in_sync"}


def test_seed_outside_a_repository_without_url_writes_nothing(tmp_path: Path) -> None:
    fleet = make_repo(tmp_path / "fleet", "local")
    (fleet / "reconciler.yaml").unlink()
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    proc = cli(lonely, "emulator", "seed", str(fleet / "configs" / ".."), check_codes=(1,))
    assert "no config repository found" in proc.stderr
    assert list(lonely.iterdir()) == [] and not (fleet / ".reconciler").exists()


def test_patch_hook_merges_keys_and_moves_last_updated(tmp_path: Path, emulator) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url)
    cli(repo, "emulator", "seed", ".", "--url", emulator.url, check_codes=(0,))
    before = emulator.peek("acme", "sandbox")
    time.sleep(0.01)
    response = httpx.patch(f"{emulator.url}/_emulator/agents/acme/pages/sandbox",
                           json={"variables": {"greeting": "edited in the UI"}})
    assert response.status_code == 200
    after = emulator.peek("acme", "sandbox")
    assert after["variables"] == {**values("sandbox"), "greeting": "edited in the UI"}
    assert after["lastUpdated"] > before["lastUpdated"]
    drift = cli(repo, "drift", "--format", "json", check_codes=(2,))
    assert "greeting" in drift.stdout
    bad = httpx.patch(f"{emulator.url}/_emulator/agents/acme/pages/sandbox", json={"schema": {}})
    assert bad.status_code == 400
    assert httpx.patch(f"{emulator.url}/_emulator/agents/ghost/pages/sandbox",
                       json={"variables": {}}).status_code == 404


def test_an_unknown_action_is_a_usage_error(tmp_path: Path) -> None:
    write_env(tmp_path, "acme", "sandbox")
    proc = cli(tmp_path, "emulator", "sow", ".", check_codes=(1,))
    assert "use `reconciler emulator seed DIR`" in proc.stderr


def test_every_documented_hook_has_a_curl_example_that_runs(emulator) -> None:
    import re
    import subprocess

    doc = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    hooks = re.findall(r"^\| `((?:GET|POST|PUT|PATCH)[^|]*?)`", doc, flags=re.M)
    block = doc.split("Each hook with curl")[1].split("```sh\n")[1].split("```")[0]
    curl = block.replace("\\\n", " ")
    for cell in hooks:
        for method, path in re.findall(r"(GET|POST|PUT|PATCH) (/_emulator/\S+)", cell.replace("`", "")):
            pattern = re.sub(r"\{[^}]+\}", "[^/ ]+", path)
            line = [c for c in curl.splitlines() if re.search(rf"http://127\.0\.0\.1:8080{pattern}\b", c)
                    and (f"-X {method}" in c or (method == "GET" and " -X " not in c))]
            assert line, f"docs/emulator.md: no curl example for {method} {path}"
    port = emulator.url.rsplit(":", 1)[1]
    script = "set -euo pipefail\n" + block.replace("127.0.0.1:8080", f"127.0.0.1:{port}").replace(
        "curl -sS", "curl -sSf")
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert emulator.stats()["total"] == 0


def test_the_seed_help_examples_run_as_written(tmp_path: Path, emulator) -> None:
    import os
    import subprocess
    import sys

    text = subprocess.run([sys.executable, "-m", "reconciler", "emulator", "--help"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "200"}, check=True).stdout
    lines = [line.split("#")[0].split() for line in text.splitlines()
             if line.strip().startswith("reconciler emulator seed")]
    assert len(lines) == 2
    repo = tmp_path / "example"
    shutil.copytree(ROOT / "configs", repo / "configs")
    shutil.copy(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    port = emulator.url.rsplit(":", 1)[1]
    for words in lines:
        args = [w.replace("127.0.0.1:8080", f"127.0.0.1:{port}") for w in words[1:]]
        assert "seeded 3 agent(s), 9 page(s)" in cli(repo, *args, check_codes=(0,)).stdout
    assert emulator.peek("acme-support", "live")["variables"]
    cli(repo, "plan", check_codes=(0,))                  # url: local now holds the repository
