"""The HTTP engines: connection limits, failure classification, one retry layer, proxies, closing.

Tests against real servers on 127.0.0.1 run on every engine (the ``engine`` fixture); the
aiohttp engine runs on asyncio only.
"""

from __future__ import annotations

import base64
import json
import pathlib
import ssl
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
import trustme
import yarl
from aiohttp.client_reqrep import ConnectionKey
from multidict import CIMultiDict, CIMultiDictProxy

from taskrouter_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncTaskRouter,
    ClientClosedError,
    TaskReservationUpdate,
    ValidationError,
    _retry,
)
from taskrouter_async._engines.aiohttp_engine import _httpx_error
from taskrouter_async._engines.httpcore_engine import CONNECTIONS_PER_POOL, HttpcoreEngine, split
from taskrouter_async._retry import was_sent

from .loopback import Conn, LoopbackServer, Request
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


def test_the_default_engine_is_httpx() -> None:
    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN)
    assert client.engine == "httpx"
    assert "engine='httpx'" in repr(client)


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
async def test_the_aiohttp_engine_says_it_needs_asyncio() -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, engine="aiohttp") as client:
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


async def test_the_connection_limit_is_never_exceeded(engine: str) -> None:
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


async def test_a_refused_connection_is_retried_even_for_a_post(engine: str) -> None:
    with LoopbackServer(answer) as server:
        url = server.url  # the port is closed once the server stops
    with anyio.fail_after(BOUND):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=url, max_retries=2) as client:
            with pytest.raises(APIConnectionError) as caught:
                await update(client)
    assert caught.value.attempts == 3
    assert not isinstance(caught.value, APITimeoutError)


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
