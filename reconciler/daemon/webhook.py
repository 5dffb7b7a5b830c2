"""GitHub push webhooks (``POST /hooks/github``) and approvals of held revisions (``POST /approve/{revision}``).

Built by the daemon's loop when a webhook secret is set (``--webhook-secret-file``
or ``RECONCILER_WEBHOOK_SECRET``); served beside the probes on ``--listen``, or
on a listener of its own (``--webhook-listen``) so that only it is exposed.

- ``/hooks/github``: the body (at most :data:`MAX_BODY` bytes, else 413) must
  carry ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the
  secret>`` (else 401, and nothing happens). A ``push`` to the watched branch
  asks the git source for a fetch (coalesced: a burst is one fetch) and
  answers 202; any other event or branch is 202 and ignored.
- ``/approve/{revision}``: ``Authorization: Bearer <the same secret>`` (else
  401); approves the held revision whose id starts with ``revision`` (202), or
  404 when no such revision is held.

It only triggers: the fetch, the hold and the reload are done elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import uvicorn
from prometheus_client import CollectorRegistry, Counter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler import errors
from reconciler.daemon import http
from reconciler.daemon.holds import Gate

ENV_SECRET = "RECONCILER_WEBHOOK_SECRET"
#: Largest webhook body accepted (GitHub caps payloads at 25 MB; a push of a few commits is a few kB).
MAX_BODY = 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"


def load_secret(path: Path | None, environ: Mapping[str, str] = os.environ) -> bytes | None:
    """The webhook secret: the file (``--webhook-secret-file``) or the environment; None when neither is set."""
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise errors.ReconcilerError(f"cannot read the webhook secret file: {exc.strerror or exc}") from None
        if not text:
            raise errors.ReconcilerError("the webhook secret file is empty")
        return text.encode("utf-8")
    value = environ.get(ENV_SECRET, "")
    return value.encode("utf-8") if value else None


def signature(secret: bytes, body: bytes) -> str:
    """What GitHub sends in ``X-Hub-Signature-256`` for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Hooks:
    def __init__(self, secret: bytes, branch: str | None, on_push: Callable[[], None], gate: Gate,
                 on_approved: Callable[[], None], registry: CollectorRegistry) -> None:
        self._secret = secret
        self.branch = branch
        self.on_push, self.gate, self.on_approved = on_push, gate, on_approved
        self.deliveries = Counter("reconciler_webhook_deliveries", "Webhook and approval requests by result",
                                  ["result"], registry=registry)

    def routes(self) -> list[Route]:
        return [Route("/hooks/github", self.github, methods=["POST"]),
                Route("/approve/{revision}", self.approve, methods=["POST"])]

    def app(self) -> Starlette:
        return Starlette(routes=self.routes())

    async def github(self, request: Request) -> Response:
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not given.startswith("sha256="):
            return self._answer("unauthorized", 401, error=f"missing {SIGNATURE_HEADER}")
        body = await _bounded_body(request)
        if body is None:
            return self._answer("too_large", 413, error=f"body larger than {MAX_BODY} bytes")
        if not hmac.compare_digest(signature(self._secret, body), given):
            return self._answer("unauthorized", 401, error="signature does not match")
        event = request.headers.get("X-GitHub-Event", "")
        if event != "push":
            return self._answer("ignored", 202, ignored=f"event {event or '(none)'} is not a push")
        try:
            ref = json.loads(body).get("ref")
        except (ValueError, AttributeError):
            return self._answer("bad_request", 400, error="the push payload is not a JSON object")
        if self.branch is None or ref != f"refs/heads/{self.branch}":
            return self._answer("ignored", 202, ignored=f"push to {ref!r}, not the watched branch")
        self.on_push()
        return self._answer("accepted", 202, fetch=True)

    async def approve(self, request: Request) -> Response:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode("utf-8"), b"Bearer " + self._secret):
            return self._answer("unauthorized", 401, error="approvals need Authorization: Bearer <webhook secret>")
        wanted = request.path_params["revision"]
        held = self.gate.approve(wanted)
        if held is None:
            return self._answer("not_held", 404, error=f"no held revision {wanted[:40]!r}")
        self.on_approved()
        return self._answer("approved", 202, approved=held.revision.id)

    def _answer(self, result: str, code: int, **body: object) -> Response:
        self.deliveries.labels(result=result).inc()
        return JSONResponse(body, status_code=code)


async def _bounded_body(request: Request) -> bytes | None:
    """The raw body, or None when it is (or claims to be) larger than :data:`MAX_BODY`."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def serve(app: Starlette, host: str, port: int, log: logging.Logger) -> tuple[uvicorn.Server, asyncio.Task]:
    """The webhook's own listener (``--webhook-listen``), in the daemon's event loop, with the daemon's HTTP limits."""
    try:
        server, task, url = await http.start(app, host, port, max_body=MAX_BODY)
    except OSError as exc:
        raise errors.ReconcilerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    log.info(f"webhook listening on {url}", extra={"event": "webhook_listening", "url": url})
    return server, task
