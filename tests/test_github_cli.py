"""`reconciler github …` as a subprocess: the environment contract, exit codes, and the token never shown."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import fake_github as fake
import github_reports as reports

SHA = "e" * 40


def gh_cli(fake_gh, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    environ.update(fake_gh.environ() if env is None else env)
    proc = subprocess.run([sys.executable, "-m", "reconciler", "github", *args], env=environ, cwd=cwd,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert fake.TOKEN not in proc.stdout + proc.stderr, "the token was printed"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def event_file(tmp_path: Path, number: int, sha: str, *, fork: bool = False) -> str:
    head_repo = "someone/configs-fork" if fork else "octo/configs"
    event = {"number": number, "pull_request": {"number": number, "head": {"sha": sha, "repo": {
        "full_name": head_repo, "fork": fork}}, "base": {"ref": "main"}}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_comment_from_the_event_payload(fake_github, tmp_path):
    fake_github.open_pull(12, SHA)
    plan = reports.write(tmp_path / "plan.json", reports.plan_document({"acme": "Hi"}))
    proc = gh_cli(fake_github, "comment", "--report", str(plan),
                  env=fake_github.environ(GITHUB_EVENT_PATH=event_file(tmp_path, 12, SHA)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("comment: created comment")
    [mine] = fake_github.comments(12)
    assert SHA[:12] in mine["body"]


def test_fork_pr_validates_and_says_the_plan_was_skipped(fake_github, tmp_path):
    fake_github.open_pull(13, SHA)
    validate = reports.write(tmp_path / "validate.json", reports.validate_document(0, 0))
    proc = gh_cli(fake_github, "comment", "--validate-report", str(validate), "--skip-reason",
                  "This pull request comes from a fork: no POLYAI_API_KEY, so no plan against the live API.",
                  env=fake_github.environ(GITHUB_EVENT_PATH=event_file(tmp_path, 13, SHA, fork=True)))
    assert proc.returncode == 0, proc.stderr
    [mine] = fake_github.comments(13)
    assert "plan skipped" in mine["body"] and "comes from a fork" in mine["body"]
    assert "Validation passed (0 errors, 0 warnings)" in mine["body"]


def test_stale_run_exits_0_and_says_so(fake_github, tmp_path):
    fake_github.open_pull(14, "f" * 40)
    plan = reports.write(tmp_path / "plan.json", reports.plan_document({"acme": "Hi"}))
    proc = gh_cli(fake_github, "comment", "--report", str(plan), "--pr", "14", "--sha", SHA)
    assert proc.returncode == 0 and "comment left alone" in proc.stdout
    assert fake_github.comments(14) == []


def test_the_token_never_appears_even_when_github_echoes_it(fake_github, tmp_path):
    """Errors, retries and a server that quotes the token back: none of it reaches stdout or stderr."""
    fake_github.open_pull(15, SHA)
    plan = reports.write(tmp_path / "plan.json", reports.plan_document({"acme": "Hi"}))
    fake_github.inject(fake.rate_limit(429, retry_after=0),
                       {"status": 422, "message": f"Validation Failed: token {fake.TOKEN} rejected"})
    proc = gh_cli(fake_github, "comment", "--report", str(plan), "--pr", "15", "--sha", SHA)
    assert proc.returncode == 1
    assert "attempt 1/6 failed; will retry" in proc.stderr            # the retries are logged ...
    assert "token *** rejected" in proc.stderr                         # ... and the echo is redacted
    assert fake_github.comments(15) == []


def test_wrong_token_is_a_one_line_error(fake_github, tmp_path):
    plan = reports.write(tmp_path / "plan.json", reports.plan_document({"acme": "Hi"}))
    env = fake_github.environ(GITHUB_TOKEN="ghs_wrongTOKENvalue000")
    proc = gh_cli(fake_github, "comment", "--report", str(plan), "--pr", "1", env=env)
    assert proc.returncode == 1
    assert "HTTP 401" in proc.stderr and "Bad credentials" in proc.stderr
    assert "ghs_wrongTOKENvalue000" not in proc.stdout + proc.stderr


def test_missing_environment_is_a_clear_error(fake_github, tmp_path):
    plan = reports.write(tmp_path / "plan.json", reports.plan_document({"acme": "Hi"}))
    env = fake_github.environ()
    env.pop("GITHUB_TOKEN")
    proc = gh_cli(fake_github, "comment", "--report", str(plan), "--pr", "1", env=env)
    assert proc.returncode == 1 and "GITHUB_TOKEN is not set" in proc.stderr
    env = fake_github.environ(GITHUB_REPOSITORY="nope")
    proc = gh_cli(fake_github, "comment", "--report", str(plan), "--pr", "1", env=env)
    assert proc.returncode == 1 and "GITHUB_REPOSITORY must be owner/name" in proc.stderr
    proc = gh_cli(fake_github, "comment", "--report", str(plan))           # no PR anywhere
    assert proc.returncode == 1 and "no pull request" in proc.stderr
    proc = gh_cli(fake_github, "comment", "--pr", "1")                     # nothing to post
    assert proc.returncode == 1 and "nothing to post" in proc.stderr
    proc = gh_cli(fake_github, "comment", "--bogus")                       # usage error: 1, never 2
    assert proc.returncode == 1


def test_drift_issue_cli_opens_then_closes(fake_github, tmp_path):
    drift = reports.write(tmp_path / "drift.json", reports.plan_document({"acme": "UI"}, command="drift"))
    proc = gh_cli(fake_github, "drift-issue", "--report", str(drift))
    assert proc.returncode == 0 and proc.stdout.startswith("drift-issue: opened drift issue #")
    sync = reports.write(tmp_path / "sync.json", reports.plan_document({"acme": "Hello"}, command="drift"))
    proc = gh_cli(fake_github, "drift-issue", "--report", str(sync), "--label", "drift")
    assert proc.returncode == 0 and "closed drift issue" in proc.stdout
    assert [i["state"] for i in fake_github.issues()] == ["closed"]


def test_a_real_saved_plan_and_drift_report_are_published(fake_github, emulator, tmp_path):
    """The whole chain: plan --save-plan against the emulator, then the comment; drift --format json, then the issue."""
    from e2e_helpers import cli, make_repo

    emulator.seed("acme")
    repo = make_repo(tmp_path / "repo", emulator.url, agents=("acme",))
    saved = tmp_path / "plan.json"
    cli(repo, "plan", str(repo), "--allow-large-change", "--save-plan", str(saved), "--out", str(tmp_path / "p.txt"),
        check_codes=(2,))
    fake_github.open_pull(21, SHA)
    proc = gh_cli(fake_github, "comment", "--report", str(saved), "--pr", "21", "--sha", SHA)
    assert proc.returncode == 0, proc.stderr
    [mine] = fake_github.comments(21)
    assert "**Plan: 3 to change, 0 in sync, 0 errors.**" in mine["body"] and "| `acme` |" in mine["body"]
    drift = tmp_path / "drift.json"
    cli(repo, "drift", str(repo), "--format", "json", "--out", str(drift), check_codes=(2,))
    proc = gh_cli(fake_github, "drift-issue", "--report", str(drift))
    assert proc.returncode == 0, proc.stderr
    [issue] = [i for i in fake_github.issues() if "rtc-reconciler:drift-issue" in i["body"]]
    assert "**3 page(s)**" in issue["body"] and "(cause: " in issue["body"]


def _examples(*command: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "reconciler", *command, "--help"], capture_output=True, text=True,
                         timeout=60).stdout
    block = out[out.index("Examples"):]
    lines = [line.split("  #")[0].strip() for line in block.splitlines() if line.strip().startswith("reconciler ")]
    return [part.strip() for line in lines for part in line.split(";")]


def test_help_examples_run_as_written(fake_github, tmp_path):
    """`github comment|drift-issue --help` examples, in a copy of the example repository (url: local)."""
    import shutil

    root = Path(__file__).resolve().parents[1]
    repo = tmp_path / "example"
    repo.mkdir()
    for name in ("configs", "policies"):
        shutil.copytree(root / name, repo / name)
    shutil.copy(root / "reconciler.yaml", repo / "reconciler.yaml")
    fake_github.open_pull(31, SHA)
    env = fake_github.environ(GITHUB_EVENT_PATH=event_file(tmp_path, 31, SHA))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "POLYAI_", "RECONCILER_"))}
    for setup in (["validate", ".", "--format", "json", "--out", "validate.json"],
                  ["plan", ".", "--allow-large-change", "--format", "json", "--out", "plan.json"]):
        subprocess.run([sys.executable, "-m", "reconciler", *setup], cwd=repo, env=environ, capture_output=True,
                       timeout=120, check=False)
    examples = _examples("github", "comment") + _examples("github", "drift-issue")
    assert len(examples) >= 5
    for example in examples:
        argv = shlex.split(example)[1:]
        runner = gh_cli if argv[0] == "github" else None
        if runner is None:
            proc = subprocess.run([sys.executable, "-m", "reconciler", *argv], cwd=repo, env=environ,
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode in (0, 2), (example, proc.stderr)
            continue
        proc = gh_cli(fake_github, *argv[1:], env=env, cwd=repo)
        assert proc.returncode == 0, (example, proc.stdout, proc.stderr)
    assert len(fake_github.comments(31)) == 1
    assert len([i for i in fake_github.issues() if "rtc-reconciler:drift-issue" in i["body"]]) == 1


def test_drift_issue_refuses_a_plan_report_or_saved_plan_before_any_request(fake_github, tmp_path):
    plan = reports.plan_document({"acme": "UI"})
    for name, document in (("plan.json", plan), ("saved.json", reports.saved_plan(plan)),
                           ("apply.json", reports.plan_document({"acme": "UI"}, command="apply"))):
        proc = gh_cli(fake_github, "drift-issue", "--report", str(reports.write(tmp_path / name, document)))
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "not a drift report" in proc.stderr and name in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert fake_github.requests() == []
