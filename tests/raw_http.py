"""A scripted HTTP/1.1 server on a real loopback socket, for the failures a real server would not make.

Each request is read whole (request line, headers, ``Content-Length`` body) and
recorded; ``reply(request)`` gives the bytes to send back — any bytes: a cut
body, half a header block, a line that is not HTTP — or ``None`` to say nothing
and keep the connection open until the server stops (a silent server). After a
reply the connection stays open for the next request unless the reply asked
to close it. Threads, so it serves a client running its own event loop.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Reply:
    data: bytes
    close: bool = False


def answer(status: int, body: Any = b"", *, headers: dict[str, str] | None = None, close: bool = False,
           length: int | None = None) -> Reply:
    """An HTTP/1.1 answer; ``body`` bytes or JSON; ``length`` overrides Content-Length (to cut a body short)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(data) if length is None else length}",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if close:
        lines.append("Connection: close")
    return Reply(("\r\n".join(lines) + "\r\n\r\n").encode() + data, close=close)


@dataclass
class RawServer:
    reply: Callable[[Request], Reply | None]
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return len(self._conns)

    def __enter__(self) -> "RawServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        with self._lock:
            for conn in self._conns:
                conn.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = [tuple(x.strip() for x in line.split(":", 1)) for line in header_lines]
                length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                method, target, _ = request_line.split(" ", 2)
                request = Request(method, target, headers, body)          # type: ignore[arg-type]
                with self._lock:
                    self.requests.append(request)
                reply = self.reply(request)
                if reply is None:                      # silent: hold the connection until the end
                    self._stop.wait()
                    return
                conn.sendall(reply.data)
                if reply.close:
                    return
        except OSError:
            return
        finally:
            conn.close()
