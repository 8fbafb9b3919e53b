"""The fast engine (``engine="aiohttp"``, the ``taskrouter-async[aiohttp]`` extra): aiohttp used directly.

No httpx objects are built on the way: one ``aiohttp.ClientSession`` per client carries the bytes.
Two aiohttp habits are switched off so that the pipeline's rules hold exactly:

- aiohttp re-sends an idempotent request once by itself when a kept-alive connection turns out
  dead (RFC 9112 section 9.3.1). That would be a second retry layer under ours, so a client
  middleware turns those failures into an exception aiohttp does not retry.
- Its failures are mapped to the httpx exceptions the retry layer reads: only a failure to get
  a connection means "not sent"; a connection that broke after that may have carried the request.

TLS is verified with the CA bundle httpx uses, and proxies come from the client's settings.
Imported only when the engine is chosen; runs on asyncio only.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping

import aiohttp
import httpx
import sniffio
import yarl

from . import base
from .base import EngineClosed, Exchange, deadline_exceeded, no_free_connection, pool_wait_bound, read_capped

__all__ = ["AiohttpEngine"]


class _BrokeAfterSending(Exception):
    """A connection failed once the request was under way; aiohttp does not retry this type."""

    def __init__(self, cause: aiohttp.ClientError) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.cause = cause


async def _no_hidden_retry(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    try:
        return await handler(request)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        raise
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _BrokeAfterSending(exc) from exc


#: aiohttp re-sends only idempotent methods; a POST (every update) skips the middleware and its cost.
_RETRIED_BY_AIOHTTP = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_NO_HIDDEN_RETRY = (_no_hidden_retry,)


class AiohttpEngine:
    """One aiohttp session for one origin, opened on first use inside the running event loop."""

    name = "aiohttp"

    def __init__(
        self, origin: str, limits: httpx.Limits, ssl_context: ssl.SSLContext | None, proxy: str | None
    ) -> None:
        parsed = yarl.URL(origin)
        self._origin = origin
        self._scheme, self._host, self._port = parsed.scheme, parsed.raw_host, parsed.explicit_port
        self._limits = limits
        self._ssl_context = ssl_context
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        #: Requests allowed in flight: waiting here is the pool timeout, which aiohttp folds into connecting.
        self._slots = asyncio.Semaphore(limits.max_connections) if limits.max_connections else None
        self.closed = False
        self._timeout_for: tuple[httpx.Timeout, float | None, aiohttp.ClientTimeout] | None = None

    def _open(self) -> aiohttp.ClientSession:
        if sniffio.current_async_library() != "asyncio":
            raise RuntimeError("the aiohttp engine runs on asyncio only: use engine='httpx' with trio")
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=self._ssl_context or True,  # no context: plain http, nothing to verify
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            proxy=self._proxy,
            # The pipeline sends the same headers on every engine: no compression asked for, no cookies kept.
            skip_auto_headers=("Accept-Encoding",),
            # A compressed body is decoded by ``read_capped``, as on every engine, with its size bounded.
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self._session

    def _client_timeout(self, timeout: httpx.Timeout, deadline: float | None) -> aiohttp.ClientTimeout:
        """aiohttp's form of the timeouts: the attempt deadline is its ``total`` (reading the body included),
        then connect and each read. The pool timeout is the slots' (a wait for a slot counts against the
        deadline: see ``_wait_for_slot``). aiohttp has no write timeout: the deadline bounds a stalled write."""
        cached = self._timeout_for
        if cached is not None and cached[0] is timeout and cached[1] == deadline:
            return cached[2]
        converted = aiohttp.ClientTimeout(
            total=deadline, connect=timeout.connect, sock_connect=timeout.connect, sock_read=timeout.read
        )
        self._timeout_for = (timeout, deadline, converted)
        return converted

    async def _wait_for_slot(
        self, slots: asyncio.Semaphore, timeout: httpx.Timeout, deadline: float | None
    ) -> aiohttp.ClientTimeout:
        """Wait for a free slot within the pool timeout and the attempt deadline, whichever ends first;
        return aiohttp's timeouts for what is left of the deadline (its total then ends the attempt on time).
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.wait_for(slots.acquire(), pool_wait_bound(timeout.pool, deadline))
        except asyncio.TimeoutError:
            raise no_free_connection(timeout.pool, deadline) from None
        if deadline is None:
            return self._client_timeout(timeout, deadline)
        left = max(deadline - (loop.time() - started), 0.001)  # aiohttp reads a total of 0 as "no limit"
        return aiohttp.ClientTimeout(
            total=left, connect=timeout.connect, sock_connect=timeout.connect, sock_read=timeout.read
        )

    def _url(self, url: str) -> yarl.URL:
        """The URL as yarl's object, built from its parts: the pipeline's URLs are on our origin and already
        encoded, so yarl need not parse and re-quote each one (every reservation SID is a new URL)."""
        if not url.startswith(self._origin):
            return yarl.URL(url)
        path, _, query = url[len(self._origin) :].partition("?")
        return yarl.URL.build(
            scheme=self._scheme, host=self._host or "", port=self._port, path=path, query_string=query, encoded=True
        )

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        phase_timeouts: httpx.Timeout,
        deadline: float | None,
    ) -> Exchange:
        if self.closed:
            raise EngineClosed
        session = self._session or self._open()
        slots = self._slots
        client_timeout = self._client_timeout(phase_timeouts, deadline)
        if slots is not None:
            if slots.locked():
                client_timeout = await self._wait_for_slot(slots, phase_timeouts, deadline)
            else:
                await slots.acquire()  # free: returns at once
        try:
            response = await session.request(
                method,
                self._url(url),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=client_timeout,
                middlewares=_NO_HIDDEN_RETRY if method in _RETRIED_BY_AIOHTTP else (),
            )
            try:
                status, response_headers = response.status, response.headers
                declared = response_headers.get("Content-Length", "")
                if (
                    declared.isdigit()
                    and int(declared) <= base.MAX_RESPONSE_BYTES
                    and "Content-Encoding" not in response_headers
                ):
                    content = await response.read()
                else:
                    content = await read_capped(response.content.iter_any(), status, response_headers)
            except BaseException:
                response.close()  # a body left half-read must not go back to the pool
                raise
            response.release()
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc) from exc
        except _BrokeAfterSending as exc:
            raise httpx.ReadError(str(exc)) from exc.cause
        except asyncio.TimeoutError:  # aiohttp's total timeout: the attempt deadline
            raise deadline_exceeded(deadline) from None
        finally:
            if slots is not None:
                slots.release()
        return status, response_headers, content

    async def aclose(self) -> None:
        self.closed = True
        if self._session is not None:
            await self._session.close()


def _httpx_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    """The httpx exception that says the same thing, for the retry layer (``_retry.was_sent``)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)  # waiting for a pooled connection, or connecting
    if isinstance(exc, aiohttp.ClientConnectorError):
        if type(exc) is aiohttp.ClientConnectorError:  # aiohttp's text says "ssl:default" even for plain http
            message = f"Cannot connect to host {exc.host}:{exc.port} [{exc.strerror or exc.os_error}]"
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return httpx.ReadError(message)
    return httpx.RemoteProtocolError(message)
