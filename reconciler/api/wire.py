"""The wire: send one request with httpx, get an ``httpx.Response`` back. Nothing else.

:class:`~reconciler.api.client.AgentsApi` keeps everything above this line —
retries, the circuit breaker, the rate gate, error mapping, redaction, request
counting, the observer. One HTTP library, httpx, for every target: an http(s)
URL goes through :class:`Connections` (below), ``url: local`` through
``httpx.ASGITransport`` to the embedded emulator, tests through any injected
``httpx.AsyncBaseTransport``. Failures are httpx's exceptions, mapped to typed
errors once, in :meth:`AgentsApi._attempt <reconciler.api.client.AgentsApi>`.

What every request gets: the headers of :func:`base_headers` (``Accept-Encoding``
pinned to what httpx always decodes, so an optional ``brotli``/``zstandard`` never
changes what is asked for), bodies encoded by :func:`encode_json`, ``timeout``
seconds to connect (name lookup included) and between reads, no redirects
followed, no retries inside the transport (ours are counted, logged and seen by
the breaker), no proxy from the environment, no cookie jar (the API
authenticates by header) and TLS verified like httpx does by default (certifi,
or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).

Requests go straight to a transport (``handle_async_request``), not through an
``httpx.AsyncClient``: the client's layers — base-URL merging (a second URL
parse), the cookie jar (a ``urllib`` request built per response), auth and
redirect hooks — were ~15 % of our CPU per GET and none of them is used here
(``benchmarks/http_bench.py``, median of 3 at load average 2: 1.86 ms through a
client, **1.58 ms** through the transport). The request is what a client sends:
the same headers (with its ``Connection: keep-alive``), the same timeouts.

The transport of an http(s) URL is :class:`Connections`: HTTP/1.1 keep-alive
connections on asyncio's streams, the protocol spoken by **h11** (the same
protocol engine httpx's default transport uses, through httpcore). Why not that
default: httpcore runs on anyio and hands connections out from a pool it scans
on every checkout; on a plan, where the CPU of each GET is most of the live
phase, that layer cost more than the protocol itself. 1,000 GETs of realistic
agents through the whole client, served emulator on loopback, concurrency 32
(``benchmarks/http_bench.py``, median of 3, load average 0.3): **0.89 ms of CPU per
request through httpx's transport (in pools of 2 connections, the best of its
settings), 0.66 ms through Connections** — and neither httpcore nor anyio is
imported. What it does, and no more: one request per connection at a time (the caller's slots bound how
many are open), an idle connection reused while younger than
:data:`KEEPALIVE_SECONDS` and still open, a connection whose exchange did not
end cleanly (an error, a cancellation, ``Connection: close``) closed, never
reused; failures raised as httpx's exceptions (``ConnectError``,
``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout``, ``ReadError``,
``WriteError``, ``RemoteProtocolError``), each chained from its cause, so
everything above speaks one error vocabulary whatever the transport; the body
handed back undecoded, for httpx to decode as it always does. Every connection
shares ONE TLS context; a plain ``http://`` target loads no CA bundle
(:func:`tls_context`).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

import h11
import httpx

from reconciler import __version__

USER_AGENT = f"rtc-reconciler/{__version__}"
#: What httpx always decodes (zlib); never ``br``/``zstd`` because an optional package is installed.
ACCEPT_ENCODING = "gzip, deflate"
JSON_HEADERS = {"Content-Type": "application/json"}
#: What an ``httpx.AsyncClient`` adds to every request besides ours (the bytes on the wire stay the same).
CLIENT_HEADERS = {"Connection": "keep-alive"}
#: Keep-alive connections are closed after this long unused.
KEEPALIVE_SECONDS = 30.0
#: Most bytes asked of a socket at once.
READ_SIZE = 64 * 1024


def base_headers(api_key: str) -> dict[str, str]:
    """Headers of every request (``Host``/``Content-Length`` come from httpx)."""
    return {"x-api-key": api_key, "User-Agent": USER_AGENT, "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING}


def encode_json(body: Any) -> bytes:
    """A request body as httpx's ``json=`` encodes it (httpx 0.28), encoded once for every attempt."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Wire:
    """Sends requests to ``base_url`` through one transport: ``transport`` when given, else :class:`Connections`."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout: float,
                 redact: Callable[[str], str], transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.timeout = timeout
        self._redact = redact
        self.tls = None if transport is not None else tls_context(base_url)
        """The TLS context of every connection (None: an injected transport brings its own)."""
        self.transport = transport or Connections(self.tls)
        self._base = base_url.rstrip("/")
        self.headers: Mapping[str, str] = {**CLIENT_HEADERS, **headers}
        """Sent with every request (the request's own are added)."""
        self._timeouts = httpx.Timeout(timeout).as_dict()

    async def send(self, method: str, path: str, body: bytes | None,
                   headers: Mapping[str, str] | None = None) -> httpx.Response:
        """``method base_url+path`` with ``body`` (JSON bytes or None), ``headers`` added to the wire's own
        (the request's correlation id); the body read in full.

        Every HTTP status is an answer; raises ``httpx.TransportError`` (no answer) or another
        ``httpx.RequestError`` (an answer that cannot be read, e.g. a broken gzip body).
        """
        sent = {**self.headers, **(JSON_HEADERS if body is not None else {}), **(headers or {})}
        request = httpx.Request(method, self._base + path, headers=sent, content=body,
                                extensions={"timeout": self._timeouts})
        try:
            response = await self.transport.handle_async_request(request)
            response.request = request
            try:
                await response.aread()
            finally:
                await response.aclose()
            return response
        except httpx.RequestError as exc:
            if not _mentions(exc, self._redact):
                raise
            failure = type(exc)(self._redact(str(exc)))   # h11 quotes a bad header line: maybe an echoed key
        raise failure                                      # outside the handler: no implicit __context__

    async def aclose(self) -> None:
        await self.transport.aclose()


class Connections(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive connections on asyncio streams, spoken with h11 (see the module docstring).

    ``tls``: the context of every ``https://`` connection (None: httpx's verifying one, made at the
    first such connection). Timeouts are the request's
    (``extensions["timeout"]``, as httpx passes them): ``connect`` (name lookup and TLS
    handshake included), ``write`` (the request sent), ``read`` (between two reads).
    """

    def __init__(self, tls: ssl.SSLContext | None = None, *, keepalive_seconds: float = KEEPALIVE_SECONDS) -> None:
        self._tls = tls
        self._keepalive = keepalive_seconds
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the connections are closed")
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"the URL's scheme must be http or https: {url.scheme!r}")
        key = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        connection = self._reused(key) or await _connect(key, self._context() if url.scheme == "https" else None,
                                                          timeouts.get("connect"))
        try:
            response = await connection.exchange(request, timeouts.get("read"), timeouts.get("write"))
        except BaseException:
            connection.close()
            raise
        if connection.ready_again() and not self._closed:
            self._idle.setdefault(key, []).append(connection)
        else:
            connection.close()
        return response

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def _reused(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < self._keepalive and connection.open():
                return connection
            connection.close()
        return None

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


async def _connect(key: tuple[str, str, int], tls: ssl.SSLContext | None, timeout: float | None) -> _Connection:
    _, host, port = key
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=host if tls else None,
                                                           limit=READ_SIZE)
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(f"connecting to {host}:{port} took longer than {timeout:g} s") from exc
    except OSError as exc:                            # refused, no such name, TLS refused (ssl.SSLError)...
        raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
    return _Connection(reader, writer)


class _Connection:
    """One HTTP/1.1 connection: one exchange at a time."""

    __slots__ = ("reader", "writer", "protocol", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.protocol = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    async def exchange(self, request: httpx.Request, read_timeout: float | None,
                       write_timeout: float | None) -> httpx.Response:
        """Send ``request``, read its whole answer (the body as it came: httpx decodes it)."""
        protocol = self.protocol
        body = await request.aread()
        try:
            data = protocol.send(h11.Request(method=request.method, target=request.url.raw_path,
                                             headers=request.headers.raw))
            data += (protocol.send(h11.Data(data=body)) if body else b"") + protocol.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        try:
            self.writer.write(data)
            async with asyncio.timeout(write_timeout):
                await self.writer.drain()
        except TimeoutError as exc:
            raise httpx.WriteTimeout(f"sending the request took longer than {write_timeout:g} s") from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc
        head: h11.Response | None = None
        chunks: list[bytes] = []
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is h11.NEED_DATA:
                protocol.receive_data(await self._read(read_timeout, head is None))
            elif type(event) is h11.Response:
                head = event
            elif type(event) is h11.Data:
                chunks.append(event.data)
            elif type(event) is h11.EndOfMessage and head is not None:
                break
            elif type(event) is not h11.InformationalResponse:      # a 1xx is skipped: the answer follows
                raise httpx.RemoteProtocolError("Server disconnected before the answer ended.")
        return httpx.Response(head.status_code, headers=head.headers.raw_items(),
                              stream=httpx.ByteStream(b"".join(chunks)),
                              extensions={"http_version": b"HTTP/" + head.http_version,
                                          "reason_phrase": head.reason})

    async def _read(self, timeout: float | None, before_answer: bool) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                data = await self.reader.read(READ_SIZE)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no answer within {timeout:g} s") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        if not data and before_answer:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return data

    def ready_again(self) -> bool:
        """Whether the exchange ended cleanly and the connection may carry the next one (then it is reset)."""
        if self.protocol.our_state is h11.DONE and self.protocol.their_state is h11.DONE:
            self.protocol.start_next_cycle()
            self.idle_since = time.monotonic()
            return True
        return False

    def open(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


def tls_context(base_url: str) -> ssl.SSLContext:
    """The TLS context of every pool: httpx's verifying one for an ``https://`` base URL.

    A plain ``http://`` base URL (the emulator, a loopback test server) never opens TLS: every
    request goes to that base and no redirect is followed. It gets a context that verifies
    certificates and hostnames but trusts no authority at all — a TLS connection through it
    could only fail — instead of loading the CA bundle (~40 ms of CPU) for nothing.
    """
    if base_url.lower().startswith("https://"):
        return httpx.create_ssl_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _mentions(exc: BaseException, redact: Callable[[str], str]) -> bool:
    """Whether ``exc`` or anything it was raised from holds text that ``redact`` would change."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        if any(redact(text) != text for text in (str(item), repr(item))):
            return True
        todo += [item.__cause__, item.__context__]
    return False
