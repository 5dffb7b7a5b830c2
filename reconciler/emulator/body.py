"""Reading request bodies safely: size limit, strict JSON, objects only.

Routes and hooks call :func:`read_json_object` instead of FastAPI body models so
that no malformed input can become a 500: every problem is an
:class:`~reconciler.emulator.envelope.ApiProblem` (400 or 413).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from reconciler.emulator.envelope import ApiProblem

MAX_BODY_BYTES = 1024 * 1024
#: Deeper JSON is refused: the live service has limits too, and deep values would
#: exhaust Python's recursion when validated or serialized.
MAX_DEPTH = 100


def _too_large() -> ApiProblem:
    return ApiProblem(413, "REQUEST_TOO_LARGE", f"request body exceeds {MAX_BODY_BYTES} bytes")


def _bad(message: str) -> ApiProblem:
    return ApiProblem(400, "INVALID_REQUEST_BODY", message)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_bytes(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _bad("invalid Content-Length header")
        if int(declared) > MAX_BODY_BYTES:
            raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        level = nxt
    return depth


async def read_json_object(request: Request) -> dict[str, Any]:
    raw = await read_bytes(request)
    if not raw.strip():
        raise _bad("request body is empty; expected a JSON object")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"request body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise _bad(f"request body must be a JSON object, not {type(data).__name__}")
    if _depth(data) > MAX_DEPTH:
        raise _bad(f"request body is nested deeper than {MAX_DEPTH} levels")
    return data


def require_object(body: dict[str, Any], key: str) -> dict[str, Any]:
    """``body[key]``, which must be present and a JSON object."""
    if key not in body:
        raise _bad(f"request body is missing the {key!r} key")
    value = body[key]
    if not isinstance(value, dict):
        raise _bad(f"{key!r} must be a JSON object")
    return value
