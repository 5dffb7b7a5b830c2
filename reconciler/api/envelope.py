"""Turn an error answer (or no answer) from the Agents API into a typed error.

Called only by :mod:`reconciler.api.client`, which catches httpx's exceptions
and hands the response (or the transport failure) here. This module never
imports httpx itself: it reads a response through ``status_code``/``headers``/``content``
only, so it stays a pure function of the answer and is tested with plain
``httpx.Response`` objects. The classes come from :mod:`reconciler.errors`::

    ApiError (status, error_code, error_id, method, path, message)
    ├── ClientError 4xx   chosen by the envelope's error_code first
    │                     (ERROR_CODE_CLASSES), then by status (STATUS_CLASSES)
    │   └── RateLimitedError 429 keeps retry_after (parse_retry_after)
    ├── ServerError 5xx
    └── TransportError    no HTTP answer; chained ``from`` httpx's error

The envelope (DESIGN.md §1) is ``{"success": false, "error", "error_id",
"error_code", "error_message", "data"}``; ``error_id`` falls back to the
``X-PolyAI-Correlation-Id`` header. A body that is not the envelope (an HTML
page from a proxy, say) is cut short so it cannot flood a log. Every message
passes through ``redact``, so even a server that echoed the API key back would
not get it into an exception.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import json
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, Protocol

from reconciler.errors import (
    ERROR_CODE_CLASSES,
    STATUS_CLASSES,
    ApiError,
    ClientError,
    RateLimitedError,
    ServerError,
    TransportError,
)

#: How much of a body that is not the JSON envelope goes into a message.
MAX_BODY_CHARS = 200
#: How much of the server's text is kept whole in ``ApiError.detail`` (masked by callers, then shortened).
MAX_DETAIL_CHARS = 64 * 1024
CORRELATION_HEADER = "X-PolyAI-Correlation-Id"


class ResponseLike(Protocol):
    status_code: int
    headers: Mapping[str, str]
    content: bytes


def _no_redact(text: str) -> str:
    return text


def parse_retry_after(value: str | None, *, now: _dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Returns ``None`` when absent or unreadable (the caller then uses its own
    backoff), and never a negative number (a date in the past means "now").
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:             # RFC 9110 dates are GMT
            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = (when - (now or _dt.datetime.now(_dt.timezone.utc))).total_seconds()
    if seconds != seconds or seconds == float("inf"):   # NaN / inf are not a delay
        return None
    return max(0.0, seconds)


def _read_envelope(content: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _short_body(content: bytes) -> str:
    text = content.decode("utf-8", errors="replace").strip()
    text = " ".join(text.split())           # one line, whatever the body was
    if not text:
        return "empty response body"
    if len(text) > MAX_BODY_CHARS:
        return f"{text[:MAX_BODY_CHARS]}… ({len(content)} bytes, cut short)"
    return text


def _pick_class(status: int, error_code: str | None) -> type[ApiError]:
    if error_code and error_code in ERROR_CODE_CLASSES:
        return ERROR_CODE_CLASSES[error_code]
    if status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    if 400 <= status < 500:
        return ClientError
    if status >= 500:
        return ServerError
    return ApiError                          # 1xx/3xx where a JSON page was expected


def error_for_response(response: ResponseLike, *, method: str, path: str,
                       redact: Callable[[str], str] = _no_redact) -> ApiError:
    """The typed error for an HTTP answer that is not a success."""
    status = response.status_code
    envelope = _read_envelope(response.content)
    error_code = error_id = None
    detail = None
    if envelope is not None:
        error_code = envelope.get("error_code") if isinstance(envelope.get("error_code"), str) else None
        error_id = envelope.get("error_id") if isinstance(envelope.get("error_id"), str) else None
        message = envelope.get("error_message") or envelope.get("error") or _short_body(response.content)
        message = str(message)
        if len(message) > 4 * MAX_BODY_CHARS:
            detail = message[:MAX_DETAIL_CHARS]
            message = message[: 4 * MAX_BODY_CHARS] + "… (cut short)"
    else:
        message = _short_body(response.content)
        if message.endswith("cut short)"):
            detail = " ".join(response.content[:MAX_DETAIL_CHARS].decode("utf-8", errors="replace").split())
    error_id = error_id or response.headers.get(CORRELATION_HEADER)
    cls = _pick_class(status, error_code)
    # Even the ids are the server's text: a server that echoed the key there must not get it into a report.
    error_code, error_id = (redact(v) if v else v for v in (error_code, error_id))
    kwargs: dict[str, Any] = dict(status=status, error_code=error_code, error_id=error_id,
                                  method=method, path=path, detail=redact(detail) if detail else None)
    if issubclass(cls, RateLimitedError):
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return cls(redact(message), **kwargs)


def error_for_transport(exc: BaseException, *, method: str, path: str,
                        redact: Callable[[str], str] = _no_redact) -> TransportError:
    """The typed error for a request that got no HTTP answer at all."""
    detail = str(exc).strip() or "no details"
    return TransportError(redact(f"{type(exc).__name__}: {detail}"), method=method, path=path)


def raise_api_error(*, method: str, path: str, cause: BaseException,
                    response: ResponseLike | None = None,
                    redact: Callable[[str], str] = _no_redact) -> NoReturn:
    """Raise the typed error for ``response`` (or, without one, for the transport failure ``cause``).

    The one place where the client's failures are translated; the typed error is
    chained ``from`` httpx's so a crash log still shows the original.
    """
    if response is not None:
        raise error_for_response(response, method=method, path=path, redact=redact) from cause
    raise error_for_transport(cause, method=method, path=path, redact=redact) from cause
