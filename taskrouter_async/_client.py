"""AsyncTaskRouter: configuration and credentials, checked once; requests go through ``_pipeline``."""

from __future__ import annotations

import base64
import ipaddress
import math
import os
import platform
import re
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType

import httpx

from . import resources
from ._engines import ENGINES, AutoEngine, EngineChoice, open_engine
from ._engines.proxy import environment_proxy
from ._errors import ValidationError
from ._options import checked_max_retries, checked_max_retry_after, checked_timeout
from ._pipeline import Pipeline, Settings
from ._ratelimit import RateLimit, RateLimiter, RateLimitStats
from ._sids import check_credential_sid
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "AsyncTaskRouter",
]

DEFAULT_BASE_URL = "https://taskrouter.twilio.com"
#: Points every client that is not given ``base_url``/``region``/``edge`` elsewhere: the fake, a proxy.
BASE_URL_ENV = "TWILIO_TASKROUTER_BASE_URL"
#: Connect within 5 s; every other phase (write, read, waiting for a pooled connection) 30 s.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30.0)
DEFAULT_MAX_RETRIES = 2
#: A Retry-After longer than this is not waited for: the call raises RateLimitError at once.
DEFAULT_MAX_RETRY_AFTER = 60.0
#: The engine used when none is named (tests switch it to run the whole suite on every engine).
DEFAULT_ENGINE: EngineChoice = "auto"

_HOST_LABEL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class AsyncTaskRouter:
    """An async client for TaskRouter v1. Use it as an async context manager, or call ``aclose()``.

    Credentials come from the arguments, else from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN or
    TWILIO_API_KEY / TWILIO_API_SECRET. One client is meant to be shared by a whole process.
    The default ``engine="auto"`` picks, when the client is first used in an event loop, the fastest
    engine installed for it: ``"pyreqwest"``, then ``"aiohttp"`` on asyncio (their extras), ``"httpx"``
    on trio or when neither is installed. ``http_client=``/``transport=`` always mean ``"httpx"``.

    Args:
        account_sid: The account's SID (``AC…``), for HTTP Basic auth with ``auth_token``;
            defaults to ``TWILIO_ACCOUNT_SID``. With an API key, the account it belongs to.
        auth_token: The account's auth token; defaults to ``TWILIO_AUTH_TOKEN``. Never shown in
            a repr, a log line or an exception.
        api_key: An API key's SID (``SK…``), used instead of the auth token; defaults to
            ``TWILIO_API_KEY``.
        api_secret: That API key's secret; defaults to ``TWILIO_API_SECRET``.
        region: Twilio's region (``ie1``, ``au1``…): the host becomes
            ``taskrouter[.{edge}].{region}.twilio.com``; defaults to ``TWILIO_REGION``.
        edge: Twilio's edge location (``dublin``, ``sydney``…), with ``region``; defaults to
            ``TWILIO_EDGE``.
        base_url: Any other host: a proxy, a test server, the fake. Plain ``http`` only to a
            loopback host unless ``allow_insecure_http``; defaults to ``TWILIO_TASKROUTER_BASE_URL``
            when neither it nor ``region``/``edge`` is given.
        timeout: Seconds, or an ``httpx.Timeout`` per phase; every attempt also has a deadline
            that covers it whole (see the Timeouts page).
        max_retries: Retries after the first attempt, for failures that are safe to repeat
            (429s and failures before sending; for GETs and If-Match updates also 5xx and lost
            answers); 0 turns retries off.
        max_retry_after: The longest ``Retry-After`` the client waits for, in seconds; a longer
            one raises ``RateLimitError`` at once.
        limits: An ``httpx.Limits``: at most ``max_connections`` connections, on every engine.
        engine: The HTTP engine that carries the bytes: ``"auto"`` (the default: the fastest one
            installed), ``"httpx"``, ``"aiohttp"`` or ``"pyreqwest"``; every engine runs the same
            pipeline. See the HTTP engines page.
        trust_env: Use the proxy that ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` name for
            the base URL, unless ``NO_PROXY`` excludes it; ``False`` ignores the environment.
        http_client: Your own ``httpx.AsyncClient`` to send through (its hooks, auth, mounts and
            proxies apply); the client does not close it. httpx engine.
        transport: An httpx transport to send through instead (a mock, ``httpx.ASGITransport``);
            httpx engine, not with ``http_client``.
        allow_insecure_http: Allow a plain ``http`` ``base_url`` on a host that is not loopback.
        rate_limit: A ``RateLimit`` request budget every attempt waits for, in this process or
            shared through Redis (see the Rate limiting page).

    Raises:
        ValidationError: No credentials, a malformed SID, a plain-http ``base_url`` to a remote
            host, or another bad argument; raised before any network I/O.
    """

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
        engine: EngineChoice | None = None,
        trust_env: bool = True,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
        rate_limit: RateLimit | None = None,
    ) -> None:
        username, password = _credentials(account_sid, auth_token, api_key, api_secret)
        url = _base_url(base_url, region, edge, allow_insecure_http=allow_insecure_http)
        engine_name = _engine_name(engine, http_client, transport)
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        get_headers = {
            "Host": httpx.URL(url).netloc.decode("ascii"),
            "Authorization": f"Basic {token}",
            "Accept": "application/json",
            "User-Agent": _user_agent(engine_name),
        }
        settings = Settings(
            base_url=url,
            get_headers=get_headers,
            post_headers={**get_headers, "Content-Type": "application/x-www-form-urlencoded"},
            json_headers={**get_headers, "Content-Type": "application/json"},
            secrets=(token.encode(), password.encode()),
            timeout=checked_timeout(timeout),
            max_retries=checked_max_retries(max_retries),
            max_retry_after=checked_max_retry_after(max_retry_after),
            rate_limiter=_rate_limiter(rate_limit, username),
        )
        builds_engine = http_client is None and transport is None
        engine_ = open_engine(
            engine_name,
            origin=_origin(url),
            limits=_checked_limits(limits),
            timeout=settings.timeout,
            proxy=environment_proxy(url) if trust_env and builds_engine else None,
            trust_env=trust_env,
            http_client=http_client,
            transport=transport,
            on_resolved=lambda chosen: _name_engine(get_headers, settings.post_headers, chosen),
        )
        self._setup(Pipeline(settings, engine_), owns_engine=http_client is None)
        self._owns_rate_limiter = True

    def _setup(self, pipeline: Pipeline, *, owns_engine: bool) -> None:
        self._pipeline = pipeline
        self._owns_engine = owns_engine
        self._owns_rate_limiter = False

    @cached_property
    def workspaces(self) -> resources.Workspaces:
        """The workspaces: fetch, list, create, update, delete, and their statistics."""
        return resources.Workspaces(self._pipeline)

    @cached_property
    def activities(self) -> resources.Activities:
        """The activities: what workers are doing, and whether they are available."""
        return resources.Activities(self._pipeline)

    @cached_property
    def events(self) -> resources.Events:
        """The events: the workspace's event log."""
        return resources.Events(self._pipeline)

    @cached_property
    def tasks(self) -> resources.Tasks:
        """The tasks: create, fetch, list, update (``etag=``), delete, ``update_many``."""
        return resources.Tasks(self._pipeline)

    @cached_property
    def task_channels(self) -> resources.TaskChannels:
        """The task channels: voice, sms, chat and custom channels."""
        return resources.TaskChannels(self._pipeline)

    @cached_property
    def task_queues(self) -> resources.TaskQueues:
        """The task queues and their statistics."""
        return resources.TaskQueues(self._pipeline)

    @cached_property
    def workers(self) -> resources.Workers:
        """The workers (``etag=``, ``update_many``) and their statistics."""
        return resources.Workers(self._pipeline)

    @cached_property
    def worker_channels(self) -> resources.WorkerChannels:
        """The a worker's capacity and availability per task channel."""
        return resources.WorkerChannels(self._pipeline)

    @cached_property
    def workflows(self) -> resources.Workflows:
        """The workflows (routing configuration) and their statistics."""
        return resources.Workflows(self._pipeline)

    @cached_property
    def task_reservations(self) -> resources.TaskReservations:
        """The reservations of a task (``task_sid``)."""
        return resources.TaskReservations(self._pipeline)

    @cached_property
    def worker_reservations(self) -> resources.WorkerReservations:
        """The reservations of a worker (``worker_sid``)."""
        return resources.WorkerReservations(self._pipeline)

    @property
    def base_url(self) -> str:
        """The scheme, host and optional path prefix every request goes to."""
        return self._pipeline.settings.base_url

    @property
    def engine(self) -> str:
        """The HTTP engine that carries this client's requests: ``"httpx"``, ``"aiohttp"`` or ``"pyreqwest"``;
        ``"auto"`` until an ``engine="auto"`` client is first used in an event loop."""
        return self._pipeline.engine.name

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has run (on this client, or on the client a view was made from)."""
        return self._pipeline.engine.closed

    @property
    def timeout(self) -> httpx.Timeout:
        return self._pipeline.settings.timeout

    @property
    def max_retries(self) -> int:
        return self._pipeline.settings.max_retries

    @property
    def rate_limit_stats(self) -> RateLimitStats | None:
        """A snapshot of the ``rate_limit=`` budget's counters (time waited, fallbacks); ``None`` without one."""
        limiter = self._pipeline.settings.rate_limiter
        return None if limiter is None else limiter.stats

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        max_retry_after: float | None = None,
    ) -> AsyncTaskRouter:
        """A view of this client with other timeout or retry settings; it shares the connection pool."""
        view = object.__new__(AsyncTaskRouter)
        view._setup(
            self._pipeline.with_options(timeout=timeout, max_retries=max_retries, max_retry_after=max_retry_after),
            owns_engine=False,
        )
        return view

    async def aclose(self) -> None:
        """Close the connections, unless they belong to an ``http_client`` passed in, and the rate limit's storage."""
        limiter = self._pipeline.settings.rate_limiter
        if self._owns_rate_limiter and limiter is not None:
            await limiter.aclose()
        if self._owns_engine:
            await self._pipeline.engine.aclose()

    async def __aenter__(self) -> AsyncTaskRouter:
        engine = self._pipeline.engine
        if isinstance(engine, AutoEngine):
            engine.resolve()  # the choice depends on the event loop: this is the first moment inside one
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncTaskRouter(base_url={self.base_url!r}, engine={self.engine!r}, max_retries={self.max_retries})"


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
        account_sid_name = "TWILIO_ACCOUNT_SID (from the environment)"
        api_key_name = "TWILIO_API_KEY (from the environment)"
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
    """``base_url``, else ``region``/``edge``, else TWILIO_TASKROUTER_BASE_URL, else TWILIO_REGION/TWILIO_EDGE."""
    if base_url is not None:
        if region or edge:
            raise ValidationError("pass base_url or region/edge, not both")
        return _checked_base_url(base_url, allow_insecure_http=allow_insecure_http)
    from_env = os.environ.get(BASE_URL_ENV) or None
    if from_env is not None and not (region or edge):
        return _checked_base_url(from_env, allow_insecure_http=allow_insecure_http)
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


def _engine_name(
    engine: EngineChoice | None, http_client: httpx.AsyncClient | None, transport: httpx.AsyncBaseTransport | None
) -> EngineChoice:
    if http_client is not None and transport is not None:
        raise ValidationError("pass http_client or transport, not both: a client brings its own transport")
    if engine is None:
        return DEFAULT_ENGINE if http_client is None and transport is None else "httpx"
    if engine != "auto" and engine not in ENGINES:
        choices = ", ".join(map(repr, ("auto", *ENGINES)))
        raise ValidationError(f"engine must be one of {choices}, got {engine!r}")
    if engine == "auto" and (http_client is not None or transport is not None):
        return "httpx"
    if engine not in ("httpx", "auto") and (http_client is not None or transport is not None):
        raise ValidationError(f"engine={engine!r} brings its own connections: it takes no http_client or transport")
    return engine


def _user_agent(engine: str) -> str:
    return f"taskrouter-async/{__version__} ({engine}) python/{platform.python_version()}"


def _name_engine(get_headers: dict[str, str], post_headers: Mapping[str, str], engine: str) -> str:
    """Once ``engine="auto"`` has chosen: the User-Agent names the engine on this client and all its views."""
    user_agent = _user_agent(engine)
    get_headers["User-Agent"] = user_agent
    if isinstance(post_headers, dict):
        post_headers["User-Agent"] = user_agent
    return user_agent


def _origin(base_url: str) -> str:
    """``scheme://host[:port]`` of the base URL, as the engines match request URLs against it."""
    return str(httpx.URL(base_url).copy_with(raw_path=b"")).rstrip("/")


def _checked_limits(limits: httpx.Limits) -> httpx.Limits:
    """One meaning on every engine: ``max_connections`` is a positive whole number, or ``None`` for no limit.

    (aiohttp reads 0 as "no limit", httpcore as "no connection ever", so 0 is refused rather than guessed.)
    """
    if not isinstance(limits, httpx.Limits):
        raise ValidationError(f"limits must be an httpx.Limits, got {type(limits).__name__}")
    total, keepalive, expiry = limits.max_connections, limits.max_keepalive_connections, limits.keepalive_expiry
    if total is not None and not (_is_whole(total) and total >= 1):
        raise ValidationError(f"max_connections must be a positive whole number, or None for no limit, got {total!r}")
    if keepalive is not None and not (_is_whole(keepalive) and keepalive >= 0):
        raise ValidationError(
            f"max_keepalive_connections must be a whole number, 0 or more, or None for no limit, got {keepalive!r}"
        )
    valid_expiry = isinstance(expiry, (int, float)) and not isinstance(expiry, bool) and math.isfinite(expiry)
    if expiry is not None and not (valid_expiry and expiry >= 0):
        raise ValidationError(f"keepalive_expiry must be a number of seconds, 0 or more, or None, got {expiry!r}")
    return limits


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rate_limiter(rate_limit: RateLimit | None, account: str) -> RateLimiter | None:
    if rate_limit is None:
        return None
    if not isinstance(rate_limit, RateLimit):
        raise ValidationError(f"rate_limit must be a RateLimit or None, got {type(rate_limit).__name__}")
    return RateLimiter(rate_limit, account)
