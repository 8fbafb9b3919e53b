"""The clients under test, each able to accept reservation ``i`` against the local server.

Raw clients and the official SDK run as ``concurrency`` worker tasks calling ``update(i)``;
taskrouter_async runs the same work through ``update_many``, the way its users would.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx

from .server import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKSPACE_SID, reservation_sid

Update = Callable[[int], Awaitable[object]]
Workers = Callable[[str, int], contextlib.AbstractAsyncContextManager[Update]]
#: (base_url, n, concurrency, started(i), finished(i)): runs n updates through update_many.
Bulk = Callable[[str, int, int, Callable[[int], None], Callable[[int], None]], Awaitable[None]]
#: (base_url, page_size) -> number of reservations walked.
Walk = Callable[[str, int], Awaitable[int]]

BODY = urlencode({"ReservationStatus": "accepted"}).encode()
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


def update_url(base: str, i: int) -> str:
    return f"{base}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{reservation_sid(i)}"


@contextlib.asynccontextmanager
async def raw_httpx(base: str, concurrency: int) -> AsyncIterator[Update]:
    """A plain httpx.AsyncClient (one pool) posting a pre-encoded body."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN), limits=limits, headers=FORM_HEADERS) as client:

        async def update(i: int) -> object:
            response = await client.post(update_url(base, i), content=BODY)
            response.raise_for_status()
            return response.json()

        yield update


@contextlib.asynccontextmanager
async def raw_aiohttp(base: str, concurrency: int) -> AsyncIterator[Update]:
    """A plain aiohttp session posting a pre-encoded body."""
    import aiohttp

    auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auth=auth, headers=FORM_HEADERS) as session:

        async def update(i: int) -> object:
            async with session.post(update_url(base, i), data=BODY) as response:
                response.raise_for_status()
                return json.loads(await response.read())

        yield update


@contextlib.asynccontextmanager
async def raw_httpx_over_aiohttp(base: str, concurrency: int) -> AsyncIterator[Update]:
    """An httpx.Request with pre-built headers handed straight to httpx-aiohttp's transport: the floor
    for anything that keeps httpx's Request/Response objects over aiohttp."""
    from httpx_aiohttp import AiohttpTransport

    token = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    headers = httpx.Headers({**FORM_HEADERS, "Authorization": f"Basic {token}"})
    extensions = {"timeout": httpx.Timeout(30.0).as_dict()}
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=concurrency))
    try:

        async def update(i: int) -> object:
            request = httpx.Request("POST", update_url(base, i), headers=headers, content=BODY, extensions=extensions)
            response = await transport.handle_async_request(request)
            try:
                return json.loads(b"".join([chunk async for chunk in response.aiter_raw()]))
            finally:
                await response.aclose()

        yield update
    finally:
        await transport.aclose()


@contextlib.asynccontextmanager
async def _sdk(base: str) -> AsyncIterator[Any]:
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    http_client = AsyncTwilioHttpClient()
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
    client.taskrouter.base_url = base
    try:
        yield client.taskrouter.v1.workspaces(WORKSPACE_SID).tasks(TASK_SID).reservations
    finally:
        await http_client.close()


@contextlib.asynccontextmanager
async def twilio_sdk(base: str, concurrency: int) -> AsyncIterator[Update]:
    """The official ``twilio`` package's async client (aiohttp underneath), pointed at the local server."""
    async with _sdk(base) as reservations:

        async def update(i: int) -> object:
            return await reservations(reservation_sid(i)).update_async(reservation_status="accepted")

        yield update


async def twilio_sdk_walk(base: str, page_size: int) -> int:
    async with _sdk(base) as reservations:
        count = 0
        async for _ in await reservations.stream_async(page_size=page_size):
            count += 1
        return count


def _client(base: str, transport: str) -> Any:
    import taskrouter_async

    chosen: httpx.AsyncBaseTransport | None = None
    if transport == "aiohttp":
        chosen = taskrouter_async.aiohttp_transport()
    elif transport == "one-pool":
        chosen = httpx.AsyncHTTPTransport(limits=taskrouter_async.DEFAULT_LIMITS, retries=0)
    return taskrouter_async.AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=base, transport=chosen)


def ours_bulk(transport: str) -> Bulk:
    async def run(
        base: str, n: int, concurrency: int, started: Callable[[int], None], finished: Callable[[int], None]
    ) -> None:
        from taskrouter_async import BulkUpdate, TaskReservationUpdate

        accept = TaskReservationUpdate(reservation_status="accepted")

        def items() -> Iterator[BulkUpdate[TaskReservationUpdate]]:
            for i in range(n):
                started(i)
                yield BulkUpdate(WORKSPACE_SID, TASK_SID, reservation_sid(i), accept)

        client = _client(base, transport)
        async with client, client.task_reservations.update_many(items(), concurrency=concurrency) as results:
            async for result in results:
                if result.error is not None:
                    raise result.error
                finished(result.index)

    return run


def ours_walk(transport: str) -> Walk:
    async def walk(base: str, page_size: int) -> int:
        async with _client(base, transport) as client:
            count = 0
            async for _ in client.task_reservations.list(WORKSPACE_SID, TASK_SID, page_size=page_size):
                count += 1
            return count

    return walk


SDK = "twilio SDK"
WORKERS: dict[str, Workers] = {
    "httpx (raw)": raw_httpx,
    "aiohttp (raw)": raw_aiohttp,
    "httpx Request over httpx-aiohttp (raw)": raw_httpx_over_aiohttp,
    SDK: twilio_sdk,
}
BULK: dict[str, Bulk] = {
    "taskrouter_async (one httpx pool)": ours_bulk("one-pool"),
    "taskrouter_async (default)": ours_bulk("default"),
    "taskrouter_async[aiohttp]": ours_bulk("aiohttp"),
}
WALKS: dict[str, Walk] = {
    SDK: twilio_sdk_walk,
    "taskrouter_async (default)": ours_walk("default"),
    "taskrouter_async[aiohttp]": ours_walk("aiohttp"),
}
