"""The reconciler's typed errors.

Every error the tool raises on purpose is a :class:`ReconcilerError`; the CLI's
single error boundary turns one into a one-line message and exit code 1.
Anything else is a bug and gets a short message plus a crash log.

::

    ReconcilerError
    ├── ConfigError (file, line, code)        loader / settings / validation / policy
    └── ApiError (status, error_code, error_id, request_id, method, path, message)
        ├── ClientError                       4xx
        │   ├── AuthError                     401
        │   ├── ForbiddenError                403 (REAL_TIME_CONFIG_FORBIDDEN_ACCESS)
        │   ├── NotFoundError                 404
        │   ├── RateLimitedError              429 (retry_after)
        │   ├── InvalidSchemaError            400 REAL_TIME_CONFIG_INVALID_SCHEMA
        │   ├── InvalidForSchemaError         400 REAL_TIME_CONFIG_INVALID_FOR_SCHEMA
        │   └── UnknownEnvironmentError       400 REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT
        ├── ServerError                       5xx
        └── TransportError                    network failure (chained ``from`` httpx's)
            └── UnreachableError              the circuit breaker is open: not even tried

Messages never contain the API key: ``api.client`` is the only module that sees
it, and it never formats a header into a message.
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base of every error the reconciler raises deliberately."""


class ConfigError(ReconcilerError):
    """A problem in the config repository or the settings, located at file:line."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 code: str = "config.invalid") -> None:
        self.message = message
        self.file = file
        self.line = line
        self.code = code
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.message}"


class ApiError(ReconcilerError):
    """An error answer (or no answer) from the Agents API."""

    def __init__(self, message: str, *, status: int | None = None, error_code: str | None = None,
                 error_id: str | None = None, method: str | None = None, path: str | None = None,
                 detail: str | None = None, request_id: str | None = None) -> None:
        self.message = message
        self.detail = detail
        """The server's whole message before ``message`` was cut short (None: not cut). It may echo
        values sent, so a caller that knows the secrets masks THIS, then shortens (see
        :func:`reconciler.checks.masking.api_error_text`)."""
        self.status = status
        self.error_code = error_code
        self.error_id = error_id
        self.request_id = request_id
        """The ``X-PolyAI-Correlation-Id`` this client sent with the failed request (None: nothing was
        sent, e.g. the circuit breaker was open). Set by :mod:`reconciler.api.client`."""
        self.method = method
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        return self.describe(self.message)

    def describe(self, message: str) -> str:
        """``METHOD path HTTP status CODE: message (request_id …)`` with ``message`` in place of the own one.

        The server's ``error_id`` is shown too when it is not the id this client sent."""
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error_code:
            parts.append(self.error_code)
        head = " ".join(parts)
        ids = [f"error_id {self.error_id}"] if self.error_id and self.error_id != self.request_id else []
        ids += [f"request_id {self.request_id}"] if self.request_id else []
        tail = f" ({'; '.join(ids)})" if ids else ""
        return f"{head}: {message}{tail}" if head else f"{message}{tail}"


class ClientError(ApiError):
    """4xx: the request was wrong; retrying it unchanged will not help (except 429)."""


class AuthError(ClientError):
    """401: missing or wrong API key (set POLYAI_API_KEY)."""


class ForbiddenError(ClientError):
    """403: the key may not access this agent."""


class NotFoundError(ClientError):
    """404: unknown agent."""


class RateLimitedError(ClientError):
    """429: too many requests; ``retry_after`` seconds from the Retry-After header."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class InvalidSchemaError(ClientError):
    """400 REAL_TIME_CONFIG_INVALID_SCHEMA: the schema is not valid Draft 7."""


class InvalidForSchemaError(ClientError):
    """400 REAL_TIME_CONFIG_INVALID_FOR_SCHEMA: merged variables do not fit the page's schema."""


class UnknownEnvironmentError(ClientError):
    """400 REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT."""


class ServerError(ApiError):
    """5xx: the service failed; transient, retried."""


class TransportError(ApiError):
    """No HTTP answer at all: connection refused/reset, timeout, DNS."""


class UnreachableError(TransportError):
    """The run-wide circuit breaker is open: consecutive requests found no server; nothing was sent.

    Not retried: ``message`` is the one line a run prints
    (``cannot reach URL: connection refused (3 attempts over 2.1 s)``).
    """


#: error_code -> class, for 400s whose meaning is in the envelope's code.
ERROR_CODE_CLASSES: dict[str, type[ApiError]] = {
    "REAL_TIME_CONFIG_INVALID_SCHEMA": InvalidSchemaError,
    "REAL_TIME_CONFIG_INVALID_FOR_SCHEMA": InvalidForSchemaError,
    "REAL_TIME_CONFIG_UNKNOWN_CLIENT_ENVIRONMENT": UnknownEnvironmentError,
    "REAL_TIME_CONFIG_FORBIDDEN_ACCESS": ForbiddenError,
}

#: HTTP status -> class, when the code does not decide.
STATUS_CLASSES: dict[int, type[ApiError]] = {
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    429: RateLimitedError,
}
