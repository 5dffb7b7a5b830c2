"""End to end: what you write is what goes live (CLI subprocesses against the loopback emulator).

`country: NO` / `+441632960001` / `17:30` / `0644` / `off` plan and apply as the strings written,
with a yaml.ambiguous warning at each line that quoting silences; `.nan`, `.inf` and
`!!int three` are errors at file:line and apply sends nothing.
"""

from __future__ import annotations

import pytest
from e2e_helpers import cli, cli_json, write_settings, writes

SCHEMA = """\
type: object
additionalProperties: false
properties:
  country: {type: string, enum: [GB, US, 'NO', SE]}
  fallback_number: {type: string, pattern: '^\\+[1-9][0-9]{7,14}$'}
  close_time: {type: string}
  pin: {type: string}
  greeting: {type: string}
  ratio: {type: number}
"""

VALUES = """\
country: NO
fallback_number: +441632960001
close_time: 17:30
pin: 0644
greeting: off
"""

WRITTEN = {"country": "NO", "fallback_number": "+441632960001", "close_time": "17:30", "pin": "0644",
           "greeting": "off"}


def repo_with(root, url, values: str):
    write_settings(root, url)
    env = root / "configs" / "acme" / "sandbox"
    env.mkdir(parents=True)
    (env / "schema.yaml").write_text(SCHEMA, encoding="utf-8")
    (env / "values.yaml").write_text(values, encoding="utf-8")
    return root


def test_ambiguous_scalars_plan_and_apply_as_the_strings_written(tmp_path, emulator):
    emulator.seed("acme")
    repo = repo_with(tmp_path / "repo", emulator.url, VALUES)
    code, report = cli_json(repo, "plan", str(repo))
    assert code == 2
    found = report["findings"] + [w for r in report["results"] for w in r["warnings"]]
    warned = sorted((w["file"], w["line"], w["path"]) for w in found if w["code"] == "yaml.ambiguous")
    values_file = "configs/acme/sandbox/values.yaml"
    assert warned == [(values_file, 1, "country"), (values_file, 2, "fallback_number"), (values_file, 3, "close_time"),
                      (values_file, 4, "pin"), (values_file, 5, "greeting")]
    sandbox = next(r for r in report["results"] if r["env"] == "sandbox")
    assert sandbox["variables"]["patch"] == WRITTEN                     # the plan PATCHes the strings
    text = cli(repo, "plan", str(repo), check_codes=(2,)).stdout
    assert """configs/acme/sandbox/values.yaml:1: warning [yaml.ambiguous] country: 'NO' is read as the string "NO\"""" \
        in text

    cli(repo, "apply", str(repo), "--auto-approve", check_codes=(0,))
    assert emulator.peek("acme", "sandbox")["variables"] == WRITTEN


def test_quoting_silences_the_warning(tmp_path, emulator):
    quoted = "".join(f"{k}: '{v}'\n" for k, v in WRITTEN.items())
    repo = repo_with(tmp_path / "repo", emulator.url, quoted)
    code, report = cli_json(repo, "validate", str(repo))
    assert code == 0
    assert not [w for w in report["warnings"] if w["code"] == "yaml.ambiguous"]


@pytest.mark.parametrize("line,code", [("ratio: .nan", "yaml.non_finite"), ("ratio: -.inf", "yaml.non_finite"),
                                       ("ratio: !!int three", "yaml.bad_literal")])
def test_non_json_values_are_errors_at_their_line_and_apply_sends_nothing(tmp_path, emulator, line, code):
    emulator.seed("acme")
    repo = repo_with(tmp_path / "repo", emulator.url, "greeting: hello\n" + line + "\n")
    rc, report = cli_json(repo, "validate", str(repo))
    assert rc == 1
    [error] = report["errors"]
    assert (error["code"], error["file"], error["line"]) == (code, "configs/acme/sandbox/values.yaml", 2)
    emulator.reset_stats()
    proc = cli(repo, "apply", str(repo), "--auto-approve", check_codes=(1,))
    assert "bug" not in proc.stdout + proc.stderr
    assert writes(emulator.requests()) == []
