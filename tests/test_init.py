"""`reconciler init`: a repository a team can push, valid at once, with CI pinned to this release.

Real processes against the loopback emulator: init into an empty folder, then
validate (0 warnings) and plan; ``init --import`` then an empty plan; existing
files kept without --force. The shipped templates are this project's own files.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from reconciler import __version__
from reconciler.adoption import init as scaffolding
from tests.e2e_helpers import SCHEMA, cli, values

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "reconciler" / "adoption" / "templates"
PIN = f"rtc-reconciler=={__version__}"


def test_init_into_an_empty_folder_validates_with_no_warning_and_plans(tmp_path: Path, emulator) -> None:
    repo = tmp_path / "fleet"
    proc = cli(tmp_path, "init", str(repo), "--api-url", emulator.url, check_codes=(0,))
    assert "next steps:" in proc.stdout and "reconciler import AGENT" in proc.stdout
    assert (repo / "configs").is_dir() and sorted(p.name for p in (repo / "policies").iterdir()) == \
        sorted(p.name for p in (ROOT / "policies").iterdir())
    out = cli(repo, "validate", check_codes=(0,)).stdout
    assert out.splitlines() == [f"reconciler validate · repository {repo}",
                                "valid: 0 agents, 0 environments checked; 0 errors, 0 warnings"]
    # An agent written by hand plans against the seeded emulator.
    emulator.seed("acme", pages={"sandbox": {"schema": SCHEMA, "variables": values("sandbox")}})
    page = repo / "configs" / "acme" / "sandbox"
    page.mkdir(parents=True)
    (page / "schema.yaml").write_text(yaml.safe_dump(SCHEMA))
    (page / "values.yaml").write_text(yaml.safe_dump(values("sandbox", max_hold=30)))
    assert cli(repo, "validate", check_codes=(0,)).stdout.endswith("0 errors, 0 warnings\n")
    doc = json.loads(cli(repo, "plan", "--format", "json", check_codes=(2,)).stdout)
    assert [(r["agent"], r["env"], r["status"]) for r in doc["results"] if r["status"] != "unmanaged"] == \
        [("acme", "sandbox", "changes")]


def test_init_import_then_the_first_plan_is_empty(tmp_path: Path, emulator) -> None:
    for agent in ("acme", "bella"):
        emulator.seed(agent, pages={env: {"schema": SCHEMA, "variables": values(env)}
                                    for env in ("sandbox", "pre-release", "live")})
    repo = tmp_path / "adopted"
    proc = cli(tmp_path, "init", str(repo), "--api-url", emulator.url, "--import", "acme", "--import", "bella",
               check_codes=(0,))
    assert "imported acme" in proc.stdout and "imported bella" in proc.stdout
    assert cli(repo, "validate", check_codes=(0,)).stdout.endswith("0 errors, 0 warnings\n")
    doc = json.loads(cli(repo, "plan", "--format", "json", check_codes=(0,)).stdout)
    assert {r["status"] for r in doc["results"]} == {"in_sync"} and len(doc["results"]) == 6


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "reconciler.yaml").write_text("api: {url: local}\n")
    (repo / ".gitignore").write_text("mine\n")
    proc = cli(tmp_path, "init", str(repo), "--region", "eu", check_codes=(0,))
    assert "kept  reconciler.yaml (exists; --force replaces it)" in proc.stdout
    assert "kept  .gitignore" in proc.stdout and "wrote policies/phone-numbers.yaml" in proc.stdout
    assert (repo / ".gitignore").read_text() == "mine\n"
    cli(tmp_path, "init", str(repo), "--region", "eu", "--force", check_codes=(0,))
    assert "region: eu" in (repo / "reconciler.yaml").read_text()
    assert ".reconciler/" in (repo / ".gitignore").read_text()


@pytest.mark.parametrize("args, needle", [
    ([], "name the API target once"),
    (["--local", "--region", "us"], "got --region, --local"),
    (["--api-url", "https://api.us.poly.ai/v1"], "give the base URL without it"),
    (["--region", "mars"], "unknown region"),
])
def test_init_needs_exactly_one_valid_target_and_writes_nothing_otherwise(tmp_path: Path, args, needle) -> None:
    proc = cli(tmp_path, "init", str(tmp_path / "repo"), *args, check_codes=(1,))
    assert needle in proc.stderr
    assert not (tmp_path / "repo").exists()


def test_workflows_are_this_projects_own_installing_the_same_release(tmp_path: Path) -> None:
    for name in scaffolding.WORKFLOWS:
        assert (TEMPLATES / "workflows" / name).read_text() == (ROOT / ".github" / "workflows" / name).read_text(), \
            f"copy .github/workflows/{name} to reconciler/adoption/templates/workflows/"
        derived = scaffolding.workflow_text(name)
        assert f'python -m pip install "{PIN}"' in derived
        assert "pip install ." not in derived and "./base" not in derived
        yaml.safe_load(derived)
    for policy in (ROOT / "policies").iterdir():
        assert (TEMPLATES / "policies" / policy.name).read_text() == policy.read_text(), \
            f"copy policies/{policy.name} to reconciler/adoption/templates/policies/"
    assert (TEMPLATES / "pre-commit-hooks.yaml").read_text() == (ROOT / ".pre-commit-hooks.yaml").read_text()


def test_the_pre_commit_config_runs_this_tools_hook_at_this_release() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [repo] = yaml.safe_load(scaffolding.precommit_text())["repos"]
    assert repo["repo"] == "local"
    [local] = repo["hooks"]
    assert {k: v for k, v in local.items() if k != "additional_dependencies"} == hook
    assert local["additional_dependencies"] == [PIN]


def test_the_templates_are_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["reconciler"]
    for path in TEMPLATES.rglob("*"):
        if path.is_file():
            rel = path.relative_to(ROOT / "reconciler").as_posix()
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), rel


def test_help_examples_run_as_written_or_say_they_need_a_key(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TMPDIR": str(tmp_path), "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}
    env.pop("POLYAI_API_KEY", None)
    text = cli(tmp_path, "init", "--help", check_codes=(0,)).stdout
    lines = [line.strip() for line in text[text.index("Examples:"):].splitlines()[1:] if "reconciler init" in line]
    runnable = [line for line in lines if "needs a real key" not in line]
    assert len(runnable) == 2 and len(lines) == 3
    for line in runnable:
        proc = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0 and "next steps:" in proc.stdout, (line, proc.stderr)


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("Try it outside this repository")[1].split("```sh\n")[1].split("```")[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = block.replace("8080", str(port)) + "kill %1\nwait\n"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "NO_COLOR": "1", "TMPDIR": str(tmp_path)}
    env.pop("RECONCILER_API_URL", None)
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout
    assert "seeded 1 agent(s), 1 page(s)" in out, (out, proc.stderr)
    assert "Plan: 0 to change, 1 in sync, 0 errors." in out
    assert "Plan: 1 to change, 0 in sync, 0 errors." in out and "Apply: 1 applied, 0 in sync." in out
    assert "Traceback" not in proc.stderr
