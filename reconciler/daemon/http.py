"""The operator surface: ``/healthz``, ``/readyz``, ``/metrics``, ``/status`` and ``/`` (the status page).

Built by the daemon's loop and served by uvicorn in the same event loop as the
passes, so an answer from ``/healthz`` is itself proof that the loop is alive.
It only reads: the :class:`~reconciler.daemon.status.Board` and the metrics.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from reconciler.daemon import page
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
