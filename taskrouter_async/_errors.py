"""The exceptions raised by taskrouter_async: one base class, one subclass per failure kind."""

from __future__ import annotations

import json
from typing import NamedTuple

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "RateLimitTimeoutError",
    "TaskRouterError",
    "ValidationError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookPayloadTooLargeError",
    "WebhookSignatureError",
]

_SNIPPET_CHARS = 200


class TaskRouterError(Exception):
    """Base class of every exception this library raises."""


class ValidationError(TaskRouterError, ValueError):
    """Input that cannot be sent: raised before any network I/O."""


class RateLimitTimeoutError(TaskRouterError, TimeoutError):
    """The client's own ``rate_limit=`` budget had no room within ``max_wait`` seconds; nothing was sent.

    Not an HTTP 429 (that is ``RateLimitError``): this one is raised before the request, by the
    client, for the budget under ``key`` (a workspace SID unless the ``RateLimit`` names a key).
    """

    def __init__(self, message: str, *, key: str, max_wait: float, waited: float) -> None:
        super().__init__(message)
        self.key = key
        self.max_wait = max_wait
        #: Seconds this attempt spent waiting for the budget before giving up.
        self.waited = waited


class ClientClosedError(TaskRouterError, RuntimeError):
    """The client was closed (``aclose()`` or the end of its ``async with``): no request can be sent."""


class WebhookError(TaskRouterError):
    """A request that claims to come from TaskRouter (a callback) and cannot be trusted or read."""


class WebhookSignatureError(WebhookError):
    """The ``X-Twilio-Signature`` header is missing or does not match: answer 403, do not read the body."""


class WebhookPayloadError(WebhookError, ValueError):
    """A signed callback whose body is malformed; ``field`` names the offending parameter when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class WebhookPayloadTooLargeError(WebhookPayloadError):
    """The callback body is larger than the configured limit (it was not read to the end)."""


#: Twilio's id for one request, on every answer: what Twilio support asks for.
REQUEST_ID_HEADER = "Twilio-Request-Id"


class APIError(TaskRouterError):
    """Something went wrong talking to the API; ``request`` is the last request tried.

    ``request_id`` is Twilio's id of the request (the ``Twilio-Request-Id`` header) when a response
    arrived; ``str(exc)`` shows it, since it is what Twilio support asks for.
    """

    request_id: str | None = None

    def __init__(self, message: str, *, request: httpx.Request, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message + self._suffix()

    def _suffix(self) -> str:
        """What every API error's text ends with: the attempts and Twilio's request id."""
        text = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return text + (f" [request {self.request_id}]" if self.request_id else "")


class APIConnectionError(APIError):
    """The request did not get a response: DNS, connect, TLS, reset or protocol failure."""


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""


class APIResponseValidationError(APIError):
    """A response arrived but its body is not what the API documents."""

    def __init__(self, message: str, *, response: httpx.Response, attempts: int = 1) -> None:
        super().__init__(message, request=response.request, attempts=attempts)
        self.response = response
        self.status_code = response.status_code
        self.request_id = response.headers.get(REQUEST_ID_HEADER)


class APIStatusError(APIError):
    """The API answered with an error status; Twilio's error fields are parsed when present.

    ``detail`` is Twilio's longer explanation (a 401 says ``Authenticate`` as its message and why
    in ``detail``); ``details`` is whatever JSON value Twilio sent as ``details``. Both come from
    the body after credentials were redacted from it.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: int | None = None,
        more_info: str | None = None,
        detail: str | None = None,
        details: object = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, request=response.request, attempts=attempts)
        self.response = response
        self.status_code = response.status_code
        self.request_id = response.headers.get(REQUEST_ID_HEADER)
        self.code = code
        self.more_info = more_info
        self.detail = detail
        self.details = details

    def __str__(self) -> str:
        return self._text() + self._suffix()

    def _text(self) -> str:
        text = f"HTTP {self.status_code}: {self.message}"
        if self.detail and self.detail != self.message:
            text += f": {self.detail}"
        extras = [f"code {self.code}" if self.code is not None else "", self.more_info or ""]
        if self.details is not None:
            extras.append(f"details {_compact_json(self.details)}")
        if any(extras):
            text += f" ({', '.join(extra for extra in extras if extra)})"
        return text


def _compact_json(value: object) -> str:
    """One line of JSON, cut at ``_SNIPPET_CHARS``: ``details`` can be large, the exception text should not."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"


class BadRequestError(APIStatusError):
    """HTTP 400: the API rejected a parameter."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the credentials were refused."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the credentials may not do this."""


class NotFoundError(APIStatusError):
    """HTTP 404: no such workspace, task, worker or reservation."""


class ConflictError(APIStatusError):
    """HTTP 409: the reservation is not in a state that allows this change."""


class PreconditionFailedError(APIStatusError):
    """HTTP 412: the If-Match ETag no longer matches; fetch and decide again.

    The text shows the If-Match value sent and, when the answer carried one, the reservation's
    ETag now, so a value that lost its quotes (``1`` for ``"1"``) is plain to see.
    """

    @property
    def if_match(self) -> str | None:
        """The If-Match header the refused request carried, exactly as sent."""
        sent: str | None = self.response.request.headers.get("if-match")
        return sent

    @property
    def current_etag(self) -> str | None:
        """The ETag header of the 412 answer, if the API sent one (it does not promise to)."""
        current: str | None = self.response.headers.get("etag")
        return current

    def _text(self) -> str:
        if self.if_match is None:
            return super()._text()
        if self.current_etag is None:
            return f"{super()._text()}; If-Match sent: {self.if_match} (fetch the reservation for its ETag now)"
        return f"{super()._text()}; If-Match sent: {self.if_match}, the reservation's ETag now: {self.current_etag}"


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests; ``retry_after`` is the server's advice in seconds, if any."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: int | None = None,
        more_info: str | None = None,
        detail: str | None = None,
        details: object = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            response=response,
            code=code,
            more_info=more_info,
            detail=detail,
            details=details,
            attempts=attempts,
        )
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """HTTP 5xx: the API failed."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


def make_status_error(
    response: httpx.Response, *, attempts: int = 1, retry_after: float | None = None
) -> APIStatusError:
    """Build the typed error for a read error response; tolerates empty, HTML and truncated bodies."""
    fields = _twilio_error_fields(response)
    error = status_error_class(response.status_code)(
        fields.message,
        response=response,
        code=fields.code,
        more_info=fields.more_info,
        detail=fields.detail,
        details=fields.details,
        attempts=attempts,
    )
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    return error


class _ErrorFields(NamedTuple):
    """Twilio's error fields as read from a body (``message`` falls back to the reason phrase)."""

    code: int | None
    message: str
    more_info: str | None = None
    detail: str | None = None
    details: object = None


def _twilio_error_fields(response: httpx.Response) -> _ErrorFields:
    fallback = response.reason_phrase or "error"
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        snippet = response.content[:_SNIPPET_CHARS].decode("utf-8", "replace").strip()
        return _ErrorFields(None, f"{fallback}: {snippet}" if snippet else fallback)
    if not isinstance(body, dict):
        return _ErrorFields(None, fallback)
    code = body.get("code")
    message = body.get("message")
    more_info = body.get("more_info")
    detail = body.get("detail")
    return _ErrorFields(
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        message if isinstance(message, str) and message else fallback,
        more_info if isinstance(more_info, str) else None,
        detail if isinstance(detail, str) and detail else None,
        body.get("details"),
    )
