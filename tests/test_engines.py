"""The HTTP engines: connection limits, failure classification, one retry layer, proxies, closing.

Tests against real servers on 127.0.0.1 run on every engine (the ``engine`` fixture); the
aiohttp engine runs on asyncio only.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import importlib.util
import json
import pathlib
import ssl
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
import trustme
import yarl
from aiohttp.client_reqrep import ConnectionKey
from httpx import _utils as httpx_utils
from multidict import CIMultiDict, CIMultiDictProxy

from taskrouter_async import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncTaskRouter,
    ClientClosedError,
    TaskReservationUpdate,
    ValidationError,
    _retry,
)
from taskrouter_async import _engines as engines
from taskrouter_async._engines import ENGINES, UnreadableBody
from taskrouter_async._engines import base as engine_base
from taskrouter_async._engines.aiohttp_engine import _httpx_error
from taskrouter_async._engines.httpcore_engine import CONNECTIONS_PER_POOL, HttpcoreEngine, split
from taskrouter_async._engines.httpx_engine import HttpxEngine
from taskrouter_async._engines.proxy import environment_proxy
from taskrouter_async._retry import was_sent

from .conftest import PYREQWEST
from .loopback import Conn, Handler, LoopbackServer, Request, head
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID
from .tls_proxy import ConnectProxy, TLSServer

pytestmark = pytest.mark.anyio

ACCEPT = TaskReservationUpdate(reservation_status="accepted")
BOUND = 10.0
RESERVATION = {
    "account_sid": ACCOUNT_SID,
    "date_created": "2014-05-14T10:50:02Z",
    "date_updated": "2014-05-15T16:03:42Z",
    "reservation_status": "accepted",
    "sid": RESERVATION_SID,
    "task_sid": TASK_SID,
    "worker_sid": "WK" + "d" * 32,
    "workspace_sid": WORKSPACE_SID,
}


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.002)


async def answer(request: Request, conn: Conn) -> None:
    await conn.respond(200, json.dumps(RESERVATION), headers=[("ETag", '"e9"')])


async def stall(request: Request, conn: Conn) -> None:
    await conn.stall(30)


async def fetch(client: AsyncTaskRouter) -> Any:
    return await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)


async def update(client: AsyncTaskRouter) -> Any:
    return await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT)


# --- choosing an engine -------------------------------------------------------------------------


def test_the_default_engine_is_auto_until_first_used() -> None:
    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN)
    assert client.engine == "auto"
    assert "engine='auto'" in repr(client)


@pytest.mark.parametrize(
    ("library", "installed", "expected"),
    [
        ("asyncio", {"pyreqwest", "aiohttp"}, "pyreqwest"),
        ("asyncio", {"aiohttp"}, "aiohttp"),
        ("asyncio", set(), "httpx"),
        ("trio", {"pyreqwest", "aiohttp"}, "httpx"),
    ],
)
def test_auto_picks_the_fastest_engine_installed(
    library: str, installed: set[str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "pyreqwest_usable", lambda: "pyreqwest" in installed)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: real_find_spec(name) if name in installed else None)
    assert engines.auto_engine_name(library) == expected


async def test_auto_resolves_on_entering_or_on_the_first_request(anyio_backend: str) -> None:
    """Entering ``async with`` resolves; so does the first request of a client never entered."""
    expected = engines.auto_engine_name(anyio_backend)
    with LoopbackServer(answer) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url) as client:
            assert client.engine == expected
        client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url)
        view = client.with_options(max_retries=0)
        assert view.engine == "auto"
        await update(view)
        assert (client.engine, view.engine) == (expected, expected)
        await fetch(client)
        await client.aclose()
    agents = [r.headers["user-agent"] for r in server.requests]
    assert len(agents) == 2
    assert all(f"({expected})" in agent for agent in agents), agents


@pytest.mark.parametrize("options", [{"http_client": httpx.AsyncClient()}, {"transport": httpx.MockTransport(print)}])
def test_auto_with_a_callers_http_client_or_transport_is_httpx(options: dict[str, Any]) -> None:
    assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, engine="auto", **options).engine == "httpx"


@pytest.mark.parametrize(
    "options",
    [
        {"engine": "requests"},
        {"engine": "aiohttp", "http_client": httpx.AsyncClient()},
        {"engine": "aiohttp", "transport": httpx.MockTransport(lambda r: httpx.Response(200))},
        {"http_client": httpx.AsyncClient(), "transport": httpx.AsyncHTTPTransport()},
    ],
)
def test_engine_choices_that_cannot_work_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, **options)


@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.parametrize("name", ["aiohttp", pytest.param("pyreqwest", marks=PYREQWEST)])
async def test_the_asyncio_only_engines_say_they_need_asyncio(name: Any) -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, engine=name) as client:
        with pytest.raises(RuntimeError, match="asyncio only"):
            await fetch(client)


# --- the same behaviour on every engine ------------------------------------------------------------


async def test_an_update_with_etag_round_trip(engine: str) -> None:
    with LoopbackServer(answer) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url) as client:
            assert client.engine == engine
            results = await client.task_reservations.update_all(
                [(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT, '"e8"')] * 5, concurrency=2
            )
    assert [r.reservation.etag for r in results if r.reservation] == ['"e9"'] * 5
    assert [r.body for r in server.requests] == [b"ReservationStatus=accepted"] * 5
    sent = server.requests[0].headers
    assert sent["if-match"] == '"e8"'
    assert sent["content-type"] == "application/x-www-form-urlencoded"
    assert sent["authorization"].startswith("Basic ")
    assert "accept-encoding" not in sent, "every engine sends the same headers: no compression asked for"
    assert sent["user-agent"].startswith("taskrouter-async/")
    assert f"({engine})" in sent["user-agent"]


async def test_the_connection_limit_is_never_exceeded(engine: str, request: pytest.FixtureRequest) -> None:
    if engine == "pyreqwest":  # a known gap, kept visible; not strict: most runs stay within the limit
        request.applymarker(
            pytest.mark.xfail(
                reason="pyreqwest limits requests in flight, not connections: hyper returns a connection to "
                "its pool in the background, so a request that starts meanwhile may open one more (docs/engines.md)",
                strict=False,
            )
        )
    for limit in (1, 5, 10, 13):
        with LoopbackServer(answer) as server, anyio.fail_after(BOUND):
            async with (
                AsyncTaskRouter(
                    ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, limits=httpx.Limits(max_connections=limit)
                ) as client,
                anyio.create_task_group() as tg,
            ):
                for _ in range(4 * limit):
                    tg.start_soon(fetch, client)
            assert 1 <= server.peak_connections <= limit, (limit, server.peak_connections)


async def test_no_request_waits_while_a_connection_is_free(engine: str) -> None:
    """4 of 8 connections held by stalled requests: the next requests get the free ones at once."""

    async def stall_first_four(request: Request, conn: Conn) -> None:
        if request.path.endswith("0"):
            await conn.stall(30)
        else:
            await answer(request, conn)

    timeout = httpx.Timeout(5.0, pool=0.2)
    with LoopbackServer(stall_first_four) as server, anyio.fail_after(BOUND):
        async with (
            AsyncTaskRouter(
                ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, limits=httpx.Limits(max_connections=8), timeout=timeout
            ) as client,
            anyio.create_task_group() as tg,
        ):
            stalled = "WR" + "0" * 32
            for _ in range(4):
                tg.start_soon(client.task_reservations.fetch, WORKSPACE_SID, TASK_SID, stalled)
            await server.wait_requests(4)
            for _ in range(4):
                await fetch(client)  # would raise PoolTimeout if it waited for a busy pool
            tg.cancel_scope.cancel()


async def test_a_waiting_request_takes_the_first_connection_freed_in_any_pool(engine: str) -> None:
    """All 8 connections busy: the ninth call gets the first one freed, whichever pool it is in.

    The default engine splits 8 connections into two pools and alternates between them, so the
    stalled requests (SIDs ending in 0) all sit in one pool and the slow ones (ending in 1) in the
    other; the ninth call must not wait for the stalled pool.
    """

    async def stall_or_slow(request: Request, conn: Conn) -> None:
        if request.path.endswith("0"):
            await conn.stall(30)
        else:
            if request.path.endswith("1"):
                await asyncio.sleep(0.3)
            await answer(request, conn)

    timeout = httpx.Timeout(5.0, pool=2.0)
    limits = httpx.Limits(max_connections=8)
    with LoopbackServer(stall_or_slow) as server, anyio.fail_after(BOUND):
        async with (
            AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, limits=limits, timeout=timeout) as client,
            anyio.create_task_group() as tg,
        ):
            for i in range(8):  # one at a time, so that each one's pool is chosen in this order
                tg.start_soon(client.task_reservations.fetch, WORKSPACE_SID, TASK_SID, "WR" + "0" * 31 + str(i % 2))
                await server.wait_requests(i + 1)
            started = anyio.current_time()
            await fetch(client)  # the default engine queued this on the stalled pool: PoolTimeout after 2 s
            assert anyio.current_time() - started < 1.5
            tg.cancel_scope.cancel()


async def test_the_deadline_covers_the_wait_for_a_connection(engine: str) -> None:
    """One connection, held 1.5 s by a first call; the second then gets a dripping answer.

    Its attempt must end at its deadline (3.5 s) counted from the call, not from when it got the
    connection, and the error must say so truthfully.
    """
    body = json.dumps(RESERVATION).encode()

    async def hold_then_drip(request: Request, conn: Conn) -> None:
        if request.path.endswith("0"):  # 1.5 s in all, a fifth at a time (each read within its 0.5 s)
            await conn.write(head(200, content_type="application/json", length=len(body)))
            step = -(-len(body) // 5)
            for start in range(0, len(body), step):
                await asyncio.sleep(0.3)
                await conn.write(body[start : start + step])
        else:
            await conn.write(head(200, content_type="application/json", length=len(body)))
            await conn.drip(body, 0.1)

    timeout = httpx.Timeout(0.5, pool=2.0)  # deadline: 2.0 + 3 x 0.5 = 3.5 s
    limits = httpx.Limits(max_connections=1)
    with LoopbackServer(hold_then_drip) as server, anyio.fail_after(BOUND):
        async with (
            AsyncTaskRouter(
                ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, limits=limits, timeout=timeout, max_retries=0
            ) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(client.task_reservations.fetch, WORKSPACE_SID, TASK_SID, "WR" + "0" * 32)
            await server.wait_requests(1)
            started = anyio.current_time()
            with pytest.raises(APITimeoutError, match=r"within the 3\.5s attempt deadline"):
                await fetch(client)
            elapsed = anyio.current_time() - started
    assert 3.3 < elapsed < 4.4, elapsed  # aiohttp started its total timeout after the wait: 1.5 + 3.5 s


async def test_a_deadline_spent_waiting_for_a_connection_is_a_pool_timeout(engine: str) -> None:
    """Nothing was sent, so the error says so: a pool timeout (retried even for an update), not a read timeout."""
    if engine == "pyreqwest":
        pytest.xfail(
            "pyreqwest 0.15 reports the request's total timeout, not its pool timeout, when the deadline ends "
            "the wait for a connection: the error says 'may have been sent' (fail safe: an update is not retried)"
        )
    timeout = httpx.Timeout(0.2, pool=None)  # no pool timeout of its own; the deadline is 0.6 s
    with LoopbackServer(stall) as server, anyio.fail_after(BOUND):
        async with (
            AsyncTaskRouter(
                ACCOUNT_SID,
                AUTH_TOKEN,
                base_url=server.url,
                limits=httpx.Limits(max_connections=1),
                timeout=timeout,
                max_retries=1,
            ) as client,
            anyio.create_task_group() as tg,
        ):
            patient = client.with_options(timeout=5.0)  # holds the only connection for 5 s
            tg.start_soon(patient.task_reservations.fetch, WORKSPACE_SID, TASK_SID, "WR" + "0" * 32)
            await server.wait_requests(1)
            expected = r"PoolTimeout: no free connection within the 0\.6s attempt deadline"
            with pytest.raises(APITimeoutError, match=expected) as caught:
                await update(client)
            tg.cancel_scope.cancel()
    assert caught.value.attempts == 2  # not sent, so retried even for an update
    assert len(server.requests) == 1


async def test_no_pool_timeout_still_leaves_an_attempt_deadline(engine: str) -> None:
    """``pool=None`` lifts only the wait for a connection: a dripping server is still stopped."""
    body = json.dumps(RESERVATION).encode()

    async def drip(request: Request, conn: Conn) -> None:
        await conn.write(head(200, content_type="application/json", length=len(body)))
        await conn.drip(body, 0.05)  # each read well within 0.2 s; the whole answer about 15 s

    with LoopbackServer(drip) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(
            ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, timeout=httpx.Timeout(0.2, pool=None)
        ) as client:
            assert client.timeout.pool is None
            started = anyio.current_time()
            with pytest.raises(APITimeoutError, match=r"within the 0\.6s attempt deadline"):
                await fetch(client)
    assert anyio.current_time() - started < 2.0


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (httpx.Limits(max_connections=0), "max_connections must be a positive"),
        (httpx.Limits(max_connections=-1), "max_connections must be a positive"),
        (httpx.Limits(max_keepalive_connections=-1), "max_keepalive_connections must be"),
        (httpx.Limits(keepalive_expiry=-1.0), "keepalive_expiry must be"),
        (None, "limits must be an httpx.Limits"),
    ],
)
def test_limits_are_checked_when_the_client_is_built(limits: Any, message: str) -> None:
    """``max_connections=0`` meant "unlimited" on one engine and "never" on the other: it is refused."""
    for engine in ENGINES:
        with pytest.raises(ValidationError, match=message):
            AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, engine=engine, limits=limits)


def test_limits_without_a_connection_limit_are_accepted() -> None:
    for engine in ENGINES:
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, engine=engine, limits=httpx.Limits(max_connections=None))


async def test_a_closed_client_raises_a_library_error(engine: str) -> None:
    with LoopbackServer(answer) as server:
        client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url)
        await fetch(client)
        await client.aclose()
        assert client.is_closed
        with pytest.raises(ClientClosedError, match="closed"):
            await fetch(client)


async def test_one_retry_layer_a_dropped_keep_alive_get_is_sent_once(engine: str) -> None:
    """aiohttp re-sends a GET by itself when a kept-alive connection drops; with max_retries=0, nothing may."""

    async def drop_second(request: Request, conn: Conn) -> None:
        if len(server.requests) == 1:
            await answer(request, conn)
        else:
            conn.close()

    with LoopbackServer(drop_second) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=0) as client:
            await fetch(client)
            with pytest.raises(APIConnectionError):
                await fetch(client)
        assert len(server.requests) == 2


async def test_a_dropped_connection_after_a_post_is_not_retried(engine: str) -> None:
    async def hang_up(request: Request, conn: Conn) -> None:
        conn.close()  # the update may have been applied: repeating it could apply it twice

    with LoopbackServer(hang_up) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=2) as client:
            with pytest.raises(APIConnectionError) as caught:
                await update(client)
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


async def test_a_kept_alive_connection_dropped_after_a_post_is_not_retried(engine: str) -> None:
    """The first update leaves a pooled connection; the server reads the second and hangs up (pyreqwest says
    ``ConnectError`` here, which must not mean "not sent")."""

    async def hang_up_on_the_second(request: Request, conn: Conn) -> None:
        if len(server.requests) == 1:
            await answer(request, conn)
        else:
            conn.close()

    one = httpx.Limits(max_connections=1)  # one connection (and one httpcore pool): the second update reuses it
    with LoopbackServer(hang_up_on_the_second) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=2, limits=one) as client:
            await update(client)
            with pytest.raises(APIConnectionError) as caught:
                await update(client)
        assert server.accepted == 1, "the second update went out on the kept-alive connection"
    assert caught.value.attempts == 1
    assert len(server.requests) == 2


async def test_a_reset_after_a_post_is_not_retried(engine: str) -> None:
    async def reset(request: Request, conn: Conn) -> None:
        conn.reset()

    with LoopbackServer(reset) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=2) as client:
            with pytest.raises(APIConnectionError) as caught:
                await update(client)
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


async def test_a_deadline_while_the_server_thinks_is_not_retried_for_a_post(engine: str) -> None:
    """pyreqwest calls this a ``ConnectTimeoutError``; the request was sent all the same."""
    with LoopbackServer(stall) as server, anyio.fail_after(BOUND):
        timeout = httpx.Timeout(0.3, connect=0.5, pool=0.5)
        async with AsyncTaskRouter(
            ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=2, timeout=timeout
        ) as client:
            with pytest.raises(APITimeoutError) as caught:
                await update(client)
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


async def test_a_full_pool_is_a_pool_timeout_and_retried_for_a_post(engine: str) -> None:
    """Nothing was sent while waiting for a connection: the update is retried, and the error says why."""
    with LoopbackServer(stall) as server, anyio.fail_after(BOUND):
        options: dict[str, Any] = {"limits": httpx.Limits(max_connections=1), "timeout": httpx.Timeout(5.0, pool=0.1)}
        async with (
            AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=1, **options) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(fetch, client)  # holds the only connection
            await server.wait_requests(1)
            with pytest.raises(APITimeoutError, match="PoolTimeout") as caught:
                await update(client)
            assert caught.value.attempts == 2
            tg.cancel_scope.cancel()
    assert len(server.requests) == 1


async def test_a_body_over_the_cap_is_refused_by_its_declared_size(engine: str) -> None:
    """The server declares 64 MiB, sends a few bytes and waits: the client refuses at the headers, at once.

    pyreqwest would otherwise pre-read 64 KiB before handing over the headers and time out instead.
    """

    async def huge_then_wait(request: Request, conn: Conn) -> None:
        await conn.write(head(200, content_type="application/json", length=64 * 1024 * 1024) + b'{"sid": ')
        await conn.stall(30)

    with LoopbackServer(huge_then_wait) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(
            ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=0, timeout=httpx.Timeout(5.0, connect=1.0)
        ) as client:
            with pytest.raises(APIResponseValidationError, match="over the"):
                await fetch(client)


async def test_a_refused_connection_is_retried_even_for_a_post(engine: str) -> None:
    with LoopbackServer(answer) as server:
        url = server.url  # the port is closed once the server stops
    with anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=url, max_retries=2) as client:
            with pytest.raises(APIConnectionError) as caught:
                await update(client)
    assert caught.value.attempts == 3
    assert not isinstance(caught.value, APITimeoutError)


# --- compressed bodies --------------------------------------------------------------------------------

#: A valid reservation padded to 2 MiB once decoded (about 2 KB compressed): over a cap of 1 MiB.
PADDED = json.dumps({**RESERVATION, "padding": " " * 2 * 1024 * 1024}).encode()


def _deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODED = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw deflate": _deflate_raw,
    "gzip, gzip": lambda data: gzip.compress(gzip.compress(data)),
}


def encoded_answer(encoding: str, body: bytes) -> Handler:
    data = ENCODED[encoding](body)
    header = "deflate" if encoding == "raw deflate" else encoding

    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(200, data, headers=[("Content-Encoding", header), ("ETag", '"e9"')])

    return handler


@pytest.mark.parametrize("encoding", list(ENCODED))
async def test_a_compressed_body_is_decoded(engine: str, encoding: str) -> None:
    with LoopbackServer(encoded_answer(encoding, json.dumps(RESERVATION).encode())) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url) as client:
            reservation = await fetch(client)
    assert reservation.sid == RESERVATION_SID


#: Stopping early inside httpx's or httpcore's stream (nested async generators) makes trio warn; the
#: connection is closed all the same (httpx issue #3686; test_hostile.py has the same mark).
_HTTPX_GENERATORS = pytest.mark.filterwarnings(r"ignore:Async generator 'http(x|core)\.:ResourceWarning")


@_HTTPX_GENERATORS
@pytest.mark.parametrize("encoding", list(ENCODED))
async def test_a_compressed_body_is_capped_as_it_is_decoded(
    engine: str, encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2 KB on the wire, 2 MiB decoded: refused on every engine (the default one used to return it)."""
    monkeypatch.setattr(engine_base, "MAX_RESPONSE_BYTES", 1024 * 1024)
    with LoopbackServer(encoded_answer(encoding, PADDED)) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=0) as client:
            with pytest.raises(APIResponseValidationError, match="decoded body is over the 1048576-byte limit"):
                await fetch(client)


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br"])
async def test_an_encoding_that_cannot_be_decoded_within_the_cap_is_refused(engine: str, encoding: str) -> None:
    async def handler(request: Request, conn: Conn) -> None:
        await conn.respond(200, b"\x00" * 64, headers=[("Content-Encoding", encoding)])

    with LoopbackServer(handler) as server, anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url, max_retries=0) as client:
            with pytest.raises(APIResponseValidationError, match="does not decode"):
                await fetch(client)


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 50 KB of gzip that decodes to 50 MiB."""
    return gzip.compress(b"\0" * 50 * 1024 * 1024)


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _OneChunk(httpx.AsyncByteStream):
    """A response body streamed as one chunk (``content=`` would make httpx read and decode it at once)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _one_chunk(self.data)


@_HTTPX_GENERATORS
@pytest.mark.filterwarnings(r"ignore:Async generator 'tests\.test_engines\._one_chunk':ResourceWarning")
@pytest.mark.parametrize("path", ["read_capped", "httpx engine"])
async def test_decoding_never_holds_much_more_than_the_cap(
    path: str, gzip_bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One 50 KB chunk that would inflate to 50 MiB: memory stays near the 1 MiB cap while it is refused."""
    monkeypatch.setattr(engine_base, "MAX_RESPONSE_BYTES", 1024 * 1024)
    headers = httpx.Headers({"Content-Encoding": "gzip", "Content-Length": str(len(gzip_bomb))})
    transport = httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, stream=_OneChunk(gzip_bomb)))
    engine = HttpxEngine(transport=transport)
    reading = (
        engine_base.read_capped(_one_chunk(gzip_bomb), 200, headers)
        if path == "read_capped"
        else engine.exchange("GET", "https://x.example/", {}, None, httpx.Timeout(5.0), 20.0)
    )
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableBody, match="decoded body is over"):
            await reading
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak


# --- proxies from the environment ------------------------------------------------------------------


async def test_the_proxy_from_the_environment_is_used(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A forward proxy on 127.0.0.1 sees every request, in absolute form; NO_PROXY and trust_env opt out."""
    with LoopbackServer(answer) as proxy, LoopbackServer(answer) as origin, anyio.fail_after(BOUND):
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=origin.url) as client:
            await fetch(client)
        assert [r.target for r in proxy.requests] == [
            f"{origin.url}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}"
        ]
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=origin.url, trust_env=False) as client:
            await fetch(client)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=origin.url) as client:
            await fetch(client)
        assert len(proxy.requests) == 1
        assert len(origin.requests) == 2


async def test_https_through_a_connect_proxy(
    engine: str, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    """HTTPS_PROXY names a CONNECT proxy on 127.0.0.1; the TLS server's CA comes from SSL_CERT_FILE."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with TLSServer(server_context, json.dumps(RESERVATION).encode()) as origin, ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with anyio.fail_after(BOUND):
            async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=origin.url) as client:
                reservation = await fetch(client)
    assert reservation.sid == RESERVATION_SID
    assert proxy.targets == [f"CONNECT {origin.url.removeprefix('https://')}"]


async def test_proxy_credentials_go_to_the_proxy_only(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(answer) as proxy, LoopbackServer(answer) as origin, anyio.fail_after(BOUND):
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://squid:pr0xy-secret@"))
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=origin.url) as client:
            await fetch(client)
    (request,) = proxy.requests
    assert request.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"squid:pr0xy-secret").decode()
    assert request.headers["authorization"].startswith("Basic ")  # the API's own credentials, as always


async def test_a_proxy_variable_without_a_scheme_means_http(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``HTTP_PROXY=host:port`` is ``http://host:port`` to httpx, requests and curl, and so to every engine."""
    with LoopbackServer(answer) as proxy, LoopbackServer(answer) as origin, anyio.fail_after(BOUND):
        monkeypatch.setenv("HTTP_PROXY", proxy.url.removeprefix("http://"))
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=origin.url) as client:
            reservation = await fetch(client)
    assert reservation.sid == RESERVATION_SID
    assert [r.target for r in proxy.requests] == [
        f"{origin.url}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}"
    ]
    assert origin.requests == []


def _httpx_proxy_for(url: str) -> str | None:
    """What httpx itself (trust_env=True) sends requests for ``url`` through."""
    patterns = sorted(
        ((httpx_utils.URLPattern(key), proxy) for key, proxy in httpx_utils.get_environment_proxies().items()),
        key=lambda route: route[0].priority,
    )
    return next((proxy for pattern, proxy in patterns if pattern.matches(httpx.URL(url))), None)


PROXY_ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"HTTPS_PROXY": "proxy.example:3128"},
    {"HTTPS_PROXY": "http://proxy.example:3128"},
    {"HTTPS_PROXY": "https://user:pw@proxy.example:3128"},
    {"HTTP_PROXY": "proxy.example:3128"},
    {"ALL_PROXY": "proxy.example:3128"},
    {"ALL_PROXY": "http://all.example:1", "HTTPS_PROXY": "http://tls.example:2"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": "*"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": "twilio.com"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": ".twilio.com"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": "taskrouter.twilio.com"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": "ilio.com, example.org"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": "127.0.0.1,localhost,::1"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": "https://taskrouter.twilio.com"},
    {"HTTPS_PROXY": "proxy.example:3128", "NO_PROXY": "http://taskrouter.twilio.com"},
    {"ALL_PROXY": "proxy.example:3128", "NO_PROXY": "all://127.0.0.1:8080"},
]
PROXY_TARGETS = [
    "https://taskrouter.twilio.com",
    "https://taskrouter.ie1.twilio.com",
    "http://127.0.0.1:8080",
    "http://localhost:9000",
    "http://[::1]:8080",
]


@pytest.mark.parametrize("environment", PROXY_ENVIRONMENTS, ids=lambda e: ";".join(f"{k}={v}" for k, v in e.items()))
def test_proxy_variables_are_read_as_httpx_reads_them(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for url in PROXY_TARGETS:
        assert environment_proxy(url) == _httpx_proxy_for(url), (environment, url)


@pytest.mark.parametrize("value", ["socks5://squid:pr0xy-secret@proxy.example:1080", "http://squid:pr0xy-secret@[::1"])
def test_a_proxy_the_engines_cannot_use_is_refused_when_the_client_is_built(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    for engine in ENGINES:
        with pytest.raises(ValidationError, match="HTTPS_PROXY") as caught:
            AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, engine=engine)
        assert "pr0xy-secret" not in str(caught.value)
    AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, trust_env=False)


# --- engine internals -------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "parts"), [(100, 25), (5, 2), (10, 3), (13, 4), (1, 1), (7, 7)])
def test_split_is_exact(total: int, parts: int) -> None:
    shares = split(total, parts)
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


def test_the_httpcore_engine_splits_the_limit_exactly() -> None:
    for total in (1, 5, 8, 10, 13, 100):
        engine = HttpcoreEngine(
            "https://x.example", httpx.Limits(max_connections=total), httpx.create_ssl_context(), None
        )
        assert sum(engine.pool_capacities) == total
        assert max(engine.pool_capacities) <= CONNECTIONS_PER_POOL


LOCAL = yarl.URL("http://127.0.0.1:9/")
REQUEST_INFO = aiohttp.RequestInfo(LOCAL, "POST", CIMultiDictProxy(CIMultiDict()), LOCAL)
CONNECTION = ConnectionKey("127.0.0.1", 9, False, True, None, None, None)


@pytest.mark.parametrize(
    ("error", "expected", "sent"),
    [
        (aiohttp.ServerDisconnectedError(), httpx.ReadError, True),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError, True),
        (aiohttp.ClientPayloadError("truncated"), httpx.ReadError, True),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout, True),
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout, False),
        (aiohttp.ClientConnectorError(CONNECTION, OSError(111, "refused")), httpx.ConnectError, False),
        (
            aiohttp.ClientResponseError(REQUEST_INFO, (), status=400, message="bad header"),
            httpx.RemoteProtocolError,
            True,
        ),
    ],
)
def test_aiohttp_failures_say_whether_the_request_may_have_been_sent(
    error: aiohttp.ClientError, expected: type[httpx.TransportError], sent: bool
) -> None:
    mapped = _httpx_error(error)
    assert type(mapped) is expected
    assert was_sent(mapped) is sent


def _pyreqwest_error(kind: str, *causes: str) -> Any:
    from pyreqwest import exceptions

    return getattr(exceptions, kind)("message", {"causes": [{"message": c} for c in causes]})


_SENT_TO = "error sending request for url (http://127.0.0.1:9/)"


@PYREQWEST
@pytest.mark.parametrize(
    ("kind", "causes", "expected", "sent"),
    [
        (
            "ConnectError",
            [_SENT_TO, "client error (Connect)", "tcp connect error", "refused"],
            httpx.ConnectError,
            False,
        ),
        ("ConnectTimeoutError", [_SENT_TO, "client error (Connect)", "timed out"], httpx.ConnectTimeout, False),
        ("PoolTimeoutError", ["deadline has elapsed"], httpx.PoolTimeout, False),
        # A kept-alive connection that drops after the request was written: pyreqwest says ConnectError.
        (
            "ConnectError",
            [_SENT_TO, "client error (SendRequest)", "connection closed before message completed"],
            httpx.ReadError,
            True,
        ),
        (
            "ConnectError",
            [_SENT_TO, "client error (SendRequest)", "connection error", "reset by peer"],
            httpx.ReadError,
            True,
        ),
        # The attempt deadline while the server thinks: pyreqwest says ConnectTimeoutError.
        ("ConnectTimeoutError", [_SENT_TO, "operation timed out"], httpx.ReadTimeout, True),
        ("ReadTimeoutError", ["response body timeout"], httpx.ReadTimeout, True),
        (
            "DecodeError",
            [_SENT_TO, "client error (SendRequest)", "invalid HTTP version parsed"],
            httpx.RemoteProtocolError,
            True,
        ),
        (
            "RequestError",
            ["request or response body error", "end of file before message length reached"],
            httpx.ReadError,
            True,
        ),
        # Unknown or no causes: may have been sent.
        ("ConnectError", [], httpx.ReadError, True),
        ("ConnectTimeoutError", [], httpx.ReadTimeout, True),
        ("RequestPanicError", ["boom"], httpx.ReadError, True),
    ],
)
def test_pyreqwest_failures_say_whether_the_request_may_have_been_sent(
    kind: str, causes: list[str], expected: type[httpx.TransportError], sent: bool
) -> None:
    from taskrouter_async._engines.pyreqwest_engine import _httpx_error as pyreqwest_error

    mapped = pyreqwest_error(_pyreqwest_error(kind, *causes), None, 1.0)
    assert type(mapped) is expected
    assert was_sent(mapped) is sent
