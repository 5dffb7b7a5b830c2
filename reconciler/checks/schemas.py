"""The JSON Schemas of the files users write: ``reconciler.yaml`` and ``policies/*.yaml``.

Printed by ``reconciler schema settings|policy`` and copied into a config
repository's ``schemas/`` directory, where the ``# yaml-language-server:
$schema=…`` line of each file points (editors then complete and check keys).

- the settings schema is *generated* from the pydantic model that reads
  ``reconciler.yaml`` (:class:`reconciler.repository.settingsfile.SettingsFile`), so it is
  never written twice; it is rewritten to Draft 7 (``definitions``), the
  draft the policy schema and YAML language servers use;
- the policy schema is the one the policy loader validates with
  (``reconciler/checks/policy/policy.schema.json``, package data).

Both carry an ``$id`` that is a URN, not a URL: nothing is published at a
web address, so none is pretended.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.checks.policy import loader as policy_loader
from reconciler.repository import settingsfile

DRAFT7 = "http://json-schema.org/draft-07/schema#"
SETTINGS_ID = "urn:rtc-reconciler:schema:settings"
#: Schema name -> the repository-relative copy the example repository points at.
REPOSITORY_COPIES = {"settings": "schemas/reconciler.schema.json", "policy": "schemas/policy.schema.json"}


def settings_schema() -> dict[str, Any]:
    """The schema of ``reconciler.yaml``, generated from the settings model."""
    generated = settingsfile.SettingsFile.model_json_schema(ref_template="#/definitions/{model}")
    definitions = generated.pop("$defs", {})
    schema = {"$schema": DRAFT7, "$id": SETTINGS_ID, **generated}
    if definitions:
        schema["definitions"] = definitions
    return _tidy(schema)


def policy_schema() -> dict[str, Any]:
    """The schema of ``policies/*.yaml`` (the one the policy loader validates with)."""
    return policy_loader.policy_schema()


SCHEMAS = {"settings": settings_schema, "policy": policy_schema}


def render(name: str) -> str:
    """The schema as the file in ``schemas/`` holds it (2-space JSON, trailing newline)."""
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False) + "\n"


def _tidy(node: Any) -> Any:
    """Drop pydantic's auto titles ("Url") and ``default: null``: noise in an editor's hover."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "default" and value is None:
                continue
            if key == "title" and isinstance(value, str) and "properties" not in node and "enum" not in node \
                    and "description" in node:
                continue
            out[key] = _tidy(value)
        return out
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node
