"""Client-side rate limiting (``rate_limit=``): a request budget per workspace, in the process or shared via Redis.

Every attempt of every call takes a token before it is sent (retries included) and waits for
one when the budget is spent, so processes that share a budget stop finding the limit by
hitting 429s. ``RateLimit`` is the configuration (data); ``RateLimiter`` is the live budget a
client holds (behaviour). A token is two steps, each atomic in its storage:

1. **The pacer** hands out turns one ``per / rate`` seconds apart, up to ``burst`` at once after
   a quiet spell: GCRA ("virtual scheduling", a token bucket kept as one timestamp). Each turn is
   reserved, so a waiter learns at once how long to sleep (no polling), and waiters in every
   process are served in the order they asked: the fairness across processes comes from here.
2. **The window** then takes a slot in a moving window: at most ``rate`` requests start in ANY
   ``per``-second window, exactly. This is the budget's guarantee; the pacer keeps traffic even
   within it. In Redis it is ``limits``' moving window; in-process it is ``MovingWindow`` here, on
   the monotonic clock (``limits``' memory storage reads ``time.time()``, so a wall clock stepped
   back froze it: see ``MovingWindow``).

Why both, and why ``limits`` for the shared window: ``limits`` is well kept, typed, and its
moving window over Redis is an atomic Lua script. Its fixed
window lets twice the budget through around a window edge, and its sliding-window counter is an
approximation; the moving window is exact. But ``limits`` only answers "hit or not", its windows
are whole seconds, and its moving window replays bursts: the ``rate`` requests let through at
once by an empty window free up together a ``per`` later, and are taken together again. Measured
with 4 processes sharing 50 requests/s through the moving window alone, the server saw 57 to 82
requests in its busiest second, because two bursts' worth of requests arrive within one second
once their latencies differ. Sub-second pacing cannot be built from ``limits`` (its Redis script
needs whole-second expiries), so the pacer is written here: a few lines of arithmetic
(``reserve_turn``) mirrored by a Lua script for Redis (``_ratelimit_redis``), tested alike.

Clocks: everything in-process runs on ``time.monotonic()``. The shared budget's pacer reads the
Redis server's clock (``TIME``); its window (``limits``) stamps entries with each process's wall
clock, so processes sharing a budget need synchronised wall clocks (see ``_ratelimit_redis``).

Alternatives weighed: ``aiolimiter`` is in-process only; ``pyrate-limiter`` has sub-second rates
and waiting with a timeout, but would be a second rate-limiting library beside the one the project
chose; a pure token bucket without the window lets ``rate + burst - 1`` requests into a window.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import anyio
import attrs

from ._errors import RateLimitTimeoutError, ValidationError
from ._logging import logger

if TYPE_CHECKING:
    from ._ratelimit_redis import RedisBudget

__all__ = ["RateLimit", "RateLimitStats", "RateLimiter"]

#: Storage keys start with this (``limits`` adds its own ``LIMITS:`` prefix to the window's).
NAMESPACE = "taskrouter_async"
#: While the shared storage is unreachable, it is tried again at most this often (seconds).
PROBE_INTERVAL = 1.0
#: Sleep this much past the moment a window slot frees up, so that the storage sees it free.
_MARGIN = 0.001
#: A turn further away than this is never reserved (the pacer's "no limit").
UNBOUNDED = 1e12
_WORKSPACE = re.compile(r"/v1/Workspaces/(WS[0-9a-fA-F]{32})(?:[/?]|$)")
_STORAGE_SCHEMES = ("redis", "rediss", "redis+unix")

#: A reserved turn, to hand back on cancellation: the pacer's state right after the reservation.
Ticket = float | str


@attrs.frozen
class Turn:
    """A reserved turn. When it is due at once, the budget also tried the window in the same call
    (one storage round trip fewer when the budget is not binding): ``slot`` says whether it got one."""

    delay: float
    ticket: Ticket
    slot: bool = False


#: Query parameters of a Redis URL that redis-py parses as numbers or flags: never secret, shown as they are.
#: Every other value (``password=``, ``username=``, ``ssl_password=``, ...) may be a credential and is hidden.
_PLAIN_QUERY_NAMES = frozenset(
    {
        "db",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "retry_on_timeout",
        "max_connections",
        "health_check_interval",
        "ssl_check_hostname",
        "timeout",
    }
)


def url_secrets(url: str) -> list[str]:
    """Every credential a Redis URL can carry, raw and percent-decoded: the userinfo's password (or a lone
    userinfo, which some services use as a token) and the value of every query parameter that may be one."""
    parts = urlsplit(url)
    found: list[str] = []
    if parts.password:
        found.append(parts.password)
    elif parts.username and "@" in parts.netloc:
        found.append(parts.username)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if value and name.lower() not in _PLAIN_QUERY_NAMES:
            found.append(value)
            found.append(quote(value, safe=""))
    found += [unquote(secret) for secret in found]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def redact_url(url: str | None) -> str | None:
    """A storage URL fit for logs and reprs: every credential it carries replaced by ``***``."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.password  # noqa: B018 - parsing the userinfo is the check
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        shown = f"{parts.username or ''}:***" if parts.password is not None else "***"
        netloc = f"{shown}@{host}" if userinfo else netloc
    query = "&".join(_redact_field(field) for field in parts.query.split("&")) if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _redact_field(field: str) -> str:
    name, equals, value = field.partition("=")
    if not value or unquote(name).lower() in _PLAIN_QUERY_NAMES:
        return field
    return f"{name}{equals}***"


def _redacted_repr(url: str | None) -> str:
    return repr(redact_url(url))


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}")
    return value


def _rate(value: int) -> int:
    return _count("rate", value)


def _burst(value: int) -> int:
    return _count("burst", value)


def _fallback_rate(value: int | None) -> int | None:
    return None if value is None else _count("fallback_rate", value)


def _per(value: float) -> int:
    """Whole seconds: ``limits``' windows have one-second granularity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1 or value != int(value):
        raise ValidationError(f"per must be a whole number of seconds (1 or more), got {value!r}")
    return int(value)


def _max_wait(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValidationError(f"max_wait must be None or a number of seconds >= 0, got {value!r}")
    return float(value)


def _key(value: str | None) -> str | None:
    if value is not None and (not isinstance(value, str) or not value or not value.isprintable()):
        raise ValidationError(f"key must be None or a non-empty printable string, got {value!r}")
    return value


def _storage_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"storage_url must be None or a redis:// URL, got {type(value).__name__}")
    shown = redact_url(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValidationError(f"storage_url is not a valid URL: {shown!r}") from None
    if parts.scheme not in _STORAGE_SCHEMES:
        raise ValidationError(f"storage_url must be a redis://, rediss:// or redis+unix:// URL, got {shown!r}")
    if parts.scheme == "redis+unix" and not parts.path:
        raise ValidationError(f"storage_url redis+unix:// needs a socket path, got {shown!r}")
    if parts.scheme != "redis+unix" and not parts.hostname:
        raise ValidationError(f"storage_url needs a host, got {shown!r}")
    return value


@attrs.frozen(kw_only=True)
class RateLimit:
    """A request budget: at most ``rate`` requests start in any ``per`` seconds, per workspace.

    Pass it as ``AsyncTaskRouter(rate_limit=...)``. Every attempt (retries too) takes a token, and
    waits for one when the budget is spent. Requests are spread evenly, one every ``per / rate``
    seconds, and up to ``burst`` of them may start at once after a quiet spell.

    - ``key``: the budget's name; by default each workspace SID has its own budget (Twilio's limits
      are per workspace). Give a fixed key to put several workspaces, or separate jobs, under one.
    - ``storage_url``: ``None`` keeps the budget in this client (and its ``with_options`` views).
      ``"redis://host:6379/0"`` (also ``rediss://`` and ``redis+unix://``) shares it with every
      process, on any machine, that uses the same URL, key, ``rate`` and ``per``; needs
      ``pip install 'taskrouter-async[redis]'``.
    - ``max_wait``: the longest one attempt may wait for a token, in seconds; past it the call
      raises ``RateLimitTimeoutError`` without sending. ``None`` waits as long as it takes; ``0``
      never waits.
    - ``fallback_rate``: with ``storage_url``, the per-process budget used while Redis is
      unreachable (default: ``rate``; with N processes, ``rate // N`` keeps the total in budget).
    """

    rate: int = attrs.field(converter=_rate)
    per: int = attrs.field(default=1, converter=_per)
    burst: int = attrs.field(default=1, converter=_burst)
    key: str | None = attrs.field(default=None, converter=_key)
    storage_url: str | None = attrs.field(default=None, converter=_storage_url, repr=_redacted_repr)
    max_wait: float | None = attrs.field(default=None, converter=_max_wait)
    fallback_rate: int | None = attrs.field(default=None, converter=_fallback_rate)

    def __attrs_post_init__(self) -> None:
        if self.burst > self.rate:
            raise ValidationError(f"burst ({self.burst}) cannot be more than rate ({self.rate})")
        if self.fallback_rate is not None and self.storage_url is None:
            raise ValidationError("fallback_rate applies only with storage_url: the in-process budget has no fallback")


@attrs.frozen(kw_only=True)
class RateLimitStats:
    """What a client's budget has done so far (``client.rate_limit_stats``, a snapshot)."""

    #: Tokens taken: attempts let through (a retried call counts once per attempt).
    acquired: int
    #: Attempts that had to wait for a token (including those that then gave up).
    waited: int
    #: Attempts waiting for a token right now.
    waiting: int
    #: Seconds spent waiting for tokens, summed over attempts (10 attempts waiting 1 s = 10 s).
    wait_seconds: float
    #: Wall-clock seconds during which at least one attempt was waiting: time the budget held the client back.
    throttled_seconds: float
    #: Attempts that gave up at ``max_wait`` (``RateLimitTimeoutError``).
    timed_out: int
    #: True while the shared storage is unreachable and the per-process ``fallback_rate`` budget is used.
    using_fallback: bool
    #: How many times the shared storage became unreachable.
    outages: int


def reserve_turn(tat: float, now: float, interval: float, burst: int, max_delay: float) -> tuple[float, float] | None:
    """GCRA with reservations: ``(seconds until this request's turn, the new TAT)``, or ``None``.

    ``tat`` is the theoretical arrival time after the last reservation (any past value means
    "idle"). A request's turn is ``burst - 1`` intervals before the TAT, but not before now; each
    reservation moves the TAT one interval on. ``None`` when the turn is more than ``max_delay``
    away: nothing is reserved then. ``_ratelimit_redis.RESERVE`` is the same in Lua.
    """
    tat = max(tat, now)
    delay = max(0.0, tat - (burst - 1) * interval - now)
    if delay > max_delay:
        return None
    return delay, tat + interval


class Budget(Protocol):
    """A budget's storage: the pacer and the window for every key, in memory or in Redis."""

    async def reserve(self, key: str, max_delay: float) -> Turn | None:
        """Reserve the next turn (and take a window slot if it is due at once); ``None`` if over ``max_delay`` away."""

    async def refund(self, key: str, ticket: Ticket) -> None:
        """Hand an unused turn back, if no later turn was reserved since."""

    async def take(self, key: str) -> float | None:
        """Take a window slot (``None``), or return the seconds until one may free up."""


class MovingWindow:
    """At most ``rate`` starts in any ``per`` seconds, per key, on the monotonic clock (in-process).

    Written here rather than taken from ``limits``' ``MemoryStorage``, which stamps entries with
    ``time.time()``: when the wall clock steps back (NTP, a VM resumed, a manual fix) its window
    looks full until the clock catches up again, so a step of an hour froze the client for an
    hour. A monotonic clock never steps back. The window is a deque of start times per key.
    """

    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._per = per
        self._clock = clock
        self._starts: dict[str, deque[float]] = {}

    def take(self, key: str) -> float | None:
        """Take a slot (``None``), or return the seconds until the oldest start leaves the window."""
        now = self._clock()
        starts = self._starts.get(key)
        if starts is None:
            starts = self._starts[key] = deque()
        while starts and starts[0] <= now - self._per:
            starts.popleft()
        if len(starts) < self._rate:
            starts.append(now)
            return None
        return starts[0] + self._per - now


class MemoryBudget:
    """The in-process budget: a dict of TATs and a moving window, both on the monotonic clock (no I/O)."""

    def __init__(self, rate: int, per: int, burst: int) -> None:
        self._interval = per / rate
        self._burst = burst
        self._tats: dict[str, float] = {}
        self._window = MovingWindow(rate, per)

    async def reserve(self, key: str, max_delay: float) -> Turn | None:
        turn = reserve_turn(self._tats.get(key, 0.0), time.monotonic(), self._interval, self._burst, max_delay)
        if turn is None:
            return None
        delay, self._tats[key] = turn
        return Turn(delay, turn[1], slot=delay == 0 and self._window.take(key) is None)

    async def refund(self, key: str, ticket: Ticket) -> None:
        if self._tats.get(key) == ticket:
            self._tats[key] -= self._interval

    async def take(self, key: str) -> float | None:
        return self._window.take(key)


class StorageUnavailable(Exception):
    """The shared storage failed or did not answer in time; the message says how (never with a password)."""


class RateLimiter:
    """The live budget behind ``rate_limit=``: ``await acquire(key)`` before every attempt.

    Attempts for one key queue in FIFO order in this process; only the first reserves a turn from
    the pacer, sleeps until it, then takes a window slot. So each process holds at most one
    reserved turn per key, and processes that all want more than their share take turns.

    If the shared storage fails or does not answer within ``STORAGE_TIMEOUT``, the attempt goes on
    at once with a per-process budget (``fallback_rate``); a warning is logged once; the shared
    storage is tried again every ``PROBE_INTERVAL`` seconds, and an info line says when it is back.
    """

    def __init__(self, config: RateLimit) -> None:
        self.config = config
        self._shared: RedisBudget | None = None
        if config.storage_url is not None:
            from ._ratelimit_redis import RedisBudget

            self._shared = RedisBudget(config.storage_url, rate=config.rate, per=config.per, burst=config.burst)
        self._local: MemoryBudget | None = None
        self._gates: dict[str, anyio.Lock] = {}
        self._outage = False
        self._next_probe = 0.0
        self._acquired = 0
        self._waited = 0
        self._wait_seconds = 0.0
        self._timed_out = 0
        self._outages = 0
        self._waiting = 0
        self._throttled_since = 0.0
        self._throttled_seconds = 0.0

    def key_for(self, url: str) -> str:
        """The budget an API URL spends: the configured key, else the workspace SID in its path."""
        if self.config.key is not None:
            return self.config.key
        match = _WORKSPACE.search(url)
        return match.group(1) if match else "no-workspace"

    @property
    def stats(self) -> RateLimitStats:
        throttled = self._throttled_seconds
        if self._waiting:
            throttled += time.monotonic() - self._throttled_since
        return RateLimitStats(
            acquired=self._acquired,
            waited=self._waited,
            waiting=self._waiting,
            wait_seconds=self._wait_seconds,
            throttled_seconds=throttled,
            timed_out=self._timed_out,
            using_fallback=self._outage,
            outages=self._outages,
        )

    async def acquire(self, key: str) -> None:
        """Take one token from ``key``'s budget, waiting for it; cancellable, bounded by ``max_wait``."""
        started = time.monotonic()
        max_wait = self.config.max_wait
        deadline = math.inf if max_wait is None else started + max_wait
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = anyio.Lock()
        waiting = False

        def wait_begins() -> None:
            nonlocal waiting
            if not waiting:
                waiting = True
                self._start_waiting(started)

        try:
            try:
                gate.acquire_nowait()
            except anyio.WouldBlock:
                wait_begins()
                with anyio.move_on_after(None if max_wait is None else deadline - time.monotonic()) as scope:
                    await gate.acquire()
                if scope.cancelled_caught:
                    raise self._timeout(key, started) from None
            try:
                await self._take_turn(key, deadline, started, wait_begins)
            finally:
                gate.release()
        finally:
            if waiting:
                self._stop_waiting(started)
        self._acquired += 1
        if waiting and logger.isEnabledFor(logging.DEBUG):
            logger.debug("waited %.3f s for the rate budget (%s)", time.monotonic() - started, key)

    async def aclose(self) -> None:
        """Close the shared storage's connections (the memory budget holds none)."""
        if self._shared is not None:
            self._shared.close()

    async def _take_turn(self, key: str, deadline: float, started: float, wait_begins: Callable[[], None]) -> None:
        """With the gate held: reserve a turn, sleep until it, take a window slot."""
        budget, turn = await self._reserve(key, deadline)
        if turn is None:
            raise self._timeout(key, started)
        if turn.slot:
            return
        try:
            if turn.delay > 0:
                wait_begins()
                await anyio.sleep(turn.delay)
            while (wait := await self._take(budget, key)) is not None:
                if time.monotonic() + wait + _MARGIN > deadline:
                    raise self._timeout(key, started)
                wait_begins()
                await anyio.sleep(wait + _MARGIN)
        except BaseException:
            # Cancelled or timed out before sending: hand the turn back so that nobody loses it.
            with anyio.CancelScope(shield=True):
                await self._refund(budget, key, turn.ticket)
            raise

    async def _reserve(self, key: str, deadline: float) -> tuple[Budget, Turn | None]:
        max_delay = UNBOUNDED if deadline == math.inf else max(0.0, deadline - time.monotonic())
        shared = self._shared
        if shared is not None and (probing := self._shared_due()) is not None:
            try:
                turn = await shared.reserve(key, max_delay)
            except StorageUnavailable as exc:
                self._storage_failed(exc)
            else:
                if probing:
                    self._storage_back()
                return shared, turn
        local = self._local_budget()
        return local, await local.reserve(key, max_delay)

    async def _take(self, budget: Budget, key: str) -> float | None:
        """A window slot from the budget that gave the turn; from the local one if the shared storage fails."""
        shared = self._shared
        if budget is shared and shared is not None and not self._outage:
            try:
                return await shared.take(key)
            except StorageUnavailable as exc:
                self._storage_failed(exc)
        return await self._local_budget().take(key)

    async def _refund(self, budget: Budget, key: str, ticket: Ticket) -> None:
        if budget is self._shared and self._outage:
            return
        try:
            await budget.refund(key, ticket)
        except StorageUnavailable as exc:
            self._storage_failed(exc)

    def _shared_due(self) -> bool | None:
        """Whether to use the shared storage now: ``False`` while it works, ``True`` for a probe during
        an outage (at most one per ``PROBE_INTERVAL``), ``None`` when the local budget must do."""
        if not self._outage:
            return False
        now = time.monotonic()
        if now < self._next_probe:
            return None
        self._next_probe = now + PROBE_INTERVAL
        return True

    def _storage_failed(self, exc: StorageUnavailable) -> None:
        self._next_probe = time.monotonic() + PROBE_INTERVAL
        if self._outage:
            logger.debug("rate-limit storage still unreachable: %s", exc)
            return
        self._outage = True
        self._outages += 1
        config = self.config
        logger.warning(
            "rate-limit storage %s is unreachable (%s): using a per-process budget of %d per %d s "
            "until it answers again (retried every %.0f s)",
            self._shared.name if self._shared is not None else "",
            exc,
            config.fallback_rate or config.rate,
            config.per,
            PROBE_INTERVAL,
        )

    def _storage_back(self) -> None:
        if self._outage:
            self._outage = False
            name = self._shared.name if self._shared is not None else ""
            logger.info("rate-limit storage %s answers again: the shared budget is in use again", name)

    def _local_budget(self) -> MemoryBudget:
        """The memory budget: the budget itself without storage_url, else the fallback; built on first use."""
        if self._local is None:
            config = self.config
            rate = config.fallback_rate or config.rate
            self._local = MemoryBudget(rate, config.per, min(config.burst, rate))
        return self._local

    def _start_waiting(self, started: float) -> None:
        self._waited += 1
        self._waiting += 1
        if self._waiting == 1:
            self._throttled_since = started

    def _stop_waiting(self, started: float) -> None:
        now = time.monotonic()
        self._wait_seconds += now - started
        self._waiting -= 1
        if not self._waiting:
            self._throttled_seconds += now - self._throttled_since

    def _timeout(self, key: str, started: float) -> RateLimitTimeoutError:
        self._timed_out += 1
        config = self.config
        return RateLimitTimeoutError(
            f"no room in the rate budget for {key} ({config.rate} per {config.per} s) within "
            f"max_wait={config.max_wait} s; the request was not sent",
            key=key,
            max_wait=config.max_wait if config.max_wait is not None else math.inf,
            waited=time.monotonic() - started,
        )
