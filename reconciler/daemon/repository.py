"""The desired state the daemon works from: a snapshot of the repository for the agents it owns.

Called by the daemon's loop at start, on file events and when the repository
is swapped (git-sync's symlink flip). It only wires the existing pieces —
:func:`reconciler.settings.load_settings`, :func:`reconciler.checks.validation.validate_repository`
and the policy loader — and keeps their results as one immutable
:class:`Snapshot`; a pass plans one agent of it (:meth:`Snapshot.of_agent`, the same
:class:`~reconciler.planning.snapshot.RepositorySnapshot` the CLI plans from). Every load reads from the *resolved* real path of DIR, so
a flip in the middle of a load can never mix two checkouts.

Per agent it keeps a fingerprint (content hashes + findings), so after a
flip or a full reload only the agents whose files differ are re-planned; a
change of ``reconciler.yaml`` or ``policies/`` changes the run-wide
fingerprint and concerns every agent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reconciler import errors, settings as settings_module
from reconciler.checks import validation, warnfilter
from reconciler.repository import loader
from reconciler.daemon.revision import Revision, describe
from reconciler.daemon.sharding import Shard
from reconciler.daemon.state import content_hash, json_key
from reconciler.model import AgentDesired, ClientEnv, DesiredState, Finding
from reconciler.checks.policy import loader as policy_loader
from reconciler.checks.policy.model import PolicySet
from reconciler.planning.snapshot import RepositorySnapshot
from reconciler.settings import Settings


_MAX_SHARED_SCHEMAS = 10_000
#: Agents validated at once by a full load.
LOAD_CHUNK = 250


@dataclasses.dataclass(frozen=True)
class Snapshot:
    real_root: Path
    """DIR with every symlink resolved, at load time."""
    settings: Settings
    desired: DesiredState
    """Only the agents this shard owns (findings too), plus run-wide findings."""
    policies: PolicySet
    revision: str | None
    """``git rev-parse HEAD`` of the checkout, None when it is not a git work tree."""
    hashes: dict[tuple[str, ClientEnv], str]
    """Desired content hash per managed agent x environment."""
    fingerprints: dict[str, str]
    global_fingerprint: str
    by_agent: dict[str | None, tuple[Finding, ...]] = dataclasses.field(default_factory=dict)
    """Findings grouped by agent (``None``: run-wide), so a one-agent pass never scans the fleet's."""
    schemas: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Distinct schema texts -> the one object every page with that schema shares."""
    source_revision: Revision | None = None
    """The revision read (commit id, subject, author, time, uncommitted changes); ``revision`` is its id."""

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.desired.agents) | {f.agent for f in self.desired.findings if f.agent}))

    def of_agent(self, agent: str) -> RepositorySnapshot:
        """The repository snapshot of one agent (and the run-wide findings), for a one-agent plan."""
        agents = {agent: self.desired.agents[agent]} if agent in self.desired.agents else {}
        findings = self.by_agent.get(None, ()) + self.by_agent.get(agent, ())
        desired = DesiredState(root=self.desired.root, agents=agents, findings=findings)
        return RepositorySnapshot(settings=self.settings, desired=desired, policies=self.policies)


class Options:
    """What the command line adds to the repository's own settings."""

    def __init__(self, *, api_url: str | None, concurrency: int | None, resync: float | None) -> None:
        self.api_url, self.concurrency, self.resync = api_url, concurrency, resync


def resolve(link: Path) -> Path:
    return Path(os.path.realpath(link))


def load_settings(real: Path, options: Options) -> Settings:
    """Settings for a checkout; raises ConfigError like the CLI (the caller decides whether that is fatal)."""
    loaded = settings_module.load_settings(real, api_url=options.api_url, concurrency=options.concurrency)
    if options.resync is not None:
        loaded = dataclasses.replace(loaded, resync=options.resync)
    return loaded


def load_full(link: Path, shard: Shard, options: Options, previous: Settings | None) -> Snapshot:
    """Everything this shard owns, read from one resolved checkout.

    Agents are validated :data:`LOAD_CHUNK` at a time and their schemas shared right away, so
    the copies the loader makes never all exist at once (peak memory at 10,000 agents).
    """
    real = resolve(link)
    current = _settings_or(previous, real, options)
    policies = policy_loader.load_policies(real)
    present = loader.agent_ids(real)
    owned = [a for a in present if shard.owns(a)]
    empty = DesiredState(root=real, agents={},
                         findings=warnfilter.filter_repository(
                             real, tuple(validation.settings_findings(real)) + policies.findings))
    snapshot = _snapshot(real, current, empty, policies, None)
    for start in range(0, len(owned), LOAD_CHUNK):
        snapshot = _merge(snapshot, owned[start:start + LOAD_CHUNK], set(present))
    described = describe(real)
    return dataclasses.replace(snapshot, revision=described.id if described else None, source_revision=described)


def load_agents(snapshot: Snapshot, link: Path, agents: Iterable[str], shard: Shard) -> Snapshot:
    """Reload only ``agents`` (their files changed) into a copy of ``snapshot``; a deleted agent drops out.

    The revision is left as it was: the caller refreshes it off the critical path (a git process per
    edit is slow).
    """
    wanted = sorted({a for a in agents if shard.owns(a)})
    return _merge(snapshot, wanted, set(loader.agent_ids(snapshot.real_root)))


def _merge(snapshot: Snapshot, wanted: list[str], present: set[str]) -> Snapshot:
    """``snapshot`` with ``wanted`` agents read again (or dropped when their directory is gone)."""
    real = snapshot.real_root
    reload = [a for a in wanted if a in present]
    fresh = validation.validate_repository(real, agents=reload) if reload else None
    kept = {a: d for a, d in snapshot.desired.agents.items() if a not in wanted}
    findings = [f for f in snapshot.desired.findings if f.agent is not None and f.agent not in wanted]
    if fresh is not None:
        kept.update(fresh.agents)
        findings += [f for f in fresh.findings if f.agent in reload]
        run_wide = [f for f in fresh.findings if f.agent is None]
    else:
        run_wide = [f for f in snapshot.desired.findings if f.agent is None]
    desired = DesiredState(root=real, agents=kept, findings=tuple(run_wide + findings))
    merged = _snapshot(real, snapshot.settings, desired, snapshot.policies, snapshot.revision,
                       reuse=snapshot, fresh=set(wanted))
    return dataclasses.replace(merged, source_revision=snapshot.source_revision)


def changed_agents(old: Snapshot | None, new: Snapshot) -> tuple[str, ...] | None:
    """Agents whose desired state differs between two snapshots; None when every agent is concerned."""
    if old is None or old.global_fingerprint != new.global_fingerprint:
        return None
    names = set(old.fingerprints) | set(new.fingerprints)
    return tuple(sorted(a for a in names if old.fingerprints.get(a) != new.fingerprints.get(a)))


def _settings_or(previous: Settings | None, real: Path, options: Options) -> Settings:
    """Fresh settings; an invalid reconciler.yaml keeps the previous ones (its findings block every page)."""
    try:
        return load_settings(real, options)
    except errors.ConfigError:
        if previous is None:
            raise
        return dataclasses.replace(previous, root=real)


def _snapshot(real: Path, current: Settings, desired: DesiredState, policies: PolicySet,
              revision: str | None, *, reuse: Snapshot | None = None, fresh: set[str] | None = None) -> Snapshot:
    """``reuse``/``fresh``: hashes and fingerprints of agents not in ``fresh`` are taken from ``reuse``
    (an edit of one agent must not re-hash the whole fleet: 0.3 s of CPU at 1,000 agents)."""
    def recompute(agent: str) -> bool:
        return reuse is None or fresh is None or agent in fresh

    hashes = {key: digest for key, digest in (reuse.hashes.items() if reuse else ())
              if not recompute(key[0]) and key[0] in desired.agents}
    # Reused across edits; restarted when edits have piled up texts nobody may use any more.
    schemas = dict(reuse.schemas) if reuse and len(reuse.schemas) < _MAX_SHARED_SCHEMAS else {}
    agents = dict(desired.agents)
    for agent in desired.agents.values():
        if recompute(agent.agent):
            agents[agent.agent] = _hash_and_share(agent, hashes, schemas)
    desired = dataclasses.replace(desired, agents=agents)
    by_agent: dict[str, list[str]] = {}
    for (agent, env), digest in sorted(hashes.items()):
        if recompute(agent):
            by_agent.setdefault(agent, []).append(f"{env.value}={digest}")
    for f in desired.findings:
        # Errors only: warnings change nothing the daemon does (and some are reported once per fleet).
        if f.agent is not None and f.blocks and recompute(f.agent):
            by_agent.setdefault(f.agent, []).append(_finding_key(f))
    fingerprints = {a: fp for a, fp in (reuse.fingerprints.items() if reuse else ()) if not recompute(a)}
    fingerprints.update({a: hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()
                         for a, parts in by_agent.items()})
    run_wide = [repr(current.environments), repr(policies.policies)] + \
               sorted(_finding_key(f) for f in desired.findings if f.agent is None and f.blocks)
    global_fp = hashlib.sha256("\n".join(run_wide).encode()).hexdigest()
    grouped: dict[str | None, list[Finding]] = {}
    for f in desired.findings:
        grouped.setdefault(f.agent, []).append(f)
    return Snapshot(real, dataclasses.replace(current, root=real), desired, policies, revision, hashes,
                    fingerprints, global_fp, {k: tuple(v) for k, v in grouped.items()}, schemas)


def _hash_and_share(agent: AgentDesired, hashes: dict, schemas: dict[str, Any]) -> AgentDesired:
    """Hash each page; pages with the same schema text share one schema object.

    A fleet repeats a handful of schemas across thousands of pages, and the loader hands every
    page its own copy: sharing them is most of the daemon's memory at 10,000 agents. Nothing
    mutates desired state (the planner is pure, plans are frozen), so sharing is safe.
    """
    envs = {}
    for env, page in agent.envs.items():
        text = json_key(page.schema)
        hashes[(agent.agent, env)] = content_hash(page.schema, page.values, schema_text=text)
        shared = schemas.setdefault(text, page.schema) if page.schema is not None else None
        envs[env] = page if shared is page.schema else dataclasses.replace(page, schema=shared)
    return dataclasses.replace(agent, envs=envs)


def _finding_key(f: Finding) -> str:
    return f"{f.severity}|{f.code}|{f.file}|{f.line}|{f.path}|{f.env}|{f.message}"
