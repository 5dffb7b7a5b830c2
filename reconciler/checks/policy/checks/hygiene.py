"""Check ``schema_hygiene``: the environment's schema is labelled for the people who edit values in the UI.

Every property (top level, nested objects, array items, at any depth) has a
non-empty ``title`` and ``description``; a string property whose name looks
like a phone number (``*phone*``, ``*_number``, ``*transfer_target*``) declares
a ``pattern`` or a ``format``. Findings point at the property in schema.yaml.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from reconciler.model import JsonPath
from reconciler.checks.policy.checks.base import EnvContext, Violation

NEEDS_PATHS = False

#: Names that look like phone numbers (case-insensitive globs); a rule may replace them with ``phone_names``.
PHONE_NAMES = ("*phone*", "*_number", "*transfer_target*")


def validate_args(args: object) -> list[str]:
    if not isinstance(args, dict):
        return ["'schema_hygiene' takes a mapping, usually {}"]
    return []


def properties(schema: Any, prefix: JsonPath = ()) -> Iterator[tuple[str, JsonPath, Mapping[str, Any]]]:
    """Every ``(name, schema_path, property_schema)`` in a schema, depth first, in document order."""
    if not isinstance(schema, Mapping):
        return
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for name, sub in props.items():
            where = prefix + ("properties", name)
            if isinstance(sub, Mapping):
                yield name, where, sub
                yield from properties(sub, where)
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from properties(items, prefix + ("items",))
    elif isinstance(items, list):
        for i, sub in enumerate(items):
            yield from properties(sub, prefix + ("items", i))
    additional = schema.get("additionalProperties")
    if isinstance(additional, Mapping):
        yield from properties(additional, prefix + ("additionalProperties",))


def _is_string(prop: Mapping[str, Any]) -> bool:
    kind = prop.get("type")
    return kind == "string" or (isinstance(kind, list) and "string" in kind)


def looks_like_phone(name: str, globs: tuple[str, ...] = PHONE_NAMES) -> bool:
    return any(fnmatch.fnmatchcase(name.lower(), g.lower()) for g in globs)


def check(ctx: EnvContext) -> Iterator[Violation]:
    if not ctx.env.schema:
        return
    globs = tuple((ctx.rule.args or {}).get("phone_names") or PHONE_NAMES)
    for name, where, prop in properties(ctx.env.schema):
        missing = [k for k in ("title", "description")
                   if not isinstance(prop.get(k), str) or not prop.get(k).strip()]
        if missing:
            yield Violation(f"property '{name}' has no {' and no '.join(missing)} "
                            "(shown to the people who edit values in the UI)", where, where="schema")
        if _is_string(prop) and looks_like_phone(name, globs) and not (prop.get("pattern") or prop.get("format")):
            yield Violation(f"phone-like string property '{name}' declares neither 'pattern' nor 'format' "
                            "(e.g. pattern: '^\\+[1-9][0-9]{7,14}$')", where, where="schema")
