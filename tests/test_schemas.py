"""JSON Schemas of reconciler.yaml and policy files: generated, shipped, copied, and pointed at."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler import settings
from reconciler.repository import settingsfile
from reconciler.checks import schemas
from reconciler.model import ClientEnv

ROOT = Path(__file__).resolve().parents[1]
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


def example_files() -> dict[str, list[Path]]:
    return {"settings": [ROOT / "reconciler.yaml"], "policy": sorted((ROOT / "policies").glob("*.yaml"))}


@pytest.mark.parametrize("name", ["settings", "policy"])
def test_cli_prints_the_schema_and_the_repository_copy_is_in_step(name):
    proc = subprocess.run([sys.executable, "-m", "reconciler", "schema", name], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    copy = ROOT / schemas.REPOSITORY_COPIES[name]
    assert proc.stdout == copy.read_text(encoding="utf-8"), (
        f"{copy.relative_to(ROOT)} is stale: run `reconciler schema {name} > {copy.relative_to(ROOT)}`")
    schema = json.loads(proc.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == schemas.DRAFT7
    assert schema["$id"].startswith("urn:rtc-reconciler:")          # no invented web address


def test_settings_schema_is_generated_from_the_model():
    schema = schemas.settings_schema()
    assert set(schema["properties"]) == set(settingsfile.SettingsFile.model_fields)
    api = schema["definitions"][schema["properties"]["api"]["anyOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert set(api["properties"]) == set(settingsfile.ApiFile.model_fields)
    assert schema["properties"]["environments"]["propertyNames"]["enum"] == list(ClientEnv.names())
    assert schema["additionalProperties"] is False and api["additionalProperties"] is False


@pytest.mark.parametrize("text", [
    "api: {url: local}\nconcurency: 4\n",
    "api: {region: mars}\n",
    "api: {url: local}\nconcurrency: 0\n",
    "api: {url: local}\nenvironments: {prod: {sync: auto}}\n",
    "api: {url: local}\nenvironments: {live: {sync: sometimes}}\n",
    "api: {url: ftp://x}\n",
    "api: {url: local}\nresync: soon\n",
])
def test_schema_rejects_what_the_settings_loader_rejects(tmp_path, text):
    (tmp_path / "reconciler.yaml").write_text(text)
    problems, _ = settings.read_settings_file(tmp_path)
    assert problems, "the loader accepts it"
    errors = list(jsonschema.Draft7Validator(schemas.settings_schema()).iter_errors(yaml.safe_load(text)))
    assert errors, "the schema accepts what the loader rejects"


@pytest.mark.parametrize("name", ["settings", "policy"])
def test_every_example_file_validates_and_points_at_the_repository_copy(name):
    validator = jsonschema.Draft7Validator(schemas.SCHEMAS[name]())
    for path in example_files()[name]:
        text = path.read_text(encoding="utf-8")
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(text))]
        assert errors == [], f"{path.relative_to(ROOT)}: {errors}"
        [target] = MODELINE.findall(text)
        assert text.startswith("# yaml-language-server:"), f"{path.name}: the modeline is not the first line"
        resolved = (path.parent / target).resolve()        # relative to the file, as the language server reads it
        assert resolved == (ROOT / schemas.REPOSITORY_COPIES[name]).resolve(), (path, target)


def test_every_example_schema_is_valid_draft7():
    files = sorted((ROOT / "configs").glob("*/*/schema.yaml"))
    assert files
    for path in files:
        jsonschema.Draft7Validator.check_schema(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_every_example_values_file_validates_against_its_schema():
    pairs = [(p, p.with_name("schema.yaml")) for p in sorted((ROOT / "configs").glob("*/*/values.yaml"))]
    assert pairs
    for values, schema in pairs:
        validator = jsonschema.Draft7Validator(yaml.safe_load(schema.read_text(encoding="utf-8")))
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(values.read_text(encoding="utf-8")))]
        assert errors == [], f"{values.relative_to(ROOT)}: {errors}"


@pytest.mark.parametrize("name,where", [("settings", ROOT), ("policy", ROOT / "policies")])
def test_schema_help_names_a_modeline_that_resolves_from_the_file_and_no_stray_backspace(name, where):
    out = subprocess.run([sys.executable, "-m", "reconciler", "schema", name, "--help"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert "\b" not in out
    [ref] = re.findall(r"\$schema=(\S+)", out)
    assert (where / ref).resolve() == (ROOT / "schemas" / f"{'reconciler' if name == 'settings' else name}"
                                                          f".schema.json").resolve()
