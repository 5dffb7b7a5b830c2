"""The aiohttp wire: imported by :class:`reconciler.api.wire.AiohttpWire` at its first request only.

One ``aiohttp.ClientSession`` per client, made inside the running loop and
closed by ``AgentsApi.aclose()``; one connector of ``concurrency`` connections
(the client's slots already bound the requests in flight, so nobody waits for a
connection here). Timeouts as the httpx client had them: ``timeout`` seconds to
connect (name lookup included) and between two reads of an answer; none in total.

Failures are translated to httpx's exception classes (see :mod:`reconciler.api.wire`),
chained only from exceptions that cannot hold anything the server sent or the
request's headers: aiohttp's ``ClientResponseError`` carries the request (with the
``x-api-key`` header) in its repr, and a parse error may quote the server's bytes,
so those are summarised in a redacted message instead of chained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aiohttp
import httpx
from aiohttp.http_exceptions import ContentEncodingError
from yarl import URL

from reconciler.api.wire import JSON_HEADERS

#: Keep-alive connections are closed after this long unused (httpx's ``keepalive_expiry`` before).
KEEPALIVE_SECONDS = 30.0


class Answer:
    """A whole answer (the :class:`reconciler.api.wire.Answer` protocol)."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


class Session:
    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout: float, limit: int,
                 redact: Callable[[str], str]) -> None:
        self._base = str(URL(base_url)).rstrip("/")     # encoded once; paths are already percent-quoted
        self._redact = redact
        if URL(base_url).scheme == "https":
            ssl: object = httpx.create_ssl_context()   # certifi, or SSL_CERT_FILE / SSL_CERT_DIR, as httpx did
        else:
            ssl = True                                 # never used: plain http, and redirects are not followed
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, ssl=ssl,  # type: ignore[arg-type]
                                         keepalive_timeout=KEEPALIVE_SECONDS)
        self._session = aiohttp.ClientSession(
            connector=connector, headers=dict(headers), trust_env=False, raise_for_status=False,
            timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout))
        # aiohttp resends an idempotent request (GET, PUT) once, unseen, when a reused connection
        # drops; retries are the client's (counted, logged, seen by the breaker), so not here. A
        # private switch (aiohttp's own test client flips it too): tests/test_api_client.py counts
        # requests at the server and fails if a future aiohttp retries on its own again.
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False

    async def send(self, method: str, path: str, body: bytes | None) -> Answer:
        url = URL(self._base + path, encoded=True)      # as given: no re-quoting, no dot-segment folding
        try:
            async with self._session.request(method, url, data=body, allow_redirects=False,
                                             headers=JSON_HEADERS if body is not None else None) as response:
                return Answer(response.status, response.headers, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = self._translate(exc)
        raise failure                                   # outside the handler: no implicit __context__

    def _translate(self, exc: BaseException) -> httpx.RequestError:
        """httpx's class for ``exc``, with a redacted message and a cause that holds no header or body."""
        text = self._redact(f"{type(exc).__name__}: {_describe(exc)}")
        cause: BaseException | None = None
        error: httpx.RequestError
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            error, cause = httpx.ConnectTimeout(text), exc
        elif isinstance(exc, TimeoutError):             # SocketTimeoutError: nothing read for `timeout` s
            error, cause = httpx.ReadTimeout(text), exc
        elif isinstance(exc, aiohttp.ClientConnectorError):   # refused, name not found, TLS failure
            error, cause = httpx.ConnectError(text), exc.os_error
        elif isinstance(exc, aiohttp.ClientPayloadError) and isinstance(exc.__cause__, ContentEncodingError):
            error = httpx.DecodingError(text)           # a body that cannot be decoded: not transient
        elif isinstance(exc, aiohttp.ClientOSError):
            error, cause = httpx.ReadError(text), exc   # connection reset
        else:    # server disconnected, truncated body, an answer that is not HTTP: dropped, retried
            error = httpx.RemoteProtocolError(text)
        error.__cause__ = cause
        return error

    async def aclose(self) -> None:
        await self._session.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientResponseError):    # str() is fine, repr() holds the request headers
        return f"{exc.status}, {exc.message}"
    return " ".join(str(exc).split()) or "no details"
