"""``reconciler connectors``: each agent's telephony connectors, per environment.

Called by ``cli/connectors.py``. One ``GET /v1/agents/{id}/telephony/connectors``
per agent, agents read concurrently (at most ``concurrency`` at once); an agent
that cannot be read is reported in its entry and the others are still listed.
Rendering (text, JSON ``format_version`` 1) is here too: it only picks words
for what the API returned.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import __version__, settings as settings_module
from reconciler.aio import run_async
from reconciler.api import AgentsApi
from reconciler.errors import ApiError
from reconciler.model import ClientEnv

FORMAT_VERSION = 1


@dataclass(frozen=True)
class AgentConnectors:
    agent: str
    connectors: tuple[Mapping[str, Any], ...] = ()
    """As the API returned them (``connectorId``, ``name``, ``clientEnv``, ``variantId``, …)."""
    error: str | None = None


@dataclass(frozen=True)
class Listing:
    target: str
    agents: tuple[AgentConnectors, ...] = field(default_factory=tuple)
    created_at: str = ""
    """Wall-clock time (ISO 8601 UTC) just before the connectors were read."""

    @property
    def ok(self) -> bool:
        return all(a.error is None for a in self.agents)


def list_connectors(root: Path, agents: Sequence[str], *, api_url: str | None = None) -> Listing:
    """Read every agent's connectors once."""
    settings = settings_module.load_settings(Path(root), api_url=api_url)

    created_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    async def go() -> Listing:
        async with AgentsApi.from_settings(settings) as api:
            slots = asyncio.Semaphore(settings.concurrency)

            async def one(agent: str) -> AgentConnectors:
                async with slots:
                    try:
                        return AgentConnectors(agent, tuple(await api.list_connectors(agent)))
                    except ApiError as exc:
                        return AgentConnectors(agent, error=str(exc))
            found = await asyncio.gather(*(one(a) for a in dict.fromkeys(agents)))
            return Listing(api.target, tuple(found), created_at)
    return run_async(go())


def _env_rank(env: Any) -> int:
    names = ClientEnv.names()
    return names.index(env) if env in names else len(names)


def _sorted(connectors: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(connectors, key=lambda c: (_env_rank(c.get("clientEnv")), str(c.get("name") or ""),
                                             str(c.get("connectorId") or "")))


def connector_json(c: Mapping[str, Any]) -> dict[str, Any]:
    return {"connector_id": c.get("connectorId"), "name": c.get("name"), "env": c.get("clientEnv"),
            "variant": c.get("variantId"), "asr_language": c.get("asrLangCode"),
            "tts_language": c.get("ttsLangCode"), "voice": c.get("voiceName"),
            "handoff": not bool(c.get("disableHandoff")),
            "account_id": c.get("accountId"), "project_id": c.get("projectId")}


def to_json(listing: Listing) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "command": "connectors", "tool_version": __version__,
            "created_at": listing.created_at or None, "target": listing.target,
            "agents": [{"agent": a.agent, "error": a.error,
                        "connectors": [connector_json(c) for c in _sorted(a.connectors)]} for a in listing.agents]}


def render_json(listing: Listing) -> str:
    return json.dumps(to_json(listing), indent=2, ensure_ascii=False) + "\n"


def render_text(listing: Listing) -> str:
    lines = [f"connectors · target {listing.target}"]
    for entry in listing.agents:
        lines.append("")
        if entry.error is not None:
            lines.append(f"{entry.agent}: error: {entry.error}")
            continue
        if not entry.connectors:
            lines.append(f"{entry.agent}: no connectors")
            continue
        lines.append(f"{entry.agent}:")
        current = None
        for c in _sorted(entry.connectors):
            data = connector_json(c)
            if data["env"] != current:
                current = data["env"]
                lines.append(f"  {current}:")
            languages = f"{data['asr_language'] or '?'} → {data['tts_language'] or '?'}"
            lines.append(f"    {data['name'] or data['connector_id']}  variant {data['variant'] or '-'}  "
                         f"languages {languages}  voice {data['voice'] or '-'}  "
                         f"handoff {'on' if data['handoff'] else 'off'}")
    failed = sum(1 for a in listing.agents if a.error is not None)
    total = sum(len(a.connectors) for a in listing.agents)
    lines.append("")
    lines.append(f"{len(listing.agents)} agent(s), {total} connector(s)" + (f", {failed} error(s)" if failed else ""))
    return "\n".join(lines) + "\n"
