"""Start-up: ``reconciler validate`` of a valid repository loads neither python-jsonschema, asyncio nor pydantic.

jsonschema-rs decides validity (``checks/fastcheck.py``); python-jsonschema (with referencing and
attrs, ~0.1 s of start-up) is imported only through ``checks/lazyjsonschema.py`` when there is
something to explain, and asyncio only by the commands that talk to the API. pydantic (with
``importlib.metadata``, which its plugin scan imports; ~0.15 s) reads only a ``reconciler.yaml`` the
plain reader leaves (``repository/settingsplain.py``), and typer must be one that does not coerce
options through it (below 0.29). The example
repository is the case ``benchmarks/startup_bench.py`` measures; both a first run (no cache) and a
warm one are checked, and so is that the explanations still come when something is wrong.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("jsonschema", "referencing", "asyncio", "pydantic", "importlib.metadata")

PROBE = f"""
import sys
from reconciler.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("EXIT", code, "LOADED", " ".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def _example(into: Path) -> Path:
    into.mkdir()
    for name in ("reconciler.yaml", "configs", "policies"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name)
        else:
            shutil.copy2(source, into / name)
    return into


def _run(root: Path, *args: str) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "POLYAI_"))}
    env["NO_COLOR"] = "1"
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=root)
    status = next(line for line in proc.stdout.splitlines() if line.startswith("EXIT"))
    return status, proc.stdout + proc.stderr


def test_validate_of_the_example_loads_neither_jsonschema_asyncio_nor_pydantic(tmp_path: Path) -> None:
    root = _example(tmp_path / "repo")
    for run in ("first, no cache", "warm cache"):
        status, out = _run(root, "validate", ".")
        assert status == "EXIT 0 LOADED ", (run, out)
    assert "valid: 3 agents, 9 environments checked" in out
    status, _ = _run(root, "validate", ".", "--no-cache")
    assert status == "EXIT 0 LOADED "


def test_a_valid_email_format_is_checked_without_jsonschema(tmp_path: Path) -> None:
    root = _example(tmp_path / "repo")
    env = root / "configs" / "acme-support" / "sandbox"
    schema = env / "schema.yaml"
    schema.write_text(schema.read_text(encoding="utf-8").replace(
        "properties:\n", "properties:\n  contact:\n    type: string\n    format: email\n", 1), encoding="utf-8")
    values = env / "values.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "contact: support@example.com\n", encoding="utf-8")
    status, out = _run(root, "validate", ".", "--no-cache")
    assert status == "EXIT 0 LOADED ", out
    values.write_text(values.read_text(encoding="utf-8").replace("support@example.com", "nobody"), encoding="utf-8")
    status, out = _run(root, "validate", ".", "--no-cache")
    assert status.startswith("EXIT 1 LOADED jsonschema"), out                # explained by the full validator
    assert "[values.invalid] contact:" in out and "'nobody' is not a 'email'" in out, out


def test_an_invalid_value_is_explained_by_the_full_validator(tmp_path: Path) -> None:
    root = _example(tmp_path / "repo")
    values = root / "configs" / "acme-support" / "sandbox" / "values.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "unexpected_key: 1\n", encoding="utf-8")
    status, out = _run(root, "validate", ".")
    assert status.startswith("EXIT 1 LOADED jsonschema referencing"), out
    assert "[values.invalid] unexpected_key: unexpected property 'unexpected_key'" in out


def test_an_invalid_schema_and_policy_file_are_explained(tmp_path: Path) -> None:
    root = _example(tmp_path / "repo")
    schema = root / "configs" / "acme-support" / "sandbox" / "schema.yaml"
    schema.write_text(schema.read_text(encoding="utf-8").replace("type: object", "type: objekt", 1),
                      encoding="utf-8")
    (root / "policies" / "broken.yaml").write_text("name: broken\nseverity: error\nrules: []\nsurprise: 1\n",
                                                   encoding="utf-8")
    status, out = _run(root, "validate", ".")
    assert status.startswith("EXIT 1 LOADED jsonschema"), out
    assert "[schema.invalid]" in out and "'objekt' is not a JSON Schema type" in out
    assert "[policy.invalid]" in out and "unknown key 'surprise'" in out


def test_a_settings_file_the_plain_reader_leaves_is_read_by_pydantic(tmp_path: Path) -> None:
    root = _example(tmp_path / "repo")
    settings_file = root / "reconciler.yaml"
    text = settings_file.read_text(encoding="utf-8")
    settings_file.write_text(text.replace("concurrency: 16", "concurrency: 0"), encoding="utf-8")
    status, out = _run(root, "validate", ".")
    assert status == "EXIT 1 LOADED pydantic importlib.metadata", out
    assert "reconciler.yaml:10: error [settings.invalid] concurrency: Input should be greater than or equal to 1" in out
    settings_file.write_text(text + "history: {keep: 5}\n", encoding="utf-8")      # valid, beyond the plain keys
    status, out = _run(root, "validate", ".")
    assert status == "EXIT 0 LOADED pydantic importlib.metadata", out


def test_an_e164_rule_without_regions_loads_phonenumbers_only_for_a_value() -> None:
    probe = ("import sys\nfrom reconciler.checks.policy.checks import e164\n"
             "print(e164.validate_args({}), 'phonenumbers' in sys.modules)\n"
             "print(e164.problem('+442071838750'), 'phonenumbers' in sys.modules)\n"
             "print(e164.validate_args({'regions': ['XX']}))\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines() == [
        "[] False", "None True",
        "[\"unknown region 'XX' in e164.regions (use ISO 3166 codes such as GB, US)\"]"], proc.stderr
