"""Limits of the daemon's HTTP server: slow clients cut off, connections capped, requests bounded.

Called by :mod:`reconciler.daemon.loop` (one line: ``serving.server(app)``) to
build the uvicorn server of ``/healthz``, ``/readyz``, ``/metrics``,
``/status`` and ``/``. uvicorn alone keeps a connection that sent half a
request forever (its keep-alive timeout only starts after a response): 200
such connections were all still open after 30 s (issue 22). Here:

- every request must arrive *and* be answered within :data:`REQUEST_TIMEOUT`
  seconds of the connection being ready for it (opened, or the previous
  response sent): headers that trickle in, or a body that never ends, and the
  connection is closed. Idle keep-alive connections close after
  :data:`KEEP_ALIVE` seconds (uvicorn's own timer);
- at most :data:`MAX_CONNECTIONS` connections at once: beyond, uvicorn answers
  503 (probes stay answered while hundreds of slow clients are held);
- a request's headers are bounded (:data:`MAX_HEADER_BYTES`: h11 answers 400
  to a request still incomplete beyond it, and a complete one gets 431) and so is its body: every route is a GET, so a declared or chunked
  body over :data:`MAX_BODY_BYTES` gets 413 without being read (where the push webhook is served, its
  own larger bound applies: ``max_body``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds a connection has to send a whole request and get its answer (headers and body included).
REQUEST_TIMEOUT = 5.0
#: Seconds an idle keep-alive connection stays open.
KEEP_ALIVE = 5
#: Connections served at once (above: 503).
MAX_CONNECTIONS = 1000
#: Bytes of a request's line and headers.
MAX_HEADER_BYTES = 16 * 1024
#: Bytes of a request body (the daemon's routes take none).
MAX_BODY_BYTES = 64 * 1024


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request, from the moment the connection awaits it."""

    deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()                           # the next request (if any) has its own REQUEST_TIMEOUT

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.deadline = self.loop.call_later(REQUEST_TIMEOUT, self._too_slow)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _too_slow(self) -> None:
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def bounded_body(app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> ASGIApp:
    """``app``, answering 413 to a request that declares (or streams) a body over ``max_body`` bytes."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope.get("headers") or ()
        if scope["type"] == "http" and sum(len(k) + len(v) + 4 for k, v in headers) > MAX_HEADER_BYTES:
            await _refuse(send, 431, b"request headers too large\n")
        elif scope["type"] == "http" and _too_big(dict(headers), max_body):
            await _refuse(send, 413, b"request body too large\n")
        else:
            await app(scope, receive, send)

    return guarded


async def _refuse(send: Send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": text})


def _too_big(headers: dict[bytes, bytes], max_body: int) -> bool:
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return True
    length = headers.get(b"content-length", b"0")
    return not length.isdigit() or int(length) > max_body


def config_kwargs() -> dict[str, Any]:
    """The uvicorn ``Config`` arguments that carry the limits."""
    return {"http": GuardedH11Protocol, "limit_concurrency": MAX_CONNECTIONS, "timeout_keep_alive": KEEP_ALIVE,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES}


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield                                 # the daemon's loop handles SIGINT/SIGTERM itself


def server(app: ASGIApp, log_level: str = "warning", max_body: int = MAX_BODY_BYTES) -> uvicorn.Server:
    """A uvicorn server for ``app`` with every limit above (serve it with ``server.serve(sockets=[…])``)."""
    return _Server(uvicorn.Config(bounded_body(app, max_body), ws="none", lifespan="off", loop="asyncio",
                                  log_level=log_level, access_log=False, timeout_graceful_shutdown=5,
                                  **config_kwargs()))
