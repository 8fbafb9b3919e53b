"""The request path: the default pooled transport and pre-built URLs, on asyncio and trio."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from taskrouter_async import DEFAULT_LIMITS, AsyncTaskRouter, TaskReservationUpdate, ValidationError
from taskrouter_async._transports import CONNECTIONS_PER_POOL, PooledTransport

from .helpers import reservation_json
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

ACCEPT = TaskReservationUpdate(reservation_status="accepted")


def test_pooled_transport_splits_the_limits_into_small_pools() -> None:
    transport = PooledTransport(DEFAULT_LIMITS)
    assert transport.pool_count == -(-100 // CONNECTIONS_PER_POOL)
    assert PooledTransport(httpx.Limits(max_connections=None)).pool_count == 1
    assert PooledTransport(httpx.Limits(max_connections=1)).pool_count == 1


async def test_pooled_transport_round_robin_and_close() -> None:
    seen: list[int] = []

    class Recorder(httpx.AsyncBaseTransport):
        def __init__(self, number: int) -> None:
            self.number = number
            self.closed = False

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(self.number)
            return httpx.Response(200)

        async def aclose(self) -> None:
            self.closed = True

    transport = PooledTransport(httpx.Limits(max_connections=3 * CONNECTIONS_PER_POOL))
    recorders = [Recorder(i) for i in range(transport.pool_count)]
    transport._pools[:] = recorders
    for _ in range(6):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1/"))
    assert seen == [0, 1, 2, 0, 1, 2]
    await transport.aclose()
    assert all(r.closed for r in recorders)


def test_transport_and_http_client_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="not both"):
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, http_client=httpx.AsyncClient(), transport=httpx.AsyncHTTPTransport())


async def test_the_library_client_sends_straight_to_its_transport() -> None:
    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=reservation_json(), headers={"ETag": '"e1"'})

    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, transport=httpx.MockTransport(handler))
    reservation = await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT, etag='"e0"')
    assert reservation.etag == '"e1"'
    (request,) = requests
    assert request.headers["host"] == "taskrouter.twilio.com"
    assert request.headers["if-match"] == '"e0"'
    assert request.headers["authorization"].startswith("Basic ")
    assert request.content == b"ReservationStatus=accepted"
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)


async def _serve_reservations(stream: SocketStream) -> None:
    """A minimal keep-alive HTTP/1.1 server: every request gets a reservation."""
    buffer = b""
    async with stream:
        while True:
            while b"\r\n\r\n" not in buffer:
                try:
                    buffer += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lengths = [
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            ]
            while len(buffer) < sum(lengths):
                buffer += await stream.receive()
            buffer = buffer[sum(lengths) :]
            payload = json.dumps(reservation_json(status="accepted")).encode()
            await stream.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )


@pytest.fixture
async def local_api() -> AsyncIterator[str]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, _serve_reservations)
        yield f"http://127.0.0.1:{listener.extra(anyio.abc.SocketAttribute.local_port)}"
        tg.cancel_scope.cancel()


async def test_default_transport_over_real_sockets(local_api: str) -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=local_api) as client:
        assert isinstance(client._transport, PooledTransport)
        results = await client.task_reservations.update_all(
            [(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT)] * 40, concurrency=8
        )
        fetched = await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    assert all(r.ok for r in results)
    assert fetched.sid == RESERVATION_SID


async def test_cancelling_a_bulk_run_closes_its_connections() -> None:
    """Requests stuck on a silent server: leaving the block early closes every socket they used."""
    open_connections = 0
    requests_seen = 0
    all_arrived = anyio.Event()
    all_closed = anyio.Event()

    async def silent(stream: SocketStream) -> None:
        nonlocal open_connections, requests_seen
        open_connections += 1
        try:
            async with stream:
                while True:
                    data = await stream.receive()
                    requests_seen += data.count(b"POST ")
                    if requests_seen == 8:
                        all_arrived.set()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
        finally:
            open_connections -= 1
            if open_connections == 0:
                all_closed.set()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as server:
        server.start_soon(listener.serve, silent)
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=f"http://127.0.0.1:{port}") as client:
            items = [(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT)] * 100
            with anyio.fail_after(5):
                async with client.task_reservations.update_many(items, concurrency=8) as results:
                    await all_arrived.wait()
                    assert open_connections == 8
                    del results  # leave the block with every request in flight
            with anyio.fail_after(5):
                await all_closed.wait()  # closed by the cancellation, before the client itself is closed
        assert requests_seen == 8
        server.cancel_scope.cancel()
