"""deploy/Dockerfile, checked statically: no image is built here (base images cannot be pulled offline).

The instructions are parsed by BuildKit's own parser (the ``dockerfile`` package) and held to what the deployment relies on: pinned
bases, a numeric non-root user that matches the StatefulSet, the ``reconciler`` entry point with a
default ``watch`` command the real CLI accepts, no secrets, and a build context that keeps the
virtualenv, git metadata and local state out while keeping what ``pip install .`` needs.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib

import pytest

import dockerfile

from tests.deploy_render import DOCKERFILE, ROOT, dockerfile_commands, final_stage, find, pod_spec, render
from tests.watch_contract import parse_with_real_cli, real_watch_command, split_watch_args

COMMANDS = dockerfile_commands()
FINAL = final_stage(COMMANDS)
SECRETISH = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


def _last(keyword: str) -> dockerfile.Command:
    found = [command for command in FINAL if command.cmd == keyword]
    assert found, f"no {keyword} in the final stage"
    return found[-1]


def _exec_form(keyword: str) -> list[str]:
    command = _last(keyword)
    assert command.json, f"{command.original}: use the exec form (a JSON array) so signals reach the daemon"
    return list(command.value)


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern.lstrip("/")) for pattern in _dockerignore())


def test_every_base_image_is_pinned_to_a_version():
    stages = {c.value[-1] for c in COMMANDS if c.cmd == "FROM" and len(c.value) == 3}
    for command in COMMANDS:
        if command.cmd != "FROM":
            continue
        image = command.value[0]
        if image in stages:
            continue
        assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+", image), f"{image}: pin a full version tag"
        assert not image.endswith(":latest")


def test_slim_python_base():
    image = _last("FROM").value[0]
    assert re.match(r"python:3\.1[1-9][\d.]*-slim", image), image


def test_runs_as_a_numeric_non_root_user_matching_the_statefulset():
    user = _last("USER").value[0]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0, f"USER {user}: numeric and not root, so runAsNonRoot can check it"
    assert not gid or (gid.isdigit() and int(gid) > 0)
    (sts,) = find(render(), "StatefulSet")
    (container,) = [c for c in pod_spec(sts)["containers"] if c["name"] == "reconciler"]
    assert container["securityContext"]["runAsUser"] == int(uid)
    after_user = FINAL[[c.cmd for c in FINAL].index("USER"):]
    assert not [c for c in after_user if c.cmd == "RUN"], "everything installed as root is done before USER"


def test_entrypoint_is_the_console_script_and_cmd_is_a_watch_the_flags_allow():
    assert _exec_form("ENTRYPOINT") == ["reconciler"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert "reconciler" in scripts
    directory, flags = split_watch_args(_exec_form("CMD"))
    assert directory
    host, port = flags["--listen"].rsplit(":", 1)
    assert host == "0.0.0.0", "inside a container the daemon must listen on all interfaces"
    assert port in _last("EXPOSE").value


def test_default_cmd_is_accepted_by_the_real_watch_command(tmp_path):
    if real_watch_command() is None:
        pytest.skip("`reconciler watch` is not in this build yet (issue 8): CMD was checked against the "
                    "documented flag list only; this test runs for real once the command exists")
    params = parse_with_real_cli(_exec_form("CMD"), existing_dir=str(tmp_path))
    assert "0.0.0.0:8080" in params.values()


def test_installs_the_project_with_pip():
    runs = " ".join(c.value[0] for c in COMMANDS if c.cmd == "RUN")
    assert re.search(r"pip (install|wheel)\b.*\s\.(\s|$)", runs), "the image must install this project"


def test_no_remote_add_and_no_secrets():
    for command in COMMANDS:
        assert command.cmd != "ADD", f"{command.original}: use COPY (ADD fetches URLs and unpacks archives)"
        if command.cmd == "ENV":
            names = command.value[::2]
        elif command.cmd == "ARG":
            names = tuple(v.split("=", 1)[0] for v in command.value)
        else:
            continue
        for name in names:
            assert not SECRETISH.search(name), f"{command.cmd} {name}: secrets come from the runtime environment"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "POLYAI_API_KEY=" not in text and "--secret" not in text


def test_build_context_keeps_local_state_out_and_what_the_build_copies_in():
    for must_ignore in (".venv", ".git", ".reconciler"):
        assert _ignored(must_ignore), f".dockerignore must exclude {must_ignore}"
    for command in COMMANDS:
        if command.cmd != "COPY" or any(flag.startswith("--from=") for flag in command.flags):
            continue
        *sources, _dest = command.value
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not _ignored(source), f"COPY {source}: excluded by .dockerignore"
