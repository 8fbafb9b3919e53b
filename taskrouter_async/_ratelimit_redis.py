"""The shared budget in Redis: the pacer as a Lua script, ``limits``' moving window, both in a worker thread.

Why the synchronous ``limits`` API in a thread, rather than ``limits.aio``: its Redis storage runs
on coredis (``limits`` pins coredis < 6, asyncio only) or on ``redis.asyncio`` (asyncio only).
coredis 6 is built on anyio and would run on trio, but ``limits`` 5 cannot drive it (coredis 6
wants its pool's context manager entered first). redis-py's blocking client in
``anyio.to_thread`` runs the same on asyncio and trio, and its socket timeouts bound every call.
What that costs is measured in benchmarks/README.md (a thread hop per step).

The pacer's Lua script is ``reserve_turn`` (in ``_ratelimit``) on the Redis server's clock
(``TIME``), so processes on different machines agree on turns whatever their clocks say. The
window is ``limits``' own: it stamps entries with each process's wall clock, so machines that
share a budget need synchronised clocks (NTP); a skew of d seconds shifts their view of the
window by d. Needs Redis 6.0 or newer (``SET ... KEEPTTL``).

Failures: any Redis error, or no answer within ``STORAGE_TIMEOUT``, is ``StorageUnavailable``;
the limiter then falls back to its per-process budget (see ``RateLimiter``). redis-py's own
retries are off (it retries 3 times by default): the fallback is the retry policy here.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from ._errors import ValidationError
from ._ratelimit import NAMESPACE, StorageUnavailable, Ticket, Turn, redact_url, url_secrets

__all__ = ["REFUND", "RESERVE", "STORAGE_TIMEOUT", "RedisBudget"]

T = TypeVar("T")

#: The longest one step on the shared budget may take (a window step is a hit and, if refused, a query).
STORAGE_TIMEOUT = 0.5
#: Worker threads one budget may use for Redis calls at once.
_THREADS = 8

#: ``reserve_turn`` on the server's clock. KEYS[1]: the TAT; ARGV: interval, burst, max_delay.
#: Returns {1, delay, ticket} after reserving, {0, delay} when the turn is over max_delay away.
#: Numbers travel as text: Redis would truncate a Lua number to an integer.
RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local delay = tat - (tonumber(ARGV[2]) - 1) * interval - now
if delay < 0 then delay = 0 end
if delay > tonumber(ARGV[3]) then return {0, string.format('%.6f', delay)} end
local ticket = string.format('%.6f', tat + interval)
redis.call('SET', KEYS[1], ticket, 'PX', math.ceil((tat + interval - now) * 1000) + 1000)
return {1, string.format('%.6f', delay), ticket}
"""

#: Hand a turn back: move the TAT one interval back if it is still this ticket's. ARGV: ticket, interval.
REFUND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], string.format('%.6f', tonumber(ARGV[1]) - tonumber(ARGV[2])), 'KEEPTTL')
  return 1
end
return 0
"""


def limit_item(rate: int, per: int) -> RateLimitItem:
    return RateLimitItemPerSecond(rate, per, namespace=NAMESPACE)


def take_or_wait(strategy: MovingWindowRateLimiter, item: RateLimitItem, key: str) -> float | None:
    """Take a window slot (``None``), or return the seconds until the window's oldest entry expires."""
    if strategy.hit(item, key):
        return None
    stats = strategy.get_window_stats(item, key)
    if stats.remaining > 0:  # another taker got in between: look again at once
        return 0.0
    return max(0.0, stats.reset_time - time.time())


class RedisBudget:
    """The budget in Redis; every step raises ``StorageUnavailable`` rather than wait on a sick Redis."""

    def __init__(self, url: str, *, rate: int, per: int, burst: int) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ValidationError(
                "a redis storage_url needs the redis client: pip install 'taskrouter-async[redis]'"
            ) from None
        #: The URL for logs: without its password.
        self.name = redact_url(url) or ""
        self._secrets = url_secrets(url)
        options: dict[str, Any] = {
            "socket_timeout": STORAGE_TIMEOUT / 2,
            "socket_connect_timeout": STORAGE_TIMEOUT / 2,
            "retry": Retry(NoBackoff(), 0),
        }
        self._storage = RedisStorage(url, wrap_exceptions=True, **options)
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._item = limit_item(rate, per)
        client: redis.Redis = self._storage.storage
        self._reserve_script = client.register_script(RESERVE)
        self._refund_script = client.register_script(REFUND)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, StorageError)
        self._interval = per / rate
        self._burst = burst
        self._prefix = f"{NAMESPACE}:pace:{rate}/{per}:"
        self._threads: anyio.CapacityLimiter | None = None

    async def reserve(self, key: str, max_delay: float) -> Turn | None:
        """Reserve a turn; if the caller stops waiting (cancelled, or past ``STORAGE_TIMEOUT``) while the
        script runs, the turn it reserves is handed back: by the worker thread if the script is still
        running, by the caller (shielded) if it had finished."""
        handoff = _Handoff()
        try:
            return await self._run(self._reserve_for, handoff, key, max_delay)
        except BaseException:
            turn = handoff.abandon()
            if turn is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(StorageUnavailable):
                    await self.refund(key, turn.ticket)
            raise

    def _reserve_for(self, handoff: _Handoff, key: str, max_delay: float) -> Turn | None:
        """In the worker thread: reserve, then hand the turn over, or back to Redis if the caller is gone."""
        turn = self._reserve_now(key, max_delay)
        if turn is not None and not handoff.deliver(turn):
            self._refund_script([self._prefix + key], [turn.ticket, self._interval])
        return turn

    async def refund(self, key: str, ticket: Ticket) -> None:
        await self._run(self._refund_script, [self._prefix + key], [ticket, self._interval])

    async def take(self, key: str) -> float | None:
        return await self._run(take_or_wait, self._strategy, self._item, key)

    def _reserve_now(self, key: str, max_delay: float) -> Turn | None:
        """In the worker thread: the pacer's script, then the window too if the turn is due at once."""
        reply = self._reserve_script([self._prefix + key], [self._interval, self._burst, max_delay])
        if int(reply[0]) != 1:
            return None
        delay = float(reply[1])
        slot = delay == 0 and take_or_wait(self._strategy, self._item, key) is None
        return Turn(delay, _text(reply[2]), slot=slot)

    def close(self) -> None:
        """Close the connection pool's sockets (a Redis call still running in a thread finishes first)."""
        self._storage.storage.close()

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking Redis step in a worker thread, within ``STORAGE_TIMEOUT``."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(_THREADS)
        try:
            with anyio.fail_after(STORAGE_TIMEOUT):
                # abandon_on_cancel: a stuck call (a hung Redis, a slow DNS lookup) never holds the
                # caller; if it later takes a slot, that slot goes unused, never used twice.
                return await anyio.to_thread.run_sync(function, *args, abandon_on_cancel=True, limiter=self._threads)
        except self._errors as exc:
            cause = exc.storage_error if isinstance(exc, StorageError) else exc
            raise StorageUnavailable(self._describe(cause)) from None
        except TimeoutError:
            raise StorageUnavailable(f"no answer within {STORAGE_TIMEOUT} s") from None

    def _describe(self, exc: Exception) -> str:
        text = f"{type(exc).__name__}: {exc}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class _Handoff:
    """A reserved turn passed from a worker thread to its caller, who may have stopped waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self._turn: Turn | None = None

    def deliver(self, turn: Turn) -> bool:
        """From the thread: keep the turn for the caller; ``False`` if the caller is gone (refund it)."""
        with self._lock:
            if self._abandoned:
                return False
            self._turn = turn
            return True

    def abandon(self) -> Turn | None:
        """From the caller, giving up: the turn already delivered (the caller must refund it), else ``None``
        and the thread will refund whatever it reserves."""
        with self._lock:
            self._abandoned = True
            return self._turn


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
