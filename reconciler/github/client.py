"""GitHub REST over httpx: the only module of the reconciler that talks to GitHub.

Called by :mod:`reconciler.github.comment` and :mod:`reconciler.github.drift_issue`
with a :class:`~reconciler.github.context.GitHubContext`. What it does:

- ``Authorization: Bearer`` from ``GITHUB_TOKEN`` (held in the httpx client's
  headers and in ``_secret`` for redaction only; never formatted into a
  message, a log line or a repr), the API base from ``GITHUB_API_URL``;
- every request goes through :func:`reconciler.api.retry.call_with_retries`, the
  same loop the Agents API client uses: a 429, a 5xx or a network error is
  retried with jittered backoff. GitHub's *secondary* rate limit answers 403
  (sometimes 429) with ``Retry-After`` or with ``x-ratelimit-remaining: 0``
  and ``x-ratelimit-reset``; those become :class:`~reconciler.errors.RateLimitedError`
  with the wait GitHub asked for, so they are retried too. A plain 403
  (missing permission) is not retried;
- :meth:`GitHubApi.paginate` follows ``Link: <…>; rel="next"`` but never to
  another host, so the token is only ever sent to the API base;
- as strict as the Agents client (issue 22): ``GITHUB_API_URL`` must be
  ``https`` (plain ``http`` only to loopback), checked before any connection;
  a redirect is never followed but is an error naming its status; a 2xx body
  that is not JSON is an error, not a crash; a DNS failure fails at once and
  refused or timed-out connections open the same run-wide
  :class:`~reconciler.api.breaker.CircuitBreaker` as the Agents client after
  :data:`UNREACHABLE_THRESHOLD` in a row (about a second, not ~30 s of retries).

Errors reuse the :mod:`reconciler.errors` tree (``ApiError`` and its classes by
status), with GitHub's ``message`` field as the message, cut short.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from reconciler import __version__, errors, interruption
from reconciler.api.breaker import CircuitBreaker
from reconciler.api.envelope import parse_retry_after
from reconciler.api.retry import Clock, RateGate, RetryPolicy, Sleep, call_with_retries
from reconciler.api.wire import Connections, tls_context

_LOG = logging.getLogger("reconciler.github")
#: GitHub documents waiting "at least one minute" on a secondary limit that names no time.
SECONDARY_DEFAULT_WAIT = 60.0
MAX_MESSAGE_CHARS = 300
#: Retries: GitHub asks for waits of a minute or more, so the total bound is generous.
DEFAULT_POLICY = RetryPolicy(backoffs=(1.0, 2.0, 4.0, 8.0, 16.0), max_retry_seconds=300.0)
API_VERSION = "2022-11-28"
#: Consecutive "no server" failures (refused, timed out) that open the breaker.
UNREACHABLE_THRESHOLD = 2


def check_api_url(url: str) -> str:
    """``GITHUB_API_URL`` without its trailing slash, or a ConfigError: https only, plain http only to loopback.

    The token travels in a header of every request: over plain http to another host, anyone on the
    path reads it. Messages show the scheme and host only (a URL may carry user:password).
    """
    parts = urlsplit(url.strip())
    shown = f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else "the value"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise errors.ConfigError(f"GITHUB_API_URL ({shown}) must be an https:// URL", code="github.api_url")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise errors.ConfigError(f"GITHUB_API_URL ({shown}) must use https: plain http is only allowed to "
                                 "loopback (the token would travel in clear); nothing was sent",
                                 code="github.api_url")
    return url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GitHubApi:
    """Typed-enough calls of the GitHub REST API. Use as ``async with GitHubApi(...) as gh:``."""

    def __init__(self, api_url: str, token: str, *, policy: RetryPolicy = DEFAULT_POLICY,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0,
                 sleep: Sleep = asyncio.sleep, clock: Clock = time.monotonic,
                 rng: Callable[[], float] = random.random) -> None:
        self.api_url = check_api_url(api_url)
        if not token:
            raise errors.ConfigError("GITHUB_TOKEN is not set", code="github.no_token")
        self.breaker = CircuitBreaker(self.api_url, threshold=UNREACHABLE_THRESHOLD, cooldown=None)
        self._secret = token
        self._policy, self._sleep, self._clock, self._rng = policy, sleep, clock, rng
        self._gate = RateGate(clock=clock, sleep=sleep, logger=_LOG)
        self._client = httpx.AsyncClient(
            base_url=self.api_url + "/", transport=transport or Connections(tls_context(self.api_url)),
            timeout=timeout, follow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION, "User-Agent": f"rtc-reconciler/{__version__}"})
        self.requests_sent = 0
        """Requests that left this client (retries included); for tests and logs."""

    def __repr__(self) -> str:               # never the token
        return f"GitHubApi({self.api_url!r})"

    async def __aenter__(self) -> "GitHubApi":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    # -- calls --------------------------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        return self._json(await self._request("GET", path, params=params or None), "GET")

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        with interruption.writing(f"GitHub POST {self._shown(path)}"):
            return self._json(await self._request("POST", path, json=body), "POST")

    async def patch(self, path: str, body: dict[str, Any]) -> Any:
        with interruption.writing(f"GitHub PATCH {self._shown(path)}"):
            return self._json(await self._request("PATCH", path, json=body), "PATCH")

    async def paginate(self, path: str, **params: Any) -> AsyncIterator[Any]:
        """Every item of a list endpoint, following ``rel="next"`` links (100 per page)."""
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": 100, **params}
        while url is not None:
            response = await self._request("GET", url, params=query)
            page = self._json(response, "GET")
            if not isinstance(page, list):
                raise errors.ApiError(f"expected a JSON list from {self._shown(url)}", method="GET",
                                      path=self._shown(url))
            for item in page:
                yield item
            url, query = self._next_link(response), None

    # -- plumbing -----------------------------------------------------------------------------

    async def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        shown = self._shown(url)

        async def attempt() -> httpx.Response:
            await self._gate.wait()
            if self.breaker.is_open:
                raise errors.UnreachableError(self.breaker.summary(), method=method, path=shown)
            self.requests_sent += 1
            try:
                response = await self._client.request(method, url.lstrip("/") if "://" not in url else url, **kw)
            except httpx.HTTPError as exc:
                self._count_unreachable(exc, method, shown)
                raise errors.TransportError(self._redact(f"{type(exc).__name__}: {exc}"),
                                            method=method, path=shown) from exc
            self.breaker.success()
            if 300 <= response.status_code < 400:
                raise self._redirect(response, method, shown)
            if response.status_code >= 400:
                raise error_for(response, method=method, path=shown, redact=self._redact)
            return response

        return await call_with_retries(attempt, policy=self._policy, gate=self._gate, what=f"{method} {shown}",
                                       logger=_LOG, sleep=self._sleep, clock=self._clock, rng=self._rng)

    def _count_unreachable(self, exc: httpx.HTTPError, method: str, shown: str) -> None:
        """No server: a DNS failure fails at once; refused / timed out ones open the breaker in a row."""
        reason = _unreachable_reason(exc)
        if reason is None:
            return
        self.breaker.failure(reason)
        if reason == "host name not found":
            raise errors.UnreachableError(f"cannot reach {self.api_url}: {reason} (not retried)", method=method,
                                          path=shown) from exc
        if self.breaker.is_open:
            raise errors.UnreachableError(self.breaker.summary(), method=method, path=shown) from exc

    def _redirect(self, response: httpx.Response, method: str, shown: str) -> errors.ApiError:
        """A 3xx is never followed (the token would go along): a clear error naming the status."""
        target = urlsplit(urljoin(str(response.url), response.headers.get("location", ""))).hostname
        where = f" to {target}" if target else ""
        return errors.ApiError(f"GitHub answered {response.status_code} {response.reason_phrase} (a redirect"
                               f"{where}), not followed: the token is only sent to {self.api_url}; check "
                               "GITHUB_API_URL", status=response.status_code, method=method, path=shown)

    def _json(self, response: httpx.Response, method: str) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise errors.ApiError(f"GitHub answered {response.status_code} with a body that is not JSON",
                                  status=response.status_code, method=method,
                                  path=self._shown(str(response.url))) from None

    def _next_link(self, response: httpx.Response) -> str | None:
        nxt = response.links.get("next", {}).get("url")
        if not nxt:
            return None
        absolute = urljoin(str(response.url), nxt)
        if urlsplit(absolute).netloc != urlsplit(self.api_url).netloc:
            raise errors.ApiError("refusing to follow a pagination link to another host "
                                  f"({urlsplit(absolute).netloc}); the token is only sent to {self.api_url}",
                                  method="GET", path=self._shown(absolute))
        return absolute

    def _shown(self, url: str) -> str:
        """The path (and query) of ``url`` for messages: never a host, never a secret."""
        parts = urlsplit(url)
        path = parts.path if parts.scheme else "/" + url.lstrip("/")
        if parts.scheme and parts.path.startswith(urlsplit(self.api_url).path):
            path = "/" + parts.path[len(urlsplit(self.api_url).path):].lstrip("/")
        return self._redact(path + (f"?{parts.query}" if parts.query else ""))

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


def error_for(response: httpx.Response, *, method: str, path: str,
              redact: Callable[[str], str] = lambda s: s) -> errors.ApiError:
    """The typed error for a GitHub error answer (secondary rate limits included)."""
    status = response.status_code
    message = redact(_message(response))
    wait = rate_limit_wait(response)
    if wait is not None:
        return errors.RateLimitedError(f"rate limited: {message}", retry_after=wait, status=status,
                                       method=method, path=path)
    cls = errors.STATUS_CLASSES.get(status) or (errors.ServerError if status >= 500 else errors.ClientError)
    error_id = response.headers.get("x-github-request-id")
    return cls(message, status=status, method=method, path=path, error_id=error_id)


def rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds GitHub asks us to wait, or ``None`` when the answer is not a rate limit.

    Per GitHub's REST docs: ``retry-after`` wins; else ``x-ratelimit-remaining: 0``
    means wait until ``x-ratelimit-reset`` (epoch seconds); else a 403/429 whose
    message names the secondary rate limit means wait at least a minute.
    """
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    after = parse_retry_after(headers.get("retry-after"))
    if after is not None:
        return after
    if headers.get("x-ratelimit-remaining") == "0" and (headers.get("x-ratelimit-reset") or "").isdigit():
        return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
    if response.status_code == 429 or "rate limit" in _message(response).lower():
        return SECONDARY_DEFAULT_WAIT
    return None


def _unreachable_reason(exc: httpx.HTTPError) -> str | None:
    """Why no server answered; None for a failure that is not "no server" (a dropped connection)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if not isinstance(exc, httpx.ConnectError):
        return None
    causes: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(causes) < 20:
        item = todo.pop()
        if item is not None and all(item is not seen for seen in causes):
            causes.append(item)
            todo.extend((item.__cause__, item.__context__, *getattr(item, "exceptions", ())))
    text = " ".join(str(c) for c in causes).lower()
    if any(isinstance(c, socket.gaierror) for c in causes) or "name or service" in text or "resolution" in text:
        return "host name not found"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
        return "connection refused"
    return "cannot connect"


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        text = data["message"]
    else:
        text = " ".join(response.content.decode("utf-8", errors="replace").split()) or "empty response body"
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "… (cut short)"
