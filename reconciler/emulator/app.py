"""``create_app``: the emulator's FastAPI application, wired once.

Called by ``reconciler emulator`` (served by uvicorn, see ``server``), by the
test fixture in ``tests/conftest.py`` and, for ``api.url: local``, by the api
client behind ``httpx.ASGITransport`` — which runs no lifespan events, so the
store is opened right here rather than at startup.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from reconciler import __version__
from reconciler.emulator import envelope, hooks, routes
from reconciler.emulator.envelope import ApiProblem
from reconciler.emulator.faults import Faults
from reconciler.emulator.middleware import EmulatorMiddleware, quiet_dropped_connections
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.store import Store

DESCRIPTION = (
    "A local stand-in for the PolyAI Agents API real-time config surface. It is NOT the real "
    "service. Routes under /_emulator are test hooks that the live API does not have."
)


def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return envelope.problem_response(exc, envelope.correlation_id_of(request.scope))


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    code = codes.get(exc.status_code, "HTTP_ERROR")
    message = f"no route for {request.method} {request.url.path}"[:300] if exc.status_code in codes else str(exc.detail)
    problem = ApiProblem(exc.status_code, code, message, headers=exc.headers)
    return envelope.problem_response(problem, envelope.correlation_id_of(request.scope))


def _validation_error(request: Request, exc: Exception) -> Response:
    problem = ApiProblem(400, "INVALID_REQUEST", "the request does not match the API")
    return envelope.problem_response(problem, envelope.correlation_id_of(request.scope))


def create_app(db_path: str | Path, *, auto_create: bool = False, api_keys: Iterable[str] = (),
               faults: Faults | None = None) -> FastAPI:
    """The emulator app with its state in SQLite at ``db_path`` (parent directories are created).

    ``auto_create``: unknown agents spring into existence on first use (for ``api.url: local``).
    ``api_keys``: accepted ``x-api-key`` values; empty = any non-empty key.
    """
    state = EmulatorState(store=Store(db_path), auto_create=auto_create,
                          api_keys=frozenset(k for k in api_keys if k), faults=faults or Faults())
    app = FastAPI(title="PolyAI Agents API emulator", version=__version__, description=DESCRIPTION,
                  redoc_url=None)
    app.state.emulator = state
    app.include_router(routes.router)
    app.include_router(hooks.router)
    app.add_exception_handler(ApiProblem, _problem)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(EmulatorMiddleware, state=state, routes=list(routes.router.routes))
    quiet_dropped_connections()
    return app
