"""Seeding the emulator from a repository-shaped fleet: ``configs/<agent>/<env>/{schema,values}.yaml``.

Called by ``reconciler emulator seed DIR``. The fleet is read by the loader (the
only reader of repositories) and every agent is created or replaced as the
``POST /_emulator/agents`` hook does — unvalidated, so a fleet can hold what the
Configuration Builder holds. Two targets: a served emulator (its hook over HTTP,
``--url``), or the ``url: local`` database of a repository
(``<root>/.reconciler/local.db``, written through the emulator's own store).
Neither is the live Agents API: this module never talks to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from reconciler.api.transport import local_db_path
from reconciler.emulator.store import Store
from reconciler.errors import ConfigError
from reconciler.model import DesiredState
from reconciler.repository import loader, statedir


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What was seeded: agent -> environments, and the loader's errors (those pages were skipped)."""

    agents: Mapping[str, tuple[str, ...]]
    problems: tuple[str, ...]


def fleet_pages(fleet: DesiredState) -> dict[str, dict[str, dict[str, Any]]]:
    """agent -> {env: {"schema"?, "variables"?}} of every page the fleet holds."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for agent in sorted(fleet.agents):
        pages = {}
        for env, page in fleet.agents[agent].envs.items():
            fields = {k: v for k, v in (("schema", page.schema), ("variables", page.values)) if v is not None}
            if fields:
                pages[env.value] = fields
        out[agent] = pages
    return out


def seed(fleet_dir: Path, *, url: str | None = None, root: Path | None = None) -> Seeded:
    """Load ``fleet_dir`` into the emulator served at ``url``, or into ``root``'s ``url: local`` database."""
    fleet = loader.load_repository(Path(fleet_dir))
    problems = tuple(f"{f.file or fleet_dir}: {f.message}" for f in fleet.findings if f.blocks)
    pages = fleet_pages(fleet)
    if not pages and problems:
        raise ConfigError(f"nothing to seed from {fleet_dir}: {problems[0]}", code="emulator.seed")
    if url is not None:
        _seed_served(url, pages)
    elif root is not None:
        _seed_local(root, pages)
    else:                                   # pragma: no cover - the CLI always gives one
        raise ValueError("seed needs url or root")
    return Seeded({a: tuple(p) for a, p in pages.items()}, problems)


def _seed_served(url: str, pages: Mapping[str, Mapping[str, Any]]) -> None:
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=30) as client:
            for agent, agent_pages in pages.items():
                response = client.post("/_emulator/agents", json={"agentId": agent, "pages": dict(agent_pages)})
                if response.status_code != 201:
                    raise ConfigError(f"the emulator at {url} refused {agent}: HTTP {response.status_code} "
                                      f"{response.text[:200]}", code="emulator.seed")
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach an emulator at {url}: {exc}", code="emulator.seed") from None


def _seed_local(root: Path, pages: Mapping[str, Mapping[str, Any]]) -> None:
    statedir.ensure(root)
    store = Store(local_db_path(root))
    try:
        for agent, agent_pages in pages.items():
            store.seed_agent(agent, agent_pages, [])
    finally:
        store.close()
