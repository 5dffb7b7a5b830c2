"""The ADK layout in and out: ``import --from-adk PATH`` and ``export --adk DIR``.

PolyAI's ADK keeps one project per agent, with the real-time configuration in
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
NaN) and writes YAML with :mod:`reconciler.repository.yamlwrite`; export reads the
repository through the loader and writes JSON. Both keep key order, so a
round trip gives equal JSON. The ADK files are already files the team holds,
so values are copied as they are (sensitive ones included); only an import
from *live* leaves sensitive values out. Called by ``cli/adopt.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reconciler.adoption import importer as adoption
from reconciler.repository import loader, safefile, writer as repowrite
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv

RTC_DIR = "real_time_configuration"
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


def default_agent(path: Path) -> str:
    """The agent id an ADK project stands for when ``--agent`` is not given: its directory name."""
    project = Path(path).resolve()
    if project.name == RTC_DIR:
        project = project.parent
    try:
        return repowrite.check_agent_id(project.name)
    except ConfigError:
        raise ConfigError(f"cannot tell the agent id from {path} (directory {project.name!r} is not an agentId); "
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
    agent = repowrite.check_agent_id(agent) if agent else default_agent(path)
    files: dict[str, str] = {}
    dirs: list[str] = []
    for adk_env, env in ADK_ENVS.items():
        env_path = source / adk_env
        if not env_path.is_dir():
            continue
        parts = {stem: read_json(env_path / name) for name, stem in ADK_FILES.items() if (env_path / name).is_file()}
        env_files, _ = adoption.page_files(agent, env, parts.get("schema") or {}, parts.get("values") or {},
                                           keep_sensitive=True)
        _write_empty(env_files, agent, env, parts)
        files.update(env_files)
        dirs.append(repowrite.env_dir(agent, env))
    if not files:
        raise ConfigError(f"{source}: no schema.json or data.json under {', '.join(ADK_ENVS)}", code="adk.layout")
    written = repowrite.write_files(root, files, force=force, replace_dirs=dirs)
    return adoption.AgentImport(agent, written=tuple(written))


def _write_empty(files: dict[str, str], agent: str, env: ClientEnv, parts: dict[str, Any]) -> None:
    """An ADK file holding ``{}`` is still a file: keep it, so export writes it back."""
    base = repowrite.env_dir(agent, env)
    for stem, data in parts.items():
        if data == {}:
            files[f"{base}/{stem}.yaml"] = "{}\n"


def export_adk(root: Path, agent: str, out: Path, *, force: bool = False) -> list[Path]:
    """Write ``configs/<agent>/`` as an ADK ``real_time_configuration/`` tree under ``out``."""
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
            if data is not None:
                target = Path(out) / RTC_DIR / by_env[env] / f"{stem}.json"
                files[target] = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    clash = [p for p, text in files.items() if os.path.lexists(p) and _text(p) != text]
    if clash and not force:
        raise ConfigError(f"{', '.join(map(str, clash))} already exist(s) with other content; nothing written "
                          "(use --force to overwrite)", code="adk.exists")
    for target, text in files.items():
        repowrite.write_atomic(target, text)
    return sorted(files)


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
