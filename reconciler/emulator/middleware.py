"""The emulator's outer ASGI layer: correlation ids, counters, faults, auth, last-resort 500.

Order for a request under ``/v1`` (DESIGN.md §1; nothing here applies to the
``/_emulator`` hooks except the correlation id):

1. take the client's correlation id (``X-PolyAI-Correlation-Id``), or mint one when none
   usable was sent, and put it on the response;
2. count the request by ``METHOD /route/template`` and log it, with its correlation id;
3. injected latency, then at most one injected fault (drop, 500/503, 429), decided
   before any handler runs, so a faulted request never touches state;
4. ``x-api-key`` check (401);
5. the route itself.

Dropping a connection: uvicorn's h11 protocol closes the socket without writing
a byte when the app fails *after* marking the response started but before any
byte was written, which is what sending an unencodable start message does.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.emulator import envelope
from reconciler.emulator.envelope import ApiProblem
from reconciler.emulator.faults import FaultKind
from reconciler.emulator.state import EmulatorState

log = logging.getLogger(__name__)


class ConnectionDropped(Exception):
    """Raised to make the server close the connection without a response (injected fault)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and record.exc_info[0] is ConnectionDropped)


def quiet_dropped_connections() -> None:
    """Keep uvicorn from logging a traceback for every injected drop."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


def route_template(routes: list[Any], scope: Scope) -> str:
    """``/v1/agents/{agentId}/…`` for a known route, ``(unmatched)`` otherwise.

    ``routes`` are the live-API router's own routes (their path includes the
    prefix); a path that matches with another method still counts under its template.
    """
    path, method = scope["path"], scope["method"]
    partial = None
    for route in routes:
        if route.path_regex.match(path):
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route.path
            partial = partial or route.path
    return partial or "(unmatched)"


def _is_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, *, state: EmulatorState, routes: list[Any]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = envelope.correlation_id_for(Headers(scope=scope).get(envelope.CORRELATION_HEADER))
        scope[envelope.SCOPE_KEY] = cid
        v1 = _is_v1(scope["path"])
        entry = None
        if v1:
            entry = self.state.traffic.record(scope["method"], scope["path"], route_template(self.routes, scope),
                                              correlation_id=cid)
        started = False

        async def send_with_id(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append(envelope.CORRELATION_HEADER, cid)
                if entry is not None:
                    entry["status"] = message["status"]
            await send(message)

        try:
            problem = await self._before_route(scope, send) if v1 else None
            if problem is not None:
                await envelope.problem_response(problem, cid)(scope, receive, send_with_id)
                return
            await self.app(scope, receive, send_with_id)
        except ConnectionDropped:
            raise
        except Exception:
            log.exception("unexpected error in the emulator (%s %s)", scope["method"], scope["path"])
            if started:
                raise
            problem = ApiProblem(500, "INTERNAL_SERVER_ERROR", "unexpected emulator error")
            await envelope.problem_response(problem, cid)(scope, receive, send_with_id)

    async def _before_route(self, scope: Scope, send: Send) -> ApiProblem | None:
        faults, rng = self.state.faults, self.state.rng
        delay = faults.delay_s(rng)
        if delay > 0:
            await asyncio.sleep(delay)
        kind = faults.decide(rng)
        if kind is FaultKind.DROP:
            await _drop(send)
        if kind is FaultKind.ERROR:
            status = rng.choice((500, 503))
            code = "INTERNAL_SERVER_ERROR" if status == 500 else "SERVICE_UNAVAILABLE"
            return ApiProblem(status, code, "injected fault: the emulator is configured to fail this request")
        if kind is FaultKind.RATE_LIMIT:
            return ApiProblem(429, "TOO_MANY_REQUESTS", "rate limit exceeded (injected fault)",
                              headers={"Retry-After": str(int(faults.retry_after_s))})
        return self._check_key(Headers(scope=scope).get("x-api-key"))

    def _check_key(self, key: str | None) -> ApiProblem | None:
        if not key:
            return ApiProblem(401, "UNAUTHORIZED", "missing x-api-key header")
        if self.state.api_keys and not any(hmac.compare_digest(key.encode(), k.encode())
                                           for k in self.state.api_keys):
            return ApiProblem(401, "UNAUTHORIZED", "invalid API key")
        return None


async def _drop(send: Send) -> None:
    # A header value with a newline makes h11 refuse the start line after uvicorn
    # has marked the response as started; uvicorn then closes the transport.
    try:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-drop", b"\r\n")]})
    except Exception:
        pass
    raise ConnectionDropped("injected fault: connection dropped")
