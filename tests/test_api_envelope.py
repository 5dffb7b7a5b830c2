"""The error envelope becomes the right typed error (reconciler.api.envelope).

Responses are plain ``httpx.Response`` values built here: the mapping is a pure
function of the answer, no server needed (the live behaviour is covered in
test_api_client.py against the emulator).
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from reconciler import errors
from reconciler.api.envelope import (
    MAX_BODY_CHARS,
    error_for_response,
    error_for_transport,
    parse_retry_after,
    raise_api_error,
)


def envelope(code: str | None, message: str = "boom", error_id: str | None = "err-1") -> dict:
    return {"success": False, "error": "Error", "error_id": error_id, "error_code": code,
            "error_message": message, "data": None}


def response(status: int, body=None, *, content: bytes | None = None, headers=None) -> httpx.Response:
    if content is not None:
        return httpx.Response(status, content=content, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(("status", "code", "cls"), [
    (400, "REAL_TIME_CONFIG_INVALID_SCHEMA", errors.InvalidSchemaError),
    (400, "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA", errors.InvalidForSchemaError),
    (400, "REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT", errors.UnknownEnvironmentError),
    (403, "REAL_TIME_CONFIG_FORBIDDEN_ACCESS", errors.ForbiddenError),
    (401, "UNAUTHORIZED", errors.AuthError),
    (404, "AGENT_NOT_FOUND", errors.NotFoundError),
    (429, "RATE_LIMITED", errors.RateLimitedError),
    (400, "SOMETHING_NEW", errors.ClientError),
    (409, None, errors.ClientError),
    (500, "INTERNAL", errors.ServerError),
    (503, None, errors.ServerError),
])
def test_class_is_chosen_by_error_code_then_status(status, code, cls):
    exc = error_for_response(response(status, envelope(code)), method="PUT", path="/v1/agents/a/x")
    assert type(exc) is cls
    assert (exc.status, exc.error_code, exc.error_id) == (status, code, "err-1")
    assert (exc.method, exc.path, exc.message) == ("PUT", "/v1/agents/a/x", "boom")
    assert str(exc).startswith(f"PUT /v1/agents/a/x HTTP {status}")


def test_error_id_falls_back_to_the_correlation_header():
    r = response(500, envelope("INTERNAL", error_id=None), headers={"X-PolyAI-Correlation-Id": "corr-9"})
    assert error_for_response(r, method="GET", path="/p").error_id == "corr-9"


def test_non_json_body_is_cut_short_and_on_one_line():
    html = ("<html>\n<body>" + "x" * 5000 + "</body></html>").encode()
    exc = error_for_response(response(502, content=html), method="GET", path="/p")
    assert type(exc) is errors.ServerError and exc.error_code is None
    assert len(exc.message) < MAX_BODY_CHARS + 60
    assert "\n" not in exc.message and "cut short" in exc.message


def test_empty_and_binary_bodies_still_give_a_message():
    assert error_for_response(response(503, content=b""), method="GET", path="/p").message == "empty response body"
    exc = error_for_response(response(500, content=b"\xff\xfe\x00junk"), method="GET", path="/p")
    assert isinstance(exc, errors.ServerError) and exc.message


def test_json_that_is_not_the_envelope_is_handled():
    exc = error_for_response(response(404, ["not", "an", "object"]), method="GET", path="/p")
    assert type(exc) is errors.NotFoundError and exc.error_code is None
    exc = error_for_response(response(400, {"error_code": 7, "error_message": "x"}), method="GET", path="/p")
    assert type(exc) is errors.ClientError and exc.error_code is None


def test_rate_limited_keeps_retry_after():
    r = response(429, envelope("RATE_LIMITED"), headers={"Retry-After": "3"})
    exc = error_for_response(r, method="GET", path="/p")
    assert isinstance(exc, errors.RateLimitedError) and exc.retry_after == 3.0


def test_redact_removes_a_secret_echoed_by_the_server():
    r = response(401, envelope(None, message="key SECRET-123 is not valid"))
    exc = error_for_response(r, method="GET", path="/p", redact=lambda s: s.replace("SECRET-123", "***"))
    assert "SECRET-123" not in str(exc) and "***" in str(exc)


@pytest.mark.parametrize(("value", "expected"), [
    ("3", 3.0), (" 0.5 ", 0.5), ("0", 0.0), ("-4", 0.0), (None, None), ("", None), ("soon", None),
    ("nan", None), ("inf", None),
])
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    now = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("Wed, 01 May 2024 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0   # in the past: now


def test_transport_errors_are_chained_from_the_original():
    cause = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    with pytest.raises(errors.TransportError) as info:
        raise_api_error(method="PATCH", path="/v1/agents/a/v", cause=cause)
    assert info.value.__cause__ is cause
    assert info.value.status is None and info.value.method == "PATCH"
    assert "RemoteProtocolError" in str(info.value)
    assert error_for_transport(httpx.ConnectError(""), method="GET", path="/p").message == "ConnectError: no details"


def test_status_errors_are_chained_from_httpx():
    r = response(500, envelope("INTERNAL"))
    r.request = httpx.Request("GET", "http://h/p")
    try:
        r.raise_for_status()
    except httpx.HTTPStatusError as cause:
        with pytest.raises(errors.ServerError) as info:
            raise_api_error(method="GET", path="/p", cause=cause, response=r)
        assert info.value.__cause__ is cause
    else:  # pragma: no cover
        pytest.fail("raise_for_status did not raise")
