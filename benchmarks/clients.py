"""The clients under test: each updates, fetches or walks reservations (or updates tasks or workers) on the mock.

An update client is a ``Runner``: it updates the reservations ``ids`` with ``concurrency`` requests
in flight and reports each update's latency to a ``Timer``. Raw clients, the SDK and the
``update() loop`` rows run ``concurrency`` worker tasks that await one update after another; the
``update_many`` rows hand the same work to ``update_many``, as the library's users would.
Every update and fetch in a run names a reservation SID of its own (see ``child.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from .server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OFFLINE_ACTIVITY_SID,
    TASK_SID,
    WORKSPACE_SID,
    reservation_sid,
    task_sid,
    worker_sid,
)

BODY = urlencode({"ReservationStatus": "accepted"}).encode()
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
Engine = Literal["httpx", "aiohttp", "pyreqwest"]


@dataclass(frozen=True)
class Target:
    """The running mock: its base URL and the ETag it sends (what the If-Match rows send back)."""

    base_url: str
    etag: str


class Timer:
    """The latency of every update: from ``start(i)`` to ``stop(i)``."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self._starts: dict[int, float] = {}

    def start(self, i: int) -> None:
        self._starts[i] = time.perf_counter()

    def stop(self, i: int) -> None:
        self.latencies.append(time.perf_counter() - self._starts.pop(i))


Update = Callable[[int], Awaitable[object]]
#: (target, concurrency) -> a context in which ``update(i)`` updates reservation ``i``.
OpenUpdate = Callable[[Target, int], contextlib.AbstractAsyncContextManager[Update]]
#: (target, ids, concurrency, timer): updates every reservation in ``ids``.
Runner = Callable[[Target, range, int, Timer], Awaitable[None]]


def workers(open_update: OpenUpdate) -> Runner:
    """``concurrency`` worker tasks, each awaiting one update after another."""

    async def run(target: Target, ids: range, concurrency: int, timer: Timer) -> None:
        async with open_update(target, concurrency) as update:
            pending = iter(ids)

            async def worker() -> None:
                for i in pending:
                    timer.start(i)
                    await update(i)
                    timer.stop(i)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    return run


def update_url(base: str, i: int) -> str:
    return f"{base}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{reservation_sid(i)}"


@contextlib.asynccontextmanager
async def raw_httpx(target: Target, concurrency: int) -> AsyncIterator[Update]:
    """A plain httpx.AsyncClient (one pool) posting a pre-encoded body."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN), limits=limits, headers=FORM_HEADERS) as client:

        async def update(i: int) -> object:
            response = await client.post(update_url(target.base_url, i), content=BODY)
            response.raise_for_status()
            return response.json()

        yield update


@contextlib.asynccontextmanager
async def raw_aiohttp(target: Target, concurrency: int) -> AsyncIterator[Update]:
    """A plain aiohttp session posting a pre-encoded body: the practical limit for a Python client."""
    import aiohttp

    auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auth=auth, headers=FORM_HEADERS) as session:

        async def update(i: int) -> object:
            async with session.post(update_url(target.base_url, i), data=BODY) as response:
                response.raise_for_status()
                return json.loads(await response.read())

        yield update


@contextlib.asynccontextmanager
async def _sdk_reservations(target: Target) -> AsyncIterator[Any]:
    """The official ``twilio`` package's async client (aiohttp underneath), pointed at the mock."""
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    http_client = AsyncTwilioHttpClient()
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
    client.taskrouter.base_url = target.base_url
    try:
        yield client.taskrouter.v1.workspaces(WORKSPACE_SID).tasks(TASK_SID).reservations
    finally:
        await http_client.close()


def twilio_sdk(*, if_match: bool) -> OpenUpdate:
    @contextlib.asynccontextmanager
    async def open_update(target: Target, concurrency: int) -> AsyncIterator[Update]:
        async with _sdk_reservations(target) as reservations:
            if if_match:

                async def update(i: int) -> object:
                    return await reservations(reservation_sid(i)).update_async(
                        reservation_status="accepted", if_match=target.etag
                    )

            else:

                async def update(i: int) -> object:
                    return await reservations(reservation_sid(i)).update_async(reservation_status="accepted")

            yield update

    return open_update


def _ours(target: Target, engine: Engine) -> Any:
    import taskrouter_async

    return taskrouter_async.AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=target.base_url, engine=engine)


def ours_update_many(engine: Engine, *, if_match: bool) -> Runner:
    """``update_many(items, concurrency=c)``; an item's latency runs from the moment update_many reads it
    to the moment its result is handed out."""

    async def run(target: Target, ids: range, concurrency: int, timer: Timer) -> None:
        from taskrouter_async import BulkUpdate, TaskReservationUpdate

        accept = TaskReservationUpdate(reservation_status="accepted")
        etag = target.etag if if_match else None

        def items() -> Iterator[BulkUpdate[TaskReservationUpdate]]:
            for i in ids:
                timer.start(i)
                yield BulkUpdate(WORKSPACE_SID, TASK_SID, reservation_sid(i), accept, etag=etag)

        client = _ours(target, engine)
        async with client, client.task_reservations.update_many(items(), concurrency=concurrency) as results:
            async for result in results:
                if result.error is not None:
                    raise result.error
                timer.stop(ids[result.index])

    return run


def ours_update(engine: Engine) -> OpenUpdate:
    """A plain ``await update(...)`` per item: no update_many machinery in between."""

    @contextlib.asynccontextmanager
    async def open_update(target: Target, concurrency: int) -> AsyncIterator[Update]:
        from taskrouter_async import TaskReservationUpdate

        accept = TaskReservationUpdate(reservation_status="accepted")
        async with _ours(target, engine) as client:
            reservations = client.task_reservations

            async def update(i: int) -> object:
                return await reservations.update(WORKSPACE_SID, TASK_SID, reservation_sid(i), accept)

            yield update

    return open_update


@dataclass(frozen=True)
class EntityUpdate:
    """A task or worker update that both clients send alike: the attribute they share (``tasks``: the SDK's
    ``workspaces(ws).tasks(sid)`` and the library's ``client.tasks``), the SID of update ``i``, the fields
    (keyword arguments of the SDK's ``update_async``, fields of the library's params class) and that class."""

    resource: str
    sid: Callable[[int], str]
    fields: dict[str, str]
    params: str


#: Completing tasks and setting workers offline, the commonest updates of either.
TASK_UPDATE = EntityUpdate("tasks", task_sid, {"assignment_status": "completed", "reason": "done"}, "TaskUpdate")
WORKER_UPDATE = EntityUpdate("workers", worker_sid, {"activity_sid": OFFLINE_ACTIVITY_SID}, "WorkerUpdate")


def twilio_sdk_entity(entity: EntityUpdate) -> OpenUpdate:
    """The SDK's ``workspaces(ws).tasks(sid).update_async(...)`` (or ``workers``), one call per item."""

    @contextlib.asynccontextmanager
    async def open_update(target: Target, concurrency: int) -> AsyncIterator[Update]:
        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        http_client = AsyncTwilioHttpClient()
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
        client.taskrouter.base_url = target.base_url
        resource = getattr(client.taskrouter.v1.workspaces(WORKSPACE_SID), entity.resource)
        try:

            async def update(i: int) -> object:
                return await resource(entity.sid(i)).update_async(**entity.fields)

            yield update
        finally:
            await http_client.close()

    return open_update


def ours_entity_update_many(engine: Engine, entity: EntityUpdate) -> Runner:
    """``client.tasks.update_many(...)`` (or ``workers``) with ``(workspace_sid, sid, params)`` items."""

    async def run(target: Target, ids: range, concurrency: int, timer: Timer) -> None:
        import taskrouter_async

        params = getattr(taskrouter_async, entity.params)(**entity.fields)

        def items() -> Iterator[tuple[str, str, Any]]:
            for i in ids:
                timer.start(i)
                yield WORKSPACE_SID, entity.sid(i), params

        client = _ours(target, engine)
        async with client, getattr(client, entity.resource).update_many(items(), concurrency=concurrency) as results:
            async for result in results:
                if result.error is not None:
                    raise result.error
                timer.stop(ids[result.index])

    return run


LOOPS = ("asyncio", "uvloop")


@dataclass(frozen=True)
class UpdateClient:
    """An update configuration, the row it is compared with (same repeat, same event loop, same
    concurrency), the event loops it runs on, and the share of N updates it makes."""

    run: Runner
    baseline: str
    loops: tuple[str, ...] = ("asyncio",)
    share: float = 1.0


@dataclass(frozen=True)
class Reader:
    """Walking a task's reservations (returns how many) and fetching reservations one after another."""

    walk: Callable[[Target, int], Awaitable[int]]
    fetch: Callable[[Target, range], Awaitable[None]]


async def _sdk_walk(target: Target, page_size: int) -> int:
    async with _sdk_reservations(target) as reservations:
        count = 0
        async for _ in await reservations.stream_async(page_size=page_size):
            count += 1
        return count


async def _sdk_fetch(target: Target, ids: range) -> None:
    async with _sdk_reservations(target) as reservations:
        for i in ids:
            await reservations(reservation_sid(i)).fetch_async()


def _ours_reader(engine: Engine) -> Reader:
    async def walk(target: Target, page_size: int) -> int:
        async with _ours(target, engine) as client:
            count = 0
            async for _ in client.task_reservations.list(WORKSPACE_SID, TASK_SID, page_size=page_size):
                count += 1
            return count

    async def fetch(target: Target, ids: range) -> None:
        async with _ours(target, engine) as client:
            reservations = client.task_reservations
            for i in ids:
                await reservations.fetch(WORKSPACE_SID, TASK_SID, reservation_sid(i))

    return Reader(walk, fetch)


SDK = "twilio SDK"
SDK_IF_MATCH = "twilio SDK, If-Match"
SDK_TASKS = "twilio SDK, task update"
SDK_WORKERS = "twilio SDK, worker update"
OURS_HTTPX = "taskrouter_async engine=httpx"
OURS_AIOHTTP = "taskrouter_async engine=aiohttp"
OURS_PYREQWEST = "taskrouter_async engine=pyreqwest"
#: Every row runs on asyncio; the main ones on uvloop too (the SDK is the baseline on both).
UPDATES: dict[str, UpdateClient] = {
    SDK: UpdateClient(workers(twilio_sdk(if_match=False)), SDK, LOOPS),
    "aiohttp (raw)": UpdateClient(workers(raw_aiohttp), SDK, LOOPS),
    # One httpx pool serves c=100 about ten times slower than the rest: a fifth of N keeps the run short.
    "httpx (raw)": UpdateClient(workers(raw_httpx), SDK, share=0.2),
    f"{OURS_HTTPX}, update_many": UpdateClient(ours_update_many("httpx", if_match=False), SDK, LOOPS),
    f"{OURS_HTTPX}, update() loop": UpdateClient(workers(ours_update("httpx")), SDK),
    f"{OURS_AIOHTTP}, update_many": UpdateClient(ours_update_many("aiohttp", if_match=False), SDK, LOOPS),
    f"{OURS_AIOHTTP}, update() loop": UpdateClient(workers(ours_update("aiohttp")), SDK, LOOPS),
    f"{OURS_PYREQWEST}, update_many": UpdateClient(ours_update_many("pyreqwest", if_match=False), SDK, LOOPS),
    f"{OURS_PYREQWEST}, update() loop": UpdateClient(workers(ours_update("pyreqwest")), SDK, LOOPS),
    SDK_IF_MATCH: UpdateClient(workers(twilio_sdk(if_match=True)), SDK_IF_MATCH),
    f"{OURS_HTTPX}, update_many, If-Match": UpdateClient(ours_update_many("httpx", if_match=True), SDK_IF_MATCH),
    f"{OURS_AIOHTTP}, update_many, If-Match": UpdateClient(ours_update_many("aiohttp", if_match=True), SDK_IF_MATCH),
    f"{OURS_PYREQWEST}, update_many, If-Match": UpdateClient(
        ours_update_many("pyreqwest", if_match=True), SDK_IF_MATCH
    ),
    SDK_TASKS: UpdateClient(workers(twilio_sdk_entity(TASK_UPDATE)), SDK_TASKS),
    f"{OURS_HTTPX}, tasks.update_many": UpdateClient(ours_entity_update_many("httpx", TASK_UPDATE), SDK_TASKS),
    f"{OURS_AIOHTTP}, tasks.update_many": UpdateClient(ours_entity_update_many("aiohttp", TASK_UPDATE), SDK_TASKS),
    f"{OURS_PYREQWEST}, tasks.update_many": UpdateClient(ours_entity_update_many("pyreqwest", TASK_UPDATE), SDK_TASKS),
    SDK_WORKERS: UpdateClient(workers(twilio_sdk_entity(WORKER_UPDATE)), SDK_WORKERS),
    f"{OURS_HTTPX}, workers.update_many": UpdateClient(ours_entity_update_many("httpx", WORKER_UPDATE), SDK_WORKERS),
    f"{OURS_AIOHTTP}, workers.update_many": UpdateClient(
        ours_entity_update_many("aiohttp", WORKER_UPDATE), SDK_WORKERS
    ),
    f"{OURS_PYREQWEST}, workers.update_many": UpdateClient(
        ours_entity_update_many("pyreqwest", WORKER_UPDATE), SDK_WORKERS
    ),
}
READERS: dict[str, Reader] = {
    SDK: Reader(_sdk_walk, _sdk_fetch),
    OURS_HTTPX: _ours_reader("httpx"),
    OURS_AIOHTTP: _ours_reader("aiohttp"),
    OURS_PYREQWEST: _ours_reader("pyreqwest"),
}
