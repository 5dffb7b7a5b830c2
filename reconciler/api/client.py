"""The Agents API client: the only module of the reconciler that speaks HTTP.

Everything above ``api/`` (live-state reading, executor, daemon, import)
receives an :class:`AgentsApi` and calls its typed methods; nothing above knows
whether the target is the real service or the embedded emulator (``url:
local`` is just another httpx transport, see :mod:`reconciler.api.transport`).

What this module does:

- at most ``concurrency`` requests in flight, sent by the :mod:`wire <reconciler.api.wire>` (httpx;
  ``url: local`` and tests inject a transport); explicit timeouts, headers ``x-api-key`` /
  ``User-Agent`` / ``Accept`` (:func:`~reconciler.api.wire.base_headers`);
- every request goes through :func:`reconciler.api.retry.call_with_retries`
  (backoff + jitter, bounded) and waits on the client's one :class:`RateGate`,
  so a 429 pauses the whole run, not just one agent;
- failures become typed :mod:`reconciler.errors` values in one place, :meth:`AgentsApi._attempt`:
  httpx's exceptions and error answers go through :func:`reconciler.api.envelope.raise_api_error`
  (chained from httpx's error), and the ones that mean "no server" also feed the breaker;
- every request (each retry too) carries its own ``X-PolyAI-Correlation-Id: rtc-<uuid4>``, as the
  public ADK sends one; a failure keeps the id it was sent with (``ApiError.request_id``, shown in its
  message), so a failed request can be found in the service's logs.

What it leaves to others: deciding what to send (planner/executor), reading
many agents at once (:mod:`reconciler.api.live`), loading settings (loader).

The API key is held by the wire's headers and in ``_secret`` for
redaction only; it is never formatted into a message, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import marshal
import random
import socket
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from reconciler.api.transport import local_app
from reconciler.api.breaker import CircuitBreaker
from reconciler.api.envelope import CORRELATION_HEADER, raise_api_error
from reconciler.api.retry import Clock, RateGate, RetryPolicy, Sleep, call_with_retries, policy_from
from reconciler.api.wire import Wire, base_headers, encode_json
from reconciler import settings as settings_module
from reconciler.errors import ApiError, ConfigError, UnreachableError
from reconciler.model import ClientEnv, LiveAgent, LivePage

#: Sent to the embedded emulator instead of the real key, so the real one never
#: lands in local state or local logs.
LOCAL_DUMMY_KEY = "local-emulator-key"
#: Base URL used for the in-process emulator (never resolved: ASGITransport serves it).
LOCAL_BASE_URL = "http://local.emulator"

_LOG = logging.getLogger("reconciler.api")
#: Distinct live schema texts one client keeps to share (a fleet has a handful; beyond this, no sharing).
_MAX_SHARED_SCHEMAS = 256
_ENV_NAMES = frozenset(ClientEnv.names())


def new_request_id() -> str:
    """A request's correlation id: ``rtc-`` and a random UUID."""
    return f"rtc-{uuid.uuid4()}"


def agent_path(agent: str, *rest: str) -> str:
    """``/v1/agents/{agentId}/…`` with every segment percent-quoted (no path tricks).

    ``.`` and ``..`` are quoted too (``%2E``): an HTTP client folds a literal dot segment
    away (``/v1/agents/../real-time-configs`` would be sent as ``/v1/real-time-configs``).
    """
    segments = ["v1", "agents", agent, *rest]
    return "/" + "/".join(_segment(str(s)) for s in segments)


def _segment(text: str) -> str:
    return "%2E" * len(text) if text in (".", "..") else urllib.parse.quote(text, safe="")


class AgentsApi:
    """Typed calls of the Agents API (DESIGN.md §1), with retries and a shared rate gate.

    Use as ``async with AgentsApi.from_settings(settings) as api: ...``.
    """

    def __init__(self, base_url: str, *, api_key: str | None,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 10.0,
                 backoffs: Sequence[float] = (0.5, 1, 2, 4, 8), max_retry_seconds: float = 120.0,
                 concurrency: int = 16, logger: logging.Logger | None = None,
                 sleep: Sleep = asyncio.sleep, rng: Callable[[], float] = random.random,
                 clock: Clock = time.monotonic, target: str | None = None,
                 observer: Callable[[str, str], None] | None = None,
                 breaker: CircuitBreaker | None = None) -> None:
        if not api_key:
            # Checked before anything is sent: a request without a key can only fail.
            raise ConfigError(settings_module.missing_key_message(target or base_url), code="api.no_key")
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, not {concurrency}", code="api.concurrency")
        self.base_url = base_url.rstrip("/")
        self.target = target or self.base_url
        self.request_count = 0
        """Requests actually sent (retries included), for reports and benchmarks."""
        self._observer = observer
        """``observer(method, code)`` after every attempt: the HTTP status, or ``"error"`` with no answer
        (the daemon's ``reconciler_api_requests_total``)."""
        self._secret = api_key
        self._log = logger or _LOG
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self._policy: RetryPolicy = policy_from(backoffs, max_retry_seconds)
        self.gate = RateGate(clock=clock, sleep=sleep, logger=self._log)
        self.breaker = breaker or CircuitBreaker(self.target, clock=clock)
        """Run-wide: consecutive connection failures/timeouts stop every request at once (see api.breaker)."""
        # A request takes one of `concurrency` slots before it reaches the wire: at most that many
        # connections are busy at once, and nobody waits inside the transport.
        self._slots = asyncio.Semaphore(concurrency)
        self._timeout = timeout
        self._schemas: dict[bytes, dict[str, Any]] = {}
        self._closed = False
        self._wire = Wire(self.base_url, base_headers(api_key), timeout=timeout, redact=self._redact,
                          transport=transport)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> "AgentsApi":
        """The client for ``settings.api.url``: ``local`` (embedded emulator) or an http(s) URL."""
        api = settings.api
        options: dict[str, Any] = dict(timeout=api.timeout, backoffs=api.backoffs,
                                       max_retry_seconds=api.max_retry_seconds,
                                       concurrency=settings.concurrency)
        options.update(overrides)
        if api.is_local:
            transport = httpx.ASGITransport(app=local_app(settings.root))
            return cls(LOCAL_BASE_URL, api_key=LOCAL_DUMMY_KEY, transport=transport, target="local", **options)
        url = str(api.url)
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https") or not urllib.parse.urlsplit(url).netloc:
            raise ConfigError(f"api.url must be 'local' or an http(s) URL, not {url!r}", code="api.url")
        return cls(url, api_key=settings.api_key, **options)

    def __repr__(self) -> str:
        return f"AgentsApi(target={self.target!r}, requests={self.request_count})"

    # -- lifecycle -----------------------------------------------------------

    async def aclose(self) -> None:
        self._closed = True
        await self._wire.aclose()

    async def __aenter__(self) -> "AgentsApi":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- typed calls -----------------------------------------------------------

    async def get_agent(self, agent: str) -> LiveAgent:
        """All environments of one agent in ONE request."""
        path = agent_path(agent, "real-time-configs")
        data = await self._request("GET", path)
        pages = self._parse(data, lambda d: list(d["configPages"]), "GET", path)
        result: dict[ClientEnv, LivePage] = {}
        for page in pages:
            if isinstance(page, Mapping) and isinstance(page.get("clientEnv"), str) \
                    and page["clientEnv"] in _ENV_NAMES:
                result[ClientEnv(page["clientEnv"])] = self._page(page, "GET", path)
            # A page of an environment we do not know is ignored, not fatal:
            # the reconciler only manages the three it knows.
        return LiveAgent(agent=agent, pages=result)

    async def get_page(self, agent: str, env: ClientEnv | str) -> LivePage:
        path = agent_path(agent, "real-time-configs", str(env))
        return self._page(await self._request("GET", path), "GET", path)

    async def put_schema(self, agent: str, env: ClientEnv | str, schema: Mapping[str, Any]) -> LivePage:
        # PUT is an upsert of the whole schema: idempotent, so retrying it after a
        # dropped connection (the first try may have landed) is safe.
        path = agent_path(agent, "real-time-configs", str(env), "schema")
        return self._page(await self._request("PUT", path, {"schema": dict(schema)}), "PUT", path)

    async def patch_variables(self, agent: str, env: ClientEnv | str, variables: Mapping[str, Any]) -> LivePage:
        # PATCH shallow-merges the same top-level keys with the same values: sending
        # it twice gives the same page as once, so retrying it is safe too.
        path = agent_path(agent, "real-time-configs", str(env), "variables")
        return self._page(await self._request("PATCH", path, {"variables": dict(variables)}), "PATCH", path)

    async def list_connectors(self, agent: str) -> list[dict[str, Any]]:
        path = agent_path(agent, "telephony", "connectors")
        data = await self._request("GET", path)
        connectors = self._parse(data, lambda d: d["connectors"], "GET", path)
        return [dict(c) for c in connectors if isinstance(c, Mapping)]

    # -- plumbing ----------------------------------------------------------------

    async def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = None if body is None else encode_json(body)
        return await call_with_retries(
            lambda: self._tagged_attempt(method, path, data), policy=self._policy, gate=self.gate,
            what=f"{method} {path}", logger=self._log, sleep=self._sleep, clock=self._clock, rng=self._rng)

    async def _tagged_attempt(self, method: str, path: str, body: bytes | None) -> Any:
        """One attempt under a fresh correlation id; its failure keeps the id (not a breaker's
        "unreachable": that request reached no server, or was never sent)."""
        request_id = new_request_id()
        try:
            return await self._attempt(method, path, body, request_id)
        except ApiError as exc:
            if not isinstance(exc, UnreachableError) and exc.request_id is None:
                exc.request_id = request_id
            raise

    async def _attempt(self, method: str, path: str, body: bytes | None, request_id: str) -> Any:
        if self._closed:
            # A task nobody awaited, still running after aclose(): a typed error, not httpx's RuntimeError.
            raise ApiError("the client is closed", method=method, path=path)
        self._check_breaker(method, path)
        async with self._slots:
            await self.gate.wait()           # right before sending: a 429 elsewhere may have closed it
            self._check_breaker(method, path)    # ... and the breaker may have opened while we waited
            self.request_count += 1
            try:
                response = await self._wire.send(method, path, body, {CORRELATION_HEADER: request_id})
            except httpx.TransportError as exc:   # connect/read/write errors, timeouts, dropped connections
                self._observe(method, "error")
                self._count_unreachable(exc, method, path)
                raise_api_error(method=method, path=path, cause=exc, redact=self._redact)
            except httpx.RequestError as exc:     # e.g. a body that cannot be decoded: not transient
                raise ApiError(self._redact(f"{type(exc).__name__}: {exc}"), method=method, path=path) from exc
        self._observe(method, str(response.status_code))
        self.breaker.success()               # any answer, even a 5xx: the server is there
        if not response.is_success:          # 3xx (never followed), 4xx, 5xx
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:  # httpx's own error is the typed error's __cause__
                raise_api_error(method=method, path=path, cause=exc, response=response, redact=self._redact)
        if response.status_code != 200 and not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise ApiError(self._redact("response is not JSON"), status=response.status_code,
                           method=method, path=path) from exc

    def _check_breaker(self, method: str, path: str) -> None:
        if self.breaker.is_open:
            raise UnreachableError(self.breaker.summary(), method=method, path=path)

    def _count_unreachable(self, exc: httpx.TransportError, method: str, path: str) -> None:
        """Feed the breaker with failures that mean "no server"; raise at once when it opens."""
        reason = _unreachable_reason(exc, self._timeout)
        if reason is None:
            return                           # a dropped connection: a busy server, retried as before
        self.breaker.failure(reason)
        if self.breaker.is_open:
            raise UnreachableError(self.breaker.summary(), method=method, path=path) from exc

    def _observe(self, method: str, code: str) -> None:
        if self._observer is not None:
            self._observer(method, code)

    def _page(self, data: Any, method: str, path: str) -> LivePage:
        if isinstance(data, dict) and isinstance(data.get("schema"), dict):
            data["schema"] = self._shared_schema(data["schema"])
        if isinstance(data, dict) and isinstance(data.get("variables"), dict):
            data["variables"] = _interned_keys(data["variables"])
        return self._parse(data, LivePage.from_json, method, path)

    def _shared_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """One object per distinct live schema text (read-only): a fleet of 10,000 agents shares a
        few schemas, and 30,000 parsed copies would hold ~300 MB. Also lets the planner recognise
        a schema it has already compared by identity.

        The key is ``marshal`` (format 2: no back-references, so it depends on values only):
        it tells 1, 1.0 and true apart and keeps key order, as the JSON text does, at a quarter
        of ``json.dumps``'s CPU (26 vs 96 µs for a 3.7 kB schema; three per agent read)."""
        try:
            key = marshal.dumps(schema, 2)
        except ValueError:                  # pragma: no cover - parsed from JSON: always marshallable
            return schema
        shared = self._schemas.get(key)
        if shared is not None:
            return shared
        if len(self._schemas) < _MAX_SHARED_SCHEMAS:
            self._schemas[key] = schema
        return schema

    def _parse(self, data: Any, read: Callable[[Any], Any], method: str, path: str) -> Any:
        try:
            return read(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ApiError(f"unexpected response shape ({type(exc).__name__}: {exc})"[:300],
                           method=method, path=path) from exc

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


def _interned_keys(value: Any) -> Any:
    """``value`` with every mapping key interned: a fleet's pages repeat the same keys, and JSON
    decoding makes a new string for each occurrence (~40 MB of a 10,000-agent plan's live state)."""
    if isinstance(value, dict):
        return {sys.intern(k): v if type(v) in _JSON_LEAVES else _interned_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _JSON_LEAVES else _interned_keys(v) for v in value]
    return value


#: What JSON decoding makes besides dicts and lists: kept as they are, without a call each.
_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})


def _unreachable_reason(exc: httpx.TransportError, timeout: float) -> str | None:
    """Why no server answered, for the breaker's one line; None for a failure that is not "no server"."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection timed out after {timeout:g} s"
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout)):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        causes = _causes(exc)
        text = " ".join(str(c) for c in causes).lower()
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
            return "connection refused"
        if any(isinstance(c, socket.gaierror) for c in causes) or "name or service" in text or "nodename" in text or "resolution" in text:
            return "host name not found"
        return "cannot connect"
    return None


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from (a transport chains the OSError it met)."""
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(out) < 20:
        item = todo.pop()
        if item is None or any(item is seen for seen in out):
            continue
        out.append(item)
        todo += [item.__cause__, item.__context__, *getattr(item, "exceptions", ())]
    return out
