"""The Rust engine (``engine="pyreqwest"``, the ``taskrouter-async[pyreqwest]`` extra): reqwest/hyper via pyreqwest.

One ``pyreqwest.client.Client`` per client carries the bytes; Python only hands over the request and
takes the status, headers and body. Three pyreqwest habits are set so that the pipeline's rules hold:

- It reads up to 64 KiB of the body before it returns the headers, so an oversized body would fail
  as a connection error before its declared size is checked: that pre-read is off
  (``streamed_read_buffer_limit(0)``) and the body is read here under the size cap.
- Its exception *types* do not say whether a request left: a kept-alive connection that drops after a
  POST was written raises ``ConnectError``, and the attempt deadline firing while the server thinks
  raises ``ConnectTimeoutError``. See ``_failed_before_sending`` for the signal used instead.
- Its own connection limit and pool timeout are used (``max_connections``, ``pool_timeout``); a
  pool timeout is ``httpx.PoolTimeout``. Its per-request total timeout is the attempt deadline, and
  it counts the wait for a connection (pyreqwest shortens the request's timeout by that wait).

Timeouts for connecting, each read and waiting for a connection are the client's own (pyreqwest sets
them per client, not per request); ``with_options(timeout=...)`` changes the attempt deadline.
No compression is asked for, redirects are not followed, proxies come from the client's settings
only, and TLS trusts the CA bundle httpx loads (as the other engines do), added to pyreqwest's roots.
Imported only when chosen; CPython 3.11 or later, asyncio only.
"""

from __future__ import annotations

import asyncio
import atexit
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta

import httpx
import sniffio
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import (
    ClientClosedError,
    DecodeError,
    PoolTimeoutError,
    PyreqwestError,
    RequestError,
    RequestTimeoutError,
)
from pyreqwest.proxy import ProxyBuilder
from pyreqwest.response import Response

from . import base
from .base import EngineClosed, Exchange, deadline_exceeded, no_free_connection

__all__ = ["PyreqwestEngine"]

#: hyper-util's connection-pool client names the phase a failure happened in; ``Connect`` is the connector
#: (DNS, TCP, proxy tunnel, TLS), so the request had not been written. reqwest's ``is_connect()`` tests
#: the same thing; pyreqwest shows it only as this entry of the cause chain.
_CONNECT_PHASE = "client error (Connect)"


def _failed_before_sending(exc: RequestError) -> bool:
    """Whether pyreqwest's failure proves the request never left: only a failure to get a connection does.

    pyreqwest exposes no flag for this and picks its exception types partly by matching messages, so
    the type alone would call a dropped kept-alive POST "not sent". What it does carry is the Rust
    error's cause chain (``details["causes"]``); the pool timeout is its own type. Anything not
    recognised here counts as "may have been sent" (fail safe: at worst a POST is not retried).
    """
    if isinstance(exc, PoolTimeoutError):
        return True
    causes = exc.details.get("causes") or ()
    return any(cause.get("message") == _CONNECT_PHASE for cause in causes)


def _httpx_error(exc: RequestError, pool_timeout: float | None, deadline: float | None) -> httpx.TransportError:
    """The httpx exception that says the same thing, for the retry layer (``_retry.was_sent``)."""
    message = str(exc.message) or type(exc).__name__
    if isinstance(exc, PoolTimeoutError):
        return no_free_connection(pool_timeout, deadline)
    connecting = _failed_before_sending(exc)
    if isinstance(exc, RequestTimeoutError):
        return httpx.ConnectTimeout(message) if connecting else deadline_exceeded(deadline)
    if connecting:
        return httpx.ConnectError(_with_causes(exc))
    if isinstance(exc, DecodeError):  # an unparsable status line or headers; body decoding is ours
        return httpx.RemoteProtocolError(_with_causes(exc))
    return httpx.ReadError(_with_causes(exc))


def _with_causes(exc: RequestError) -> str:
    """pyreqwest's message and what its causes add (the URL, which the pipeline's error names anyway, left out)."""
    causes = [c.get("message", "") for c in exc.details.get("causes") or ()]
    return "; ".join([exc.message, *(c for c in causes if c and not c.startswith("error sending request for url"))])


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


class PyreqwestEngine:
    """One pyreqwest client for one origin, built on first use inside the running asyncio loop."""

    name = "pyreqwest"

    def __init__(
        self,
        limits: httpx.Limits,
        timeout: httpx.Timeout,
        ssl_context: ssl.SSLContext | None,
        proxy: str | None,
    ) -> None:
        self._limits = limits
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._proxy = proxy
        self._client: Client | None = None
        self._opening: asyncio.Lock | None = None
        self._deadline_for: tuple[float | None, timedelta | None] = (None, None)
        self.closed = False
        #: Requests under way (each holds one of reqwest's connections); reqwest's pool itself is not visible.
        self.in_flight = 0

    async def _open(self) -> Client:
        """The pyreqwest client, built once, in a worker thread: building one loads the system's root
        certificates, which blocks for 40-150 ms, too long to hold the event loop."""
        if sniffio.current_async_library() != "asyncio":
            raise RuntimeError("the pyreqwest engine runs on asyncio only: use engine='httpx' with trio")
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._client is None:
                client = await asyncio.to_thread(self._builder().build)
                if self.closed:  # closed while it was being built
                    await client.close()
                    raise EngineClosed
                self._client = client
                _unclosed.add(self)
            return self._client

    def _builder(self) -> ClientBuilder:
        limits, timeout = self._limits, self._timeout
        builder: ClientBuilder = (
            ClientBuilder()
            .follow_redirects(False)
            .referer(False)
            # The pipeline sends the same headers on every engine: no compression asked for.
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .http1_only()
            .max_connections(limits.max_connections)
            .pool_idle_timeout(None if limits.keepalive_expiry is None else _seconds(limits.keepalive_expiry))
            # reqwest reads HTTP(S)_PROXY itself; the client's settings (trust_env, NO_PROXY) decided already.
            .no_proxy()
        )
        if limits.max_keepalive_connections is not None:
            builder = builder.pool_max_idle_per_host(limits.max_keepalive_connections)
        if timeout.connect is not None:
            builder = builder.connect_timeout(_seconds(timeout.connect))
        if timeout.read is not None:
            builder = builder.read_timeout(_seconds(timeout.read))
        if timeout.pool is not None:
            builder = builder.pool_timeout(_seconds(timeout.pool))
        if self._proxy is not None:
            builder = builder.proxy(_proxy(self._proxy))
        if self._ssl_context is not None:
            for der in self._ssl_context.get_ca_certs(binary_form=True):
                builder = builder.add_root_certificate_der(der)
        return builder

    def _total_timeout(self, deadline: float | None) -> timedelta | None:
        cached = self._deadline_for
        if cached[0] != deadline or cached[1] is None:
            self._deadline_for = cached = (deadline, None if deadline is None else _seconds(deadline))
        return cached[1]

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
        # The transfer runs in its own frame: an error raised here (a bad Content-Encoding) keeps this frame
        # alive in its traceback, and it must not keep the pyreqwest client (and its idle connections) too.
        self.in_flight += 1
        try:
            status, response_headers, content = await self._transfer(method, url, headers, body, deadline)
        finally:
            self.in_flight -= 1
        return status, response_headers, content

    async def _transfer(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, deadline: float | None
    ) -> Exchange:
        builder = (self._client or await self._open()).request(method, url).headers(headers)
        builder = builder.streamed_read_buffer_limit(0)
        if body is not None:
            builder = builder.body_bytes(body)
        total = self._total_timeout(deadline)
        if total is not None:
            builder = builder.timeout(total)
        try:
            async with builder.build_streamed() as response:
                status, response_headers = response.status, response.headers
                return status, response_headers, await _read_capped(response, status, response_headers)
        except asyncio.CancelledError:
            # pyreqwest raises a CancelledError of its own in place of the one thrown into it, without the
            # canceller's message, by which anyio's cancel scopes know theirs. A scope still cancelling
            # this task cancels it again at the next step, and that error (with this one as its context)
            # is what propagates; a plain ``task.cancel()`` gets this one.
            await asyncio.sleep(0)
            raise
        except ClientClosedError:
            raise EngineClosed from None
        except RequestError as exc:
            raise _httpx_error(exc, self._timeout.pool, deadline) from exc
        except PyreqwestError as exc:  # not a request failure (a bug, or a setting pyreqwest refused)
            raise httpx.RemoteProtocolError(str(exc)) from exc

    async def aclose(self) -> None:
        self.closed = True
        client, self._client = self._client, None
        if client is not None:
            _unclosed.discard(self)
            await client.close()  # cancels requests in flight; the pool's connections close once it is dropped
            del client
            await _let_the_runtime_settle()


#: Engines whose client is still open, for the exit hook below (weakly held: a dropped engine needs no help).
_unclosed: weakref.WeakSet[PyreqwestEngine] = weakref.WeakSet()

#: How long, in 1 ms steps, the runtime thread gets the GIL after a client is closed and dropped (see below).
_SETTLE_STEPS = 20


async def _let_the_runtime_settle() -> None:
    """Give pyreqwest's runtime thread the GIL while the interpreter is fully alive.

    Why (measured on CPython 3.11, pyreqwest 0.15; gdb on the aborts): after a client is closed and
    dropped, pyreqwest's runtime thread still has Python work to do (it re-enters Python through pyo3).
    If the main thread reaches interpreter shutdown first, CPython ends the runtime thread inside
    ``PyGILState_Ensure`` and pyo3's guard then releases a thread state that is no longer current:
    ``Fatal Python error: PyGILState_Release`` and SIGABRT (about 1 exit in 3 in a tight script).
    pyreqwest 0.15 has no runtime shutdown or join to wait on, so the event loop sleeps a few
    milliseconds here, GIL released, for that thread to finish; the ``exitcheck`` nox session runs
    a script and the CLI hundreds of times to hold this to zero aborts.
    """
    for _ in range(_SETTLE_STEPS):
        await asyncio.sleep(0.001)


@atexit.register
def _drop_unclosed_clients() -> None:
    """At exit (before interpreter shutdown), drop clients never closed and let the runtime thread settle."""
    engines = list(_unclosed)
    for engine in engines:
        engine._client = None
    if engines:
        time.sleep(_SETTLE_STEPS * 0.001)


async def _read_capped(response: Response, status: int, headers: Mapping[str, str]) -> bytes:
    """The whole body, through the engines' one capped reader (``base.read_capped``: size cap, decoding).

    A body of declared length that is not content-encoded, and within the cap, is taken in one call:
    hyper stops at the declared length, and one call into the runtime is cheaper than one a chunk.
    """
    declared = headers.get("content-length", "")
    encoding = headers.get("content-encoding", "").lower()
    if declared.isdigit() and int(declared) <= base.MAX_RESPONSE_BYTES and encoding in ("", "identity"):
        return bytes(await response.bytes())
    # pyreqwest's HeaderMap.getall takes no default, so the shared reader gets httpx's view of the headers.
    return await base.read_capped(_chunks(response), status, httpx.Headers(list(headers.items())))


async def _chunks(response: Response) -> AsyncIterator[bytes]:
    """The body's bytes as received, a chunk at a time."""
    reader = response.body_reader
    while (chunk := await reader.read_chunk()) is not None:
        yield bytes(chunk)


def _proxy(url: str) -> ProxyBuilder:
    """Every request through ``url``; its user and password (if any) as Proxy-Authorization, not in the URL."""
    parsed = httpx.URL(url)
    proxy = ProxyBuilder.all(str(parsed.copy_with(username=None, password=None)))
    if parsed.userinfo:
        proxy = proxy.basic_auth(parsed.username, parsed.password)
    return proxy
