"""Reliability: one hostile file blocks only what it concerns, with a located finding (issue 12).

Each of these used to stop the whole fleet with "unexpected … (this is a bug)",
no findings and no JSON: a recursive ``$ref`` (RecursionError), a 5,000-digit
integer (``ValueError: Exceeds the limit (4300 digits)``), an unreadable file or
directory (PermissionError). A NUL byte was reported without a line. Each case
sits next to a healthy agent, which must still be checked (and planned).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import reconciler
from reconciler.checks import isolation
from reconciler.model import ClientEnv, EnvDesired
from reconciler.checks.validation import validate_repository
from tests.e2e_helpers import API_KEY, cli, writes

SANDBOX = "configs/acme/sandbox"
OK_FILES = {"configs/healthy/sandbox/schema.yaml": "type: object\nproperties:\n  greeting: {type: string}\n",
            "configs/healthy/sandbox/values.yaml": "greeting: Hello\n"}


def repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in {"reconciler.yaml": "api:\n  url: local\n", **OK_FILES, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def located(root: Path, code: str) -> list[tuple[str | None, int | None]]:
    desired = validate_repository(root)
    assert not [f for f in desired.findings if f.agent == "healthy" and f.blocks], desired.findings
    assert "healthy" in desired.agents
    assert not [f for f in desired.findings if "this is a bug" in f.message]
    return [(f.file, f.line) for f in desired.findings if f.code == code]


# -- recursive $ref ------------------------------------------------------------------------------------

RECURSIVE = {
    "root-ref": ("$ref: '#'\n", 1),
    "allOf-root": ("type: object\nallOf:\n  - $ref: '#'\n", 3),
    "definitions-cycle": ("definitions:\n  a: {$ref: '#/definitions/b'}\n  b:\n    $ref: '#/definitions/a'\n"
                          "properties:\n  x: {$ref: '#/definitions/a'}\n", 2),
    "not-loop": ("definitions:\n  n:\n    not: {$ref: '#/definitions/n'}\nproperties:\n  x: {$ref: '#/definitions/n'}\n",
                 3),
}


@pytest.mark.parametrize("case", sorted(RECURSIVE))
def test_a_recursive_ref_is_a_finding_at_the_ref_line(tmp_path: Path, case: str) -> None:
    text, line = RECURSIVE[case]
    root = repo(tmp_path, {f"{SANDBOX}/schema.yaml": text, f"{SANDBOX}/values.yaml": "x: {a: 1}\n"})
    found = located(root, "schema.recursive_ref")
    assert (f"{SANDBOX}/schema.yaml", line) in found, found


TREE = """type: object
definitions:
  site:
    type: object
    required: [name]
    properties:
      name: {type: string}
      children: {type: array, items: {$ref: '#/definitions/site'}}
properties:
  root: {$ref: '#/definitions/site'}
"""


def test_a_legitimately_recursive_schema_validates_deep_trees(tmp_path: Path) -> None:
    # 45 levels of sites (90 levels of YAML nesting, near the loader's bound of 100).
    def tree(depth: int, leaf: str) -> dict:
        node: dict = {"name": leaf, "children": []}
        for level in range(depth):
            node = {"name": f"n{level}", "children": [node]}
        return {"root": node}

    for leaf, expect in (("'ok'", []), ("5", ["values.invalid"])):
        text = json.dumps(tree(45, "LEAF")).replace('"LEAF"', leaf)
        root = repo(tmp_path, {f"{SANDBOX}/schema.yaml": TREE, f"{SANDBOX}/values.yaml": text})
        desired = validate_repository(root)
        assert [f.code for f in desired.findings if f.blocks] == expect, desired.findings


def test_the_planner_refuses_to_patch_a_page_whose_live_schema_is_recursive(tmp_path: Path, emulator) -> None:
    # values.yaml only: the PATCH would be validated against the live schema, which never ends.
    emulator.seed("acme", {"sandbox": {"schema": {"type": "object", "allOf": [{"$ref": "#"}]}, "variables": {}}})
    emulator.seed("healthy")
    root = repo(tmp_path, {f"{SANDBOX}/values.yaml": "greeting: Hi\n"})
    proc = cli(root, "plan", ".", "--api-url", emulator.url, "--format", "json", check_codes=(1,))
    results = {(r["agent"], r["env"]): r for r in json.loads(proc.stdout)["results"]}
    [error] = results[("acme", "sandbox")]["errors"]
    assert error["code"] == "plan.live_schema_unusable" and "schema.recursive_ref" in error["message"]
    assert error["file"] == f"{SANDBOX}/values.yaml"
    assert results[("healthy", "sandbox")]["status"] == "changes"
    emulator.reset_stats()
    cli(root, "apply", ".", "--api-url", emulator.url, "--auto-approve", check_codes=(1,))
    assert [w for w in writes(emulator.requests()) if "/acme/" in w[1]] == []
    assert any("/healthy/" in path for _, path in writes(emulator.requests()))


# -- integers beyond what the API can hold ------------------------------------------------------------

@pytest.mark.parametrize("where,text,code,line", [
    ("values.yaml", "greeting: Hi\nn: " + "9" * 5000 + "\n", "values.integer_too_large", 2),
    ("values.yaml", "greeting: Hi\nlist:\n  - 1\n  - " + "1" * 30 + "\n", "values.integer_too_large", 4),
    ("values.yaml", "n: -9223372036854775809\n", "values.integer_too_large", 1),
    ("schema.yaml", "type: object\nproperties:\n  n: {type: integer, maximum: " + "9" * 5000 + "}\n",
     "schema.integer_too_large", 3),
    ("schema.yaml", "type: object\nmaxProperties: " + "7" * 25 + "\n", "schema.integer_too_large", 2),
])
def test_integers_the_api_cannot_hold_are_errors_at_their_line(tmp_path: Path, where: str, text: str, code: str,
                                                               line: int) -> None:
    root = repo(tmp_path, {f"{SANDBOX}/{where}": text})
    assert (f"{SANDBOX}/{where}", line) in located(root, code)


def test_the_largest_64_bit_integers_are_fine(tmp_path: Path) -> None:
    root = repo(tmp_path, {f"{SANDBOX}/values.yaml": "a: 9223372036854775807\nb: -9223372036854775808\n"})
    assert validate_repository(root).findings == ()


def test_a_5000_digit_integer_through_the_real_commands(tmp_path: Path) -> None:
    root = repo(tmp_path, {f"{SANDBOX}/values.yaml": "n: " + "9" * 5000 + "\n"})
    for command in ("validate", "plan"):
        proc = cli(root, command, ".", "--format", "json", check_codes=(1,))
        assert "4300" not in proc.stdout + proc.stderr and "ValueError" not in proc.stderr
        assert "values.integer_too_large" in proc.stdout
        assert "9999999999" not in proc.stdout                         # the digits are not echoed


# -- NUL byte ----------------------------------------------------------------------------------------

def test_a_nul_byte_is_reported_at_its_line(tmp_path: Path) -> None:
    root = repo(tmp_path, {f"{SANDBOX}/values.yaml": b"greeting: Hi\nnote: 'a\x00b'\n"})
    desired = validate_repository(root)
    [finding] = [f for f in desired.findings if f.agent == "acme"]
    assert (finding.code, finding.file, finding.line) == ("yaml.syntax", f"{SANDBOX}/values.yaml", 2)
    assert "U+0000" in finding.message and "position" not in finding.message


# -- unreadable files and directories -----------------------------------------------------------------

@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory another user may enter (the unreadable cases run as 'nobody' when the tests run as root)."""
    path = Path(tempfile.mkdtemp(prefix="reconciler-unreadable-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["chmod", "-R", "u+rwX", str(path)], check=False)
    subprocess.run(["rm", "-rf", str(path)], check=False)


def _unprivileged_prefix() -> list[str]:
    """How to run a command as a user that file permissions apply to (root ignores them: 'nobody')."""
    if os.getuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv (util-linux): cannot drop privileges to test permissions")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _unprivileged_env(home: Path) -> dict[str, str]:
    env = dict(os.environ, POLYAI_API_KEY=API_KEY, NO_COLOR="1", HOME=str(home))
    env.pop("RECONCILER_API_URL", None)
    return env


def _require_unprivileged_cli(where: Path) -> None:
    """Skip, naming the reason, unless the unprivileged user can run this checkout's CLI on ``where``.

    As root, the CLI runs as 'nobody', which must reach this interpreter, its packages, this
    checkout's ``reconciler`` and ``where`` by its absolute path: a clone (or ``$TMPDIR``) under a
    directory only root can enter, such as a 0700 home or temporary directory, does not allow that,
    and the run would print nothing instead of a report. That is a property of where the clone
    lives, not of the code under test.
    """
    prefix = _unprivileged_prefix()
    if not prefix:
        return
    marker = where / "probe.txt"
    marker.write_text("ok\n")
    marker.chmod(0o644)
    probe = ("import pathlib, sys, reconciler; print(pathlib.Path(reconciler.__file__).resolve()); "
             "print(pathlib.Path(sys.argv[1]).read_text().strip())")
    runs = {(sys.executable, "-m", "reconciler", "--version"): reconciler.__version__,
            (sys.executable, "-c", probe, str(marker)): f"{Path(reconciler.__file__).resolve()}\nok"}
    try:
        for command, want in runs.items():
            proc = subprocess.run([*prefix, *command], cwd=where, env=_unprivileged_env(where),
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0 or not proc.stdout.strip().endswith(want):
                what = "python -m reconciler --version" if "-m" in command else f"reading {marker}"
                detail = (proc.stderr.strip().splitlines() or [proc.stdout.strip() or "no output"])[-1]
                pytest.skip(f"the unprivileged user (uid 65534) cannot run this checkout's CLI: {what} exited "
                            f"{proc.returncode} ({detail[:200]}); put the clone and $TMPDIR in directories "
                            "other users can enter (e.g. mode 0755) to run this permission test")
    finally:
        marker.unlink()


def _as_unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI as a process that file permissions apply to (root ignores them: run it as 'nobody')."""
    return subprocess.run([*_unprivileged_prefix(), sys.executable, "-m", "reconciler", *args], cwd=cwd,
                          env=_unprivileged_env(cwd), capture_output=True, text=True, timeout=120)


def test_unreadable_file_and_directories_are_path_unreadable(shared_tmp: Path) -> None:
    _require_unprivileged_cli(shared_tmp)
    root = repo(shared_tmp / "repo", {
        f"{SANDBOX}/values.yaml": "greeting: Hi\n",
        "configs/beta/sandbox/values.yaml": "greeting: Hi\n",
        "configs/gamma/sandbox/values.yaml": "greeting: Hi\n"})
    subprocess.run(["chmod", "-R", "a+rwX", str(shared_tmp)], check=True)
    (root / SANDBOX / "values.yaml").chmod(0)           # a file
    (root / "configs" / "beta").chmod(0)                # an agent directory
    (root / "configs" / "gamma" / "sandbox").chmod(0)   # an environment directory
    proc = _as_unprivileged("validate", ".", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert "this is a bug" not in proc.stderr and "Traceback" not in proc.stderr
    found = {(e["code"], e["file"]) for e in json.loads(proc.stdout)["errors"]}
    assert found == {("path.unreadable", f"{SANDBOX}/values.yaml"), ("path.unreadable", "configs/beta"),
                     ("path.unreadable", "configs/gamma/sandbox")}
    plan = _as_unprivileged("plan", ".", "--format", "json", cwd=root)
    assert plan.returncode == 1, plan.stderr
    statuses = {(r["agent"], r["env"]): r["status"] for r in json.loads(plan.stdout)["results"]}
    assert statuses[("acme", "sandbox")] == statuses[("beta", "sandbox")] == "error"
    assert statuses[("gamma", "sandbox")] == "error"
    assert statuses[("healthy", "sandbox")] == "changes"


# -- the safety net ----------------------------------------------------------------------------------

def test_an_unexpected_exception_in_one_environment_becomes_a_finding_there() -> None:
    env = EnvDesired(agent="acme", env=ClientEnv.LIVE)

    def broken() -> list:
        raise KeyError("SECRET-CANARY")

    [finding] = isolation.contained(broken, env, "checking the schema and values")
    assert (finding.code, finding.agent, finding.env) == ("check.failed", "acme", "live") and finding.blocks
    assert "SECRET" not in finding.message and "KeyError" in finding.message
