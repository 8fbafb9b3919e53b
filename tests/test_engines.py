"""The HTTP engines: connection limits, failure classification, one retry layer, proxies, closing.

Tests against real servers on 127.0.0.1 run on every engine (the ``engine`` fixture); the
aiohttp engine runs on asyncio only.
"""

from __future__ import annotations

import base64
import importlib.util
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
    APIResponseValidationError,
    APITimeoutError,
    AsyncTaskRouter,
    ClientClosedError,
    TaskReservationUpdate,
    ValidationError,
    _retry,
)
from taskrouter_async import _engines as engines
from taskrouter_async._engines.aiohttp_engine import _httpx_error
from taskrouter_async._engines.httpcore_engine import CONNECTIONS_PER_POOL, HttpcoreEngine, split
from taskrouter_async._retry import was_sent

from .conftest import PYREQWEST
from .loopback import Conn, LoopbackServer, Request, head
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

    mapped = pyreqwest_error(_pyreqwest_error(kind, *causes), 1.0)
    assert type(mapped) is expected
    assert was_sent(mapped) is sent
