"""The live API surface (DESIGN.md §1) as FastAPI routes under ``/v1``.

The middleware has already counted the request, applied faults and checked the
key. Here: agentId / clientEnv checks, body parsing (``body``), Draft 7 checks
(``schemas``) and one store call per request, run in a worker thread because
SQLite and jsonschema block.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from reconciler.emulator import body, schemas
from reconciler.emulator.envelope import ApiProblem, json_response
from reconciler.emulator.faults import Faults
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import ENVS

AGENT_ID = re.compile(r"[a-zA-Z0-9-]+")
INVALID_SCHEMA = "REAL_TIME_CONFIG_INVALID_SCHEMA"
INVALID_FOR_SCHEMA = "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA"
UNKNOWN_ENV = "REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT"

router = APIRouter(prefix="/v1", tags=["real-time configs (live API surface)"])


def _state(request: Request) -> EmulatorState:
    return request.app.state.emulator


def check_agent_id(agent_id: str) -> None:
    """400 for an agentId outside ``^[a-zA-Z0-9-]+$``."""
    if not AGENT_ID.fullmatch(agent_id):
        raise ApiProblem(400, "INVALID_AGENT_ID", "agentId must match ^[a-zA-Z0-9-]+$")


def check_env(env: str) -> None:
    """400 REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT for anything but sandbox, pre-release, live."""
    if env not in ENVS:
        raise ApiProblem(400, UNKNOWN_ENV, f"unknown clientEnv {env[:100]!r}; expected one of {', '.join(ENVS)}")


def check_ids(agent_id: str, env: str | None = None) -> None:
    check_agent_id(agent_id)
    if env is not None:
        check_env(env)


def not_found(agent_id: str) -> ApiProblem:
    return ApiProblem(404, "AGENT_NOT_FOUND", f"agent {agent_id!r} not found")


@router.get("/agents/{agentId}/real-time-configs")
async def list_config_pages(request: Request, agentId: str) -> Response:
    """One config page per environment, in the order sandbox, pre-release, live."""
    state = _state(request)
    check_ids(agentId)
    # Reads run inline: a store read is a short SQLite transaction under the store's lock, and the
    # hop to a worker thread cost more than the read (GIL hand-offs; measured 0.8-1.0 ms of emulator CPU
    # per GET through the thread pool, 0.5-0.7 ms inline, and ~1.5x the GETs per second).
    pages = state.store.pages(agentId, create=state.auto_create)
    if pages is None:
        raise not_found(agentId)
    return json_response({"configPages": pages})


@router.get("/agents/{agentId}/real-time-configs/{clientEnv}")
async def get_config_page(request: Request, agentId: str, clientEnv: str) -> Response:
    """One environment's config page."""
    state = _state(request)
    check_ids(agentId, clientEnv)
    page = state.store.page(agentId, clientEnv, create=state.auto_create)      # inline, as above
    if page is None:
        raise not_found(agentId)
    return json_response(page)


@router.put("/agents/{agentId}/real-time-configs/{clientEnv}/schema")
async def put_schema(request: Request, agentId: str, clientEnv: str) -> Response:
    """Upsert the page's JSON Schema (Draft 7); accepted even if current variables stop validating."""
    state = _state(request)
    check_ids(agentId, clientEnv)
    schema = body.require_object(await body.read_json_object(request), "schema")
    reason = await run_in_threadpool(schemas.check_schema, schema)
    if reason:
        raise ApiProblem(400, INVALID_SCHEMA, f"schema is not a valid JSON Schema (Draft 7): {reason}")
    page = await run_in_threadpool(state.store.update_page, agentId, clientEnv,
                                   lambda current: {"schema": schema}, create=state.auto_create)
    if page is None:
        raise not_found(agentId)
    warnings = schemas.pattern_warnings(schema)
    # RFC 9111 "Warning" (299: miscellaneous persistent warning), ASCII-escaped for the header.
    headers = {"Warning": ", ".join(f'299 - {json.dumps(w)}' for w in warnings)} if warnings else None
    return json_response(page, headers=headers)


def _merge_checked(variables: dict[str, Any], faults: Faults) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The store callback for PATCH: shallow merge (unless a fault says otherwise), then validate."""

    def change(current: dict[str, Any]) -> dict[str, Any]:
        merged = faults.merged(current["variables"], faults.incoming_variables(variables))
        try:
            errors = schemas.variables_errors(current["schema"], merged)
        except schemas.PatternTimeout as exc:
            raise ApiProblem(400, INVALID_FOR_SCHEMA, f"pattern {exc.pattern[:200]!r} took too long to evaluate "
                             f"(over {schemas.PATTERN_BUDGET_S} s); simplify the pattern") from None
        except schemas.SchemaUnusable as exc:
            raise ApiProblem(400, INVALID_FOR_SCHEMA, str(exc)) from None
        if errors:
            raise ApiProblem(400, INVALID_FOR_SCHEMA, schemas.summarize(errors))
        return {"variables": merged}

    return change


@router.patch("/agents/{agentId}/real-time-configs/{clientEnv}/variables")
async def patch_variables(request: Request, agentId: str, clientEnv: str) -> Response:
    """Shallow-merge variables (top-level keys replace); the merged result must fit the current schema."""
    state = _state(request)
    check_ids(agentId, clientEnv)
    variables = body.require_object(await body.read_json_object(request), "variables")
    page = await run_in_threadpool(state.store.update_page, agentId, clientEnv,
                                   _merge_checked(variables, state.faults), create=state.auto_create)
    if page is None:
        raise not_found(agentId)
    return json_response(page)


@router.get("/agents/{agentId}/telephony/connectors")
async def list_connectors(request: Request, agentId: str) -> Response:
    """Every telephony connector of the agent's project."""
    state = _state(request)
    check_ids(agentId)
    connectors = await run_in_threadpool(state.store.connectors, agentId, create=state.auto_create)
    if connectors is None:
        raise not_found(agentId)
    return json_response({"connectors": connectors})
