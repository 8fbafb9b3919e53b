"""``RateLimit.auto()``: learning each endpoint's budget from X-Rate-Limit-*, sharing it through Redis, the account's
concurrency cap, the hand-over after a Redis outage, and cancellation, on asyncio and trio.

The fake plays TaskRouter's limits (``taskrouter_async.testing.FakeRateLimits``); the shared tests
run on a real ``redis-server`` (``tests/redis_server.py``). Times are asserted as "not faster than
the budget allows", with wide margins.
"""

from __future__ import annotations

import logging
import math

import anyio
import pytest

from taskrouter_async import AsyncTaskRouter, RateLimit, TaskReservationUpdate, ValidationError
from taskrouter_async._ratelimit_auto import Answer, Concurrency, Learned, operation_of
from taskrouter_async._ratelimit_redis import RedisBudget
from taskrouter_async.testing import FakeRateLimits, FakeReservation, FakeTaskRouter
from taskrouter_async.testing._limits import endpoint_key

from .ratelimit_support import busiest_window
from .redis_server import RedisServer

pytestmark = pytest.mark.anyio

WS = "WS" + "a" * 32
WT = "WT" + "b" * 32
WR = "WR" + "c" * 32

# --- reading answers and learning (no I/O) ---------------------------------------------------------


def test_an_operation_is_its_method_path_shape_and_filter_names() -> None:
    base = "https://taskrouter.twilio.com/v1/Workspaces/"
    assert (
        operation_of("GET", f"{base}{WS}/Tasks/{WT}/Reservations/{WR}")
        == "GET /Workspaces/{WS}/Tasks/{WT}/Reservations/{WR}"
    )
    assert operation_of("GET", f"{base}{WS}/Tasks?PageSize=50&PageToken=x") == "GET /Workspaces/{WS}/Tasks"
    assert operation_of("GET", f"{base}{WS}/Tasks?EvaluateTaskAttributes=a%3D1") == (
        "GET /Workspaces/{WS}/Tasks?EvaluateTaskAttributes"
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"X-Rate-Limit-Limit": "50", "X-Rate-Limit-Remaining": "7", "X-Rate-Limit-Config": "Task-List"},
            (50, 7, "Task-List"),
        ),
        (
            {"X-Rate-Limit-Limit": "lots", "X-Rate-Limit-Remaining": "-1", "X-Rate-Limit-Config": "a b"},
            (None, None, None),
        ),
        ({"X-Rate-Limit-Limit": "0"}, (None, None, None)),
        ({}, (None, None, None)),
    ],
)
def test_bad_or_missing_headers_teach_nothing(headers: dict[str, str], expected: tuple[object, ...]) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    answer = Answer.parse(200, lowered)
    assert (answer.limit, answer.remaining, answer.endpoint) == expected


def test_a_learned_limit_sets_the_pace_a_429_lowers_it_and_answers_with_room_raise_it() -> None:
    learned = Learned(workspace=WS, endpoint="Task-List", start=3.0)
    assert (learned.rate, learned.cap) == (3.0, 3)
    assert learned.learn(Answer(limit=50, remaining=40, endpoint="Task-List", concurrent=None, status=200), 0.0)
    assert (learned.limit, learned.rate, learned.cap) == (50, pytest.approx(48.5), 49)
    refused = Answer(limit=50, remaining=0, endpoint="Task-List", concurrent=None, status=429)
    learned.learn(refused, 10.0, sent_at=48.5)
    assert learned.rate == pytest.approx(48.5 * 0.7)
    learned.learn(refused, 10.0, sent_at=48.5)  # sent together with the first: no second decrease
    assert learned.rate == pytest.approx(48.5 * 0.7)
    assert (learned.rate_limited, learned.hold) == (2, 11.0)
    learned.learn(Answer(limit=50, remaining=0, endpoint="Task-List", concurrent=None, status=200), 20.0)
    assert learned.rate == pytest.approx(48.5 * 0.7)  # none remaining: hold one interval, keep the pace
    assert learned.hold == pytest.approx(20 + 1 / learned.rate)
    for _ in range(20):
        learned.learn(Answer(limit=50, remaining=10, endpoint="Task-List", concurrent=None, status=200), 30.0)
    assert learned.rate == pytest.approx(48.5)


def test_the_concurrency_cap_is_learned_from_a_20429_and_engages_near_it() -> None:
    concurrency = Concurrency()
    assert not concurrency.learn(Answer(limit=50, remaining=3, endpoint="x", concurrent=12, status=200), 0.0, 1)
    assert not concurrency.engaged(0.0)
    refused = Answer(limit=50, remaining=3, endpoint="x", concurrent=21, status=429)
    assert refused.concurrency_refused
    assert not refused.rate_limited
    assert concurrency.learn(refused, 1.0, 5)
    assert (concurrency.cap, concurrency.engaged(1.0), concurrency.engaged(1000.0)) == (20, True, False)
    assert concurrency.learn(Answer(limit=50, remaining=3, endpoint="x", concurrent=17, status=200), 1000.0, 1)
    assert concurrency.engaged(1000.0)  # 17 is near a cap of 20: engaged again
    assert Answer(limit=50, remaining=0, endpoint="x", concurrent=3, status=429).rate_limited


def test_the_fake_names_endpoints_like_twilio() -> None:
    base = f"/v1/Workspaces/{WS}"
    assert endpoint_key("GET", f"{base}/Tasks", {"EvaluateTaskAttributes": "x"}) == (
        WS,
        "Task-List-EvaluateTaskAttributes",
    )
    assert endpoint_key("GET", f"{base}/TaskQueues/Statistics", {}) == (WS, "TaskQueueStatistics-List")
    assert endpoint_key("POST", f"{base}/Tasks/{WT}/Reservations/{WR}", {}) == (WS, "TaskReservation-Update")


def test_auto_takes_the_options_of_a_rate_limit_and_no_per_or_key() -> None:
    limit = RateLimit.auto(storage_url="redis://:hunter2@cache/0", max_wait=5, fallback_rate=2)
    assert limit.learn
    assert (limit.max_wait, limit.fallback_rate) == (5, 2)
    assert "learn=True" in repr(limit)
    assert "hunter2" not in repr(limit)
    with pytest.raises(ValidationError, match="no per or key"):
        RateLimit(rate=3, key="k", learn=True)


# --- learning against the fake -----------------------------------------------------------------------


def _fake(**limits: object) -> tuple[FakeTaskRouter, FakeReservation]:
    fake = FakeTaskRouter(rate_limits=FakeRateLimits(**limits))  # type: ignore[arg-type]
    return fake, fake.add_reservation()


async def _fetch_for(client: AsyncTaskRouter, reservation: FakeReservation, seconds: float, tasks: int) -> int:
    done = 0
    stop_at = anyio.current_time() + seconds

    async def worker() -> None:
        nonlocal done
        while anyio.current_time() < stop_at:
            await client.task_reservations.fetch(reservation.workspace_sid, reservation.task_sid, reservation.sid)
            done += 1

    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(worker)
    return done


async def test_the_budget_is_learned_from_the_headers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="taskrouter_async")
    fake, reservation = _fake(default=10)
    async with fake.connect(rate_limit=RateLimit.auto(), max_retries=3) as client:
        done = await _fetch_for(client, reservation, 1.5, tasks=8)
        stats = client.rate_limit_stats
    assert stats is not None
    limits = fake.rate_limits
    assert limits is not None
    assert limits.rate_limited == 0  # the fake's moving window never saw more than 10 in a second
    learned = {b.endpoint: b for b in stats.budgets}
    fetch = learned["TaskReservation-Fetch"]
    assert (fetch.workspace, fetch.limit, fetch.rate) == (reservation.workspace_sid, 10, pytest.approx(9.7))
    assert done >= 10  # the learned budget, not the start's 3/s
    assert len(fake.requests) == done
    assert "learned a limit of 10/s" in caplog.text
    assert "is endpoint TaskReservation-Fetch" in caplog.text


async def test_a_429_lowers_the_pace_and_the_call_is_retried() -> None:
    fake, reservation = _fake(default=3)
    async with fake.connect(rate_limit=RateLimit.auto(start=50), max_retries=3) as client:
        done = await _fetch_for(client, reservation, 1.0, tasks=6)  # starts far above the limit
        stats = client.rate_limit_stats
    assert stats is not None
    fetch = next(b for b in stats.budgets if b.endpoint == "TaskReservation-Fetch")
    assert fetch.limit == 3
    assert done >= 3


async def test_a_concurrency_refusal_teaches_the_cap_and_post_is_retried() -> None:
    fake, _ = _fake(default=1000, concurrency=2, latency=0.1)
    reservations = [fake.add_reservation() for _ in range(12)]
    async with fake.connect(rate_limit=RateLimit.auto(start=1000), max_retries=5) as client:

        async def accept(reservation: FakeReservation) -> None:
            update = TaskReservationUpdate.accept()
            await client.task_reservations.update(
                reservation.workspace_sid, reservation.task_sid, reservation.sid, update
            )

        async with anyio.create_task_group() as group:
            for reservation in reservations[:6]:
                group.start_soon(accept, reservation)
        stats = client.rate_limit_stats
        assert stats is not None
        assert (stats.concurrency_limit, stats.concurrency_engaged) == (2, True)
        limits = fake.rate_limits
        assert limits is not None
        refused = limits.concurrency_refused
        assert refused >= 1  # the first wave met the cap (and every refused POST was retried)
        async with anyio.create_task_group() as group:
            for reservation in reservations[6:]:
                group.start_soon(accept, reservation)
        assert limits.concurrency_refused == refused  # engaged: never over the cap again
    assert all(fake.reservation(r.sid).status == "accepted" for r in reservations)


# --- shared through Redis -------------------------------------------------------------------------------


@pytest.fixture
def served(redis_server: RedisServer) -> tuple[FakeTaskRouter, FakeReservation, str]:
    fake, reservation = _fake(default=2)
    return fake, reservation, redis_server.url


async def test_what_one_process_learns_the_others_use(served: tuple[FakeTaskRouter, FakeReservation, str]) -> None:
    fake, reservation, url = served
    args = (reservation.workspace_sid, reservation.task_sid, reservation.sid)
    async with fake.connect(rate_limit=RateLimit.auto(storage_url=url)) as first:
        await first.task_reservations.fetch(*args)
        await first.task_reservations.fetch(*args)
        async with fake.connect(rate_limit=RateLimit.auto(storage_url=url)) as second:
            started = anyio.current_time()
            await second.task_reservations.fetch(*args)  # on the endpoint's shared budget, learned by `first`
            waited = anyio.current_time() - started
            stats = second.rate_limit_stats
    assert stats is not None
    assert waited >= 0.3  # the shared 1.94/s pace, not a fresh budget of its own
    fetch = next(b for b in stats.budgets if b.endpoint == "TaskReservation-Fetch")
    assert fetch.limit == 2
    assert stats.processes == 2


async def test_leases_of_a_dead_process_expire(redis_server: RedisServer) -> None:
    budget = RedisBudget(redis_server.url, namespace="test", learn=True, account="AC1")
    try:
        held, _ = await budget.lease(1, ttl=0.3)  # its process "dies" holding it
        assert held is not None
        refused, wait = await budget.lease(1, ttl=0.3)
        assert refused is None
        assert 0 < wait <= 0.3
        await anyio.sleep(wait + 0.05)
        again, _ = await budget.lease(1, ttl=0.3)
        assert again is not None
        await budget.release(again)
        assert (await budget.lease(1, ttl=0.3))[0] is not None
    finally:
        budget.close()


async def test_the_concurrency_cap_is_shared_through_redis(redis_server: RedisServer) -> None:
    fake, _ = _fake(default=1000, concurrency=2, latency=0.1)
    reservations = [fake.add_reservation() for _ in range(12)]
    limit = RateLimit.auto(storage_url=redis_server.url, start=1000)
    async with (
        fake.connect(rate_limit=limit, max_retries=5) as first,
        fake.connect(rate_limit=limit, max_retries=5) as second,
    ):

        async def fetch(client: AsyncTaskRouter, reservation: FakeReservation) -> None:
            await client.task_reservations.fetch(reservation.workspace_sid, reservation.task_sid, reservation.sid)

        async with anyio.create_task_group() as group:
            for reservation in reservations[:4]:
                group.start_soon(fetch, first, reservation)
        limits = fake.rate_limits
        assert limits is not None
        refused = limits.concurrency_refused
        assert refused >= 1
        await fetch(second, reservations[4])  # learns, with its token, that the cap is engaged
        async with anyio.create_task_group() as group:
            for index, reservation in enumerate(reservations[5:]):
                group.start_soon(fetch, (first, second)[index % 2], reservation)
        assert limits.concurrency_refused == refused
        stats = second.rate_limit_stats
    assert stats is not None
    assert (stats.concurrency_limit, stats.concurrency_engaged) == (2, True)


async def test_after_an_outage_the_fleet_keeps_within_the_budget(redis_server: RedisServer) -> None:
    """Two clients (a fleet of 2) share 40/s. Redis is killed for 1.5 s: each keeps to 20/s; when it is
    back, each keeps to its share until both are back. No second ever holds more than 40 + 5 %."""
    fake, reservation = _fake(default=1000)
    limit = RateLimit(rate=40, storage_url=redis_server.url)
    async with fake.connect(rate_limit=limit) as first, fake.connect(rate_limit=limit) as second:
        for client in (first, second, first):  # both registered in Redis: each knows the fleet is 2
            await client.task_reservations.fetch(reservation.workspace_sid, reservation.task_sid, reservation.sid)
        assert [c.rate_limit_stats.processes for c in (first, second) if c.rate_limit_stats] == [2, 2]
        clock = anyio.current_time
        sent: list[float] = []
        stop_at = clock() + 5.0

        async def worker(client: AsyncTaskRouter) -> None:
            while clock() < stop_at:
                await client.task_reservations.fetch(reservation.workspace_sid, reservation.task_sid, reservation.sid)
                sent.append(clock())

        async def outage() -> None:
            await anyio.sleep(1.5)
            await anyio.to_thread.run_sync(redis_server.kill)
            await anyio.sleep(1.5)
            await anyio.to_thread.run_sync(redis_server.start)

        async with anyio.create_task_group() as group:
            group.start_soon(outage)
            for client in (first, second, first, second):
                group.start_soon(worker, client)
        stats = [first.rate_limit_stats, second.rate_limit_stats]
    assert all(s is not None and s.outages >= 1 and not s.using_fallback for s in stats)
    limits = fake.rate_limits
    assert limits is not None
    assert busiest_window(limits.arrivals) <= math.floor(40 * 1.05)
    assert len(sent) >= 40 * 5 * 0.6  # and it kept going throughout


# --- cancellation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory", "redis"])
async def test_a_call_cancelled_while_it_waits_sends_nothing(request: pytest.FixtureRequest, storage: str) -> None:
    url = request.getfixturevalue("redis_server").url if storage == "redis" else None
    fake, reservation = _fake(default=1)
    args = (reservation.workspace_sid, reservation.task_sid, reservation.sid)
    async with fake.connect(rate_limit=RateLimit.auto(storage_url=url)) as client:
        await client.task_reservations.fetch(*args)
        with anyio.move_on_after(0.2) as scope:
            await client.task_reservations.fetch(*args)  # a turn about 1 s after the first
        assert scope.cancelled_caught
        stats = client.rate_limit_stats
    assert len(fake.requests) == 1
    assert stats is not None
    assert (stats.acquired, stats.waiting) == (1, 0)
