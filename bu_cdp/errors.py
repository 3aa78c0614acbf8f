"""One exception hierarchy for the whole package.

The names follow the generated Browser Use / OpenAI-style SDKs users already know:
``APIError`` for answers the API gave, ``APIConnectionError`` for answers it never gave.
Messages never carry the API key or a CDP token.
"""

from __future__ import annotations

from typing import Any


class BuCdpError(Exception):
    """Base class of every error raised by bu-cdp."""


class ConfigurationError(BuCdpError):
    """Something in the local set-up is missing or wrong (for example, no Chromium)."""


class APIError(BuCdpError):
    """The API answered with an error status."""

    def __init__(self, message: str, *, status_code: int, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        return f"{self.status_code}: {self.message}"


class BadRequestError(APIError):
    """400: the request was malformed."""


class AuthenticationError(APIError):
    """401/403: the API key is missing, wrong or not allowed to do this."""


class PaymentRequiredError(APIError):
    """402: no credit left for this request."""


class NotFoundError(APIError):
    """404: no such session, browser, workspace, profile or file."""


class ConflictError(APIError):
    """409: the resource is in a state that forbids this (for example a profile in use)."""


class PayloadTooLargeError(APIError):
    """413: an upload is larger than the server accepts."""


class UnprocessableEntityError(APIError):
    """422: a field of the request is invalid; ``fields`` names which."""

    def __init__(
        self, message: str, *, status_code: int, body: Any = None, fields: list[str] | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.fields = fields or []


class RateLimitError(APIError):
    """429: too many requests or browsers; ``retry_after`` is in seconds when the API said."""

    def __init__(
        self, message: str, *, status_code: int, body: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed."""


class NotSupportedError(ServerError):
    """501: this server does not offer the operation (for example agent sessions locally)."""


class APIConnectionError(BuCdpError):
    """The request did not get an answer: refused, reset, DNS failure."""


class APITimeoutError(APIConnectionError):
    """The request timed out before an answer came."""


class BrowserConnectError(BuCdpError):
    """Playwright could not connect to a browser's CDP endpoint."""


class ProfileLookupError(BuCdpError, LookupError):
    """``profile=`` named no profile, or more than one; the message says which and what to do."""


class SessionError(BuCdpError):
    """An agent session did not give a usable result; ``session`` is its last known state."""

    def __init__(self, message: str, *, session: Any = None) -> None:
        super().__init__(message)
        self.session = session


class SessionFailedError(SessionError):
    """The session ended with status ``error`` or ``timed_out``."""


class SessionTimeoutError(SessionError, TimeoutError):
    """The client stopped waiting for the session (its ``timeout=`` passed)."""


class SessionOutputError(SessionError, ValueError):
    """The session's output does not fit the ``output_schema`` it was asked for."""


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    501: NotSupportedError,
}


def error_class_for(status_code: int) -> type[APIError]:
    """The exception class that stands for an HTTP error status."""
    if status_code in _STATUS_ERRORS:
        return _STATUS_ERRORS[status_code]
    return ServerError if status_code >= 500 else APIError
