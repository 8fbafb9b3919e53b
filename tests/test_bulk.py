"""update_many / update_all: ordering, identity, per-item errors, laziness, cancellation, 429 AIMD, progress."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import parse_qsl

import anyio
import anyio.lowlevel
import httpx
import pytest

from taskrouter_async import (
    AsyncTaskRouter,
    BulkItem,
    BulkProgress,
    BulkResult,
    BulkUpdate,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitError,
    TaskReservation,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservationUpdate,
)
from taskrouter_async._bulk import _AdaptiveLimit

from .helpers import reservation_json
from .sids import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKER_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

ACCEPT = TaskReservationUpdate(reservation_status="accepted")
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def wr(i: int) -> str:
    return f"WR{i:032x}"


def index_of(request: httpx.Request) -> int:
    return int(request.url.path.rsplit("/", 1)[1][2:], 16)


async def echo(request: httpx.Request) -> httpx.Response:
    """The API's answer to an update: the reservation with the status that was sent."""
    form = dict(parse_qsl(request.content.decode()))
    sid = request.url.path.rsplit("/", 1)[1]
    return httpx.Response(200, json=reservation_json(sid, status=form.get("ReservationStatus", "pending")))


class FakeAPI(httpx.AsyncBaseTransport):
    """An in-process transport that counts requests in flight; works on asyncio and trio."""

    def __init__(self, handler: Handler = echo) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await request.aread()
            return await self.handler(request)
        finally:
            self.in_flight -= 1


def make_client(api: FakeAPI, *, max_retries: int = 0) -> AsyncTaskRouter:
    return AsyncTaskRouter(
        ACCOUNT_SID, AUTH_TOKEN, max_retries=max_retries, http_client=httpx.AsyncClient(transport=api)
    )


def updates(n: int) -> list[BulkUpdate[TaskReservationUpdate]]:
    return [BulkUpdate(WORKSPACE_SID, TASK_SID, wr(i), ACCEPT) for i in range(n)]


async def test_one_result_per_item_as_completed_with_identity() -> None:
    async def slow_first(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.002 * (5 - index_of(request) % 5))
        return await echo(request)

    api = FakeAPI(slow_first)
    items = updates(40)
    async with make_client(api) as client, client.task_reservations.update_many(items, concurrency=5) as results:
        seen = [result async for result in results]

    assert sorted(r.index for r in seen) == list(range(40))
    assert [r.index for r in seen] != list(range(40)), "results should come as completed, not in input order"
    for result in seen:
        assert result.ok
        assert result.error is None
        assert result.item is items[result.index]
        assert isinstance(result.reservation, TaskReservation)
        assert result.reservation.sid == wr(result.index)
    assert len(api.requests) == 40
    assert api.max_in_flight <= 5


async def test_update_all_returns_input_order() -> None:
    async def reverse_delay(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.001 * (10 - index_of(request)))
        return await echo(request)

    items = updates(10)
    async with make_client(FakeAPI(reverse_delay)) as client:
        results = await client.task_reservations.update_all(items, concurrency=10)
    assert [r.index for r in results] == list(range(10))
    assert [r.item for r in results] == items


async def test_errors_are_per_item() -> None:
    async def some_fail(request: httpx.Request) -> httpx.Response:
        i = index_of(request)
        if i % 3 == 1:
            return httpx.Response(404, json={"code": 20404, "message": "not found", "status": 404})
        if i % 3 == 2:
            return httpx.Response(409, json={"code": 20409, "message": "conflict", "status": 409})
        return await echo(request)

    async with make_client(FakeAPI(some_fail)) as client:
        results = await client.task_reservations.update_all(updates(9), concurrency=4)
    for result in results:
        expected = [type(None), NotFoundError, ConflictError][result.index % 3]
        assert isinstance(result.error, expected)
        assert result.ok is (result.index % 3 == 0)
        assert (result.reservation is None) is not result.ok


async def test_bad_items_become_error_results_without_requests() -> None:
    bad: list[object] = [
        (WORKSPACE_SID, TASK_SID, wr(0)),  # too short
        (WORKSPACE_SID, TASK_SID, "WRnope", ACCEPT),  # bad SID
        (WORKSPACE_SID, WORKER_SID, wr(2), ACCEPT),  # a worker SID where a task SID goes
        (WORKSPACE_SID, TASK_SID, wr(3), WorkerReservationUpdate(reservation_status="accepted")),
        (WORKSPACE_SID, TASK_SID, wr(4), ACCEPT, "bad\netag"),
        "not an item",
    ]
    good = (WORKSPACE_SID, TASK_SID, wr(6), ACCEPT)
    api = FakeAPI()
    async with make_client(api) as client:
        results = await client.task_reservations.update_all([*bad, good], concurrency=2)  # type: ignore[list-item]
    assert [r.ok for r in results] == [False] * 6 + [True]
    for result in results[:6]:
        assert isinstance(result.error, ValidationError)
        assert result.item is bad[result.index]
    assert [index_of(r) for r in api.requests] == [6]


def smuggled(**values: object) -> TaskReservationUpdate:
    """Accepted params with values set behind the validators' back, as a bug or a subclass might."""
    params = TaskReservationUpdate(reservation_status="accepted")
    for name, value in values.items():
        object.__setattr__(params, name, value)
    return params


async def test_an_item_that_cannot_be_prepared_is_that_items_error_and_the_run_goes_on() -> None:
    items: list[BulkItem[TaskReservationUpdate]] = [
        (WORKSPACE_SID, TASK_SID, wr(0), ACCEPT),
        (WORKSPACE_SID, TASK_SID, wr(1), smuggled(to="x\udc80")),  # UnicodeEncodeError when encoded
        (WORKSPACE_SID, TASK_SID, wr(2), smuggled(status_callback_event=5)),  # TypeError when encoded
        (WORKSPACE_SID, TASK_SID, wr(3), ACCEPT, '"é"'),  # refused by the etag check
        BulkUpdate(WORKSPACE_SID, TASK_SID, wr(4), ACCEPT, etag="\udc80"),
        (WORKSPACE_SID, TASK_SID, wr(5), ACCEPT),
    ]
    api = FakeAPI()
    async with make_client(api) as client:
        results = await client.task_reservations.update_all(items, concurrency=1)
    assert [r.ok for r in results] == [True, False, False, False, False, True]
    assert sorted(index_of(r) for r in api.requests) == [0, 5]
    for result in results[1:5]:
        assert isinstance(result.error, ValidationError)
        assert result.item is items[result.index]
    assert isinstance(results[1].error.__cause__, UnicodeEncodeError)
    assert "UnicodeEncodeError" in str(results[1].error)
    assert isinstance(results[2].error.__cause__, TypeError)
    assert "etag must be" in str(results[3].error)


async def test_tuples_with_etag_send_if_match() -> None:
    api = FakeAPI()
    items: list[BulkItem[TaskReservationUpdate]] = [
        (WORKSPACE_SID, TASK_SID, wr(0), ACCEPT, '"v1"'),
        (WORKSPACE_SID, TASK_SID, wr(1), ACCEPT),
    ]
    async with make_client(api) as client:
        results = await client.task_reservations.update_all(items)
    assert all(r.ok for r in results)
    headers = {index_of(r): r.headers.get("if-match") for r in api.requests}
    assert headers == {0: '"v1"', 1: None}


async def test_worker_reservations_have_the_same_bulk_api() -> None:
    api = FakeAPI()
    params = WorkerReservationUpdate(reservation_status="rejected")
    async with make_client(api) as client:
        results = await client.worker_reservations.update_all(
            (WORKSPACE_SID, WORKER_SID, wr(i), params) for i in range(3)
        )
    assert [r.reservation.reservation_status for r in results if r.reservation] == ["rejected"] * 3
    assert all("/Workers/" in r.url.path for r in api.requests)


async def test_async_iterable_input() -> None:
    async def produce() -> AsyncIterator[BulkUpdate[TaskReservationUpdate]]:
        for i in range(7):
            await anyio.lowlevel.checkpoint()
            yield BulkUpdate(WORKSPACE_SID, TASK_SID, wr(i), ACCEPT)

    async with make_client(FakeAPI()) as client:
        results = await client.task_reservations.update_all(produce(), concurrency=3)
    assert [r.reservation.sid for r in results if r.reservation] == [wr(i) for i in range(7)]


async def test_input_is_read_lazily_and_an_early_exit_stops_reading() -> None:
    pulled = 0

    def endless() -> Iterator[BulkUpdate[TaskReservationUpdate]]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield BulkUpdate(WORKSPACE_SID, TASK_SID, wr(i), ACCEPT)

    api = FakeAPI()
    concurrency = 4
    async with make_client(api) as client:
        async with client.task_reservations.update_many(endless(), concurrency=concurrency) as results:
            async for result in results:
                assert result.ok
                if result.index >= 10:
                    break
            await anyio.sleep(0.05)  # give a greedy reader every chance to run ahead
            assert pulled <= 11 + 2 * concurrency + 1
        after_exit = pulled
        await anyio.sleep(0.01)
        assert pulled == after_exit
        assert api.in_flight == 0


async def test_cancellation_leaves_no_tasks_or_requests_behind() -> None:
    all_started = anyio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        if api.in_flight == 8:  # every worker has its request in flight
            all_started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    api = FakeAPI(hang)
    tasks_before = len(anyio.get_running_tasks())
    async with make_client(api) as client:
        with anyio.move_on_after(5) as outer:
            async with anyio.create_task_group() as tg:

                async def consume() -> None:
                    async with client.task_reservations.update_many(updates(100), concurrency=8) as results:
                        async for _ in results:
                            raise AssertionError("no update should complete")

                tg.start_soon(consume)
                with anyio.fail_after(2):
                    await all_started.wait()
                await anyio.sleep(0.01)  # room for a ninth request, which must not come
                assert api.in_flight == 8
                tg.cancel_scope.cancel()
        assert not outer.cancelled_caught
        assert api.in_flight == 0
        assert len(api.requests) == 8
    assert len(anyio.get_running_tasks()) == tasks_before


async def test_an_exception_in_the_block_propagates_unwrapped_and_stops_the_run() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.001)
        return await echo(request)

    async def stop_at_first_result(client: AsyncTaskRouter) -> None:
        async with client.task_reservations.update_many(updates(50), concurrency=5) as results:
            async for _ in results:
                raise KeyError("stop")

    api = FakeAPI(slow)
    async with make_client(api) as client:
        with pytest.raises(KeyError, match="stop"):
            await stop_at_first_result(client)
        assert api.in_flight == 0
        assert len(api.requests) < 50


async def test_an_input_iterator_error_ends_the_run_with_that_error() -> None:
    def broken() -> Iterator[BulkUpdate[TaskReservationUpdate]]:
        yield BulkUpdate(WORKSPACE_SID, TASK_SID, wr(0), ACCEPT)
        raise OSError("input file vanished")

    async with make_client(FakeAPI()) as client:
        with pytest.raises(OSError, match="vanished"):
            await client.task_reservations.update_all(broken())


async def test_run_of_429s_halves_concurrency_once_per_round_and_recovers() -> None:
    limit_seen: list[int] = []
    first_round: set[int] = set()
    all_sent = anyio.Event()

    async def throttled(request: httpx.Request) -> httpx.Response:
        i = index_of(request)
        if i < 8 and i not in first_round:  # the first round of 8 requests is all rate limited
            first_round.add(i)
            if len(first_round) == 8:
                all_sent.set()
            await all_sent.wait()
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": 20429, "message": "slow down"})
        return await echo(request)

    def on_progress(progress: BulkProgress) -> None:
        limit_seen.append(progress.concurrency)

    api = FakeAPI(throttled)
    async with make_client(api, max_retries=3) as client:
        results = await client.task_reservations.update_all(updates(100), concurrency=8, on_progress=on_progress)
    assert all(r.ok for r in results)
    assert len(api.requests) == 108  # every 429 was retried once, nothing sent twice after success
    # Eight 429s from one round halve the limit once (8 -> 4; a second halving would show 3 or less),
    # and additive increase has already begun by the time the first result is handed out.
    assert 4 <= min(limit_seen) < 8
    assert limit_seen[-1] == 8  # and additive increase brings it back


async def test_a_run_reports_its_figures_at_any_time_429s_included() -> None:
    """``BulkRun.progress`` is for displays that redraw on their own clock (the CLI's), not only per result."""
    answered = anyio.Event()

    async def one_429_then_echo(request: httpx.Request) -> httpx.Response:
        if not answered.is_set():
            answered.set()
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": 20429, "message": "slow down"})
        return await echo(request)

    async with make_client(FakeAPI(one_429_then_echo), max_retries=1) as client:
        run = client.task_reservations.update_many(updates(6), concurrency=4)
        assert run.progress == BulkProgress(done=0, succeeded=0, failed=0, in_flight=0, concurrency=4)
        async with run as results:
            seen = [result async for result in results]
            final = run.progress
    assert all(r.ok for r in seen)
    assert (final.done, final.succeeded, final.failed, final.rate_limited) == (6, 6, 0, 1)


async def test_429s_after_retries_are_rate_limit_errors() -> None:
    async def always_429(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"code": 20429, "message": "slow down"})

    async with make_client(FakeAPI(always_429)) as client:
        results = await client.task_reservations.update_all(updates(3), concurrency=2)
    assert all(isinstance(r.error, RateLimitError) for r in results)


def test_aimd_rule() -> None:
    limit = _AdaptiveLimit(16)
    first_round = limit.generation
    limit.rate_limited(first_round)
    assert limit.current == 8
    limit.rate_limited(first_round)  # a reply to a request sent before the halving
    assert limit.current == 8
    for _ in range(3):
        limit.rate_limited(limit.generation)
    assert limit.current == 1
    limit.rate_limited(limit.generation)
    assert limit.current == 1
    limit.succeeded()
    assert limit.current == 2  # one success per slot adds a slot
    for _ in range(2):
        limit.succeeded()
    assert limit.current == 3
    for _ in range(1000):
        limit.succeeded()
    assert limit.current == 16


async def test_progress_callback_sees_every_result() -> None:
    async def odd_fail(request: httpx.Request) -> httpx.Response:
        if index_of(request) % 2:
            return httpx.Response(404, json={"code": 20404, "message": "gone"})
        return await echo(request)

    snapshots: list[BulkProgress] = []
    async with make_client(FakeAPI(odd_fail)) as client:
        results = await client.task_reservations.update_all(updates(10), concurrency=3, on_progress=snapshots.append)
    assert len(results) == 10
    assert [p.done for p in snapshots] == list(range(1, 11))
    assert (snapshots[-1].succeeded, snapshots[-1].failed) == (5, 5)
    assert all(p.in_flight <= 3 and p.concurrency == 3 for p in snapshots)


async def test_a_failing_progress_callback_stops_the_run() -> None:
    def fail(progress: BulkProgress) -> None:
        raise RuntimeError("progress bar broke")

    api = FakeAPI()
    async with make_client(api) as client:
        with pytest.raises(RuntimeError, match="progress bar broke"):
            await client.task_reservations.update_all(updates(30), concurrency=2, on_progress=fail)
        assert api.in_flight == 0


async def test_arguments_are_checked_at_once() -> None:
    async with make_client(FakeAPI()) as client:
        with pytest.raises(ValidationError, match="concurrency"):
            client.task_reservations.update_many(updates(1), concurrency=0)
        with pytest.raises(ValidationError, match="iterable"):
            client.task_reservations.update_many(42)  # type: ignore[arg-type]

        async def async_callback(progress: BulkProgress) -> None:
            pass

        with pytest.raises(ValidationError, match="not async"):
            client.task_reservations.update_many(updates(1), on_progress=async_callback)
        run = client.task_reservations.update_many([])
        async with run as results:
            assert [r async for r in results] == []
        with pytest.raises(RuntimeError, match="once"):
            async with run:
                pass


async def test_bulk_result_is_frozen_and_reports_ok() -> None:
    result: BulkResult[TaskReservation, TaskReservationUpdate] = BulkResult(index=0, item=updates(1)[0])
    assert result.ok
    with pytest.raises(AttributeError):
        result.index = 1  # type: ignore[misc]
    assert json.dumps(result.index) == "0"


async def test_after_a_429_retries_wait_for_a_slot_too() -> None:
    """A server that, like Twilio, refuses (429, code 20429) whatever is over 4 requests in flight.

    Every attempt takes a slot of the adaptive limit, so once the limit has come down, retries of
    requests already under way queue for slots like new ones and the run converges. (When workers
    kept their slot through their retries, the 32 first requests kept retrying together and 7 of
    them ran out of retries.)
    """

    async def capped(request: httpx.Request) -> httpx.Response:
        if api.in_flight > 4:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": 20429, "message": "Too many"})
        await anyio.sleep(0.01)
        return await echo(request)

    api = FakeAPI(capped)
    async with make_client(api, max_retries=6) as client:
        results = await client.task_reservations.update_all(updates(64), concurrency=32)
    assert [r.error for r in results if not r.ok] == []


async def test_the_limit_grows_back_on_answers_that_are_errors_too() -> None:
    """After a 429 round, answers such as 412 show the API has room again: the limit must not stay low."""
    first_round: set[int] = set()

    async def throttled_then_stale(request: httpx.Request) -> httpx.Response:
        i = index_of(request)
        if i < 8 and i not in first_round:
            first_round.add(i)
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": 20429, "message": "slow down"})
        return httpx.Response(412, json={"code": 20412, "message": "stale etag"})

    limit_seen: list[int] = []
    async with make_client(FakeAPI(throttled_then_stale), max_retries=3) as client:
        results = await client.task_reservations.update_all(
            updates(200), concurrency=8, on_progress=lambda p: limit_seen.append(p.concurrency)
        )
    assert all(isinstance(r.error, PreconditionFailedError) for r in results)
    assert min(limit_seen) < 8
    assert limit_seen[-1] == 8
