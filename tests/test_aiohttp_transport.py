"""The optional aiohttp transport: requests over aiohttp, failures mapped for the retry layer (asyncio only)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest
import yarl
from aiohttp.client_reqrep import ConnectionKey
from multidict import CIMultiDict, CIMultiDictProxy

from taskrouter_async import APIConnectionError, AsyncTaskRouter, TaskReservationUpdate, aiohttp_transport
from taskrouter_async._aiohttp import _httpx_error
from taskrouter_async._retry import was_sent

from .helpers import reservation_json
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

ACCEPT = TaskReservationUpdate(reservation_status="accepted")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def local_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start an HTTP/1.1 server on 127.0.0.1 with a given connection handler; yields its base URL."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    return await reader.readexactly(length)


async def test_an_update_over_aiohttp(local_server: Callable[[Handler], Awaitable[str]]) -> None:
    bodies: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                bodies.append(await _read_request(reader))
            except asyncio.IncompleteReadError:
                break
            payload = json.dumps(reservation_json(status="accepted")).encode()
            writer.write(
                b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: "e9"\r\n'
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        writer.close()

    base = await local_server(answer)
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=base, transport=aiohttp_transport()) as client:
        results = await client.task_reservations.update_all(
            [(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT)] * 5, concurrency=2
        )
    assert [r.reservation.etag for r in results if r.reservation] == ['"e9"'] * 5
    assert bodies == [b"ReservationStatus=accepted"] * 5


async def test_a_dropped_connection_after_a_post_is_not_retried(
    local_server: Callable[[Handler], Awaitable[str]],
) -> None:
    received = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        await _read_request(reader)
        received += 1
        writer.close()  # the update may have been applied: repeating it could apply it twice

    base = await local_server(hang_up)
    async with AsyncTaskRouter(
        ACCOUNT_SID, AUTH_TOKEN, base_url=base, max_retries=2, transport=aiohttp_transport()
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT)
    assert caught.value.attempts == 1
    assert received == 1
