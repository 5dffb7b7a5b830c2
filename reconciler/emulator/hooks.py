"""Test hooks under ``/_emulator`` — NOT part of the live Agents API.

They let tests and benchmarks seed agents (including out-of-band "UI edits"
and orphan keys, which bypass validation), read counters and the request log,
inject faults and reset everything. No API key is needed and faults never
apply here; requests to hooks are not counted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from reconciler.emulator import body
from reconciler.emulator.envelope import ApiProblem, json_response
from reconciler.emulator.faults import Faults
from reconciler.emulator.routes import check_env, check_ids, not_found
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import ENVS

router = APIRouter(prefix="/_emulator", tags=["emulator test hooks (not part of the live API)"])


def _state(request: Request) -> EmulatorState:
    return request.app.state.emulator


def _bad(message: str) -> ApiProblem:
    return ApiProblem(400, "INVALID_REQUEST_BODY", message)


def _seed_pages(raw: Any) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad("'pages' must be an object keyed by clientEnv")
    pages: dict[str, dict[str, Any]] = {}
    for env, page in raw.items():
        check_env(env)
        if not isinstance(page, dict):
            raise _bad(f"pages.{env} must be an object")
        pages[env] = _page_fields(page, f"pages.{env}")
    return pages


def _page_fields(page: dict[str, Any], where: str) -> dict[str, Any]:
    fields = {k: page[k] for k in ("schema", "variables") if page.get(k) is not None}
    for key, value in fields.items():
        if not isinstance(value, dict):
            raise _bad(f"{where}.{key} must be an object")
    return fields


def _seed_connectors(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise _bad("'connectors' must be a list of objects")
    return raw


@router.post("/agents", status_code=201)
async def seed_agent(request: Request) -> Response:
    """Create or replace an agent: ``{"agentId", "connectors"?: [...], "pages"?: {env: {"schema"?, "variables"?}}}``.

    Seeded pages are NOT validated (that is how tests stage UI edits and orphan keys).
    """
    data = await body.read_json_object(request)
    agent_id = data.get("agentId")
    if not isinstance(agent_id, str):
        raise _bad("'agentId' must be a string")
    check_ids(agent_id)
    pages, connectors = _seed_pages(data.get("pages")), _seed_connectors(data.get("connectors"))
    store = _state(request).store
    config_pages = await run_in_threadpool(store.seed_agent, agent_id, pages, connectors)
    stored = await run_in_threadpool(store.connectors, agent_id)
    return json_response({"agentId": agent_id, "configPages": config_pages, "connectors": stored}, 201)


@router.get("/agents/{agentId}")
async def peek_agent(request: Request, agentId: str) -> Response:
    """The agent's pages, read without counting or faults (for assertions under faults)."""
    check_ids(agentId)
    pages = await run_in_threadpool(_state(request).store.pages, agentId)
    if pages is None:
        raise not_found(agentId)
    return json_response({"agentId": agentId, "configPages": pages})


@router.put("/agents/{agentId}/pages/{clientEnv}")
async def edit_page(request: Request, agentId: str, clientEnv: str) -> Response:
    """Simulate a UI edit: replace ``schema`` and/or ``variables`` wholesale, unvalidated; bumps lastUpdated."""
    check_ids(agentId, clientEnv)
    fields = _page_fields(await body.read_json_object(request), "body")
    page = await run_in_threadpool(_state(request).store.update_page, agentId, clientEnv, lambda _current: fields)
    if page is None:
        raise not_found(agentId)
    return json_response(page)


@router.patch("/agents/{agentId}/pages/{clientEnv}")
async def edit_page_keys(request: Request, agentId: str, clientEnv: str) -> Response:
    """Simulate a UI edit of some keys: ``{"variables": {...}}`` merged key by key (shallow) into the page,
    unvalidated; bumps lastUpdated. Keys not named stay as they are."""
    check_ids(agentId, clientEnv)
    data = await body.read_json_object(request)
    if set(data) != {"variables"} or not isinstance(data["variables"], dict):
        raise _bad("the body must be {\"variables\": {...}}: the keys to set (to replace a whole page, PUT)")
    patch = data["variables"]
    page = await run_in_threadpool(_state(request).store.update_page, agentId, clientEnv,
                                   lambda current: {"variables": {**(current["variables"] or {}), **patch}})
    if page is None:
        raise not_found(agentId)
    return json_response(page)


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Empty everything: agents, pages, connectors, counters, request log and faults."""
    state = _state(request)
    await run_in_threadpool(state.store.reset)
    state.traffic.reset()
    state.faults = Faults()
    return json_response({"reset": True})


@router.get("/stats")
async def stats(request: Request) -> Response:
    """``{"total": N, "by_route": {"METHOD /v1/route/template": n}}`` over every /v1 request that arrived."""
    return json_response(_state(request).traffic.stats())


@router.post("/stats/reset")
async def reset_stats(request: Request) -> Response:
    """Zero the counters and clear the request log."""
    _state(request).traffic.reset()
    return json_response(_state(request).traffic.stats())


@router.get("/requests")
async def requests_log(request: Request) -> Response:
    """``{"requests": [{"method", "path", "route", "status", "correlation_id"}]}`` in arrival order
    (status null = dropped; correlation_id: the client's ``X-PolyAI-Correlation-Id``, or the one minted)."""
    return json_response({"requests": _state(request).traffic.requests()})


@router.get("/faults")
async def get_faults(request: Request) -> Response:
    """The current fault settings."""
    return json_response(_state(request).faults.to_json())


@router.put("/faults")
async def put_faults(request: Request) -> Response:
    """Replace the fault settings; a key left out is 0."""
    try:
        faults = Faults.from_json(await body.read_json_object(request))
    except ValueError as exc:
        raise _bad(str(exc)) from None
    _state(request).faults = faults
    return json_response(faults.to_json())
