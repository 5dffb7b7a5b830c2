"""A catalogue of broken repositories: each must give its code at the right file:line and block.

Every case writes a tiny repository into tmp_path (a good base, then the
breakage), runs validation in-process and checks the finding; a few run the
real command as a subprocess to check exit 1 and the json/github output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import cli
from reconciler.checks.validation import validate_repository

AGENT = "configs/agent-a"
LIVE = f"{AGENT}/live"

BASE_SCHEMA = r"""type: object
additionalProperties: false
required: [greeting, phone]
properties:
  greeting: {type: string, title: Greeting, description: What the agent says first.}
  phone: {type: string, title: Phone, description: E.164 number., pattern: '^\+[1-9]\d{6,14}$'}
  mode: {type: string, title: Mode, description: Transfer mode., enum: [blind, warm]}
  retries: {type: integer, title: Retries, description: Retry count., minimum: 0, maximum: 5}
  contact: {type: string, title: Contact, description: Email., format: email}
  transfer:
    type: object
    title: Transfer
    description: Transfer settings.
    required: [target]
    properties:
      target: {type: string, title: Target, description: E.164., pattern: '^\+[1-9]\d{6,14}$'}
  sites:
    type: array
    title: Sites
    description: Sites.
    items:
      type: object
      required: [name, phone]
      properties:
        name: {type: string, title: Name, description: Site name.}
        phone: {type: string, title: Phone, description: E.164., pattern: '^\+[1-9]\d{6,14}$'}
"""

BASE_VALUES = """greeting: Hello
phone: "+442079460000"
"""


def write_repo(root: Path, files: dict[str, str | bytes | None]) -> None:
    """The base repository, then ``files`` (None deletes a file)."""
    base: dict[str, str | bytes | None] = {
        "reconciler.yaml": "api:\n  url: local\n",
        f"{LIVE}/schema.yaml": BASE_SCHEMA,
        f"{LIVE}/values.yaml": BASE_VALUES,
    }
    base.update(files)
    for name, content in base.items():
        path = root / name
        if content is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def values(extra: str) -> dict[str, str]:
    return {f"{LIVE}/values.yaml": BASE_VALUES + extra}


def schema(text: str) -> dict[str, str]:
    return {f"{LIVE}/schema.yaml": text}


BOMB = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

# id: (files, code, file, line)
CASES: dict[str, tuple[dict, str, str | None, int | None]] = {
    "duplicate-key": (values("greeting: Hi again\n"), "yaml.duplicate_key", f"{LIVE}/values.yaml", 3),
    "tab-indentation": ({f"{LIVE}/values.yaml": "greeting: Hello\ntransfer:\n\ttarget: x\n"},
                        "yaml.syntax", f"{LIVE}/values.yaml", 3),
    "syntax-error": ({f"{LIVE}/values.yaml": "greeting: [Hello\nphone: x\n"}, "yaml.syntax",
                     f"{LIVE}/values.yaml", 2),
    "yaml-bomb": ({f"{LIVE}/values.yaml": BOMB}, "yaml.alias_limit", f"{LIVE}/values.yaml", None),
    "recursive-alias": ({f"{LIVE}/values.yaml": "greeting: Hello\nloop: &x [*x]\n"}, "yaml.alias_limit",
                        f"{LIVE}/values.yaml", 2),
    "oversized": ({f"{LIVE}/values.yaml": "greeting: Hello\n# " + "x" * (1024 * 1024) + "\n"},
                  "yaml.too_large", f"{LIVE}/values.yaml", None),
    "non-utf8": ({f"{LIVE}/values.yaml": b"greeting: Hello\nphone: caf\xe9\n"}, "yaml.encoding",
                 f"{LIVE}/values.yaml", 2),
    "python-tag": ({f"{LIVE}/values.yaml": "greeting: !!python/object/apply:os.system [id]\n"},
                   "yaml.tag", f"{LIVE}/values.yaml", 1),
    "custom-tag": (values("retries: !secret 3\n"), "yaml.tag", f"{LIVE}/values.yaml", 3),
    "list-not-mapping": ({f"{LIVE}/values.yaml": "- greeting\n- phone\n"}, "yaml.not_mapping",
                         f"{LIVE}/values.yaml", 1),
    "multi-document": ({f"{LIVE}/schema.yaml": BASE_SCHEMA + "---\ntype: object\n"}, "yaml.multi_document",
                       f"{LIVE}/schema.yaml", None),
    "empty-file": ({f"{LIVE}/values.yaml": "# nothing yet\n"}, "yaml.empty", f"{LIVE}/values.yaml", 1),
    "non-string-key": (values("1: one\n"), "yaml.non_string_key", f"{LIVE}/values.yaml", 3),
    "schema-wrong-type": (schema("type: object\nproperties:\n  a:\n    type: strin\n"), "schema.invalid",
                          f"{LIVE}/schema.yaml", 4),
    "schema-required-not-list": (schema("type: object\nrequired: greeting\n"), "schema.invalid",
                                 f"{LIVE}/schema.yaml", 2),
    "schema-bad-ref": (schema("type: object\nproperties:\n  a:\n    $ref: '#/definitions/nope'\n"),
                       "schema.bad_ref", f"{LIVE}/schema.yaml", 4),
    "schema-remote-ref": (schema("type: object\nproperties:\n  a: {$ref: 'https://example.com/s.json'}\n"),
                          "schema.bad_ref", f"{LIVE}/schema.yaml", 3),
    "schema-bad-regex": (schema("type: object\nproperties:\n  a:\n    type: string\n    pattern: '^(abc'\n"),
                         "schema.bad_regex", f"{LIVE}/schema.yaml", 5),
    "schema-bad-regex-key": (schema("type: object\npatternProperties:\n  '[a-': {type: string}\n"),
                             "schema.bad_regex", f"{LIVE}/schema.yaml", 3),
    "catastrophic-regex": (schema("type: object\nproperties:\n  a:\n    type: string\n"
                                  "    pattern: '^(a|aa)+$'\n"), "schema.regex_timeout", f"{LIVE}/schema.yaml", 5),
    "values-wrong-type": (values("retries: three\n"), "values.invalid", f"{LIVE}/values.yaml", 3),
    "missing-required": ({f"{LIVE}/values.yaml": "greeting: Hello\n"}, "values.invalid",
                         f"{LIVE}/values.yaml", 1),
    "missing-required-nested": (values("transfer:\n  note: x\n"), "values.invalid", f"{LIVE}/values.yaml", 3),
    "enum-violation": (values("mode: cold\n"), "values.invalid", f"{LIVE}/values.yaml", 3),
    "pattern-violation": (values("transfer:\n  target: '07700 900123'\n"), "values.invalid",
                          f"{LIVE}/values.yaml", 4),
    "nested-array-item": (values("sites:\n  - name: A\n    phone: '+442079460001'\n  - name: B\n"
                                 "    phone: 'call us'\n"), "values.invalid", f"{LIVE}/values.yaml", 7),
    "maximum-violation": (values("retries: 9\n"), "values.invalid", f"{LIVE}/values.yaml", 3),
    "format-violation": (values("contact: not-an-email\n"), "values.invalid", f"{LIVE}/values.yaml", 3),
    "additional-property": (values("colour: blue\n"), "values.invalid", f"{LIVE}/values.yaml", 3),
    "unknown-env-dir": ({f"{AGENT}/staging/values.yaml": "a: 1\n"}, "repo.unknown_env", f"{AGENT}/staging", None),
    "bad-agent-id": ({"configs/agent_b/live/values.yaml": "a: 1\n"}, "repo.bad_agent_id", "configs/agent_b", None),
    "yaml-and-yml": ({f"{LIVE}/values.yml": BASE_VALUES}, "repo.ambiguous_file", f"{LIVE}/values.yml", None),
    "settings-unknown-key": ({"reconciler.yaml": "api:\n  url: local\nconcurency: 4\n"}, "settings.unknown_key",
                             "reconciler.yaml", 3),
    "settings-bare-api": ({"reconciler.yaml": "api:\n  url: https://api.poly.ai\n"}, "settings.invalid",
                          "reconciler.yaml", 2),
    "settings-bad-env": ({"reconciler.yaml": "api: {url: local}\nenvironments:\n  prod: {sync: auto}\n"},
                         "settings.invalid", "reconciler.yaml", 3),
    "settings-tab": ({"reconciler.yaml": "api:\n\turl: local\n"}, "yaml.syntax", "reconciler.yaml", 2),
    # issue 12: each used to crash the whole run ("unexpected … this is a bug")
    "recursive-ref": (schema("type: object\nallOf:\n  - $ref: '#'\n"), "schema.recursive_ref",
                      f"{LIVE}/schema.yaml", 3),
    "ref-cycle": (schema("definitions:\n  a: {$ref: '#/definitions/b'}\n  b: {$ref: '#/definitions/a'}\n"
                         "$ref: '#/definitions/a'\n"), "schema.recursive_ref", f"{LIVE}/schema.yaml", 2),
    "huge-integer": (values("retries: " + "9" * 5000 + "\n"), "values.integer_too_large", f"{LIVE}/values.yaml", 3),
    "integer-over-64-bit": (values("retries: 18446744073709551616\n"), "values.integer_too_large",
                            f"{LIVE}/values.yaml", 3),
    "nul-byte": ({f"{LIVE}/values.yaml": b"greeting: Hello\nphone: '+44\x00'\n"}, "yaml.syntax",
                 f"{LIVE}/values.yaml", 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_repository_is_reported_at_file_and_line(tmp_path: Path, case: str) -> None:
    files, code, file, line = CASES[case]
    write_repo(tmp_path, files)
    desired = validate_repository(tmp_path)
    matching = [f for f in desired.findings if f.code == code]
    assert matching, f"{case}: no {code} in {[(f.code, f.file, f.line, f.message) for f in desired.findings]}"
    finding = matching[0]
    assert finding.file == file
    if line is not None:
        assert finding.line == line, finding
    assert finding.blocks
    assert finding.message and "Traceback" not in finding.message


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_repository_exits_1_through_the_command(tmp_path: Path, case: str, capsys) -> None:
    # The real command path (options, rendering, exit code) in-process; a few run as subprocesses below.
    files, code, file, line = CASES[case]
    write_repo(tmp_path, files)
    assert cli.main(["validate", str(tmp_path), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert any(e["code"] == code and e["file"] == file and (line is None or e["line"] == line)
               for e in doc["errors"]), doc


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 25


def test_symlinked_file_outside_the_repository_is_refused_unread(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.yaml"
    secret.write_text("greeting: TOP-SECRET-VALUE\nphone: '+442079460000'\n")
    repo = tmp_path / "repo"
    write_repo(repo, {f"{LIVE}/values.yaml": None})
    (repo / LIVE / "values.yaml").symlink_to(secret)
    desired = validate_repository(repo)
    [finding] = [f for f in desired.findings if f.code == "path.symlink_escape"]
    assert finding.file == f"{LIVE}/values.yaml" and finding.agent == "agent-a" and finding.env == "live"
    assert desired.agents["agent-a"].envs  # the env is known, but nothing was read from outside
    assert desired.agents["agent-a"].envs[next(iter(desired.agents["agent-a"].envs))].values is None
    assert "TOP-SECRET" not in repr(desired)


def test_symlinked_agent_directory_outside_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "agent-x"
    write_repo(tmp_path / "elsewhere-repo", {})
    (outside / "live").mkdir(parents=True)
    (outside / "live" / "values.yaml").write_text("a: 1\n")
    repo = tmp_path / "repo"
    write_repo(repo, {})
    (repo / "configs" / "agent-x").symlink_to(outside, target_is_directory=True)
    desired = validate_repository(repo)
    [finding] = [f for f in desired.findings if f.code == "path.symlink_escape"]
    assert finding.file == "configs/agent-x" and finding.agent == "agent-x" and finding.blocks
    assert "agent-x" not in desired.agents


def test_symlinks_inside_the_repository_are_followed(tmp_path: Path) -> None:
    write_repo(tmp_path, {"shared/live-values.yaml": BASE_VALUES, f"{LIVE}/values.yaml": None})
    (tmp_path / LIVE / "values.yaml").symlink_to(tmp_path / "shared" / "live-values.yaml")
    (tmp_path / "configs" / "agent-b").symlink_to(tmp_path / AGENT, target_is_directory=True)
    desired = validate_repository(tmp_path)
    assert [f for f in desired.findings if f.blocks] == []
    assert desired.agents["agent-b"].envs
    env = next(iter(desired.agents["agent-b"].envs.values()))
    assert env.values["greeting"] == "Hello" and env.values_file == "configs/agent-b/live/values.yaml"


def test_fifo_is_not_read(tmp_path: Path) -> None:
    write_repo(tmp_path, {f"{LIVE}/values.yaml": None})
    os.mkfifo(tmp_path / LIVE / "values.yaml")      # opening it would block forever
    desired = validate_repository(tmp_path)
    assert [f.code for f in desired.findings if f.blocks] == ["path.not_file"]


def test_all_value_errors_are_reported_not_just_the_first(tmp_path: Path) -> None:
    write_repo(tmp_path, values("mode: cold\nretries: 9\ncolour: blue\n"))
    desired = validate_repository(tmp_path)
    found = sorted((f.line, f.path) for f in desired.findings if f.code == "values.invalid")
    assert found == [(3, "mode"), (4, "retries"), (5, "colour")]


def test_values_are_not_checked_against_a_broken_schema(tmp_path: Path) -> None:
    write_repo(tmp_path, {f"{LIVE}/schema.yaml": "type: strin\n", f"{LIVE}/values.yaml": "a: 1\n"})
    codes = {f.code for f in validate_repository(tmp_path).findings}
    assert codes == {"schema.invalid"}


def test_values_without_schema_are_left_to_the_planner(tmp_path: Path) -> None:
    write_repo(tmp_path, {f"{LIVE}/schema.yaml": None, f"{LIVE}/values.yaml": "anything: [1, 2]\n"})
    desired = validate_repository(tmp_path)
    assert desired.findings == ()
    assert desired.agents["agent-a"].envs  # managed: values only


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("RECONCILER_API_URL", None)
    return subprocess.run([sys.executable, "-m", "reconciler", "validate", *args], capture_output=True,
                          text=True, timeout=60, env=env, cwd=cwd)


@pytest.mark.parametrize("case", ["duplicate-key", "yaml-bomb", "settings-unknown-key", "nested-array-item",
                                  "bad-agent-id"])
def test_cli_exits_1_with_the_finding_in_json(tmp_path: Path, case: str) -> None:
    files, code, file, line = CASES[case]
    write_repo(tmp_path, files)
    out = run_cli(str(tmp_path), "--format", "json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["format_version"] == 1 and doc["command"] == "validate"
    hits = [e for e in doc["errors"] if e["code"] == code]
    assert hits and hits[0]["file"] == file
    if line is not None:
        assert hits[0]["line"] == line
    assert set(hits[0]) >= {"message", "file", "line", "path", "code"}


def test_cli_github_annotations(tmp_path: Path) -> None:
    write_repo(tmp_path, CASES["nested-array-item"][0])
    out = run_cli(str(tmp_path), "--format", "github")
    assert out.returncode == 1
    assert (f"::error file={LIVE}/values.yaml,line=7,title=values.invalid::agent-a/live: sites[1].phone: "
            "'call us' does not match") in out.stdout
