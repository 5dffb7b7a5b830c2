"""Serving the emulator app with uvicorn: in the foreground (CLI) or in a thread (tests).

``reconciler emulator`` calls :func:`serve`; ``tests/conftest.py`` and the
benchmarks use :class:`ThreadedServer`. Both bind the socket themselves so that
port 0 picks a free port and the real one is known, and both use the h11
protocol (the injected "drop" fault depends on it, see ``middleware``).
uvicorn's own signal capture is replaced, because it re-raises SIGINT/SIGTERM
after shutdown; here a signal just asks the server to stop, and ``serve`` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # signals are handled by serve(); threads get none


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket; port 0 = any free port."""
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


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _config(app: ASGIApp, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, http="h11", ws="none", lifespan="off", loop="asyncio",
                          log_level=log_level, access_log=False, timeout_graceful_shutdown=5)


def make_server(app: ASGIApp, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app`` set up as ``serve`` sets it up (h11, no lifespan, no signal capture).

    For an app of another part of the package served on a socket from :func:`bind` (the daemon's status
    endpoints): ``await make_server(app).serve(sockets=[sock])``.
    """
    return _Server(_config(app, log_level))


async def serve(app: ASGIApp, host: str, port: int, on_ready: Callable[[str], None],
                log_level: str = "warning") -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready(url)`` once connections are accepted."""
    sock = bind(host, port)
    server = make_server(app, log_level)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        on_ready(url_of(sock))
    await task


class ThreadedServer:
    """uvicorn in a daemon thread on loopback; ``url`` is valid after :meth:`start`."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = bind(host, port)
        self.url = url_of(self._sock)
        self._server = make_server(app)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"emulator {self.url}", daemon=True)

    def start(self, timeout: float = 10.0) -> "ThreadedServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"emulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
