"""The wire: send one request with httpx, get an ``httpx.Response`` back. Nothing else.

:class:`~reconciler.api.client.AgentsApi` keeps everything above this line —
retries, the circuit breaker, the rate gate, error mapping, redaction, request
counting, the observer. One HTTP library, httpx, for every target: an http(s)
URL goes through httpx's own transport, ``url: local`` through
``httpx.ASGITransport`` to the embedded emulator, tests through any injected
``httpx.AsyncBaseTransport``. Failures are httpx's exceptions, mapped to typed
errors once, in :meth:`AgentsApi._attempt <reconciler.api.client.AgentsApi>`.

What every request gets: the headers of :func:`base_headers` (``Accept-Encoding``
pinned to what httpx always decodes, so an optional ``brotli``/``zstandard`` never
changes what is asked for), bodies encoded by :func:`encode_json`, ``timeout``
seconds to connect (name lookup included) and between reads, no redirects
followed, no retries inside httpx (``retries=0``: ours are counted, logged and
seen by the breaker), no proxy from the environment, no cookie jar (the API
authenticates by header) and TLS verified like httpx does by default (certifi,
or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).

Requests go straight to a transport (``handle_async_request``), not through an
``httpx.AsyncClient``: the client's layers — base-URL merging (a second URL
parse), the cookie jar (a ``urllib`` request built per response), auth and
redirect hooks — were ~15 % of our CPU per GET and none of them is used here
(``benchmarks/http_bench.py``, median of 3 at load average 2: 1.86 ms through a
client, **1.58 ms** through the transport). The request is what a client sends:
the same headers (with its ``Connection: keep-alive``), the same timeouts.

Connection pools, for CPU: without an injected transport, ``concurrency``
connections are spread over ceil(concurrency / :data:`POOL_SIZE`) transports of
at most :data:`POOL_SIZE` connections each, a request using the one of its slot.
httpcore scans every connection of its pool whenever it hands one out (and asks
anyio for each idle one's socket), so one pool of 32 cost ~4 ms of CPU per
request here and 4 pools of 8 ~1.3 ms (``benchmarks/http_bench.py``: 1,000 GETs
through the whole client, served emulator on loopback, concurrency 32). Pools of
2 cut it again: median of 3 on a loaded machine (load average 4.3), 2.92 ms with
pools of 8, 2.09 of 4, **1.79 of 2**, 1.94 of 1. The caller's slots already bound
the requests in flight, so nobody waits for a connection inside httpx. Every
pool's transport shares ONE TLS context: each transport would otherwise load the
CA bundle itself (~50-80 ms of CPU each; 16 pools, a second of start-up); a plain
``http://`` target loads none (:func:`tls_context`).
"""

from __future__ import annotations

import json
import math
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from reconciler import __version__

USER_AGENT = f"rtc-reconciler/{__version__}"
#: Most connections in one httpx pool (see the module docstring).
POOL_SIZE = 2
#: What httpx always decodes (zlib); never ``br``/``zstd`` because an optional package is installed.
ACCEPT_ENCODING = "gzip, deflate"
JSON_HEADERS = {"Content-Type": "application/json"}
#: What an ``httpx.AsyncClient`` adds to every request besides ours (the bytes on the wire stay the same).
CLIENT_HEADERS = {"Connection": "keep-alive"}
#: Keep-alive connections are closed after this long unused.
KEEPALIVE_SECONDS = 30.0


def base_headers(api_key: str) -> dict[str, str]:
    """Headers of every request (``Host``/``Content-Length`` come from httpx)."""
    return {"x-api-key": api_key, "User-Agent": USER_AGENT, "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING}


def encode_json(body: Any) -> bytes:
    """A request body as httpx's ``json=`` encodes it (httpx 0.28), encoded once for every attempt."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Wire:
    """httpx transports: ``transport`` when given, else pools of :data:`POOL_SIZE` connections."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout: float, concurrency: int,
                 redact: Callable[[str], str], transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.timeout = timeout
        self._redact = redact
        pools = 1 if transport is not None else math.ceil(concurrency / POOL_SIZE)
        per_pool = math.ceil(concurrency / pools)
        self.pool_sizes = [per_pool] * pools
        """Most connections of each client (``concurrency`` or more in all)."""
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool,
                              keepalive_expiry=KEEPALIVE_SECONDS)
        self.tls = None if transport is not None else tls_context(base_url)   # one for every pool
        """The TLS context every pool shares (None: an injected transport brings its own)."""
        self.transports = [transport or httpx.AsyncHTTPTransport(limits=limits, retries=0, verify=self.tls)
                           for _ in range(pools)]
        self._base = base_url.rstrip("/")
        self.headers: Mapping[str, str] = {**CLIENT_HEADERS, **headers}
        """Sent with every request (the request's own are added)."""
        self._timeouts = httpx.Timeout(timeout).as_dict()

    async def send(self, slot: int, method: str, path: str, body: bytes | None,
                   headers: Mapping[str, str] | None = None) -> httpx.Response:
        """``method base_url+path`` with ``body`` (JSON bytes or None) on the transport of slot ``slot``,
        ``headers`` added to the wire's own (the request's correlation id); the body read in full.

        Every HTTP status is an answer; raises ``httpx.TransportError`` (no answer) or another
        ``httpx.RequestError`` (an answer that cannot be read, e.g. a broken gzip body).
        """
        transport = self.transports[slot % len(self.transports)]
        sent = {**self.headers, **(JSON_HEADERS if body is not None else {}), **(headers or {})}
        request = httpx.Request(method, self._base + path, headers=sent, content=body,
                                extensions={"timeout": self._timeouts})
        try:
            response = await transport.handle_async_request(request)
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
        for transport in dict.fromkeys(self.transports):   # an injected transport is closed once
            await transport.aclose()


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
