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
   within it. It is ``limits``' moving-window algorithm (a list of start times trimmed to the
   capacity), written here twice: ``MovingWindow`` in-process, on the monotonic clock
   (``limits``' memory storage reads ``time.time()``, so a wall clock stepped back froze it), and
   in the same Lua script as the pacer in Redis, on the Redis server's clock (``limits``' Redis
   window was a second round trip per token and stamped entries with each process's wall clock).

Why both: a moving window alone replays bursts: the ``rate`` requests let through at once by an
empty window free up together a ``per`` later, and are taken together again. Measured with 4
processes sharing 50 requests/s through ``limits``' moving window alone, the server saw 57 to 82
requests in its busiest second, because two bursts' worth of requests arrive within one second
once their latencies differ. ``limits`` has no sub-second pacing, so the pacer is written here:
a few lines of arithmetic (``reserve_turn``) mirrored by a Lua script (``_ratelimit_redis``),
tested alike.

``RateLimit.auto()`` (``_ratelimit_auto``) gives each (workspace, endpoint) a budget of its own
whose ``rate`` is learned from Twilio's answers; the pacer and the window are the same.

Clocks: everything in-process runs on ``time.monotonic()``. The shared budget reads only the
Redis server's clock (see ``_ratelimit_redis``).

Alternatives weighed: ``aiolimiter`` is in-process only; ``pyrate-limiter`` has sub-second rates
and waiting with a timeout, but no shared learned state, and its Redis bucket is a round trip per
step too; a pure token bucket without the window lets ``rate + burst - 1`` requests into a window.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import anyio
import attrs

from ._errors import RateLimitTimeoutError, ValidationError
from ._logging import logger
from ._ratelimit_auto import Answer, Concurrency, Learned, operation_of
from ._retry import RATE_LIMITED

if TYPE_CHECKING:
    from ._ratelimit_redis import RedisBudget

__all__ = ["RateLimit", "RateLimitStats", "RateLimiter"]

#: Storage keys start with this.
NAMESPACE = "taskrouter_async"
#: ``RateLimit.auto()``'s pace for a budget before any answer has told its limit (requests per second).
AUTO_START = 3
#: After the shared storage answers again, a process keeps to its share as well for this long (seconds):
#: by then every process has found the storage again (each tries it at least once per PROBE_INTERVAL).
#: While the shared storage is unreachable, it is tried again at most this often (seconds).
PROBE_INTERVAL = 1.0
HANDOVER = 2 * PROBE_INTERVAL + 0.5
#: Sleep this much past the moment a window slot frees up, so that the storage sees it free.
_MARGIN = 0.001
#: How often a waiter for the account's concurrency cap looks again (seconds).
LEASE_POLL = 0.02
#: The longest sharing what was learned may hold an attempt's end (seconds).
_PUBLISH_TIMEOUT = 0.5
#: A pace recovering after a 429 is shared at most this often (seconds).
_RECOVERY_SHARING = 0.25
#: A lease on the in-process concurrency cap (nothing to give back).
_LOCAL_LEASE = object()
#: A turn further away than this is never reserved (the pacer's "no limit").
UNBOUNDED = 1e12
_WORKSPACE = re.compile(r"/v1/Workspaces/(WS[0-9a-fA-F]{32})(?:[/?]|$)")
_STORAGE_SCHEMES = ("redis", "rediss", "redis+unix")

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
    ``RateLimit.auto()`` learns the budgets from Twilio's answers instead.

    - ``key``: the budget's name; by default each workspace SID has its own budget (Twilio's limits
      are per workspace). Give a fixed key to put several workspaces, or separate jobs, under one.
    - ``storage_url``: ``None`` keeps the budget in this client (and its ``with_options`` views).
      ``"redis://host:6379/0"`` (also ``rediss://`` and ``redis+unix://``) shares it with every
      process, on any machine, that uses the same URL, key, ``rate`` and ``per``; needs
      ``pip install 'taskrouter-async[redis]'``.
    - ``max_wait``: the longest one attempt may wait for a token, in seconds; past it the call
      raises ``RateLimitTimeoutError`` without sending. ``None`` waits as long as it takes; ``0``
      never waits.
    - ``fallback_rate``: with ``storage_url``, the most one process sends per ``per`` while Redis is
      unreachable. By default its share: the budget divided by the processes Redis counted before
      the outage, so the fleet stays within the budget.
    """

    rate: int = attrs.field(converter=_rate)
    per: int = attrs.field(default=1, converter=_per)
    burst: int = attrs.field(default=1, converter=_burst)
    key: str | None = attrs.field(default=None, converter=_key)
    storage_url: str | None = attrs.field(default=None, converter=_storage_url, repr=_redacted_repr)
    max_wait: float | None = attrs.field(default=None, converter=_max_wait)
    fallback_rate: int | None = attrs.field(default=None, converter=_fallback_rate)
    #: ``RateLimit.auto()``: learn each endpoint's budget from Twilio's answers; ``rate`` is the start.
    learn: bool = attrs.field(default=False, repr=lambda value: repr(value))

    def __attrs_post_init__(self) -> None:
        if self.burst > self.rate:
            raise ValidationError(f"burst ({self.burst}) cannot be more than rate ({self.rate})")
        if self.fallback_rate is not None and self.storage_url is None:
            raise ValidationError("fallback_rate applies only with storage_url: the in-process budget has no fallback")
        if not isinstance(self.learn, bool):
            raise ValidationError(f"learn must be True or False, got {self.learn!r}")
        if self.learn and (self.per != 1 or self.key is not None):
            raise ValidationError("RateLimit.auto() learns per second and per (workspace, endpoint): no per or key")

    @classmethod
    def auto(
        cls,
        *,
        storage_url: str | None = None,
        max_wait: float | None = None,
        fallback_rate: int | None = None,
        start: int = AUTO_START,
    ) -> RateLimit:
        """A budget per (workspace, endpoint) learned from Twilio's ``X-Rate-Limit-*`` headers, and the
        account's concurrency cap learned from 20429 answers.

        Each endpoint starts at ``start`` requests per second until its first answer says its limit;
        then it is paced just under that limit, slowed down when ``X-Rate-Limit-Remaining`` reaches 0
        or a 429 comes. With ``storage_url``, every process that uses the same Redis learns what one
        learns and shares each endpoint's budget. ``max_wait`` and ``fallback_rate`` are ``RateLimit``'s.
        """
        return cls(rate=start, storage_url=storage_url, max_wait=max_wait, fallback_rate=fallback_rate, learn=True)


@attrs.frozen(kw_only=True)
class LearnedBudget:
    """One budget ``RateLimit.auto()`` has learned: a workspace's endpoint, or an operation until its key is known."""

    workspace: str
    #: The endpoint's key from ``X-Rate-Limit-Config`` (``Task-List``), or the operation until it is known.
    endpoint: str
    #: The limit Twilio says, requests per second; ``None`` before the first answer that says it.
    limit: int | None
    #: The pace now, requests per second (for the whole fleet when shared through Redis).
    rate: float
    #: ``X-Rate-Limit-Remaining`` on the last answer.
    remaining: int | None
    #: Answers refused with 429 by this endpoint's limit.
    rate_limited: int
    #: Attempts waiting for this budget right now.
    waiting: int


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
    #: ``RateLimit.auto()``: every budget learned so far, the binding one first.
    budgets: tuple[LearnedBudget, ...] = ()
    #: The budget holding attempts back now (the most waiting), as ``WS…:endpoint``; ``None`` when none waits.
    binding: str | None = None
    #: ``RateLimit.auto()``: the account's concurrency cap, once a 20429 (or the header near it) showed it.
    concurrency_limit: int | None = None
    #: Whether attempts take a lease on the account's concurrency cap now (only near the cap).
    concurrency_engaged: bool = False
    #: Processes sharing the Redis budget, as Redis counted them last (1 without Redis).
    processes: int = 1


@attrs.frozen
class Pace:
    """A budget's parameters for one token: the pacer's rate and burst, the window's capacity, per ``per`` seconds."""

    rate: float
    cap: int
    per: float
    burst: int = 1

    @property
    def interval(self) -> float:
        return self.per / self.rate

    def share(self, processes: int, fallback_rate: int | None) -> Pace:
        """One process's part of this budget when ``processes`` share it (or ``fallback_rate`` if set)."""
        rate = self.rate / max(1, processes) if fallback_rate is None else min(self.rate, float(fallback_rate))
        cap = (
            max(1, math.floor(self.cap / max(1, processes))) if fallback_rate is None else min(self.cap, fallback_rate)
        )
        return Pace(rate=rate, cap=cap, per=self.per, burst=max(1, min(self.burst, cap)))


@attrs.frozen
class Turn:
    """A reserved turn. When it is due at once, the budget also tried the window in the same call
    (one storage round trip when the budget is not binding): ``slot`` says whether it got one.
    ``ticket``, ``name`` and ``interval`` hand it back (``refund``) if it goes unused."""

    delay: float
    ticket: float | str
    slot: bool = False
    name: str = ""
    interval: float = 0.0


@attrs.frozen(kw_only=True)
class Shared:
    """What the shared storage said along with a turn: the budget's name and pace, the fleet, the account."""

    name: str
    pace: Pace
    fleet: int
    concurrency_cap: int | None
    engaged_for: float


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


class MovingWindow:
    """At most ``cap`` starts in any ``per`` seconds, per key, on the monotonic clock (in-process).

    Written here rather than taken from ``limits``' ``MemoryStorage``, which stamps entries with
    ``time.time()``: when the wall clock steps back (NTP, a VM resumed, a manual fix) its window
    looks full until the clock catches up again, so a step of an hour froze the client for an
    hour. A monotonic clock never steps back. The window is a deque of start times per key.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._starts: dict[str, deque[float]] = {}

    def take(self, key: str, cap: int, per: float) -> float | None:
        """Take a slot (``None``), or return the seconds until one frees up."""
        now = self._clock()
        starts = self._trimmed(key, per, now)
        if len(starts) < cap:
            starts.append(now)
            return None
        return starts[-cap] + per - now

    def note(self, key: str, per: float) -> None:
        """Record a start made elsewhere (through the shared budget), without a check."""
        now = self._clock()
        self._trimmed(key, per, now).append(now)

    def adopt(self, old: str, new: str) -> None:
        """Count ``old``'s starts in ``new`` too."""
        starts = self._starts.get(old)
        if starts:
            self._starts[new] = deque(sorted((*self._starts.get(new, ()), *starts)))

    def _trimmed(self, key: str, per: float, now: float) -> deque[float]:
        starts = self._starts.get(key)
        if starts is None:
            starts = self._starts[key] = deque()
        while starts and starts[0] <= now - per:
            starts.popleft()
        return starts


class MemoryBudget:
    """The in-process budget: a dict of TATs and a moving window, both on the monotonic clock (no I/O).

    Without ``storage_url`` it is the budget; with one, it is the fallback while Redis is
    unreachable, and it notes every start made through Redis, so a switch to it starts from what
    this process really sent in the last window.
    """

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._window = MovingWindow()

    def reserve(self, key: str, pace: Pace, max_delay: float) -> Turn | None:
        turn = reserve_turn(self._tats.get(key, 0.0), time.monotonic(), pace.interval, pace.burst, max_delay)
        if turn is None:
            return None
        delay, self._tats[key] = turn
        slot = delay == 0 and self._window.take(key, pace.cap, pace.per) is None
        return Turn(delay, turn[1], slot=slot, name=key, interval=pace.interval)

    def refund(self, turn: Turn) -> None:
        if self._tats.get(turn.name) == turn.ticket:
            self._tats[turn.name] -= turn.interval

    def take(self, key: str, pace: Pace) -> float | None:
        return self._window.take(key, pace.cap, pace.per)

    def adopt(self, old: str, new: str) -> None:
        """Budget ``new`` takes over ``old``'s recent starts (an operation's, once its endpoint key is known)."""
        self._window.adopt(old, new)
        if old in self._tats:
            self._tats[new] = max(self._tats.get(new, 0.0), self._tats[old])

    def note(self, key: str, pace: Pace) -> None:
        """A start made through the shared budget: in the window, and the pacer's next turn an interval on."""
        self._window.note(key, pace.per)
        self._tats[key] = time.monotonic() + pace.interval


class StorageUnavailable(Exception):
    """The shared storage failed or did not answer in time; the message says how (never with a credential)."""


@attrs.define
class _Waits:
    """Attempts waiting for one budget now, and since when the first of them waits."""

    waiting: int = 0


class Attempt:
    """One attempt's hold on the budget (``RateLimiter.attempt``): the pipeline hands it the answer."""

    __slots__ = ("answer", "learn", "lease", "pace")

    def __init__(self, lease: object | None, *, learn: bool = False, pace: float = 0.0) -> None:
        self.lease = lease
        self.learn = learn
        #: The budget's pace when this attempt took its token.
        self.pace = pace
        self.answer: Answer | None = None

    def answered(self, status: int, headers: Mapping[str, str]) -> None:
        """The answer's status and headers: what ``RateLimit.auto()`` learns from."""
        if self.learn:
            self.answer = Answer.parse(status, headers)


#: The attempt of a client without ``rate_limit=``: nothing to learn, no lease.
_NO_ATTEMPT = Attempt(None)


def spend_budget(
    limiter: RateLimiter | None, method: str, url: str, lease_seconds: float | None
) -> AbstractAsyncContextManager[Attempt]:
    """The pipeline's hook around every attempt: ``limiter.attempt(...)``, or nothing without ``rate_limit=``."""
    return nullcontext(_NO_ATTEMPT) if limiter is None else limiter.attempt(method, url, lease_seconds)


class RateLimiter:
    """The live budget behind ``rate_limit=``: ``async with limiter.attempt(method, url)`` around every attempt.

    Attempts for one budget queue in FIFO order in this process; only the first reserves a turn
    from the pacer, sleeps until it, then takes a window slot. So each process holds at most one
    reserved turn per budget, and processes that all want more than their share take turns.

    If the shared storage fails or does not answer within ``STORAGE_TIMEOUT``, the attempt goes on
    at once with this process's share of the budget; a warning is logged once; the shared storage
    is tried again every ``PROBE_INTERVAL`` seconds, and an info line says when it is back. For
    ``HANDOVER`` seconds after that, the process keeps to its share as well, until every process
    has found the storage again: so the fleet never adds shared and per-process budgets up.
    """

    def __init__(self, config: RateLimit, account: str = "") -> None:
        self.config = config
        self._shared: RedisBudget | None = None
        if config.storage_url is not None:
            from ._ratelimit_redis import RedisBudget

            namespace = "auto" if config.learn else f"static:{config.rate}/{config.per}"
            self._shared = RedisBudget(config.storage_url, namespace=namespace, learn=config.learn, account=account)
        self._local = MemoryBudget()
        self._gates: dict[str, anyio.Lock] = {}
        self._outage = False
        self._next_probe = 0.0
        self._handover_until = 0.0
        self._fleet = 1
        self._learned: dict[str, Learned] = {}
        self._endpoints: dict[tuple[str, str], str] = {}
        self._waits: dict[str, _Waits] = {}
        self._concurrency = Concurrency()
        self._shared_pace_at: dict[str, float] = {}
        self._in_flight = 0
        self._acquired = 0
        self._waited = 0
        self._wait_seconds = 0.0
        self._timed_out = 0
        self._outages = 0
        self._waiting = 0
        self._throttled_since = 0.0
        self._throttled_seconds = 0.0

    # --- which budget ------------------------------------------------------------------------

    def key_for(self, url: str) -> str:
        """The budget an API URL spends: the configured key, else the workspace SID in its path."""
        if self.config.key is not None:
            return self.config.key
        match = _WORKSPACE.search(url)
        return match.group(1) if match else "no-workspace"

    def _budget(self, method: str, url: str) -> tuple[str, str]:
        """``(budget name, lookup)``; for ``auto`` the lookup is ``workspace:operation``, whose key Redis may know."""
        workspace = self.key_for(url)
        if not self.config.learn:
            return workspace, ""
        operation = operation_of(method, url)
        endpoint = self._endpoints.get((workspace, operation), operation)
        return f"{workspace}:{endpoint}", f"{workspace}:{operation}"

    def _learned_for(self, name: str) -> Learned:
        learned = self._learned.get(name)
        if learned is None:
            workspace, _, endpoint = name.partition(":")
            learned = self._learned[name] = Learned(
                workspace=workspace, endpoint=endpoint, start=float(self.config.rate)
            )
        return learned

    def _pace(self, name: str) -> Pace:
        """The whole budget's pace (the fleet's, with Redis)."""
        config = self.config
        if not config.learn:
            return Pace(rate=float(config.rate), cap=config.rate, per=float(config.per), burst=config.burst)
        learned = self._learned_for(name)
        return Pace(rate=learned.rate, cap=learned.cap, per=1.0)

    # --- stats ---------------------------------------------------------------------------------

    @property
    def stats(self) -> RateLimitStats:
        throttled = self._throttled_seconds
        if self._waiting:
            throttled += time.monotonic() - self._throttled_since
        budgets = sorted(
            (
                LearnedBudget(
                    workspace=learned.workspace,
                    endpoint=learned.endpoint,
                    limit=learned.limit,
                    rate=learned.rate,
                    remaining=learned.remaining,
                    rate_limited=learned.rate_limited,
                    waiting=self._waits.get(name, _Waits()).waiting,
                )
                for name, learned in self._learned.items()
                if (learned.workspace, learned.endpoint) not in self._endpoints  # an operation whose key is known
            ),
            key=lambda budget: -budget.waiting,
        )
        busiest = max(self._waits.items(), key=lambda item: item[1].waiting, default=None)
        concurrency = self._concurrency
        return RateLimitStats(
            acquired=self._acquired,
            waited=self._waited,
            waiting=self._waiting,
            wait_seconds=self._wait_seconds,
            throttled_seconds=throttled,
            timed_out=self._timed_out,
            using_fallback=self._outage,
            outages=self._outages,
            budgets=tuple(budgets),
            binding=busiest[0] if busiest is not None and busiest[1].waiting else None,
            concurrency_limit=concurrency.cap,
            concurrency_engaged=concurrency.engaged(time.monotonic()),
            processes=self._fleet,
        )

    # --- the attempt ----------------------------------------------------------------------------

    @asynccontextmanager
    async def attempt(self, method: str, url: str, lease_seconds: float | None = None) -> AsyncIterator[Attempt]:
        """Around one attempt: a token before it (waiting for one), and, near the account's concurrency
        cap, a lease on it; afterwards the answer is learned from and the lease given back."""
        name, lookup = self._budget(method, url)
        await self.acquire(name, lookup, (lambda: self._budget(method, url)[0]) if self.config.learn else None)
        name = self._budget(method, url)[0]
        lease = await self._lease(lease_seconds) if self.config.learn else None
        attempt = Attempt(lease, learn=self.config.learn, pace=self._pace(name).rate)
        self._in_flight += 1
        try:
            yield attempt
        finally:
            self._in_flight -= 1
            with anyio.CancelScope(shield=True):
                await self._settle(name, lookup, attempt)

    async def acquire(self, key: str, lookup: str = "", resolve: Callable[[], str] | None = None) -> None:
        """Take one token from ``key``'s budget, waiting for it; cancellable, bounded by ``max_wait``.

        ``resolve`` says the budget's name again once the gate is held: an attempt that queued on an
        operation's budget moves to its endpoint's as soon as an answer has told the endpoint key.
        """
        started = time.monotonic()
        max_wait = self.config.max_wait
        deadline = math.inf if max_wait is None else started + max_wait
        waiting: _Waits | None = None

        def wait_begins() -> None:
            nonlocal waiting
            if waiting is None:
                waiting = self._waits_for(key)
                waiting.waiting += 1
                self._start_waiting(started)

        try:
            while True:
                gate = self._gates.get(key)
                if gate is None:
                    gate = self._gates[key] = anyio.Lock()
                try:
                    gate.acquire_nowait()
                except anyio.WouldBlock:
                    wait_begins()
                    with anyio.move_on_after(None if max_wait is None else deadline - time.monotonic()) as scope:
                        await gate.acquire()
                    if scope.cancelled_caught:
                        raise self._timeout(key, started) from None
                try:
                    moved = resolve() if resolve is not None else key
                    if moved == key:
                        await self._take_turn(key, lookup, deadline, started, wait_begins)
                        break
                finally:
                    gate.release()
                if waiting is not None:
                    waiting.waiting -= 1
                    waiting = self._waits_for(moved)
                    waiting.waiting += 1
                key = moved
        finally:
            if waiting is not None:
                waiting.waiting -= 1
                self._stop_waiting(started)
        self._acquired += 1
        if waiting is not None and logger.isEnabledFor(logging.DEBUG):
            logger.debug("waited %.3f s for the rate budget (%s)", time.monotonic() - started, key)

    def _waits_for(self, key: str) -> _Waits:
        waits = self._waits.get(key)
        if waits is None:
            waits = self._waits[key] = _Waits()
        return waits

    async def aclose(self) -> None:
        """Close the shared storage's connections (the memory budget holds none)."""
        if self._shared is not None:
            self._shared.close()

    async def _take_turn(
        self, key: str, lookup: str, deadline: float, started: float, wait_begins: Callable[[], None]
    ) -> None:
        """With the gate held: hold if the budget said so, reserve a turn, sleep until it, take a window slot."""
        if self.config.learn:
            hold = self._learned_for(key).hold - time.monotonic()
            if hold > 0:
                if time.monotonic() + hold > deadline:
                    raise self._timeout(key, started)
                wait_begins()
                await anyio.sleep(hold)
        shared = self._shared
        if shared is not None and (probing := self._shared_due()) is not None:
            try:
                turn, told = await shared.reserve(key, lookup, self._pace(key), self._max_delay(deadline))
            except StorageUnavailable as exc:
                self._storage_failed(exc)
            else:
                if probing:
                    self._storage_back()
                self._heard(key, told)
                if turn is None:
                    raise self._timeout(key, started)
                await self._use(shared, turn, deadline, started, wait_begins)
                fallback = self._fallback_pace(turn.name)
                if time.monotonic() < self._handover_until:
                    # Back from an outage: keep to this process's share too, until every process is back.
                    await self._local_token(turn.name, fallback, deadline, started, wait_begins)
                else:
                    self._local.note(turn.name, fallback)
                return
        pace = self._fallback_pace(key) if shared is not None else self._pace(key)
        await self._local_token(key, pace, deadline, started, wait_begins)

    async def _local_token(
        self, key: str, pace: Pace, deadline: float, started: float, wait_begins: Callable[[], None]
    ) -> None:
        turn = self._local.reserve(key, pace, self._max_delay(deadline))
        if turn is None:
            raise self._timeout(key, started)
        await self._use(None, turn, deadline, started, wait_begins, pace)

    async def _use(
        self,
        shared: RedisBudget | None,
        turn: Turn,
        deadline: float,
        started: float,
        wait_begins: Callable[[], None],
        pace: Pace | None = None,
    ) -> None:
        """Sleep until a reserved turn, then take a window slot; hand the turn back if that fails."""
        if turn.slot:
            return
        key = turn.name
        window = pace if pace is not None else self._pace(key)
        try:
            if turn.delay > 0:
                wait_begins()
                await anyio.sleep(turn.delay)
            while (wait := await self._take(shared, key, window)) is not None:
                if time.monotonic() + wait + _MARGIN > deadline:
                    raise self._timeout(key, started)
                wait_begins()
                await anyio.sleep(wait + _MARGIN)
        except BaseException:
            # Cancelled or timed out before sending: hand the turn back so that nobody loses it.
            with anyio.CancelScope(shield=True):
                await self._refund(shared, turn)
            raise

    async def _take(self, shared: RedisBudget | None, key: str, pace: Pace) -> float | None:
        """A window slot from the budget that gave the turn; from the local one if the shared storage fails."""
        if shared is not None and not self._outage:
            try:
                return await shared.take(key, pace)
            except StorageUnavailable as exc:
                self._storage_failed(exc)
            pace = self._fallback_pace(key)
        return self._local.take(key, pace)

    async def _refund(self, shared: RedisBudget | None, turn: Turn) -> None:
        if shared is None:
            self._local.refund(turn)
            return
        if self._outage:
            return
        try:
            await shared.refund(turn)
        except StorageUnavailable as exc:
            self._storage_failed(exc)

    def _max_delay(self, deadline: float) -> float:
        return UNBOUNDED if deadline == math.inf else max(0.0, deadline - time.monotonic())

    def _fallback_pace(self, key: str) -> Pace:
        """This process's share of a budget: what it may spend while Redis is unreachable."""
        return self._pace(key).share(self._fleet, self.config.fallback_rate)

    def _heard(self, key: str, told: Shared) -> None:
        """Mirror what Redis said with a turn: the fleet's size, the budget's name and learned pace, the account."""
        # Right after an outage Redis may have restarted empty and count only the processes back so far:
        # the fleet does not shrink during the hand-over.
        handing_over = time.monotonic() < self._handover_until
        self._fleet = max(1, told.fleet, self._fleet if handing_over else 1)
        if not self.config.learn:
            return
        if told.name != key:  # another process learned this operation's endpoint key
            workspace, _, operation = key.partition(":")
            endpoint = told.name.partition(":")[2]
            self._endpoints[(workspace, operation)] = endpoint
        learned = self._learned_for(told.name)
        learned.rate = told.pace.rate
        if told.pace.cap != learned.cap:  # a limit another process learned
            learned.limit = told.pace.cap
        if told.concurrency_cap is not None:
            self._concurrency.cap = told.concurrency_cap
            self._concurrency.engaged_until = max(self._concurrency.engaged_until, time.monotonic() + told.engaged_for)

    # --- learning and the account's concurrency ---------------------------------------------------

    async def _settle(self, name: str, lookup: str, attempt: Attempt) -> None:
        """After an attempt: give its lease back, learn from its answer, share what changed."""
        if attempt.lease is not None:
            await self._release(attempt.lease)
        answer = attempt.answer
        if answer is None or not self.config.learn:
            return
        now = time.monotonic()
        concurrency_changed = self._concurrency.learn(answer, now, self._in_flight + 1)
        endpoint = answer.endpoint
        workspace, _, seen = name.partition(":")
        moved = False
        if endpoint is not None and endpoint != seen:
            moved = True
            operation = lookup.partition(":")[2]
            if self._endpoints.get((workspace, operation)) != endpoint:
                logger.debug("rate budget %s: operation %s is endpoint %s", workspace, operation, endpoint)
            self._endpoints[(workspace, operation)] = endpoint
            new_name = f"{workspace}:{endpoint}"
            if new_name not in self._learned:
                self._local.adopt(name, new_name)
            name = new_name
        learned = self._learned_for(name)
        limit_before = learned.limit
        changed = learned.learn(answer, now, attempt.pace or None)
        shared = self._shared
        if shared is None or self._outage or not (changed or moved or concurrency_changed):
            return
        recovering = changed and not (
            moved or concurrency_changed or answer.status == RATE_LIMITED or learned.limit != limit_before
        )
        if recovering and now < self._shared_pace_at.get(name, 0.0) + _RECOVERY_SHARING:
            return  # only the pace recovering: shared a few times a second, not with every answer
        self._shared_pace_at[name] = now
        engaged = self._concurrency.cap if concurrency_changed and self._concurrency.engaged(now) else None
        try:
            with anyio.move_on_after(_PUBLISH_TIMEOUT):
                await shared.publish(
                    name, self._pace(name) if changed or moved else None, lookup if moved else "", engaged
                )
        except StorageUnavailable as exc:
            self._storage_failed(exc)

    async def _lease(self, lease_seconds: float | None) -> object | None:
        """A lease on the account's concurrency cap, when it is engaged; ``None`` when it is not."""
        concurrency = self._concurrency
        if not concurrency.engaged(time.monotonic()) or concurrency.cap is None:
            return None
        shared = self._shared
        ttl = (lease_seconds or 60.0) + 5.0
        while True:
            cap = concurrency.cap or 1
            if shared is not None and not self._outage:
                try:
                    lease, wait = await shared.lease(cap, ttl)
                except StorageUnavailable as exc:
                    self._storage_failed(exc)
                else:
                    if lease is not None:
                        return lease
                    await anyio.sleep(min(wait, LEASE_POLL))
                    continue
            if self._in_flight < cap:
                return _LOCAL_LEASE
            await anyio.sleep(LEASE_POLL)

    async def _release(self, lease: object) -> None:
        shared = self._shared
        if isinstance(lease, str) and shared is not None:
            try:
                await shared.release(lease)
            except StorageUnavailable as exc:
                self._storage_failed(exc)

    # --- the shared storage's health -----------------------------------------------------------------

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
        share = (
            f"{config.fallback_rate} per {config.per} s" if config.fallback_rate else f"1/{self._fleet} of the budget"
        )
        logger.warning(
            "rate-limit storage %s is unreachable (%s): this process keeps to %s "
            "until it answers again (retried every %.0f s)",
            self._shared.name if self._shared is not None else "",
            exc,
            share,
            PROBE_INTERVAL,
        )

    def _storage_back(self) -> None:
        if self._outage:
            self._outage = False
            self._handover_until = time.monotonic() + HANDOVER
            name = self._shared.name if self._shared is not None else ""
            logger.info("rate-limit storage %s answers again: the shared budget is in use again", name)

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
        budget = "learned" if config.learn else f"{config.rate} per {config.per} s"
        return RateLimitTimeoutError(
            f"no room in the rate budget for {key} ({budget}) within "
            f"max_wait={config.max_wait} s; the request was not sent",
            key=key,
            max_wait=config.max_wait if config.max_wait is not None else math.inf,
            waited=time.monotonic() - started,
        )
