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
seen by the breaker), no proxy from the environment (an explicit transport turns
httpx's env proxies off) and TLS verified like httpx does by default (certifi,
or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).

Connection pools, for CPU: without an injected transport, ``concurrency``
connections are spread over ceil(concurrency / :data:`POOL_SIZE`) clients of at
most :data:`POOL_SIZE` connections each, a request using the client of its slot.
httpcore scans every connection of its pool whenever it hands one out, so one
pool of 32 cost ~4 ms of CPU per request here and 4 pools of 8 ~1.3 ms
(``benchmarks/http_bench.py``: 1,000 GETs through the whole client, served
emulator on loopback, concurrency 32). The caller's slots already bound the
requests in flight, so nobody waits for a connection inside httpx.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from reconciler import __version__

USER_AGENT = f"rtc-reconciler/{__version__}"
#: Most connections in one httpx pool (see the module docstring).
POOL_SIZE = 8
#: What httpx always decodes (zlib); never ``br``/``zstd`` because an optional package is installed.
ACCEPT_ENCODING = "gzip, deflate"
JSON_HEADERS = {"Content-Type": "application/json"}
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
    """httpx clients: one over ``transport`` when given, else pools of :data:`POOL_SIZE` connections."""

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
        self.clients = [
            httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(timeout),
                              follow_redirects=False, headers=dict(headers),
                              transport=transport or httpx.AsyncHTTPTransport(limits=limits, retries=0))
            for _ in range(pools)]

    async def send(self, slot: int, method: str, path: str, body: bytes | None,
                   headers: Mapping[str, str] | None = None) -> httpx.Response:
        """``method base_url+path`` with ``body`` (JSON bytes or None) on the client of slot ``slot``,
        ``headers`` added to the client's own (the request's correlation id).

        Every HTTP status is an answer; raises ``httpx.TransportError`` (no answer) or another
        ``httpx.RequestError`` (an answer that cannot be read, e.g. a broken gzip body).
        """
        client = self.clients[slot % len(self.clients)]
        try:
            if body is None:
                return await client.request(method, path, headers=headers)
            return await client.request(method, path, content=body, headers={**JSON_HEADERS, **(headers or {})})
        except httpx.RequestError as exc:
            if not _mentions(exc, self._redact):
                raise
            failure = type(exc)(self._redact(str(exc)))   # h11 quotes a bad header line: maybe an echoed key
        raise failure                                      # outside the handler: no implicit __context__

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


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
