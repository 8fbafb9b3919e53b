"""AsyncTaskRouter: configuration, credentials and the one request pipeline every operation uses."""

from __future__ import annotations

import base64
import ipaddress
import logging
import math
import os
import platform
import re
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
import attrs
import httpx

from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    ValidationError,
    make_status_error,
    readable_response,
)
from ._retry import RATE_LIMITED, SERVER_ERRORS, backoff, retry_after, was_sent
from ._sids import check_credential_sid
from ._transports import PooledTransport
from ._version import __version__

if TYPE_CHECKING:
    from ._reservations import TaskReservations, WorkerReservations

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AsyncTaskRouter",
]

logger = logging.getLogger("taskrouter_async")

DEFAULT_BASE_URL = "https://taskrouter.twilio.com"
#: Connect within 5 s; every other phase (write, read, waiting for a pooled connection) 30 s.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30.0)
DEFAULT_MAX_RETRIES = 2
#: A Retry-After longer than this is not waited for: the call raises RateLimitError at once.
DEFAULT_MAX_RETRY_AFTER = 60.0
#: A response body larger than this is refused rather than held in memory.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024

_HOST_LABEL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: TaskRouter's hosts: ``taskrouter.twilio.com`` and ``taskrouter[.{edge}].{region}.twilio.com``.
_TWILIO_TASKROUTER_HOST = re.compile(rf"taskrouter(?:\.{_HOST_LABEL.pattern}){{0,2}}\.twilio\.com")
_USER_AGENT = f"taskrouter-async/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"


@attrs.frozen(kw_only=True)
class _Settings:
    """What a client sends with every request; shared (and evolved) by ``with_options`` views."""

    base_url: str
    #: Complete, pre-normalised header sets (Host included), copied by httpx.Request without re-parsing.
    get_headers: httpx.Headers = attrs.field(repr=False)
    post_headers: httpx.Headers = attrs.field(repr=False)
    #: The password and the Basic token, as bytes: scrubbed from error bodies a server echoes back.
    secrets: tuple[bytes, ...] = attrs.field(repr=False)
    timeout: httpx.Timeout
    max_retries: int
    max_retry_after: float
    #: Built once, not per request: the timeout as httpx's transports read it.
    request_extensions: dict[str, object] = attrs.field(
        init=False, repr=False, default=attrs.Factory(lambda self: {"timeout": self.timeout.as_dict()}, takes_self=True)
    )

    @property
    def attempt_deadline(self) -> float | None:
        """The most one attempt may take: the sum of its phase timeouts; ``None`` if any phase is unbounded."""
        phases = (self.timeout.pool, self.timeout.connect, self.timeout.write, self.timeout.read)
        return None if None in phases else sum(p for p in phases if p is not None)


class AsyncTaskRouter:
    """An async client for TaskRouter reservations. Use it as an async context manager, or call ``aclose()``.

    Credentials come from the arguments, else from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN or
    TWILIO_API_KEY / TWILIO_API_SECRET. One client is meant to be shared by a whole process.
    """

    task_reservations: TaskReservations
    worker_reservations: WorkerReservations

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        region: str | None = None,
        edge: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        username, password = _credentials(account_sid, auth_token, api_key, api_secret)
        url = _base_url(base_url, region, edge, allow_insecure_http=allow_insecure_http)
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        get_headers = {
            "Host": httpx.URL(url).netloc.decode("ascii"),
            "Authorization": f"Basic {token}",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        settings = _Settings(
            base_url=url,
            get_headers=httpx.Headers(get_headers),
            post_headers=httpx.Headers({**get_headers, "Content-Type": "application/x-www-form-urlencoded"}),
            secrets=(token.encode(), password.encode()),
            timeout=_timeout(timeout),
            max_retries=_max_retries(max_retries),
            max_retry_after=_max_retry_after(max_retry_after),
        )
        owns_http = http_client is None
        if http_client is None:
            if transport is None:
                transport = PooledTransport(limits)
            http_client = httpx.AsyncClient(timeout=settings.timeout, limits=limits, transport=transport)
        elif transport is not None:
            raise ValidationError("pass http_client or transport, not both: a client brings its own transport")
        self._setup(settings, http_client, transport, owns_http=owns_http)

    def _setup(
        self,
        settings: _Settings,
        http_client: httpx.AsyncClient,
        transport: httpx.AsyncBaseTransport | None,
        *,
        owns_http: bool,
    ) -> None:
        from ._reservations import TASK, WORKER, Reservations

        self._settings = settings
        self._http = http_client
        #: Set when the library built the client: requests then go straight to this transport.
        self._transport = transport
        self._owns_http = owns_http
        self.task_reservations = Reservations(self, TASK)
        self.worker_reservations = Reservations(self, WORKER)

    @property
    def base_url(self) -> str:
        """The scheme, host and optional path prefix every request goes to."""
        return self._settings.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._settings.timeout

    @property
    def max_retries(self) -> int:
        return self._settings.max_retries

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_retry_after: float | None = None,
    ) -> AsyncTaskRouter:
        """A view of this client with other timeout or retry settings; it shares the connection pool."""
        settings = self._settings
        view = object.__new__(AsyncTaskRouter)
        view._setup(
            attrs.evolve(
                settings,
                timeout=settings.timeout if timeout is None else _timeout(timeout),
                max_retries=settings.max_retries if max_retries is None else _max_retries(max_retries),
                max_retry_after=settings.max_retry_after
                if max_retry_after is None
                else _max_retry_after(max_retry_after),
            ),
            self._http,
            self._transport,
            owns_http=False,
        )
        return view

    async def aclose(self) -> None:
        """Close the connection pool, unless it was passed in as ``http_client``."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncTaskRouter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncTaskRouter(base_url={self.base_url!r}, max_retries={self.max_retries})"

    def _url(self, path: str) -> str:
        """The absolute URL of an API path such as ``/v1/Workspaces/WS…``."""
        return self._settings.base_url + path

    def _page_url(self, url: str) -> str:
        """Where to request a page URL from the API (``next_page_url``) or the caller (``page_url``).

        A URL on ``base_url``'s origin is used as it is. One on a Twilio TaskRouter host
        (``https://taskrouter[.{edge}][.{region}].twilio.com``) is requested on ``base_url``
        instead, path and query kept, as the official SDK does with every URL
        (``Client.get_hostname``): page 2 of a regional list, or of a list read through a proxy,
        stays on the configured host. Any other URL raises ValidationError: credentials never
        leave ``base_url``.
        """
        base_url = self._settings.base_url
        if _same_origin(url, base_url):
            return url
        twilio_path = _twilio_taskrouter_path(url)
        if twilio_path is None:
            raise ValidationError(f"refusing to send credentials to {_origin_text(url)}: not {self.base_url}")
        return base_url + twilio_path

    async def _send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        etag: str | None = None,
        on_rate_limited: Callable[[], object] | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """Send one API request with retries; return the (closed) 2xx response and its body.

        GET is retried on 429, 5xx and transport failures. POST is retried on 429 and on
        failures before the request was sent; on 5xx and read failures only when ``etag`` is
        given, because If-Match turns a repeat that would apply twice into a 412.
        ``on_rate_limited`` is called on every 429, before any retry (bulk updates slow down).
        """
        settings = self._settings
        headers = settings.post_headers if body is not None else settings.get_headers
        if etag is not None:
            headers = headers.copy()
            headers["If-Match"] = etag
        repeat_is_safe = method == "GET" or etag is not None
        attempt = 0
        while True:
            attempt += 1
            request = httpx.Request(method, url, headers=headers, content=body, extensions=settings.request_extensions)
            wait: float | None = None
            try:
                response, content = await self._attempt(request)
            except httpx.TransportError as exc:
                error_type = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
                error: APIError = error_type(
                    f"{_describe(exc)} on {method} {request.url.path}", request=request, attempts=attempt
                )
                retryable = repeat_is_safe or not was_sent(exc)
            except _UnreadableBody as exc:
                raise APIResponseValidationError(
                    f"unreadable response body on {method} {request.url.path}: {exc}",
                    response=readable_response(exc.response, b""),
                    attempts=attempt,
                ) from None
            else:
                if response.is_success:
                    if logger.isEnabledFor(logging.DEBUG):
                        status_code = response.status_code
                        logger.debug("%s %s -> %d (attempt %d)", method, request.url.path, status_code, attempt)
                    return response, content
                error_response = readable_response(response, _redact(content, settings.secrets))
                status = response.status_code
                wait = retry_after(response.headers) if status in (RATE_LIMITED, 503) else None
                error = make_status_error(error_response, attempts=attempt, retry_after=wait)
                if status == RATE_LIMITED and on_rate_limited is not None:
                    on_rate_limited()
                retryable = status == RATE_LIMITED or (status in SERVER_ERRORS and repeat_is_safe)
            if not retryable or attempt > settings.max_retries:
                logger.debug("%s %s failed, not retried (attempt %d): %s", method, request.url.path, attempt, error)
                raise error
            if wait is not None and wait > settings.max_retry_after:
                logger.debug("%s %s: Retry-After %.1fs is over the cap, not waiting", method, request.url.path, wait)
                raise error
            delay = wait if wait is not None else backoff(attempt - 1)
            logger.debug(
                "%s %s failed (attempt %d): %s; retrying in %.2fs", method, request.url.path, attempt, error, delay
            )
            await anyio.sleep(delay)

    async def _transmit(self, request: httpx.Request) -> httpx.Response:
        """One HTTP exchange, response streamed. A client passed in as ``http_client`` is used as is
        (its hooks, auth and mounts apply); the library's own client hands the request straight to
        its transport, skipping AsyncClient.send's cookie jar, auth flow and redirect handling,
        which TaskRouter never needs and which cost more CPU than the rest of an update."""
        transport = self._transport
        if transport is None:
            return await self._http.send(request, stream=True, follow_redirects=False)
        if self._http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        response = await transport.handle_async_request(request)
        response.request = request
        return response

    async def _attempt(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """One try: send, read the capped body and release the connection, within the attempt deadline.

        httpx times each phase (and each read) on its own, so a server that drips a byte at a
        time could hold a call forever; the deadline bounds the attempt as a whole.
        """
        deadline = self._settings.attempt_deadline
        with anyio.move_on_after(deadline):
            try:
                response = await self._transmit(request)
            except httpx.InvalidURL as exc:  # httpx parses a 3xx's Location even when not following it
                raise httpx.RemoteProtocolError(f"unusable redirect Location: {exc}", request=request) from None
            try:
                return response, await _read_capped(response)
            except httpx.DecodingError as exc:
                raise _UnreadableBody(str(exc), response) from None
            finally:
                await response.aclose()
        raise httpx.ReadTimeout(f"no complete response within the {deadline}s attempt deadline", request=request)


class _UnreadableBody(Exception):
    """A body that cannot be decoded or is over MAX_RESPONSE_BYTES; reported as APIResponseValidationError."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response


async def _read_capped(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise _UnreadableBody(f"Content-Length {declared} is over the {MAX_RESPONSE_BYTES}-byte limit", response)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _UnreadableBody(f"the body is over the {MAX_RESPONSE_BYTES}-byte limit", response)
        chunks.append(chunk)
    return b"".join(chunks)


def _redact(content: bytes, secrets: tuple[bytes, ...]) -> bytes:
    """An error body without our credentials, in case the server (or a proxy) echoes the request."""
    for secret in secrets:
        content = content.replace(secret, b"[redacted]")
    return content


def _describe(exc: httpx.TransportError) -> str:
    kind = type(exc).__name__
    detail = str(exc)
    return f"{kind}: {detail}" if detail else kind


# --- configuration checks ------------------------------------------------------------------


def _credentials(
    account_sid: str | None, auth_token: str | None, api_key: str | None, api_secret: str | None
) -> tuple[str, str]:
    """The Basic-auth user and password: explicit arguments if any are given, else the environment.

    A SID that fails its check is never echoed (it may be a secret in the wrong place); the error
    names the argument or environment variable it came from.
    """
    account_sid_name, api_key_name = "account_sid", "api_key"
    if not any((account_sid, auth_token, api_key, api_secret)):
        env = os.environ
        account_sid, auth_token = env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN")
        api_key, api_secret = env.get("TWILIO_API_KEY"), env.get("TWILIO_API_SECRET")
        account_sid_name, api_key_name = (
            "TWILIO_ACCOUNT_SID (from the environment)",
            "TWILIO_API_KEY (from the environment)",
        )
    if account_sid is not None:
        check_credential_sid(account_sid, "AC", account_sid_name)
    if api_key or api_secret:
        if not (api_key and api_secret):
            raise ValidationError("api_key and api_secret go together: pass both, or neither")
        return check_credential_sid(api_key, "SK", api_key_name), api_secret
    if account_sid and auth_token:
        return account_sid, auth_token
    raise ValidationError(
        "no credentials: pass account_sid and auth_token (or api_key and api_secret), "
        "or set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    )


def _base_url(base_url: str | None, region: str | None, edge: str | None, *, allow_insecure_http: bool) -> str:
    if base_url is not None:
        if region or edge:
            raise ValidationError("pass base_url or region/edge, not both")
        return _checked_base_url(base_url, allow_insecure_http=allow_insecure_http)
    region = region or os.environ.get("TWILIO_REGION") or None
    edge = edge or os.environ.get("TWILIO_EDGE") or None
    if edge and not region:
        region = "us1"
    labels = [label for label in (edge, region) if label]
    for label in labels:
        if not _HOST_LABEL.fullmatch(label):
            raise ValidationError(f"region and edge must be lowercase host labels such as 'ie1', got {label!r}")
    return "https://" + ".".join(["taskrouter", *labels, "twilio.com"])


def _checked_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValidationError(f"base_url is not a URL: {exc}") from None
    if url.query or url.fragment or url.userinfo:  # before any message that shows base_url
        raise ValidationError("base_url must not carry a query, fragment or credentials")
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError(f"base_url must be an absolute http(s) URL, got {_shown_url(base_url)}")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ValidationError(
            f"base_url {_shown_url(base_url)} is plain http to a non-loopback host; use https, "
            "or pass allow_insecure_http=True if you really mean it"
        )
    return str(url).rstrip("/")


def _shown_url(url: str) -> str:
    """A URL for an error message, unless it has an ``@`` and so may carry a user and password."""
    return "(not shown: it has an '@', so it may carry credentials)" if "@" in url else repr(url)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def _timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """Every phase a positive, finite number of seconds, or ``None`` (no limit) inside an httpx.Timeout."""
    if isinstance(timeout, httpx.Timeout):
        for phase, seconds in timeout.as_dict().items():
            if seconds is not None and not _is_positive_seconds(seconds):
                raise ValidationError(
                    f"the {phase} timeout must be a positive number of seconds, or None for no limit, got {seconds!r}"
                )
        return timeout
    if not _is_positive_seconds(timeout):
        raise ValidationError(
            "timeout must be a positive number of seconds such as 10.0, or an httpx.Timeout "
            f"(httpx.Timeout(None) for no limit), got {timeout!r}"
        )
    return httpx.Timeout(float(timeout))


def _is_positive_seconds(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _max_retry_after(max_retry_after: float) -> float:
    valid = isinstance(max_retry_after, (int, float)) and not isinstance(max_retry_after, bool)
    if not valid or not math.isfinite(max_retry_after) or max_retry_after < 0:
        raise ValidationError(f"max_retry_after must be a number of seconds, 0 or more, got {max_retry_after!r}")
    return float(max_retry_after)


def _max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValidationError(f"max_retries must be a non-negative integer, got {max_retries!r}")
    return max_retries
