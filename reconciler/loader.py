"""Read the config repository into a :class:`~reconciler.model.DesiredState`.

The loader is the only module that reads ``configs/``. It walks
``configs/<agentId>/<env>/{schema,values}.y(a)ml`` (DESIGN.md §2) through
:mod:`reconciler.yamlsafe`, so every file is read safely and keeps a source
map. Problems never raise: each becomes a :class:`~reconciler.model.Finding`
carrying agent/env/file/line, so one bad agent does not stop the others.

Codes: ``repo.no_configs``, ``repo.bad_agent_id``, ``repo.unknown_env``,
``repo.unknown_agent`` (an ``--agent`` filter naming no directory),
``repo.ambiguous_file`` (both ``.yaml`` and ``.yml``), ``repo.stray_file``,
``repo.hidden_dir`` and ``repo.empty_env`` (warnings), plus every ``yaml.*``/``path.*``
code of yamlsafe (``yaml.ambiguous`` warnings included).

Checking *content* (schemas, values, policies) is left to :mod:`reconciler.validation`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from reconciler import yamlsafe
from reconciler.errors import ConfigError
from reconciler.model import (AGENT_ID_PATTERN, AgentDesired, ClientEnv, DesiredState, EnvDesired,
                              Finding, Severity)

CONFIGS_DIR = "configs"
#: File stems the loader manages inside an environment directory.
MANAGED_STEMS = ("schema", "values")
_SUFFIXES = (".yaml", ".yml")
_AGENT_ID = re.compile(AGENT_ID_PATTERN)


def load_repository(root: Path, *, agents: Iterable[str] | None = None,
                    envs: Iterable[str] | None = None) -> DesiredState:
    """Load every (or the selected) agent x environment under ``root/configs``.

    ``envs`` entries must be environment names (``ValueError`` otherwise: a
    usage error the CLI prevents with its choices).
    """
    root = Path(root)
    wanted_agents = set(agents) if agents else None
    wanted_envs = {ClientEnv(e) for e in envs} if envs else None
    findings: list[Finding] = []
    configs = root / CONFIGS_DIR
    if not _usable_dir(configs, root, findings, agent=None):
        if not findings:
            findings.append(_error("repo.no_configs", f"no {CONFIGS_DIR}/ directory in the repository",
                                   file=CONFIGS_DIR))
        return DesiredState(root=root, agents={}, findings=tuple(findings))
    loaded: dict[str, AgentDesired] = {}
    seen: set[str] = set()
    findings.extend(_hidden_dirs(configs, root, agent=None))
    for entry in _entries(configs, root, findings, agent=None) or ():
        if not _is_dir(entry):
            findings.append(_stray(entry, root, agent=None))
            continue
        seen.add(entry.name)
        if wanted_agents is not None and entry.name not in wanted_agents:
            continue
        agent = _load_agent(entry, root, wanted_envs, findings)
        if agent is not None:
            loaded[agent.agent] = agent
    for missing in sorted((wanted_agents or set()) - seen):
        known = sorted(seen)
        names = ", ".join(known[:10]) + (", …" if len(known) > 10 else "") if known else "none"
        findings.append(_error("repo.unknown_agent", f"--agent {missing}: no {CONFIGS_DIR}/{missing} directory "
                               f"(known: {names})", agent=missing))
    return DesiredState(root=root, agents=loaded, findings=tuple(findings))


def agent_ids(root: Path) -> list[str]:
    """Names of the agent directories under ``root/configs``, sorted (not validated; [] without configs/).

    Lets a caller that owns only part of the fleet (the daemon's ``--shard``) load just its agents.
    """
    configs = Path(root) / CONFIGS_DIR
    if not _is_dir(configs):
        return []
    # An unreadable configs/ lists no agent here; load_repository reports it (path.unreadable).
    return [entry.name for entry in _entries(configs) or () if _is_dir(entry)]


def _load_agent(directory: Path, root: Path, wanted_envs: set[ClientEnv] | None,
                findings: list[Finding]) -> AgentDesired | None:
    name = directory.name
    rel = yamlsafe.relative_name(directory, root)
    if not _AGENT_ID.match(name):
        findings.append(_error("repo.bad_agent_id", f"agent directory {name!r} is not a valid agentId "
                               f"(letters, digits and '-' only: {AGENT_ID_PATTERN})", file=rel, agent=name))
        return None
    if not _usable_dir(directory, root, findings, agent=name):
        return None
    envs: dict[ClientEnv, EnvDesired] = {}
    findings.extend(_hidden_dirs(directory, root, agent=name))
    entries = _entries(directory, root, findings, agent=name)
    if entries is None:
        return None                      # unreadable: the finding blocks the whole agent
    for entry in entries:
        if not _is_dir(entry):
            findings.append(_stray(entry, root, agent=name))
        elif entry.name not in ClientEnv.names():
            findings.append(_error("repo.unknown_env", f"unknown environment directory {entry.name!r}; "
                                   f"allowed: {', '.join(ClientEnv.names())}",
                                   file=yamlsafe.relative_name(entry, root), agent=name))
        elif wanted_envs is None or ClientEnv(entry.name) in wanted_envs:
            env = ClientEnv(entry.name)
            if _usable_dir(entry, root, findings, agent=name, env=env):
                envs[env] = _load_env(entry, root, name, env, findings)
    ordered = {env: envs[env] for env in ClientEnv if env in envs}
    return AgentDesired(agent=name, envs=ordered)


def _load_env(directory: Path, root: Path, agent: str, env: ClientEnv,
              findings: list[Finding]) -> EnvDesired:
    files = _managed_files(directory, root, agent, env, findings)
    if files is None:                    # unreadable directory: its finding blocks this environment
        return EnvDesired(agent=agent, env=env)
    if not files:
        findings.append(Finding(Severity.WARNING, "repo.empty_env", "environment directory has no "
                                "schema.yaml or values.yaml; nothing is managed here",
                                file=yamlsafe.relative_name(directory, root), agent=agent, env=env.value))
    docs: dict[str, tuple] = {}
    for stem, path in files.items():
        try:
            docs[stem] = yamlsafe.load_yaml(path, root)
            findings.extend(yamlsafe.note_findings(docs[stem][1], agent=agent, env=env.value))
        except ConfigError as exc:
            # A number too large for the API is a problem of the values (or schema) file, not of YAML.
            code = f"{stem}.integer_too_large" if exc.code == "yaml.integer_too_large" else exc.code
            findings.append(_error(code, exc.message, file=exc.file, line=exc.line, agent=agent, env=env))
    schema, schema_map = docs.get("schema", (None, None))
    values, values_map = docs.get("values", (None, None))
    return EnvDesired(agent=agent, env=env, schema=schema, values=values,
                      schema_map=schema_map, values_map=values_map)


def _managed_files(directory: Path, root: Path, agent: str, env: ClientEnv,
                   findings: list[Finding]) -> dict[str, Path] | None:
    """``{"schema": path, "values": path}`` for the files present; others are warnings. None: unreadable."""
    found: dict[str, Path] = {}
    entries = _entries(directory, root, findings, agent=agent, env=env)
    if entries is None:
        return None
    for entry in entries:
        stem, suffix = entry.stem, entry.suffix
        if stem not in MANAGED_STEMS or suffix not in _SUFFIXES or _is_dir(entry):
            findings.append(_stray(entry, root, agent=agent, env=env))
        elif stem in found:
            findings.append(_error("repo.ambiguous_file", f"both {found[stem].name} and {entry.name} exist; "
                                   "keep one", file=yamlsafe.relative_name(entry, root), agent=agent, env=env))
        else:
            found[stem] = entry
    return found


def _entries(directory: Path, root: Path | None = None, findings: list[Finding] | None = None, *,
             agent: str | None = None, env: ClientEnv | None = None) -> list[Path] | None:
    """The directory's entries, sorted. When it cannot be listed: None and a ``path.unreadable``
    finding if ``findings`` is given, else [] (the callers that only look: the loader reports it)."""
    try:
        # Hidden entries (.gitkeep, editor swap files) are not configuration.
        return sorted((p for p in directory.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    except OSError as exc:
        if findings is None:
            return []
        problem = yamlsafe.unreadable(exc, yamlsafe.relative_name(directory, root or directory))
        findings.append(_error(problem.code, problem.message, file=problem.file, agent=agent, env=env))
        return None


def _hidden_dirs(directory: Path, root: Path, *, agent: str | None) -> list[Finding]:
    """A dot-directory is never read; say so, because ``.sandbox/`` or ``.acme/`` may be a typo."""
    try:
        hidden = [p for p in sorted(directory.iterdir()) if p.name.startswith(".") and _is_dir(p)]
    except OSError:
        return []                        # unreadable: _entries reports it (path.unreadable)
    return [Finding(Severity.WARNING, "repo.hidden_dir", f"ignored hidden directory {p.name!r}: names starting "
                    "with '.' are not configuration", file=yamlsafe.relative_name(p, root), agent=agent)
            for p in hidden]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _usable_dir(directory: Path, root: Path, findings: list[Finding], *, agent: str | None,
                env: ClientEnv | None = None) -> bool:
    """A directory we may read: exists and (through symlinks) stays inside the repository."""
    if not _is_dir(directory) and not directory.is_symlink():
        return False
    try:
        yamlsafe.check_inside(directory, root)
    except ConfigError as exc:
        findings.append(_error(exc.code, exc.message, file=exc.file, agent=agent, env=env))
        return False
    return _is_dir(directory)


def _stray(path: Path, root: Path, *, agent: str | None, env: ClientEnv | None = None) -> Finding:
    where = "an environment directory" if env else ("an agent directory" if agent else f"{CONFIGS_DIR}/")
    expected = ("schema.yaml and values.yaml" if env else
                f"directories named {', '.join(ClientEnv.names())}" if agent else "agent directories")
    return Finding(Severity.WARNING, "repo.stray_file",
                   f"ignored {path.name!r}: {where} holds only {expected}",
                   file=yamlsafe.relative_name(path, root), agent=agent, env=env.value if env else None)


def _error(code: str, message: str, *, file: str | None = None, line: int | None = None,
           agent: str | None = None, env: ClientEnv | None = None) -> Finding:
    return Finding(Severity.ERROR, code, message, file=file, line=line, agent=agent,
                   env=env.value if env else None)


#: Files outside configs/ that every plan reads.
_RUN_WIDE_FILES = ("reconciler.yaml",)
_POLICIES_DIR = "policies"


def agent_names(root: Path) -> list[str]:
    """Every agent directory under ``configs/`` (sorted), whatever a run selects: for "known: …" messages."""
    configs = Path(root) / CONFIGS_DIR
    if not _is_dir(configs):
        return []
    return [p.name for p in _entries(configs) if _is_dir(p) and _AGENT_ID.match(p.name)]


def file_hashes(root: Path, agents: Iterable[str]) -> dict[str, str]:
    """SHA-256 of every file a plan of ``agents`` reads: ``reconciler.yaml``, ``policies/*``, ``configs/<agent>/**``.

    ``{relative path: hex digest}``; a saved plan records them (keyed, see
    :mod:`reconciler.planfile`) so ``apply --plan`` can name the file that changed.
    Files that resolve outside the repository are never read (validation reports them).
    """
    import hashlib

    root = Path(root)
    candidates = [root / name for name in _RUN_WIDE_FILES]
    policies = root / _POLICIES_DIR
    if _is_dir(policies):
        candidates += [p for p in _entries(policies) if p.suffix in _SUFFIXES]
    for agent in sorted(set(agents)):
        candidates += sorted(_walk(root / CONFIGS_DIR / agent))
    out: dict[str, str] = {}
    for path in candidates:
        try:
            resolved = yamlsafe.check_inside(path, root)
            if not Path(resolved).is_file():
                continue
            out[yamlsafe.relative_name(path, root)] = hashlib.sha256(Path(resolved).read_bytes()).hexdigest()
        except (ConfigError, OSError):
            continue
    return out


def _walk(directory: Path) -> list[Path]:
    if not _is_dir(directory):
        return []
    out: list[Path] = []
    for entry in _entries(directory):
        out += _walk(entry) if _is_dir(entry) else [entry]
    return out
