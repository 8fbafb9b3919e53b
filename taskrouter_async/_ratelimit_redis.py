"""The shared budget in Redis: one Lua script per token (pacer, window, fleet, learned limits), in a worker thread.

Why redis-py's blocking client in a thread, rather than an asyncio client: ``redis.asyncio`` and
coredis < 6 run on asyncio only; redis-py in ``anyio.to_thread`` runs the same on asyncio and
trio, and its socket timeouts bound every call. What that costs is measured in
benchmarks/README.md (a thread hop per token).

Why the window is a script here rather than ``limits``' moving window: a token used to be two
round trips (the pacer's script, then ``limits``' window script), and ``limits`` stamps its window
with each process's wall clock. ``RESERVE`` does both steps, plus the fleet's registry and the
learned limits of ``RateLimit.auto()``, in one atomic script on the Redis server's clock
(``TIME``): one round trip per token when the budget does not bind, and **no assumption about the
clients' clocks** (they may differ or step; only the Redis server's clock is read, and it must
not step back by much: a step back of d seconds delays turns by up to d). The window is a list of
start times, newest first, trimmed to its capacity: ``limits``' moving-window algorithm.
Needs Redis 6.2 or newer (``SET ... KEEPTTL``, ``COPY``).

Failures: any Redis error, or no answer within ``STORAGE_TIMEOUT``, is ``StorageUnavailable``;
the limiter then falls back to its per-process share (see ``RateLimiter``). redis-py's own
retries are off (it retries 3 times by default): the fallback is the retry policy here.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from ._errors import ValidationError
from ._ratelimit import NAMESPACE, Pace, Shared, StorageUnavailable, Turn, redact_url, url_secrets
from ._ratelimit_auto import ENGAGED_FOR

__all__ = ["FLEET_TTL", "LEASE", "REFUND", "RESERVE", "STORAGE_TIMEOUT", "TAKE", "RedisBudget"]

T = TypeVar("T")

#: The longest one step on the shared budget may take.
STORAGE_TIMEOUT = 0.5
#: Worker threads one budget may use for Redis calls at once.
_THREADS = 8
#: A process counts in the fleet this long after its last token (seconds).
FLEET_TTL = 10

_WINDOW = """
local function take(key, cap, per, now)
  local oldest = redis.call('LINDEX', key, cap - 1)
  if oldest and tonumber(oldest) > now - per then return tonumber(oldest) + per - now end
  redis.call('LPUSH', key, string.format('%.6f', now))
  redis.call('LTRIM', key, 0, cap - 1)
  redis.call('PEXPIRE', key, math.ceil(per * 1000) + 1000)
  return -1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

#: ``reserve_turn`` and the window on the server's clock, the fleet's registry and the learned state.
#: ARGV: prefix, name, lookup ('' or 'ws:operation'), rate, cap, per, burst, max_delay, pid, learn, account.
#: Returns {reserved, delay, ticket, slot, name, rate, cap, fleet, concurrency cap, engaged seconds}.
#: Numbers travel as text: Redis would truncate a Lua number to an integer.
RESERVE = (
    _WINDOW
    + """
local p = ARGV[1]
local name = ARGV[2]
local rate, cap, per = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local burst, max_delay = tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('ZADD', p .. 'fleet', now + """
    + str(FLEET_TTL)
    + """, ARGV[9])
redis.call('ZREMRANGEBYSCORE', p .. 'fleet', '-inf', now)
redis.call('EXPIRE', p .. 'fleet', 86400)
local fleet = redis.call('ZCARD', p .. 'fleet')
if ARGV[3] ~= '' then
  local mapped = redis.call('HGET', p .. 'map', ARGV[3])
  if mapped then name = mapped end
end
local conc = {'', ''}
if ARGV[10] == '1' then
  local conf = redis.call('HMGET', p .. 'conf:' .. name, 'rate', 'cap')
  if conf[1] then rate = tonumber(conf[1]); cap = tonumber(conf[2]) end
  local account = redis.call('HMGET', p .. 'account:' .. ARGV[11], 'cap', 'until')
  if account[1] and tonumber(account[2]) > now then
    conc = {account[1], string.format('%.3f', tonumber(account[2]) - now)}
  end
end
local interval = per / rate
local tat_key = p .. 'tat:' .. name
local tat = tonumber(redis.call('GET', tat_key) or '0')
if tat < now then tat = now end
local delay = tat - (burst - 1) * interval - now
if delay < 0 then delay = 0 end
local shared = {name, string.format('%.6f', rate), tostring(cap), tostring(fleet), conc[1], conc[2]}
if delay > max_delay then
  return {0, string.format('%.6f', delay), '', 0, unpack(shared)}
end
local ticket = string.format('%.6f', tat + interval)
redis.call('SET', tat_key, ticket, 'PX', math.ceil((tat + interval - now) * 1000) + 1000)
local slot = 0
if delay == 0 and take(p .. 'win:' .. name, cap, per, now) < 0 then slot = 1 end
return {1, string.format('%.6f', delay), ticket, slot, unpack(shared)}
"""
)

#: A window slot: -1 when taken, else the seconds until one frees up. ARGV: prefix, name, cap, per.
TAKE = (
    _WINDOW
    + """
return string.format('%.6f', take(ARGV[1] .. 'win:' .. ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), now))
"""
)

#: Hand a turn back: move the TAT one interval back if it is still this ticket's. ARGV: prefix, name, ticket, interval.
REFUND = """
local key = ARGV[1] .. 'tat:' .. ARGV[2]
if redis.call('GET', key) == ARGV[3] then
  redis.call('SET', key, string.format('%.6f', tonumber(ARGV[3]) - tonumber(ARGV[4])), 'KEEPTTL')
  return 1
end
return 0
"""

#: Share what was learned. ARGV: prefix, name, rate, cap, lookup ('' or 'ws:operation'), account, cap, engage seconds.
PUBLISH = """
local p = ARGV[1]
if ARGV[3] ~= '' then
  redis.call('HSET', p .. 'conf:' .. ARGV[2], 'rate', ARGV[3], 'cap', ARGV[4])
  redis.call('EXPIRE', p .. 'conf:' .. ARGV[2], 86400)
end
if ARGV[5] ~= '' then
  redis.call('HSET', p .. 'map', ARGV[5], ARGV[2])
  redis.call('EXPIRE', p .. 'map', 86400)
  -- The endpoint's budget takes over the operation's recent starts and its pacer's position.
  local old_window, new_window = p .. 'win:' .. ARGV[5], p .. 'win:' .. ARGV[2]
  if redis.call('EXISTS', new_window) == 0 and redis.call('EXISTS', old_window) == 1 then
    redis.call('COPY', old_window, new_window)
  end
  local old_tat = tonumber(redis.call('GET', p .. 'tat:' .. ARGV[5]) or '0')
  local new_tat = tonumber(redis.call('GET', p .. 'tat:' .. ARGV[2]) or '0')
  if old_tat > new_tat then
    redis.call('SET', p .. 'tat:' .. ARGV[2], string.format('%.6f', old_tat), 'EX', 60)
  end
end
if ARGV[7] ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local key = p .. 'account:' .. ARGV[6]
  redis.call('HSET', key, 'cap', ARGV[7], 'until', string.format('%.3f', now + tonumber(ARGV[8])))
  redis.call('EXPIRE', key, 86400)
end
return 1
"""

#: The account's semaphore: a lease that expires by itself, so a dead process's leases free up.
#: ARGV: key, cap, ttl, lease id. Returns {1} with a lease, {0, seconds until the oldest expires} without.
LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', ARGV[1], '-inf', now)
if redis.call('ZCARD', ARGV[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', ARGV[1], now + tonumber(ARGV[3]), ARGV[4])
  redis.call('EXPIRE', ARGV[1], math.ceil(tonumber(ARGV[3])) + 60)
  return {1, '0'}
end
local first = redis.call('ZRANGE', ARGV[1], 0, 0, 'WITHSCORES')
return {0, string.format('%.6f', tonumber(first[2]) - now)}
"""


class RedisBudget:
    """The budget in Redis; every step raises ``StorageUnavailable`` rather than wait on a sick Redis."""

    def __init__(self, url: str, *, namespace: str, learn: bool, account: str) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ValidationError(
                "a redis storage_url needs the redis client: pip install 'taskrouter-async[redis]'"
            ) from None
        #: The URL for logs: without its credentials.
        self.name = redact_url(url) or ""
        self._secrets = url_secrets(url)
        if url.startswith("redis+unix://"):
            url = "unix://" + url.removeprefix("redis+unix://")
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=STORAGE_TIMEOUT / 2,
            socket_connect_timeout=STORAGE_TIMEOUT / 2,
            retry=Retry(NoBackoff(), 0),
        )
        self._reserve_script = self._client.register_script(RESERVE)
        self._take_script = self._client.register_script(TAKE)
        self._refund_script = self._client.register_script(REFUND)
        self._publish_script = self._client.register_script(PUBLISH)
        self._lease_script = self._client.register_script(LEASE)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self._prefix = f"{NAMESPACE}:{namespace}:"
        self._learn = "1" if learn else "0"
        self._account = account
        #: This process in the fleet's registry.
        self._pid = uuid.uuid4().hex
        self._threads: anyio.CapacityLimiter | None = None

    async def reserve(self, name: str, lookup: str, pace: Pace, max_delay: float) -> tuple[Turn | None, Shared]:
        """Reserve a turn (and a window slot if it is due at once); ``None`` if over ``max_delay`` away.

        If the caller stops waiting (cancelled, or past ``STORAGE_TIMEOUT``) while the script runs,
        the turn it reserves is handed back: by the worker thread if the script is still running,
        by the caller (shielded) if it had finished.
        """
        handoff = _Handoff()
        try:
            return await self._run(self._reserve_for, handoff, name, lookup, pace, max_delay)
        except BaseException:
            turn = handoff.abandon()
            if turn is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(StorageUnavailable):
                    await self.refund(turn)
            raise

    async def take(self, name: str, pace: Pace) -> float | None:
        wait = float(_text(await self._run(self._take_script, [], [self._prefix, name, pace.cap, pace.per])))
        return None if wait < 0 else wait

    async def refund(self, turn: Turn) -> None:
        await self._run(self._refund_script, [], [self._prefix, turn.name, turn.ticket, turn.interval])

    async def publish(self, name: str, pace: Pace | None, lookup: str, concurrency_cap: int | None) -> None:
        """Share a learned pace, an operation's endpoint key and the account's engaged concurrency cap."""
        rate, cap = ("", "") if pace is None else (f"{pace.rate:.6f}", str(pace.cap))
        engage = ("", "") if concurrency_cap is None else (str(concurrency_cap), str(ENGAGED_FOR))
        await self._run(self._publish_script, [], [self._prefix, name, rate, cap, lookup, self._account, *engage])

    async def lease(self, cap: int, ttl: float) -> tuple[str | None, float]:
        """One of the account's ``cap`` slots: ``(lease id, 0)``, or ``(None, seconds to the next expiry)``."""
        lease = uuid.uuid4().hex
        reply = await self._run(self._lease_script, [], [self._lease_key(), cap, ttl, lease])
        return (lease, 0.0) if int(reply[0]) == 1 else (None, float(_text(reply[1])))

    async def release(self, lease: str) -> None:
        await self._run(self._client.zrem, self._lease_key(), lease)

    def close(self) -> None:
        """Close the connection pool's sockets (a Redis call still running in a thread finishes first)."""
        self._client.close()

    def _lease_key(self) -> str:
        return f"{self._prefix}leases:{self._account}"

    def _reserve_for(
        self, handoff: _Handoff, name: str, lookup: str, pace: Pace, max_delay: float
    ) -> tuple[Turn | None, Shared]:
        """In the worker thread: the script; then hand the turn over, or back to Redis if the caller is gone."""
        reply = self._reserve_script(
            [],
            [
                *(self._prefix, name, lookup, f"{pace.rate:.6f}", pace.cap, pace.per, pace.burst, max_delay),
                *(self._pid, self._learn, self._account),
            ],
        )
        resolved, rate, cap, fleet, concurrency, engaged = (_text(value) for value in reply[4:10])
        shared = Shared(
            name=resolved,
            pace=Pace(rate=float(rate), cap=int(cap), per=pace.per, burst=pace.burst),
            fleet=int(fleet),
            concurrency_cap=int(concurrency) if concurrency else None,
            engaged_for=float(engaged) if engaged else 0.0,
        )
        if int(reply[0]) != 1:
            return None, shared
        turn = Turn(
            float(_text(reply[1])),
            _text(reply[2]),
            slot=int(reply[3]) == 1,
            name=resolved,
            interval=shared.pace.interval,
        )
        if not handoff.deliver(turn):
            self._refund_script([], [self._prefix, turn.name, turn.ticket, turn.interval])
        return turn, shared

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking Redis step in a worker thread, within ``STORAGE_TIMEOUT``."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(_THREADS)
        try:
            with anyio.fail_after(STORAGE_TIMEOUT):
                # abandon_on_cancel: a stuck call (a hung Redis, a slow DNS lookup) never holds the
                # caller; a turn it reserves later is handed back (``_Handoff``), a window slot goes unused.
                return await anyio.to_thread.run_sync(function, *args, abandon_on_cancel=True, limiter=self._threads)
        except self._errors as exc:
            raise StorageUnavailable(self._describe(exc)) from None
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
