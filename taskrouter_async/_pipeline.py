"""The one request pipeline every operation uses: build, send (through an engine), classify, retry.

Resources hand it a method, a URL on the client's origin and an optional form or JSON body; it adds the
credentials and headers, sends each attempt through the client's engine within the attempt
deadline, turns every failure into a typed error, and retries by the rules in ``_retry``.
httpx ``Request``/``Response`` objects are built only for errors, where callers inspect them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Protocol

import anyio
import attrs
import httpx

from ._engines import Engine, EngineClosed, UnreadableBody
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    ClientClosedError,
    ValidationError,
    make_status_error,
)
from ._logging import logger
from ._options import checked_max_retries, checked_max_retry_after, checked_timeout
from ._ratelimit import RateLimiter, spend_budget
from ._retry import RATE_LIMITED, SERVER_ERRORS, backoff, retry_after, was_sent

__all__ = ["AttemptGate", "Pipeline", "PreparedRequest", "Reply", "Settings"]

#: TaskRouter's hosts: ``taskrouter.twilio.com`` and ``taskrouter[.{edge}].{region}.twilio.com``.
_TWILIO_TASKROUTER_HOST = re.compile(r"taskrouter(?:\.[a-z0-9]+(?:-[a-z0-9]+)*){0,2}\.twilio\.com")


@attrs.frozen(kw_only=True)
class Settings:
    """What a client sends with every request; shared (and evolved) by ``with_options`` views."""

    base_url: str
    #: Complete header sets for requests without a body, with a form body and with a JSON body
    #: (Host and Authorization included).
    get_headers: Mapping[str, str] = attrs.field(repr=False)
    post_headers: Mapping[str, str] = attrs.field(repr=False)
    json_headers: Mapping[str, str] = attrs.field(repr=False)
    #: The password and the Basic token, as bytes: scrubbed from error bodies a server echoes back.
    secrets: tuple[bytes, ...] = attrs.field(repr=False)
    timeout: httpx.Timeout
    max_retries: int
    max_retry_after: float
    #: The request budget every attempt takes a token from (``rate_limit=``); shared by ``with_options`` views.
    rate_limiter: RateLimiter | None = None
    #: The most one attempt may take, waiting for a connection included: the sum of its phase timeouts.
    attempt_deadline: float | None = attrs.field(
        init=False, default=attrs.Factory(lambda self: _attempt_deadline(self.timeout), takes_self=True)
    )


def _attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """The sum of the phase timeouts; ``None`` (no deadline) only if connect, write or read is unbounded.

    ``pool=None`` lifts the limit on waiting for a connection, not the bound on a dripping answer.
    """
    if timeout.connect is None or timeout.write is None or timeout.read is None:
        return None
    return (timeout.pool or 0.0) + timeout.connect + timeout.write + timeout.read


class AttemptGate(Protocol):
    """Held around every attempt, retries included (``update_many``'s adaptive concurrency limit)."""

    async def acquire(self) -> None: ...

    def release(self) -> None: ...


@attrs.frozen
class PreparedRequest:
    """A checked request, ready to send: its URL, body (form or JSON) and If-Match ETag."""

    url: str
    body: bytes | None = None
    etag: str | None = None
    json: bool = False


@attrs.frozen
class Reply:
    """A successful (2xx) response: status, headers (case-insensitive) and body, with what produced it."""

    method: str
    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes
    #: How many attempts the call took (retries included).
    attempts: int = 1

    def http_response(self) -> httpx.Response:
        """The reply as a readable ``httpx.Response`` (with its request), for errors and raw access."""
        return _response(self.status_code, self.headers, self.content, httpx.Request(self.method, self.url))


class Pipeline:
    """Sends API requests for one client (or one ``with_options`` view of it) through its engine."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    def url(self, path: str) -> str:
        """The absolute URL of an API path such as ``/v1/Workspaces/WS…``."""
        return self.settings.base_url + path

    def page_url(self, url: str) -> str:
        """Where to request a page URL from the API (``next_page_url``) or the caller (``page_url``).

        A URL on ``base_url``'s origin is used as it is. One on a Twilio TaskRouter host
        (``https://taskrouter[.{edge}][.{region}].twilio.com``) is requested on ``base_url``
        instead, path and query kept, as the official SDK does with every URL
        (``Client.get_hostname``): page 2 of a regional list, or of a list read through a proxy,
        stays on the configured host. Any other URL raises ValidationError: credentials never
        leave ``base_url``.
        """
        base_url = self.settings.base_url
        if _same_origin(url, base_url):
            return url
        twilio_path = _twilio_taskrouter_path(url)
        if twilio_path is None:
            raise ValidationError(f"refusing to send credentials to {_origin_text(url)}: not {base_url}")
        return base_url + twilio_path

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_retry_after: float | None = None,
    ) -> Pipeline:
        """The same engine with other timeout or retry settings (checked here); ``self`` when none is given."""
        if timeout is None and max_retries is None and max_retry_after is None:
            return self
        settings = self.settings
        evolved = attrs.evolve(
            settings,
            timeout=settings.timeout if timeout is None else checked_timeout(timeout),
            max_retries=settings.max_retries if max_retries is None else checked_max_retries(max_retries),
            max_retry_after=settings.max_retry_after
            if max_retry_after is None
            else checked_max_retry_after(max_retry_after),
        )
        return Pipeline(evolved, self.engine)

    async def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        etag: str | None = None,
        json: bool = False,
        gate: AttemptGate | None = None,
        on_rate_limited: Callable[[], object] | None = None,
    ) -> Reply:
        """Send one API request with retries; return the 2xx reply or raise a typed ``APIError``.

        GET and DELETE are retried on 429, 5xx and transport failures. POST (a create or an
        update) is retried on 429 and on failures before the request was sent; on 5xx and read
        failures only when ``etag`` is given, because If-Match turns a repeat that would apply
        twice into a 412. ``body`` is form-encoded unless ``json``. ``on_rate_limited`` is called
        on every 429, before any retry (bulk updates slow down).
        """
        settings = self.settings
        headers = settings.get_headers if body is None else settings.json_headers if json else settings.post_headers
        if etag is not None:
            headers = {**headers, "If-Match": etag}
        repeat_is_safe = method in _IDEMPOTENT or etag is not None
        limiter = settings.rate_limiter
        attempt = 0
        while True:
            attempt += 1
            wait: float | None = None
            if gate is not None:
                await gate.acquire()
            try:
                # A token per attempt, taken as close to sending as possible; the budget learns from the answer.
                async with spend_budget(limiter, method, url, settings.attempt_deadline) as budget:
                    status, response_headers, content = await self.engine.exchange(
                        method, url, headers, body, settings.timeout, settings.attempt_deadline
                    )
                    budget.answered(status, response_headers)
            except httpx.TransportError as exc:
                error_type = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
                request = _request(method, url, headers, body)
                error: APIError = error_type(
                    f"{_describe(exc)} on {method} {request.url.path}", request=request, attempts=attempt
                )
                retryable = repeat_is_safe or not was_sent(exc)
            except UnreadableBody as exc:
                request = _request(method, url, headers, body)
                raise APIResponseValidationError(
                    f"unreadable response body on {method} {request.url.path}: {exc}",
                    response=_response(exc.status, exc.headers, b"", request),
                    attempts=attempt,
                ) from None
            except EngineClosed:
                raise ClientClosedError("the client has been closed: create a new AsyncTaskRouter") from None
            else:
                if 200 <= status < 300:
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug("%s %s -> %d (attempt %d)", method, _path(url), status, attempt)
                    return Reply(method, url, status, response_headers, content, attempt)
                request = _request(method, url, headers, body)
                error_response = _response(status, response_headers, _redact(content, settings.secrets), request)
                wait = retry_after(error_response.headers) if status in (RATE_LIMITED, 503) else None
                error = make_status_error(error_response, attempts=attempt, retry_after=wait)
                if status == 404 and method == "DELETE" and attempt > 1 and etag is None:
                    error.message += " (an earlier attempt of this DELETE may have deleted it: its answer was lost)"
                if status == RATE_LIMITED and on_rate_limited is not None:
                    on_rate_limited()
                retryable = status == RATE_LIMITED or (status in SERVER_ERRORS and repeat_is_safe)
            finally:
                if gate is not None:
                    gate.release()
            if not retryable or attempt > settings.max_retries:
                logger.debug("%s %s failed, not retried (attempt %d): %s", method, _path(url), attempt, error)
                raise error
            if wait is not None and wait > settings.max_retry_after:
                logger.debug("%s %s: Retry-After %.1fs is over the cap, not waiting", method, _path(url), wait)
                raise error
            delay = wait if wait is not None else backoff(attempt - 1)
            logger.debug("%s %s failed (attempt %d): %s; retrying in %.2fs", method, _path(url), attempt, error, delay)
            await anyio.sleep(delay)


#: Methods whose repeat has the effect of one request: retried on 5xx and read failures too.
_IDEMPOTENT = frozenset({"GET", "DELETE"})


def _same_origin(url: str, base_url: str) -> bool:
    try:
        a, b = httpx.URL(url), httpx.URL(base_url)
    except (httpx.InvalidURL, UnicodeError):  # UnicodeError: a lone surrogate, or an unencodable host
        return False
    return not a.userinfo and (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _twilio_taskrouter_path(url: str) -> str | None:
    """The path and query of an https URL on a Twilio TaskRouter host (default port, no userinfo), else None."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError):
        return None
    if parsed.scheme != "https" or parsed.port is not None or parsed.userinfo:
        return None
    if not _TWILIO_TASKROUTER_HOST.fullmatch(parsed.host):
        return None
    return parsed.raw_path.decode("ascii")


def _origin_text(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError):
        return "an invalid URL"
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")


def _request(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> httpx.Request:
    """The request as an httpx object, for the error that reports it."""
    return httpx.Request(method, url, headers=headers, content=body)


def _response(status: int, headers: Mapping[str, str], content: bytes, request: httpx.Request) -> httpx.Response:
    """A readable httpx response for an error; the body is already decoded, so its encoding headers go."""
    kept = [(k, v) for k, v in headers.items() if k.lower() not in ("content-encoding", "content-length")]
    response = httpx.Response(status, headers=kept, content=content, request=request)
    response.read()
    return response


def _path(url: str) -> str:
    """The path of one of our URLs, for logs and messages (never the query, never credentials)."""
    return httpx.URL(url).path


def _redact(content: bytes, secrets: tuple[bytes, ...]) -> bytes:
    """An error body without our credentials, in case the server (or a proxy) echoes the request."""
    for secret in secrets:
        content = content.replace(secret, b"[redacted]")
    return content


def _describe(exc: httpx.TransportError) -> str:
    kind = type(exc).__name__
    detail = str(exc)
    return f"{kind}: {detail}" if detail else kind
