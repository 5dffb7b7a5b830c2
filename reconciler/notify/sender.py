"""Post one notification: a JSON webhook (optionally HMAC-SHA256 signed) or a Slack incoming webhook.

:func:`send` is the one way a notification goes out: the daemon awaits it in
its event loop (a slow target never blocks a pass), the CLI's ``apply``/``drift
--notify`` runs it through ``asyncio.run``; it builds the request
(:func:`request`) and makes the attempts.

The only code that speaks to notification targets (httpx, the project's one
HTTP library). URLs and signing keys come from the environment variables
the target names (or a non-secret webhook URL from ``reconciler.yaml``); https
only, plain http on loopback. A failure (no answer, a non-2xx status) is
retried with backoff, then reported as ``False`` with a reason that names the
target and the status, never the URL (a Slack URL is a secret) nor the key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from reconciler import __version__, governance
from reconciler.api.wire import Connections
from reconciler.notify.events import Event

SIGNATURE_HEADER = "X-Reconciler-Signature"
#: Delay before retry n; its length bounds the retries (3 attempts in all).
BACKOFFS = (0.5, 1.0)
TIMEOUT = 5.0


def http_client() -> httpx.AsyncClient:
    """The client notifications are sent with: the Agents API's transport (:class:`reconciler.api.wire.Connections`),
    so no proxy variable is used, and redirects are not followed."""
    return httpx.AsyncClient(transport=Connections(), timeout=TIMEOUT, follow_redirects=False)


def payload(target: governance.Target, event: Event, sent_at: str) -> dict[str, Any]:
    """The body: what happened, masked by construction (codes, messages already masked, key names)."""
    if target.kind == "slack":
        revision = f" (revision {event.revision[:12]})" if event.revision else ""
        return {"text": f"[rtc-reconciler] {event.trigger}: {event.summary}{revision}"}
    return {"format_version": 1, "kind": "rtc-reconciler.notification", "tool_version": __version__,
            "trigger": event.trigger, "agent": event.agent, "env": event.env, "revision": event.revision,
            "summary": event.summary, "codes": list(event.codes), "keys": list(event.keys), "sent_at": sent_at}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def request(target: governance.Target, event: Event, environ: Mapping[str, str], *,
            sent_at: str) -> tuple[str, bytes, dict[str, str]] | str:
    """(url, body, headers) of the POST, or why it cannot be sent (naming the target, never the URL)."""
    url = target.url or environ.get(target.url_env or "", "")
    if not url:
        return f"{target.name}: environment variable {target.url_env} is not set"
    try:
        governance.check_notify_url(url)
    except ValueError as exc:
        return f"{target.name}: {exc}"
    body = json.dumps(payload(target, event, sent_at), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": f"rtc-reconciler/{__version__}"}
    if target.secret_env:
        secret = environ.get(target.secret_env)
        if not secret:
            return f"{target.name}: environment variable {target.secret_env} (signing key) is not set"
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return url, body, headers


def _problem(response: httpx.Response | None, exc: httpx.HTTPError | None) -> str:
    """"" for a 2xx answer, else what went wrong (never str(exc): it may quote the URL)."""
    if exc is not None:
        return type(exc).__name__
    assert response is not None
    return "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


async def send(client: httpx.AsyncClient, target: governance.Target, event: Event, environ: Mapping[str, str],
                *, sent_at: str, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> tuple[bool, str]:
    """(delivered, what happened) after at most ``len(BACKOFFS) + 1`` attempts: the daemon's sends, and the
    CLI's ``--notify`` (:mod:`reconciler.notify.deliver`, through ``asyncio.run``)."""
    prepared = request(target, event, environ, sent_at=sent_at)
    if isinstance(prepared, str):
        return False, prepared
    url, body, headers = prepared
    problem, attempt = "", 0
    for attempt, delay in enumerate((*BACKOFFS, None), 1):
        try:
            problem = _problem(await client.post(url, content=body, headers=headers), None)
        except httpx.HTTPError as exc:
            problem = _problem(None, exc)
        if not problem:
            return True, f"{target.name}: sent"
        if delay is None:
            break
        await sleep(delay)
    return False, f"{target.name}: {problem} after {attempt} attempts"
