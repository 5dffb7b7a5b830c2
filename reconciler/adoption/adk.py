"""The ADK layout in and out: ``import --from-adk PATH`` and ``export --adk DIR``.

PolyAI's ADK (``polyai-adk``, its ``poly rtc pull/push``) keeps one project per
agent: ``project.yaml`` at the project root (``project_id``, ``account_id``,
``region`` as the ADK names regions: ``us-1``, ``uk-1``, ``euw-1``, ``studio``)
and the real-time configuration in
``real_time_configuration/<adk env>/{schema.json,data.json}``. This module maps
it to and from ``configs/<agent>/<env>/{schema,values}.yaml``:

=====================  ================
ADK directory          repository
=====================  ================
``draft_and_sandbox``  ``sandbox``
``pre_release``        ``pre-release``
``live``               ``live``
=====================  ================

Import reads the JSON strictly (UTF-8, at most 1 MiB, no duplicate keys, no
NaN) and writes YAML with :mod:`reconciler.repository.yamlwrite`; the agent id
is ``project.yaml``'s ``project_id`` (the folder name only when there is no
project file). Export writes what the ADK can load and push: ``project.yaml``
(kept when it already names this agent), and for each environment present in
the repository BOTH ``schema.json`` and ``data.json`` (``{}`` for a half the
repository does not manage: ``poly rtc push`` needs both), written as the ADK
writes JSON — sorted keys, 2-space indent, non-ASCII kept, a trailing newline —
so the next ``poly rtc pull`` changes nothing. An existing file holding the same
JSON in another key order is not "other content". The ADK files are already
files the team holds, so values are copied as they are (sensitive ones
included); only an import from *live* leaves sensitive values out. Called by
``cli/adopt.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from reconciler.adoption import importer as adoption
from reconciler import settings
from reconciler.repository import loader, safefile, writer as repowrite
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv

RTC_DIR = "real_time_configuration"
#: The ADK's project file, at the project root.
PROJECT_FILE = "project.yaml"
#: ADK environment directory -> repository environment.
ADK_ENVS = {"draft_and_sandbox": ClientEnv.SANDBOX, "pre_release": ClientEnv.PRE_RELEASE, "live": ClientEnv.LIVE}
#: ADK file -> repository file stem.
ADK_FILES = {"schema.json": "schema", "data.json": "values"}
MAX_BYTES = 1024 * 1024


def rtc_dir(path: Path) -> Path:
    """The ``real_time_configuration`` directory of an ADK project (or that directory itself)."""
    path = Path(path)
    if (path / RTC_DIR).is_dir():
        return path / RTC_DIR
    if path.name == RTC_DIR and path.is_dir():
        return path
    if not path.exists():
        raise ConfigError(f"{path}: no such directory; give the ADK project directory", code="adk.layout")
    raise ConfigError(f"{path}: no {RTC_DIR}/ directory here; give the ADK project directory", code="adk.layout")


def _located(file: str | None, line: int | None, message: str) -> str:
    """``file:line: message`` where there is a file (a finding without one is just its message)."""
    if not file:
        return message
    return f"{file}:{line}: {message}" if line else f"{file}: {message}"


def project_root(path: Path) -> Path:
    """The ADK project directory of ``path`` (the project, or its ``real_time_configuration``)."""
    project = Path(path).resolve()
    return project.parent if project.name == RTC_DIR else project


def read_project(path: Path) -> dict[str, Any]:
    """The ADK project's ``project.yaml`` as a mapping ({} when there is none)."""
    file = project_root(path) / PROJECT_FILE
    if not file.is_file():
        return {}
    try:
        if file.stat().st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        data = yaml.safe_load(file.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"not a readable ADK project file: {exc}", file=str(file), code="adk.project") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping (project_id, account_id, region)", file=str(file),
                          code="adk.project")
    return data


def project_agent(path: Path, agent: str | None = None) -> str:
    """The agent id an ADK project stands for: ``project.yaml``'s ``project_id``, else its folder name.

    ``agent`` (``--agent``) must agree with ``project_id`` when both are there.
    """
    project_id = read_project(path).get("project_id")
    if project_id not in (None, ""):
        found = _agent_id(str(project_id), f"project_id {project_id!r} of {project_root(path) / PROJECT_FILE}")
        if agent is not None and agent != found:
            raise ConfigError(f"--agent {agent} does not match the ADK project's project_id {found!r} "
                              f"({project_root(path) / PROJECT_FILE}); leave --agent out or fix it",
                              code="adk.agent")
        return found
    if agent is not None:
        return repowrite.check_agent_id(agent)
    name = project_root(path).name
    return _agent_id(name, f"directory {name!r}")


def _agent_id(candidate: str, what: str) -> str:
    try:
        return repowrite.check_agent_id(candidate)
    except ConfigError:
        raise ConfigError(f"cannot tell the agent id from the ADK project ({what} is not an agentId); "
                          "pass --agent ID", code="adk.agent") from None


def read_json(path: Path) -> Any:
    """One ADK JSON file, strictly: an object, UTF-8, no duplicate keys, no NaN/Infinity."""
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ValueError(f"duplicate key {key!r}")
            out[key] = value
        return out

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        data = safefile.parse_json(safefile.read_text(path, limit=MAX_BYTES, what="ADK file"), source=str(path),
                                   what="ADK file", loads=lambda text: json.loads(
                                       text, object_pairs_hook=no_duplicates, parse_constant=no_constant))
    except ConfigError as exc:
        raise ConfigError(f"not readable JSON: {exc.message}", file=str(path), line=exc.line,
                          code="adk.json") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(f"not readable JSON: {exc}", file=str(path), line=line, code="adk.json") from None
    if not isinstance(data, dict):
        raise ConfigError("top level must be a JSON object", file=str(path), code="adk.json")
    return data


def import_adk(path: Path, root: Path, *, agent: str | None = None, force: bool = False) -> adoption.AgentImport:
    """Write an ADK project's pages into ``root/configs/<agent>/``."""
    source = rtc_dir(path)
    agent = project_agent(path, agent)
    files: dict[str, str] = {}
    dirs: list[str] = []
    for adk_env, env in ADK_ENVS.items():
        env_path = source / adk_env
        if not env_path.is_dir():
            continue
        parts = {stem: read_json(env_path / name) for name, stem in ADK_FILES.items() if (env_path / name).is_file()}
        # `{}` is what the ADK holds for a half nobody set: like an empty live page, it stays unmanaged
        # (managing it would PUT an empty schema over live, or call every live value an orphan).
        env_files, _ = adoption.page_files(agent, env, parts.get("schema") or {}, parts.get("values") or {},
                                           keep_sensitive=True)
        files.update(env_files)
        if env_files:
            dirs.append(repowrite.env_dir(agent, env))
    if not files:
        raise ConfigError(f"{source}: no schema.json or data.json under {', '.join(ADK_ENVS)}", code="adk.layout")
    written = repowrite.write_files(root, files, force=force, replace_dirs=dirs)
    return adoption.AgentImport(agent, written=tuple(written))


def adk_json(data: Any) -> str:
    """JSON text as the ADK writes it: sorted keys, 2-space indent, non-ASCII kept, a trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_adk(root: Path, agent: str, out: Path, *, force: bool = False, account: str = "") -> list[Path]:
    """Write ``configs/<agent>/`` as an ADK project under ``out``: ``project.yaml`` + ``real_time_configuration/``."""
    repowrite.check_agent_id(agent)
    desired = loader.load_repository(Path(root), agents=[agent])
    problems = [f for f in desired.findings if f.blocks]
    if problems:
        where = "; ".join(_located(f.file, f.line, f.message) for f in problems[:5])
        raise ConfigError(f"cannot export {agent}: {where}", code="adk.export")
    files: dict[Path, str] = {}
    by_env = {env: name for name, env in ADK_ENVS.items()}
    for env, page in desired.agents[agent].envs.items():
        for stem, data in (("schema", page.schema), ("data", page.values)):
            target = Path(out) / RTC_DIR / by_env[env] / f"{stem}.json"
            files[target] = adk_json({} if data is None else data)
    project = _project_file(Path(root), Path(out), agent, account)
    if project is not None:
        files[Path(out) / PROJECT_FILE] = project
    clash = [p for p, text in files.items() if os.path.lexists(p) and not _same(p, text)]
    if clash and not force:
        raise ConfigError(f"{', '.join(map(str, clash))} already exist(s) with other content; nothing written "
                          "(use --force to overwrite)", code="adk.exists")
    for target, text in files.items():
        if _text(target) != text:
            repowrite.write_atomic(target, text)
    return sorted(files)


def _project_file(root: Path, out: Path, agent: str, account: str) -> str | None:
    """``project.yaml``'s text for a new project, or None to keep the one there (it names this agent)."""
    existing = (out / PROJECT_FILE)
    if existing.is_file():
        found = read_project(out).get("project_id")
        if str(found) == agent and (not account or str(read_project(out).get("account_id", "")) == account):
            return None
    config: dict[str, str] = {"project_id": agent, "account_id": account}
    region = settings.adk_region(_api_url(root))
    if region is not None:
        config["region"] = region
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def _api_url(root: Path) -> str:
    try:
        return settings.load_settings(root, require_target=False, environ={}).api.url
    except ConfigError:
        return ""


def _same(path: Path, text: str) -> bool:
    """True when ``path`` already holds ``text``, or (JSON) the same data in another key order."""
    current = _text(path)
    if current is None or current == text:
        return current == text
    if path.suffix != ".json":
        return False
    try:
        return json.loads(current) == json.loads(text)
    except ValueError:
        return False


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
