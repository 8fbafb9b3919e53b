"""The default engine: httpcore connection pools used directly, without httpx Request/Response objects.

httpcore scans every connection and queued request of a pool on each request, so one pool of
100 connections spends most of its CPU on itself under load. This engine splits the connection
limit exactly over several small pools and sends each request to a pool with a free connection.
When every connection is busy, the request waits here, in one queue for all pools, and takes the
first connection freed in any pool: so the total never exceeds ``max_connections`` and no request
waits while a connection is free. Works wherever httpx does (asyncio and trio).
"""

from __future__ import annotations

import math
import ssl
from collections import deque
from collections.abc import Mapping

import anyio
import httpcore
import httpx

from .base import EngineClosed, Exchange, deadline_exceeded, no_free_connection, pool_wait_bound, read_capped

__all__ = ["CONNECTIONS_PER_POOL", "HttpcoreEngine"]

#: Connections per pool: small enough for httpcore's per-request scan to stay cheap.
CONNECTIONS_PER_POOL = 4

# httpx maps httpcore's exceptions with a private helper; this is the same table, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
)


def split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal whole numbers that add up to it exactly."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class _Waiter:
    """A request waiting for a connection in any pool; ``pool`` is the one handed to it."""

    __slots__ = ("event", "pool")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.pool: int | None = None


class HttpcoreEngine:
    """Several small httpcore pools sharing one connection limit, for one origin."""

    name = "httpx"

    def __init__(
        self, origin: str, limits: httpx.Limits, ssl_context: ssl.SSLContext | None, proxy: str | None
    ) -> None:
        url = httpx.URL(origin)
        self._origin = origin
        self._scheme = url.raw_scheme
        self._host = url.raw_host
        self._port = url.port
        total = limits.max_connections
        count = 1 if total is None else max(1, math.ceil(total / CONNECTIONS_PER_POOL))
        capacities: list[int | None] = [None] if total is None else list(split(total, count))
        keepalive = limits.max_keepalive_connections
        keepalives: list[int | None] = (
            [None] * count if keepalive is None else list(split(min(keepalive, total or keepalive), count))
        )
        self._pools: list[httpcore.AsyncConnectionPool] = [
            _pool(capacity, alive, limits.keepalive_expiry, ssl_context, proxy)
            for capacity, alive in zip(capacities, keepalives, strict=True)
        ]
        #: Requests each pool is serving now, and how many it can serve at once (``inf`` when unlimited).
        self._busy = [0] * count
        self._capacity = [math.inf if c is None else c for c in capacities]
        self._next = 0
        #: Requests waiting for a connection, first come first served, whichever pool frees one.
        self._waiters: deque[_Waiter] = deque()
        self.closed = False

    @property
    def pool_capacities(self) -> list[float]:
        return list(self._capacity)

    def _free_pool(self) -> int | None:
        """A pool with a free connection, starting after the last one picked; ``None`` when all are busy."""
        if self._waiters:
            return None  # those who came first get the next free connections
        busy, capacity, count = self._busy, self._capacity, len(self._busy)
        start = self._next
        for offset in range(count):
            index = (start + offset) % count
            if busy[index] < capacity[index]:
                self._next = (index + 1) % count
                busy[index] += 1
                return index
        return None

    async def _wait_for_pool(self, bound: float | None) -> int:
        """The first connection any pool frees, within ``bound`` seconds (``None``: no bound)."""
        waiter = _Waiter()
        self._waiters.append(waiter)
        try:
            with anyio.fail_after(bound):
                await waiter.event.wait()
        except BaseException:
            if waiter.pool is None:
                self._waiters.remove(waiter)
            else:
                self._release(waiter.pool)  # handed a connection at the last moment: pass it on
            raise
        assert waiter.pool is not None
        return waiter.pool

    def _release(self, index: int) -> None:
        """Hand the connection just freed in pool ``index`` to the first request waiting, if any."""
        if self._waiters:
            waiter = self._waiters.popleft()
            waiter.pool = index
            waiter.event.set()
        else:
            self._busy[index] -= 1

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        phase_timeouts: httpx.Timeout,
        deadline: float | None,
    ) -> Exchange:
        """Wait for a connection (the pool timeout), then send; the deadline covers both."""
        if self.closed:
            raise EngineClosed
        index = self._free_pool()
        remaining = deadline
        if index is None:
            index, remaining = await self._wait(phase_timeouts.pool, deadline)
        try:
            with anyio.move_on_after(remaining):
                return await self._send(index, method, url, headers, body, phase_timeouts)
            raise deadline_exceeded(deadline)
        finally:
            self._release(index)

    async def _wait(self, pool_timeout: float | None, deadline: float | None) -> tuple[int, float | None]:
        """A pool with a free connection and the time left of the deadline, or ``httpx.PoolTimeout``."""
        started = anyio.current_time()
        try:
            index = await self._wait_for_pool(pool_wait_bound(pool_timeout, deadline))
        except TimeoutError:
            raise no_free_connection(pool_timeout, deadline) from None
        return index, None if deadline is None else deadline - (anyio.current_time() - started)

    async def _send(
        self,
        index: int,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        phase_timeouts: httpx.Timeout,
    ) -> Exchange:
        if self.closed:
            raise EngineClosed
        target = url[len(self._origin) :].encode("ascii") if url.startswith(self._origin) else httpx.URL(url).raw_path
        request = httpcore.Request(
            method.encode("ascii"),
            httpcore.URL(scheme=self._scheme, host=self._host, port=self._port, target=target),
            headers=[(k.encode("ascii"), v.encode("latin-1")) for k, v in headers.items()]
            + ([(b"Content-Length", str(len(body)).encode("ascii"))] if body is not None else []),
            content=body,
            extensions={"timeout": phase_timeouts.as_dict()},
        )
        try:
            response = await self._pools[index].handle_async_request(request)
            try:
                return await _read(response)
            finally:
                await response.aclose()
        except httpx.TransportError:
            raise
        except Exception as exc:
            for source, mapped in _ERRORS:
                if isinstance(exc, source):
                    raise mapped(str(exc) or type(exc).__name__) from exc
            raise

    async def aclose(self) -> None:
        self.closed = True
        for pool in self._pools:
            await pool.aclose()

    def connections(self) -> list[httpcore.AsyncConnectionInterface]:
        """Every connection the pools hold now (for tests that prove nothing leaks)."""
        return [connection for pool in self._pools for connection in pool.connections]


def _pool(
    capacity: int | None,
    keepalive: int | None,
    expiry: float | None,
    ssl_context: ssl.SSLContext | None,
    proxy: str | None,
) -> httpcore.AsyncConnectionPool:
    if proxy is not None:
        url = httpx.URL(proxy)  # httpcore takes a proxy's credentials apart from its URL, as httpx does
        return httpcore.AsyncHTTPProxy(
            proxy_url=str(url.copy_with(username=None, password=None)),
            proxy_auth=(url.username, url.password) if url.userinfo else None,
            ssl_context=ssl_context,
            max_connections=capacity,
            max_keepalive_connections=keepalive,
            keepalive_expiry=expiry,
        )
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, max_connections=capacity, max_keepalive_connections=keepalive, keepalive_expiry=expiry
    )


async def _read(response: httpcore.Response) -> Exchange:
    headers = httpx.Headers(response.headers)
    return response.status, headers, await read_capped(response.aiter_stream(), response.status, headers)
