"""Read ``policies/*.yaml`` into :class:`~reconciler.checks.policy.model.Policy` values, or into findings.

Called by the engine (``check_repository``/``check_plan``) and the
``reconciler policies`` command. Each file goes through three gates, and a file
that fails any of them is not evaluated at all; its problems become
``policy.invalid`` error findings with ``agent=None`` at file:line, which
``DesiredState.global_errors`` treats as blocking the whole run:

1. safe YAML (:func:`reconciler.repository.yamlsafe.load_yaml`: syntax, duplicate keys, tags …);
2. the shipped JSON Schema ``policy.schema.json`` (unknown keys, types, a rule
   with zero or two checks …), located through the file's source map;
3. semantic checks the schema cannot express: path syntax, regexes, the
   rule's JSON Schema, globs, environment names, rule ids, waiver dates.

Evaluating the rules is left to :mod:`reconciler.checks.policy.engine`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.checks import fastcheck, lazyjsonschema
from reconciler.repository import safepath, yamlsafe
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv, Finding, JsonPath, Severity, SourceMap, format_path
from reconciler.checks.policy import paths as _paths
from reconciler.checks.policy.checks import CHECKS
from reconciler.checks.policy.model import CHECK_KEYS, Policy, PolicySet, Rule, Selector, Waiver, matches_any

if TYPE_CHECKING:
    import jsonschema

POLICY_DIR = "policies"
_AGENT_GLOB = re.compile(r"^[A-Za-z0-9*?!\[\]-]+$")


@functools.cache
def policy_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, shipped as package data."""
    text = resources.files("reconciler.checks.policy").joinpath("policy.schema.json").read_text("utf-8")
    return json.loads(text)


def policy_files(root: Path) -> list[Path]:
    directory = Path(root) / POLICY_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("."))


def load_policies(root: Path) -> PolicySet:
    """Every policy under ``root/policies``; malformed files become findings instead."""
    root = Path(root)
    policies: list[Policy] = []
    findings: list[Finding] = []
    files: dict[str, int] = {}
    for path in policy_files(root):
        try:
            data, smap = yamlsafe.load_yaml(path, root)
        except ConfigError as exc:
            findings.append(_invalid(exc.message, exc.file or safepath.relative_name(path, root), exc.line))
            continue
        findings.extend(yamlsafe.note_findings(smap))
        policy, problems = parse_policy(data, smap)
        findings.extend(problems)
        if policy is not None:
            policies.append(policy)
            files[smap.file] = len(policy.rules)
    findings.extend(_duplicate_names(policies))
    return PolicySet(policies=tuple(policies), findings=tuple(findings), files=files)


def parse_policy(data: Any, smap: SourceMap) -> tuple[Policy | None, list[Finding]]:
    """One policy file's data (from YAML) -> a Policy, or None and the findings that say why."""
    data = _normalise(data)
    name = data.get("name") if isinstance(data, dict) and isinstance(data.get("name"), str) else None
    problems = [_invalid(msg, smap.file, _line(smap, where), where, name) for where, msg in schema_errors(data)]
    if problems:
        return None, problems
    problems = [_invalid(msg, smap.file, _line(smap, where), where, name) for where, msg in semantic_errors(data)]
    if problems:
        return None, problems
    return _build(data, smap), []


def _normalise(data: Any) -> Any:
    # A YAML date written unquoted may arrive as a date object from other loaders; the format is a string.
    if isinstance(data, dict):
        for waiver in data.get("exceptions") or ():
            if isinstance(waiver, dict) and isinstance(waiver.get("expires"), _dt.date):
                waiver["expires"] = waiver["expires"].isoformat()
    return data


def _line(smap: SourceMap, where: JsonPath) -> int:
    line = smap.key_line_of(where) if where and isinstance(where[-1], str) else smap.line_of(where)
    return line or 1                # a problem with the file as a whole points at its first line


def _invalid(message: str, file: str, line: int | None, where: JsonPath = (), policy: str | None = None) -> Finding:
    return Finding(severity=Severity.ERROR, code="policy.invalid", message=message, file=file, line=line,
                   path=format_path(where) or None, policy=policy, rule_file=file, rule_line=line)


# -- gate 2: the JSON Schema -----------------------------------------------------------------------

def schema_errors(data: Any) -> list[tuple[JsonPath, str]]:
    """(location, message) for every way ``data`` breaks the policy file schema, in document order.

    jsonschema-rs says "valid" (the usual case) without python-jsonschema, which only explains.
    """
    if fastcheck.is_valid(policy_schema(), data):
        return []
    validator = lazyjsonschema.fullvalidator().draft7_validator(policy_schema())
    out: list[tuple[JsonPath, str]] = []
    for error in validator.iter_errors(data):
        out.extend(_explain(error))
    return sorted(dict.fromkeys(out), key=lambda item: [str(p) for p in item[0]])


def _explain(error: jsonschema.ValidationError) -> Iterator[tuple[JsonPath, str]]:
    where = tuple(error.absolute_path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = sorted(error.schema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield where + (key,), f"unknown key '{key}' (allowed here: {', '.join(known)})"
    elif error.validator == "oneOf" and isinstance(instance, dict):
        present = [k for k in CHECK_KEYS if k in instance]
        rule = f"rule '{instance.get('id')}'" if isinstance(instance.get("id"), str) else "rule"
        if not present:
            yield where, f"{rule} has no check; give exactly one of: {', '.join(CHECK_KEYS)}"
        elif len(present) > 1:
            yield where, f"{rule} has {len(present)} checks ({', '.join(present)}); a rule has exactly one"
    elif where and where[-1] == "expires" and error.validator in ("pattern", "type"):
        yield where, f"expires {instance!r} is not a date in YYYY-MM-DD form (quote it: \"2026-12-31\")"
    elif error.validator == "minProperties" and where and where[-1] == "blast_radius":
        yield where, "blast_radius needs max_agents and/or max_percent, e.g. {max_percent: 25, max_agents: 1}"
    elif error.validator == "required":
        yield where, f"{error.message} ({_context(where)})"
    else:
        yield where, f"{format_path(where) or 'file'}: {error.message}"


def _context(where: JsonPath) -> str:
    return f"in {format_path(where)}" if where else "at the top level"


# -- gate 3: semantic checks -----------------------------------------------------------------------

def semantic_errors(data: dict[str, Any]) -> list[tuple[JsonPath, str]]:
    out: list[tuple[JsonPath, str]] = []
    out += _selector_errors(data.get("match") or {}, ("match",))
    seen: set[str] = set()
    for i, rule in enumerate(data["rules"]):
        out += _rule_errors(rule, ("rules", i))
        if rule["id"] in seen:
            out.append((("rules", i, "id"), f"duplicate rule id '{rule['id']}' in this policy"))
        seen.add(rule["id"])
    for j, waiver in enumerate(data.get("exceptions") or ()):
        out += _waiver_errors(waiver, ("exceptions", j), seen)
    return out


def _rule_errors(rule: dict[str, Any], where: JsonPath) -> list[tuple[JsonPath, str]]:
    check = next(k for k in CHECK_KEYS if k in rule)
    module = CHECKS[check]
    out = [(where + (check,), msg) for msg in module.validate_args(rule[check])]
    if module.NEEDS_PATHS and not rule.get("paths"):
        out.append((where, f"rule '{rule['id']}': check '{check}' needs 'paths' (where to read values)"))
    if not module.NEEDS_PATHS and "paths" in rule:
        out.append((where + ("paths",), f"rule '{rule['id']}': check '{check}' does not read 'paths'; remove it"))
    for k, text in enumerate(rule.get("paths") or ()):
        try:
            _paths.parse(text)
        except _paths.PathError as exc:
            out.append((where + ("paths", k), f"invalid path: {exc}"))
    return out


def _selector_errors(selector: dict[str, Any], where: JsonPath) -> list[tuple[JsonPath, str]]:
    out = []
    for k, glob in enumerate(selector.get("agents") or ()):
        if not _AGENT_GLOB.match(glob) or glob.count("[") != glob.count("]"):
            out.append((where + ("agents", k), f"bad agent glob {glob!r} (letters, digits, '-', and * ? [ ])"))
    for k, glob in enumerate(selector.get("environments") or ()):
        if not matches_any_env(glob):
            out.append((where + ("environments", k),
                        f"environment glob {glob!r} matches no environment ({', '.join(ClientEnv.names())})"))
    return out


def matches_any_env(glob: str) -> bool:
    return any(matches_any(env, (glob,)) for env in ClientEnv.names())


def _waiver_errors(waiver: dict[str, Any], where: JsonPath, rule_ids: set[str]) -> list[tuple[JsonPath, str]]:
    out = _selector_errors(waiver, where)
    if waiver["rule"] not in rule_ids:
        out.append((where + ("rule",), f"waiver names rule '{waiver['rule']}', which this policy does not have "
                                       f"(rules: {', '.join(sorted(rule_ids))})"))
    try:
        _dt.date.fromisoformat(waiver["expires"])
    except ValueError:
        out.append((where + ("expires",), f"expires {waiver['expires']!r} is not a real date (YYYY-MM-DD)"))
    return out


# -- building the values ---------------------------------------------------------------------------

def _selector(data: dict[str, Any]) -> Selector:
    return Selector(agents=tuple(data.get("agents") or ("*",)),
                    environments=tuple(data.get("environments") or ("*",)))


def _build(data: dict[str, Any], smap: SourceMap) -> Policy:
    rules = []
    for i, raw in enumerate(data["rules"]):
        check = next(k for k in CHECK_KEYS if k in raw)
        rules.append(Rule(id=raw["id"], check=check, args=raw[check], paths=tuple(raw.get("paths") or ()),
                          severity=Severity(raw["severity"]) if "severity" in raw else None,
                          description=raw.get("description"), line=smap.line_of(("rules", i))))
    waivers = tuple(
        Waiver(rule=w["rule"], selector=_selector(w), reason=w["reason"],
               expires=_dt.date.fromisoformat(w["expires"]), line=smap.line_of(("exceptions", j)))
        for j, w in enumerate(data.get("exceptions") or ()))
    return Policy(name=data["name"], file=smap.file, severity=Severity(data.get("severity", "error")),
                  selector=_selector(data.get("match") or {}), rules=tuple(rules), exceptions=waivers,
                  description=data.get("description"), line=smap.line_of(("name",)))


def _duplicate_names(policies: list[Policy]) -> list[Finding]:
    first: dict[str, Policy] = {}
    out = []
    for policy in policies:
        if policy.name in first:
            out.append(_invalid(f"policy name '{policy.name}' is also used by {first[policy.name].file}; "
                                "names must be unique", policy.file, policy.line, ("name",), policy.name))
        first.setdefault(policy.name, policy)
    return out
