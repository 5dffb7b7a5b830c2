"""``reconciler import AGENT…``: write live config pages into the repository as YAML.

Called by ``cli/adopt.py``. One ``GET /v1/agents/{id}/real-time-configs`` per
agent (every environment comes in that one read), agents read concurrently.
For each environment with a schema or variables live it writes
``configs/<agent>/<env>/schema.yaml`` and ``values.yaml`` with
:mod:`reconciler.repository.yamlwrite` (keys in live order, read back identically), so a
``plan`` right after an import is in sync.

Sensitive values (``x-sensitive`` / ``writeOnly``) are never written: their
top-level key is left out of ``values.yaml`` and a comment takes its place
(:data:`PIN`); the planner then treats the key as kept in live only
(:func:`reconciler.checks.masking.live_only_keys` is the one definition both use).

An agent that cannot be read, or whose files already exist (without
``force``), is reported in its :class:`AgentImport` and the others go on.
Checking what was written (``validate``) is left to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import governance, settings as settings_module
from reconciler.api import AgentsApi, fetch_live
from reconciler.checks import masking
from reconciler.planning import ownership
from reconciler.repository import safefile, writer as repowrite, yamlwrite
from reconciler.aio import run_async
from reconciler.errors import ApiError, ConfigError
from reconciler.model import ClientEnv, LiveAgent

#: The comment written in place of a sensitive key: ``# <key>: <PIN>``.
#: ``--agents-file`` is read up to this size.
MAX_AGENTS_FILE_BYTES = 16 * 1024 * 1024
PIN = "pin: sensitive — kept in live only, not imported"
#: The comment written in place of a key live owns (``ownership`` in reconciler.yaml): ``# <key>: <OWNED>``.
OWNED = "owned by live (ownership in reconciler.yaml) — not imported"


@dataclass(frozen=True)
class AgentImport:
    """What an import did for one agent."""

    agent: str
    written: tuple[str, ...] = ()
    """Files written, relative to the repository root."""
    kept_in_live: tuple[str, ...] = ()
    """``<env>/<key>`` of every key left out: sensitive, or owned by live (``ownership``)."""
    error: str | None = None
    """Why nothing was written for this agent (unreadable, files exist, …)."""
    warnings: tuple[str, ...] = ()
    """E.g. a schema that holds a value under a sensitive property (written as live has it)."""


@dataclass(frozen=True)
class ImportReport:
    target: str
    agents: tuple[AgentImport, ...]

    @property
    def ok(self) -> bool:
        return all(a.error is None for a in self.agents)

    @property
    def imported(self) -> tuple[str, ...]:
        return tuple(a.agent for a in self.agents if a.error is None and a.written)


def page_files(agent: str, env: ClientEnv, schema: Mapping[str, Any], variables: Mapping[str, Any], *,
               keep_sensitive: bool = False, rules: governance.Governance = governance.Governance(),
               ) -> tuple[dict[str, str], tuple[str, ...]]:
    """(files ``{relative path: YAML text}``, keys left out: sensitive or owned by live) for one page. Pure.

    An empty schema or an empty variables object is not written (that part
    stays unmanaged, as it is unused live). A top-level key live owns is
    replaced by a comment (:data:`OWNED`); a nested pointer is removed and
    named in a comment at the top of the file.
    """
    base = repowrite.env_dir(agent, env)
    files: dict[str, str] = {}
    left_out: tuple[str, ...] = ()
    if schema:
        files[f"{base}/schema.yaml"] = yamlwrite.dump(schema)
    if variables:
        if not keep_sensitive:
            left_out = tuple(k for k in variables if k in masking.live_only_keys(variables, schema))
        replaced = {k: f"{yamlwrite.key_text(k)}: {PIN}" for k in left_out}
        paths = ownership.owned_paths(rules, agent, env)
        nested = tuple(text for text, path in ownership.present(variables, paths) if len(path) > 1)
        owned = tuple(str(path[0]) for text, path in ownership.present(variables, paths) if len(path) == 1)
        replaced.update({k: f"{yamlwrite.key_text(k)}: {OWNED}" for k in owned if k not in replaced})
        kept, _ = ownership.without_owned(variables, tuple((t, p) for t, p in paths if len(p) > 1))
        header = f"{OWNED}: {', '.join(nested)}" if nested else None
        # Owned top-level keys stay in ``kept`` so their comment takes their place, in live's order.
        files[f"{base}/values.yaml"] = yamlwrite.dump(kept, replaced=replaced, header=header)
        left_out += tuple(k for k in owned if k not in left_out) + nested
    return files, left_out


def schema_secret_warning(agent: str, env: ClientEnv, schema: Mapping[str, Any]) -> str | None:
    """A schema must be written as live has it (else plan would PUT it back), secrets in it included."""
    if not masking.sensitive_values({}, schema):
        return None
    return (f"{repowrite.env_dir(agent, env)}/schema.yaml: a sensitive property carries a value in the schema "
            "itself (const, default, enum or examples); it is written as live has it — move it out of the schema")


def agent_files(live: LiveAgent, envs: Sequence[ClientEnv], rules: governance.Governance = governance.Governance(),
                ) -> tuple[dict[str, str], list[str], list[str]]:
    """(files, environment directories written, ``env/key`` left out) for one agent. Pure."""
    files: dict[str, str] = {}
    dirs: list[str] = []
    left_out: list[str] = []
    for env in envs:
        page = live.pages.get(env)
        if page is None or not (page.schema or page.variables):
            continue
        env_files, keys = page_files(live.agent, env, page.schema, page.variables, rules=rules)
        files.update(env_files)
        dirs.append(repowrite.env_dir(live.agent, env))
        left_out += [f"{env.value}/{k}" for k in keys]
    return files, dirs, left_out


def write_agent(root: Path, live: LiveAgent, envs: Sequence[ClientEnv], *, force: bool,
                rules: governance.Governance = governance.Governance()) -> AgentImport:
    """Write one agent's pages (nothing at all when a file is in the way and not ``force``)."""
    files, dirs, left_out = agent_files(live, envs, rules)
    if not files:
        return AgentImport(live.agent, error="nothing live to import (every selected page is empty)")
    try:
        written = repowrite.write_files(root, files, force=force, replace_dirs=dirs)
    except ConfigError as exc:
        return AgentImport(live.agent, error=str(exc))
    notes = (schema_secret_warning(live.agent, env, live.pages[env].schema) for env in envs if env in live.pages)
    return AgentImport(live.agent, written=tuple(written), kept_in_live=tuple(left_out),
                       warnings=tuple(n for n in notes if n))


def import_live(root: Path, agents: Iterable[str], *, envs: Sequence[ClientEnv] = (), api_url: str | None = None,
                force: bool = False) -> ImportReport:
    """Read each agent once and write its pages under ``root``."""
    order = list(dict.fromkeys(repowrite.check_agent_id(a) for a in agents))
    settings = settings_module.load_settings(Path(root), api_url=api_url)
    chosen = tuple(envs) or settings.promotion_order

    async def read() -> tuple[str, dict[str, LiveAgent], dict[str, ApiError]]:
        async with AgentsApi.from_settings(settings) as api:
            live, failed = await fetch_live(api, order, concurrency=settings.concurrency)
            return api.target, live, failed

    target, live, failed = run_async(read())
    results = []
    for agent in order:
        if agent in failed:
            results.append(AgentImport(agent, error=f"could not read the live config: {failed[agent]}"))
        else:
            results.append(write_agent(Path(root), live[agent], chosen, force=force, rules=settings.governance))
    return ImportReport(target=target, agents=tuple(results))


def read_agents_file(path: Path) -> list[str]:
    """Agent ids from a file: one per line; blank lines and ``#`` comments ignored."""
    try:
        text = safefile.read_text(path, limit=MAX_AGENTS_FILE_BYTES, what="agents file")
    except ConfigError as exc:
        raise ConfigError(f"--agents-file {path}: {exc.message}", code="cli.agents_file") from None
    ids = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            try:
                ids.append(repowrite.check_agent_id(line))
            except ConfigError as exc:
                raise ConfigError(str(exc), file=str(path), line=number, code="cli.agents_file") from None
    return ids
