"""The Agents API's error envelope and JSON responses, as the emulator sends them.

Every error leaves the emulator as
``{"success": false, "error", "error_id", "error_code", "error_message", "data": null}``
with ``error_id`` equal to the ``X-PolyAI-Correlation-Id`` response header
(DESIGN.md §1). Route handlers raise :class:`ApiProblem`; the app's exception
handlers and the middleware turn it (and FastAPI's own 404/405/422) into an
envelope here. The correlation id is the client's own ``X-PolyAI-Correlation-Id``
when it sent a usable one (:func:`correlation_id_for`), else a fresh UUID; the
middleware picks it.
"""

from __future__ import annotations

import http
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

CORRELATION_HEADER = "X-PolyAI-Correlation-Id"
#: Key under which the middleware stores the request's correlation id in the ASGI scope.
SCOPE_KEY = "emulator.correlation_id"


class ApiProblem(Exception):
    """An error answer: HTTP status, UPPER_SNAKE code, message and extra headers."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


#: A client's correlation id the emulator echoes: short, printable, safe in a header and a log.
_USABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def correlation_id_for(sent: str | None) -> str:
    """The client's id when it sent a usable one (echoed in the header and ``error_id``), else a new one."""
    return sent if sent is not None and _USABLE_ID.fullmatch(sent) else new_correlation_id()


def dumps(content: Any) -> bytes:
    """Compact JSON; ASCII-escaped so lone surrogates in stored strings can never fail to encode."""
    return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def json_response(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(content), status_code=status, headers=dict(headers or {}),
                    media_type="application/json")


def envelope(status: int, code: str, message: str, correlation_id: str) -> dict[str, Any]:
    try:
        short = http.HTTPStatus(status).phrase
    except ValueError:
        short = "Error"
    return {"success": False, "error": short, "error_id": correlation_id, "error_code": code,
            "error_message": message, "data": None}


def problem_response(problem: ApiProblem, correlation_id: str) -> Response:
    body = envelope(problem.status, problem.code, problem.message, correlation_id)
    return json_response(body, problem.status, problem.headers)


def correlation_id_of(scope: Mapping[str, Any]) -> str:
    """The id the middleware chose for this request (a fresh one if it ran outside the middleware)."""
    return scope.get(SCOPE_KEY) or new_correlation_id()
