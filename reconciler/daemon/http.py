"""The operator surface: ``/healthz``, ``/readyz``, ``/metrics``, ``/status`` and ``/`` (the status page).

Built by the daemon's loop and served by uvicorn in the same event loop as the
passes (:func:`start`), so an answer from ``/healthz`` is itself proof that the
loop is alive. It only reads: the :class:`~reconciler.daemon.status.Board` and
the metrics.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from reconciler.daemon import page, serving
from reconciler.daemon.metrics import CONTENT_TYPE, Metrics
from reconciler.daemon.status import Board


def create_app(board: Board, metrics: Metrics, alive: Callable[[], bool]) -> Starlette:
    async def healthz(_: Request) -> Response:
        ok = alive()
        return PlainTextResponse("ok\n" if ok else "loop stopped\n", status_code=200 if ok else 503)

    async def readyz(_: Request) -> Response:
        if board.ready:
            return PlainTextResponse("ready\n" + (f"{held}\n" if (held := board.held_line()) else ""))
        return PlainTextResponse("first full sync not finished\n", status_code=503)

    async def metrics_view(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def status_view(_: Request) -> Response:
        return JSONResponse(board.document())

    async def index(_: Request) -> Response:
        return HTMLResponse(page.render(board.document()))

    return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics_view),
                             Route("/status", status_view), Route("/", index)])


async def start(app: Starlette, host: str, port: int, max_body: int | None = None,
                ) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve ``app`` on ``host:port`` (0: any free port) in this event loop: (server, its task, its URL).

    ``max_body``: bytes of a request body (default :data:`~reconciler.daemon.serving.MAX_BODY_BYTES`;
    larger where the push webhook is served).

    Returns once connections are accepted; an ``OSError`` when the address cannot be bound.
    Stop it with ``server.should_exit = True`` and await the task. uvicorn takes SIGINT/SIGTERM
    while it starts; the daemon installs its own handlers afterwards (they win until the server stops).
    """
    sock = _bind(host, port)
    server = serving.server(app, max_body=max_body or serving.MAX_BODY_BYTES)   # limits: daemon/serving.py
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://[{bound_host}]:{bound_port}" if ":" in bound_host else f"http://{bound_host}:{bound_port}"
    return server, task, url


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets, and without it
    # Nagle + delayed ACK add ~40 ms to every keep-alive response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
