"""The wire: send one request, get ``(status, headers, bytes)`` back. Nothing else.

:class:`~reconciler.api.client.AgentsApi` keeps everything above this line —
retries, the circuit breaker, the rate gate, error mapping, redaction, request
counting, the observer — and talks to one of two wires through :class:`Wire`:

- :class:`AiohttpWire` for http(s) URLs (the real API, a served emulator). It
  imports aiohttp only when its first request is about to be sent (``import
  aiohttp`` costs ~130 ms, most of it building SSL contexts), so ``reconciler
  validate`` and ``url: local`` never load it. The code is in
  :mod:`reconciler.api.wire_aiohttp`.
- :class:`HttpxWire` over an injected httpx transport: ``url: local`` (the
  embedded emulator through ``httpx.ASGITransport``) and tests. Without a
  transport it is the client this project used before (pools of
  :data:`POOL_SIZE` connections), kept for comparison: ``benchmarks/http_bench.py``.

Why two: CPU per request. Measured here with ``benchmarks/http_bench.py`` (1,000 GETs
of ``/v1/agents/{id}/real-time-configs`` through the whole ``AgentsApi``, served
emulator on loopback, concurrency 32): httpx in pools of 8 connections 1.44 ms of
CPU per request (httpcore's pool, h11 and anyio), httpx's client over an
aiohttp-backed httpx transport 0.75 ms (httpx's client layer alone ~0.3 ms),
aiohttp directly 0.42 ms. At 1,000 agents that is ~1 s of CPU out of a ~3.5 s plan.

One error vocabulary: both wires raise httpx's exception classes
(``httpx.ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``RemoteProtocolError``,
``DecodingError``...), so the client maps failures to breaker reasons and typed
errors in one place, whichever wire sent the request. Both send the same bytes:
the same headers (:func:`base_headers`), the same JSON encoding (:func:`encode_json`),
no redirects followed, no proxy from the environment, TLS verified like httpx
(``httpx.create_ssl_context()``: certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from reconciler import __version__

USER_AGENT = f"rtc-reconciler/{__version__}"
#: Connections per httpx pool (:class:`HttpxWire` without a transport); ``concurrency`` connections are
#: spread over ceil(concurrency / POOL_SIZE) pools: httpcore's pool scans every one of its connections
#: whenever it hands one out, so one pool of 32 cost ~4 ms of CPU per request here, 4 pools of 8 ~1.3 ms.
POOL_SIZE = 8
#: What both wires accept and decode (zlib, always there); neither adds ``br``/``zstd`` because an
#: optional package happens to be installed.
ACCEPT_ENCODING = "gzip, deflate"
JSON_HEADERS = {"Content-Type": "application/json"}


class Answer(Protocol):
    """What a wire returns: an HTTP answer of any status, its body read whole and decoded."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


class Wire(Protocol):
    async def send(self, slot: int, method: str, path: str, body: bytes | None) -> Answer:
        """Send ``method base_url+path`` with ``body`` (JSON bytes or None) on connection slot ``slot``.

        Raises ``httpx.TransportError`` (no answer) or ``httpx.RequestError`` (an answer that
        cannot be read, e.g. a broken gzip body); every HTTP status is an answer.
        """
        ...

    async def aclose(self) -> None: ...


def base_headers(api_key: str) -> dict[str, str]:
    """Headers of every request, both wires (``Host``/``Content-Length`` come from the wire)."""
    return {"x-api-key": api_key, "User-Agent": USER_AGENT, "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING}


def encode_json(body: Any) -> bytes:
    """A request body as httpx's ``json=`` encodes it (httpx 0.28), for both wires."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def status_error(answer: Answer, method: str, url: str) -> httpx.HTTPStatusError:
    """httpx's own error for a non-2xx answer (the ``__cause__`` of the typed error, as before)."""
    response = answer if isinstance(answer, httpx.Response) else httpx.Response(
        answer.status_code, request=httpx.Request(method, url),
        headers=[(k, v) for k, v in answer.headers.items() if k.lower() not in ("content-encoding",
                                                                                "content-length")],
        content=answer.content)
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        return exc
    raise AssertionError(f"not an error status: {answer.status_code}")  # pragma: no cover


class HttpxWire:
    """httpx clients: one over ``transport`` when given, else pools of :data:`POOL_SIZE` connections."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout: float, concurrency: int,
                 redact: Callable[[str], str], transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._redact = redact
        pools = 1 if transport is not None else math.ceil(concurrency / POOL_SIZE)
        per_pool = math.ceil(concurrency / pools)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool, keepalive_expiry=30.0)
        self.clients = [
            httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(timeout),
                              follow_redirects=False, headers=dict(headers),
                              transport=transport or httpx.AsyncHTTPTransport(limits=limits, retries=0))
            for _ in range(pools)]

    async def send(self, slot: int, method: str, path: str, body: bytes | None) -> httpx.Response:
        client = self.clients[slot % len(self.clients)]
        try:
            if body is None:
                return await client.request(method, path)
            return await client.request(method, path, content=body, headers=JSON_HEADERS)
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


class AiohttpWire:
    """aiohttp for http(s) URLs; the session is made at the first request, in the running loop."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout: float, concurrency: int,
                 redact: Callable[[str], str]) -> None:
        self.base_url = base_url
        self.headers = dict(headers)
        self.timeout = timeout
        self.concurrency = concurrency
        self._redact = redact
        self._impl: Any = None
        """:class:`reconciler.api.wire_aiohttp.Session`, once a request has been sent."""
        self._closed = False

    async def send(self, slot: int, method: str, path: str, body: bytes | None) -> Answer:
        if self._closed:
            # A request still running after aclose() (a task nobody awaited) must not open a new
            # session that nothing would close: it fails like a request on a closed httpx client.
            raise httpx.RequestError(f"{method} {path}: the client is closed")
        if self._impl is None:
            from reconciler.api.wire_aiohttp import Session   # imports aiohttp: only now

            self._impl = Session(self.base_url, self.headers, timeout=self.timeout, limit=self.concurrency,
                                 redact=self._redact)
        return await self._impl.send(method, path, body)

    async def aclose(self) -> None:
        self._closed = True
        if self._impl is not None:
            await self._impl.aclose()
