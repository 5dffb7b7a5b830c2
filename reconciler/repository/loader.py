"""Read the config repository into a :class:`~reconciler.model.DesiredState`.

The loader is the only module that reads ``configs/``. It walks
``configs/<agentId>/<env>/{schema,values}.y(a)ml`` (DESIGN.md §2) through
:mod:`reconciler.repository.reader`, so every file is read safely and keeps a source
map (:class:`~reconciler.repository.reader.DocumentReader`, handed the on-disk cache
when the run uses one: :func:`results_cache`). Problems never raise: each becomes a
:class:`~reconciler.model.Finding` carrying agent/env/file/line, so one bad agent does
not stop the others.

Codes: ``repo.no_configs``, ``repo.bad_agent_id``, ``repo.unknown_env``,
``repo.unknown_agent`` (an ``--agent`` filter naming no directory),
``repo.ambiguous_file`` (both ``.yaml`` and ``.yml``), ``repo.stray_file``,
``repo.hidden_dir`` and ``repo.empty_env`` (warnings), plus every ``yaml.*``/``path.*``
code of :mod:`reconciler.repository.yamlsafe` (``yaml.ambiguous`` warnings included).

Checking *content* (schemas, values, policies) is left to :mod:`reconciler.checks.validation`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from reconciler import steps
from reconciler.errors import ConfigError
from reconciler.model import (AGENT_ID_PATTERN, AgentDesired, ClientEnv, DesiredState, EnvDesired,
                              Finding, Severity)
from reconciler.repository import cache as resultcache, reader, safepath, yamlsafe

CONFIGS_DIR = "configs"
#: File stems the loader manages inside an environment directory.
MANAGED_STEMS = ("schema", "values")
_SUFFIXES = (".yaml", ".yml")
_AGENT_ID = re.compile(AGENT_ID_PATTERN)


def load_repository(root: Path, *, agents: Iterable[str] | None = None, envs: Iterable[str] | None = None,
                    cache: resultcache.ResultCache | None = None) -> DesiredState:
    """Load every (or the selected) agent x environment under ``root/configs``.

    ``envs`` entries must be environment names (``ValueError`` otherwise: a
    usage error the CLI prevents with its choices). ``cache``: parse results of
    earlier runs (:mod:`reconciler.repository.cache`); the caller closes it.
    """
    return steps.drain(iter_load_repository(root, agents=agents, envs=envs, cache=cache))


@contextlib.contextmanager
def results_cache(root: Path, enabled: bool) -> Iterator[resultcache.ResultCache | None]:
    """The on-disk cache of ``root`` for one run (None: not ``enabled``, or unusable here), closed on exit.

    Pass it to :func:`iter_load_repository` (its document reader asks it before parsing) and to the
    checks that keep verdicts in it; the loader owns its opening and closing."""
    cache = resultcache.open_cache(Path(root)) if enabled else None
    try:
        yield cache
    finally:
        if cache is not None:
            cache.close()


def iter_load_repository(root: Path, *, agents: Iterable[str] | None = None, envs: Iterable[str] | None = None,
                         on_agent: Callable[[str], None] | None = None,
                         cache: resultcache.ResultCache | None = None) -> steps.Steps[DesiredState]:
    """:func:`load_repository` as steps (one per agent directory; see :mod:`reconciler.steps`).

    ``on_agent(name)`` is called as soon as an agent's directory is accepted
    (before its files are read): exactly the agents that end up in
    ``DesiredState.agents``, in order.
    """
    root = Path(root)
    wanted_agents = set(agents) if agents else None
    wanted_envs = {ClientEnv(e) for e in envs} if envs else None
    findings: list[Finding] = []
    walk = _Walk(root, findings, on_agent, cache)
    configs = walk.top(CONFIGS_DIR)
    if configs is None:
        if not findings:
            findings.append(_error("repo.no_configs", f"no {CONFIGS_DIR}/ directory in the repository",
                                   file=CONFIGS_DIR))
        return DesiredState(root=root, agents={}, findings=tuple(findings))
    loaded: dict[str, AgentDesired] = {}
    seen: set[str] = set()
    entries, hidden = _checked_listing(configs, findings, agent=None) or ([], [])
    findings.extend(_hidden_dirs(configs, hidden, agent=None))
    for entry in entries:
        if not _is_dir(entry):
            findings.append(_stray(entry, configs.child_rel(entry), agent=None))
            continue
        seen.add(entry.name)
        if wanted_agents is not None and entry.name not in wanted_agents:
            continue
        agent = _load_agent(walk, configs, entry, wanted_envs)
        if agent is not None:
            loaded[agent.agent] = agent
        yield
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
    configs = os.path.join(os.fspath(root), CONFIGS_DIR)
    if not os.path.isdir(configs):
        return []
    return [entry.name for entry in _entries(configs) if _is_dir(entry)]


class _Dir:
    """A directory of the walk: the path as written, as resolved, and relative to the repository."""

    __slots__ = ("path", "real", "rel")

    def __init__(self, path: str, real: str, rel: str) -> None:
        self.path, self.real, self.rel = path, real, rel

    def child_rel(self, entry: os.DirEntry) -> str:
        return f"{self.rel}/{entry.name}" if self.rel else entry.name


class _Walk:
    """One load of the repository: the root resolved once, each directory resolved once.

    An entry that is not a symlink lives where its (already resolved) parent
    does, so it needs no ``realpath`` of its own; only symlinks are resolved,
    and must stay inside the repository.
    """

    def __init__(self, root: Path, findings: list[Finding], on_agent: Callable[[str], None] | None = None,
                 cache: resultcache.ResultCache | None = None) -> None:
        self.root = os.fspath(root)
        self.real_root = os.path.realpath(root)
        self.findings = findings
        self.reader = reader.DocumentReader(cache)
        self.on_agent = on_agent

    def top(self, name: str) -> _Dir | None:
        path = os.path.join(self.root, name)
        try:
            is_link = os.path.islink(path)
            exists = os.path.isdir(path) or is_link
        except OSError:
            return None
        if not exists:
            return None
        return self._resolve(path, os.path.join(self.real_root, name), name, is_link, agent=None, env=None)

    def subdir(self, parent: _Dir, entry: os.DirEntry, *, agent: str,
               env: ClientEnv | None = None) -> _Dir | None:
        """``entry`` (a directory in ``parent``) if it may be read, else None (with a finding when it may not)."""
        return self._resolve(entry.path, os.path.join(parent.real, entry.name), parent.child_rel(entry),
                             _is_link(entry), agent=agent, env=env)

    def _resolve(self, path: str, real: str, rel: str, is_link: bool, *, agent: str | None,
                 env: ClientEnv | None) -> _Dir | None:
        if is_link:
            try:
                real = safepath.resolve_inside(path, self.real_root, rel)
            except ConfigError as exc:
                self.findings.append(_error(exc.code, exc.message, file=exc.file, agent=agent, env=env))
                return None
            if not os.path.isdir(real):
                return None
        return _Dir(path, real, rel)

    def read(self, parent: _Dir, entry: os.DirEntry, stem: str) -> tuple:
        """Data and map of ``entry``, a ``stem`` file. Only a schema may be kept in the on-disk cache (and only
        one without sensitive constants): a values file may hold sensitive values, which never rest on disk."""
        rel = parent.child_rel(entry)
        real = safepath.resolve_inside(entry.path, self.real_root, rel) if _is_link(entry) \
            else os.path.join(parent.real, entry.name)
        return self.reader.load(real, rel, resultcache.storable_schema if stem == "schema" else None)


def _load_agent(walk: _Walk, configs: _Dir, entry: os.DirEntry,
                wanted_envs: set[ClientEnv] | None) -> AgentDesired | None:
    name = entry.name
    findings = walk.findings
    if not _AGENT_ID.match(name):
        findings.append(_error("repo.bad_agent_id", f"agent directory {name!r} is not a valid agentId "
                               f"(letters, digits and '-' only: {AGENT_ID_PATTERN})", file=configs.child_rel(entry),
                               agent=name))
        return None
    directory = walk.subdir(configs, entry, agent=name)
    if directory is None:
        return None
    envs: dict[ClientEnv, EnvDesired] = {}
    listing = _checked_listing(directory, findings, agent=name)
    if listing is None:
        return None                      # unreadable: the finding blocks the whole agent
    entries, hidden = listing
    if walk.on_agent is not None:
        walk.on_agent(name)              # accepted: it will be in DesiredState.agents
    findings.extend(_hidden_dirs(directory, hidden, agent=name))
    for sub in entries:
        if not _is_dir(sub):
            findings.append(_stray(sub, directory.child_rel(sub), agent=name))
        elif sub.name not in ClientEnv.names():
            findings.append(_error("repo.unknown_env", f"unknown environment directory {sub.name!r}; "
                                   f"allowed: {', '.join(ClientEnv.names())}",
                                   file=directory.child_rel(sub), agent=name))
        elif wanted_envs is None or ClientEnv(sub.name) in wanted_envs:
            env = ClientEnv(sub.name)
            env_dir = walk.subdir(directory, sub, agent=name, env=env)
            if env_dir is not None:
                envs[env] = _load_env(walk, env_dir, name, env)
    ordered = {env: envs[env] for env in ClientEnv if env in envs}
    return AgentDesired(agent=name, envs=ordered)


def _load_env(walk: _Walk, directory: _Dir, agent: str, env: ClientEnv) -> EnvDesired:
    findings = walk.findings
    files = _managed_files(directory, agent, env, findings)
    if files is None:                    # unreadable directory: its finding blocks this environment
        return EnvDesired(agent=agent, env=env)
    if not files:
        findings.append(Finding(Severity.WARNING, "repo.empty_env", "environment directory has no "
                                "schema.yaml or values.yaml; nothing is managed here",
                                file=directory.rel, agent=agent, env=env.value))
    docs: dict[str, tuple] = {}
    for stem, entry in files.items():
        try:
            docs[stem] = walk.read(directory, entry, stem)
            findings.extend(yamlsafe.note_findings(docs[stem][1], agent=agent, env=env.value))
        except ConfigError as exc:
            # A number too large for the API is a problem of the values (or schema) file, not of YAML.
            code = f"{stem}.integer_too_large" if exc.code == "yaml.integer_too_large" else exc.code
            findings.append(_error(code, exc.message, file=exc.file, line=exc.line, agent=agent, env=env))
    schema, schema_map = docs.get("schema", (None, None))
    values, values_map = docs.get("values", (None, None))
    return EnvDesired(agent=agent, env=env, schema=schema, values=values,
                      schema_map=schema_map, values_map=values_map)


def _managed_files(directory: _Dir, agent: str, env: ClientEnv,
                   findings: list[Finding]) -> dict[str, os.DirEntry] | None:
    """``{"schema": entry, "values": entry}`` for the files present; others are warnings. None: unreadable."""
    found: dict[str, os.DirEntry] = {}
    listing = _checked_listing(directory, findings, agent=agent, env=env)
    if listing is None:
        return None
    for entry in listing[0]:
        stem, suffix = os.path.splitext(entry.name)
        if stem in MANAGED_STEMS and suffix in _SUFFIXES and _is_dir(entry):
            findings.append(_error("path.not_file", "not a regular file (a directory)",
                                   file=directory.child_rel(entry), agent=agent, env=env))
        elif stem not in MANAGED_STEMS or suffix not in _SUFFIXES:
            findings.append(_stray(entry, directory.child_rel(entry), agent=agent, env=env))
        elif stem in found:
            findings.append(_error("repo.ambiguous_file", f"both {found[stem].name} and {entry.name} exist; "
                                   "keep one", file=directory.child_rel(entry), agent=agent, env=env))
        else:
            found[stem] = entry
    return found


def _entries(directory: str | os.PathLike) -> list[os.DirEntry]:
    """The visible entries, sorted; [] when the directory cannot be listed (the loader reports that)."""
    try:
        return _listing(directory)[0]
    except OSError:
        return []


def _checked_listing(directory: _Dir, findings: list[Finding], *, agent: str | None,
                     env: ClientEnv | None = None) -> tuple[list[os.DirEntry], list[os.DirEntry]] | None:
    """:func:`_listing`, or None and a ``path.unreadable`` finding when the directory cannot be listed."""
    try:
        return _listing(directory.path)
    except OSError as exc:
        problem = safepath.unreadable(exc, directory.rel)
        findings.append(_error(problem.code, problem.message, file=problem.file, agent=agent, env=env))
        return None


def _paths(directory: Path) -> list[Path]:
    """:func:`_entries` as paths (for callers that sort, walk or take suffixes)."""
    return [Path(entry.path) for entry in _entries(directory)]


def _listing(directory: str | os.PathLike) -> tuple[list[os.DirEntry], list[os.DirEntry]]:
    """(entries, hidden directories), each sorted by name, from ONE directory listing.

    Hidden entries (.gitkeep, editor swap files) are not configuration; hidden directories get a warning.
    """
    with os.scandir(directory) as it:
        listed = sorted(it, key=lambda e: e.name)
    return ([e for e in listed if not e.name.startswith(".")],
            [e for e in listed if e.name.startswith(".") and _is_dir(e)])


def _hidden_dirs(directory: _Dir, hidden: list[os.DirEntry], *, agent: str | None) -> list[Finding]:
    """A dot-directory is never read; say so, because ``.sandbox/`` or ``.acme/`` may be a typo."""
    return [Finding(Severity.WARNING, "repo.hidden_dir", f"ignored hidden directory {e.name!r}: names starting "
                    "with '.' are not configuration", file=directory.child_rel(e), agent=agent) for e in hidden]


def _is_dir(entry: os.DirEntry | Path) -> bool:
    try:
        return entry.is_dir()             # d_type from the directory listing; stat only for a symlink
    except OSError:
        return False


def _is_link(entry: os.DirEntry) -> bool:
    try:
        return entry.is_symlink()
    except OSError:                       # pragma: no cover - d_type unknown and lstat failed
        return True


def _stray(entry: os.DirEntry, rel: str, *, agent: str | None, env: ClientEnv | None = None) -> Finding:
    where = "an environment directory" if env else ("an agent directory" if agent else f"{CONFIGS_DIR}/")
    expected = ("schema.yaml and values.yaml" if env else
                f"directories named {', '.join(ClientEnv.names())}" if agent else "agent directories")
    return Finding(Severity.WARNING, "repo.stray_file",
                   f"ignored {entry.name!r}: {where} holds only {expected}",
                   file=rel, agent=agent, env=env.value if env else None)


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
    return [p.name for p in _paths(configs) if _is_dir(p) and _AGENT_ID.match(p.name)]


def file_hashes(root: Path, agents: Iterable[str]) -> dict[str, str]:
    """SHA-256 of every file a plan of ``agents`` reads: ``reconciler.yaml``, ``policies/*``, ``configs/<agent>/**``.

    ``{relative path: hex digest}``; a saved plan records them (keyed, see
    :mod:`reconciler.planning.planfile`) so ``apply --plan`` can name the file that changed.
    Files that resolve outside the repository are never read (validation reports them).
    """
    root = Path(root)
    candidates = [root / name for name in _RUN_WIDE_FILES]
    policies = root / _POLICIES_DIR
    if _is_dir(policies):
        candidates += [p for p in _paths(policies) if p.suffix in _SUFFIXES]
    for agent in sorted(set(agents)):
        candidates += sorted(_walk(root / CONFIGS_DIR / agent))
    out: dict[str, str] = {}
    for path in candidates:
        try:
            resolved = safepath.check_inside(path, root)
            if not Path(resolved).is_file():
                continue
            rel = safepath.relative_name(path, root)
            out[rel] = hashlib.sha256(safepath.read_resolved(os.fspath(resolved), rel)).hexdigest()
        except (ConfigError, OSError):
            continue
    return out


def _walk(directory: Path) -> list[Path]:
    if not _is_dir(directory):
        return []
    out: list[Path] = []
    for entry in _paths(directory):
        out += _walk(entry) if _is_dir(entry) else [entry]
    return out
