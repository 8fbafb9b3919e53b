"""The budget's two storages, and the shared one on a real Redis (``tests/redis_server.py``, one per test).

- The pacer and the window behave alike in memory and in Redis (the Lua script is ``reserve_turn``).
- A call cancelled while it waits sends nothing, leaves no task behind and hands its turn back.
- 4 processes (asyncio and trio, httpx and aiohttp engines) share 50 requests/s against a server
  that records arrival times: no one-second window at the server holds more than the budget plus
  ``WINDOW_TOLERANCE``, every request succeeds once, and each process gets its share within
  ``FAIR_SHARE``.
- Redis killed and restarted, or hung, mid-run: the documented fallback holds, no request is lost
  or sent twice, every call ends within its deadline, one warning is logged per outage.

``TASKROUTER_RATELIMIT_SECONDS`` sets how long the multi-process runs last (default 3;
``nox -s ratelimit``: 20, and adds a multi-process run with Redis killed mid-way).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from taskrouter_async import AsyncTaskRouter, RateLimit
from taskrouter_async._ratelimit import MemoryBudget, Pace, Turn
from taskrouter_async._ratelimit_redis import STORAGE_TIMEOUT, RedisBudget

from .ratelimit_support import MakeClient, RecordingServer, busiest_window, reservation_sid, running_tasks
from .redis_server import RedisServer
from .sids import TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

SECONDS = float(os.environ.get("TASKROUTER_RATELIMIT_SECONDS", "3"))
#: Arrivals at the server may bunch by the spread of network and scheduling delays: allow 10 %.
WINDOW_TOLERANCE = 0.10
#: Each of N processes that all want more than the budget gets between 75 % and 125 % of budget / N.
FAIR_SHARE = (0.75, 1.25)
ROOT = Path(__file__).resolve().parent.parent

# --- the two storages, tested the same way ---------------------------------------------------


class Budget:
    """One budget (10 per second, a burst of 3) in memory or in Redis, behind the same calls."""

    def __init__(self, shared: RedisBudget | None) -> None:
        self.shared = shared
        self.memory = MemoryBudget()
        self.pace = Pace(rate=10, cap=10, per=1, burst=3)

    async def reserve(self, key: str, max_delay: float) -> Turn | None:
        if self.shared is None:
            return self.memory.reserve(key, self.pace, max_delay)
        turn, _ = await self.shared.reserve(key, "", self.pace, max_delay)
        return turn

    async def refund(self, turn: Turn) -> None:
        if self.shared is None:
            self.memory.refund(turn)
        else:
            await self.shared.refund(turn)

    async def take(self, key: str) -> float | None:
        return self.memory.take(key, self.pace) if self.shared is None else await self.shared.take(key, self.pace)


@pytest.fixture(params=["memory", "redis"])
async def budget(request: pytest.FixtureRequest) -> AsyncIterator[Budget]:
    """A budget of 10 per second with a burst of 3, in memory or in a fresh Redis."""
    if request.param == "memory":
        yield Budget(None)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    shared = RedisBudget(server.url, namespace="test", learn=False, account="AC")
    yield Budget(shared)
    shared.close()


class Turns:
    """Reserves turns on key "k" and says when each is due, in seconds since the first was asked for.

    A turn's due time is the storage's "now" plus its delay; "now" is taken as halfway through the
    call, so a due time is right within half a round trip, however long the test has run.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.start: float | None = None

    async def reserve(self, count: int, max_delay: float = 1e12) -> list[float | None]:
        due: list[float | None] = []
        for _ in range(count):
            asked = time.monotonic()
            if self.start is None:
                self.start = asked
            turn = await self.budget.reserve("k", max_delay)
            now = (asked + time.monotonic()) / 2
            due.append(None if turn is None else round(now + turn.delay - self.start, 2))
        return due

    async def reserve_one(self) -> Turn:
        turn = await self.budget.reserve("k", 1e12)
        assert turn is not None
        return turn


def near(expected: list[float | None]) -> list[object]:
    """The expected due times, each within 40 ms."""
    return [None if e is None else pytest.approx(e, abs=0.04) for e in expected]


async def test_a_burst_then_one_turn_per_interval(budget: Budget) -> None:
    assert await Turns(budget).reserve(6) == near([0, 0, 0, 0.1, 0.2, 0.3])


async def test_a_turn_beyond_max_delay_is_not_reserved(budget: Budget) -> None:
    turns = Turns(budget)
    assert await turns.reserve(4) == near([0, 0, 0, 0.1])
    assert await turns.reserve(2, max_delay=0.12) == [None, None]  # the next is 0.2 s away
    assert await turns.reserve(1) == near([0.2])


async def test_only_the_last_turn_is_handed_back(budget: Budget) -> None:
    turns = Turns(budget)
    assert await turns.reserve(3) == near([0, 0, 0])
    first = await turns.reserve_one()
    await turns.reserve_one()
    await budget.refund(first)  # a later turn exists: nothing to hand back
    assert await turns.reserve(1) == near([0.3])
    last = await turns.reserve_one()
    await budget.refund(last)  # the last one: the next caller gets it
    assert await turns.reserve(1) == near([0.4])


async def test_the_window_holds_rate_per_second(budget: Budget) -> None:
    taken = [await budget.take("k") for _ in range(10)]
    assert taken == [None] * 10
    wait = await budget.take("k")
    assert wait is not None
    assert 0.5 < wait <= 1.0  # until the first slot taken frees up


async def test_keys_are_separate(budget: Budget) -> None:
    assert await Turns(budget).reserve(4) == near([0, 0, 0, 0.1])
    turn = await budget.reserve("other", 1e12)
    assert turn is not None
    assert turn.delay == 0


# --- the client on a shared budget --------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory", "redis"])
@pytest.mark.usefixtures("engine")
async def test_cancelling_a_waiting_call_sends_nothing_and_gives_its_turn_back(
    make_client: MakeClient, recording_server: RecordingServer, request: pytest.FixtureRequest, storage: str
) -> None:
    url = request.getfixturevalue("redis_server").url if storage == "redis" else None
    async with make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=1, storage_url=url)) as client:
        await _fetch(client, 1)
        before = running_tasks()
        with anyio.move_on_after(0.1) as scope:
            await _fetch(client, 2)  # its turn is 1 s after the first call's
        assert scope.cancelled_caught
        assert running_tasks() == before
        stats = client.rate_limit_stats
        await anyio.sleep(0.05)
        assert client.rate_limit_stats == stats  # nothing counts as waiting any more
        await _fetch(client, 3)
        stats = client.rate_limit_stats
    (first, path_1), (third, path_3) = recording_server.arrivals
    assert [path_1.rsplit("/", 1)[1], path_3.rsplit("/", 1)[1]] == [reservation_sid(1), reservation_sid(3)]
    # The third call got the turn the second gave back (1 s after the first), not the next one (2 s).
    assert 0.5 < third - first < 1.6
    assert stats is not None
    assert (stats.acquired, stats.outages) == (2, 0)


async def test_a_call_cancelled_while_the_reserve_script_runs_gives_its_turn_back(
    make_client: MakeClient,
    recording_server: RecordingServer,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16: the script reserves the turn, but its reply comes after the caller was cancelled."""
    reserve_now = RedisBudget._reserve_for
    slow = {"on": False}

    def slow_reply(self: RedisBudget, *args: Any) -> Any:
        turn = reserve_now(self, *args)
        if slow["on"]:
            time.sleep(0.3)  # the script has run; its reply is late
        return turn

    monkeypatch.setattr(RedisBudget, "_reserve_for", slow_reply)
    limit = RateLimit(rate=2, storage_url=redis_server.url)
    async with make_client(base_url=recording_server.url, rate_limit=limit) as client:
        await _fetch(client, 1)
        slow["on"] = True
        with anyio.move_on_after(0.1) as scope:
            await _fetch(client, 2)  # reserves the turn 0.5 s after the first, then is cancelled
        assert scope.cancelled_caught
        slow["on"] = False
        await anyio.sleep(0.35)  # the abandoned script's reply has come (and its turn gone back)
        await _fetch(client, 3)
    (first, path_1), (third, path_3) = recording_server.arrivals
    assert [path_1.rsplit("/", 1)[1], path_3.rsplit("/", 1)[1]] == [reservation_sid(1), reservation_sid(3)]
    # The third call got the turn the second gave back (0.5 s after the first), not the next one (1 s).
    assert third - first < 0.8


@pytest.mark.usefixtures("engine")
async def test_two_clients_share_one_budget_through_redis(
    recording_server: RecordingServer, redis_server: RedisServer, make_client: MakeClient
) -> None:
    limit = RateLimit(rate=1, max_wait=0, storage_url=redis_server.url)
    async with (
        make_client(base_url=recording_server.url, rate_limit=limit) as first,
        make_client(base_url=recording_server.url, rate_limit=limit) as second,
    ):
        await _fetch(first, 1)
        with pytest.raises(Exception, match="no room in the rate budget"):
            await _fetch(second, 2)
    assert len(recording_server.arrivals) == 1


@pytest.mark.parametrize(
    ("credentials", "query", "shown"),
    [(":s3cret-pw@", "", ":***@"), ("", "?password=s3cret-pw", "")],
    ids=["userinfo", "query"],
)
async def test_the_storage_password_stays_out_of_logs(
    recording_server: RecordingServer,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
    credentials: str,
    query: str,
    shown: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="taskrouter_async")
    url = f"redis://{credentials}127.0.0.1:{redis_server.port}/0{query}"  # this Redis has no password: AUTH fails
    async with AsyncTaskRouter(
        "AC" + "a" * 32, "token", base_url=recording_server.url, rate_limit=RateLimit(rate=10, storage_url=url)
    ) as client:
        await _fetch(client, 1)
        stats = client.rate_limit_stats
    assert stats is not None
    assert stats.using_fallback
    assert "s3cret-pw" not in caplog.text
    shown_query = query.replace("s3cret-pw", "***")
    assert f"redis://{shown}127.0.0.1:{redis_server.port}/0{shown_query} is unreachable" in caplog.text


async def _fetch(client: AsyncTaskRouter, number: int) -> None:
    await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, reservation_sid(number))


# --- Redis faults mid-run ---------------------------------------------------------------------


async def _run_with_fault(
    make_client: MakeClient,
    server: RecordingServer,
    redis: RedisServer,
    fault: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """20 requests/s from 5 workers for 3 s; the fault (kill or hang) lasts from 0.8 s to 1.8 s."""
    caplog.set_level(logging.INFO, logger="taskrouter_async")
    rate, seconds, deadline = 20, 3.0, 1.0 + STORAGE_TIMEOUT * 2
    fetched: list[str] = []
    slowest = 0.0
    numbers = iter(range(10**6))
    limit = RateLimit(rate=rate, storage_url=redis.url, fallback_rate=rate)

    async with make_client(base_url=server.url, rate_limit=limit, max_retries=0) as client:
        started = time.monotonic()

        async def worker() -> None:
            nonlocal slowest
            while time.monotonic() - started < seconds:
                sid = reservation_sid(next(numbers))
                call_started = time.monotonic()
                with anyio.fail_after(deadline):
                    await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, sid)
                slowest = max(slowest, time.monotonic() - call_started)
                fetched.append(sid)

        async def inject() -> None:
            await anyio.sleep(0.8)
            if fault == "kill":
                await anyio.to_thread.run_sync(redis.kill)
                await anyio.sleep(1.0)
                await anyio.to_thread.run_sync(redis.start)
            else:
                redis.pause()
                await anyio.sleep(1.0)
                redis.resume()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(inject)
            for _ in range(5):
                tasks.start_soon(worker)
        stats = client.rate_limit_stats

    # No request lost, none sent twice, every call within its deadline.
    sent = [path.rsplit("/", 1)[1] for _, path in server.arrivals]
    assert sorted(sent) == sorted(fetched)
    assert len(set(sent)) == len(sent)
    assert slowest < deadline
    # The documented behaviour: one warning per outage however many calls hit it (5 workers did), a
    # per-process budget meanwhile, the shared one again after. (On a starved machine a Redis call
    # may also miss its 0.5 s outside the fault: that is an outage of its own, with its warning.)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert stats is not None
    assert len(warnings) == stats.outages >= 1
    assert all("is unreachable" in w and "this process keeps to 20 per 1 s" in w for w in warnings)
    assert sum("the shared budget is in use again" in r.getMessage() for r in caplog.records) == stats.outages
    assert not stats.using_fallback
    # The budget held throughout (a switch-over may let one more turn through).
    assert busiest_window(server.times) <= rate * (1 + WINDOW_TOLERANCE) + 1


@pytest.mark.usefixtures("engine")
async def test_redis_killed_and_restarted_mid_run(
    make_client: MakeClient,
    recording_server: RecordingServer,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _run_with_fault(make_client, recording_server, redis_server, "kill", caplog)


@pytest.mark.usefixtures("engine")
async def test_redis_hung_mid_run(
    make_client: MakeClient,
    recording_server: RecordingServer,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _run_with_fault(make_client, recording_server, redis_server, "hang", caplog)


# --- many processes, one budget ---------------------------------------------------------------


#: The processes of a shared run: every backend and every engine, all on one budget.
PROCESSES = [("asyncio", "httpx"), ("trio", "httpx"), ("asyncio", "aiohttp"), ("trio", "httpx")]


def _run_processes(
    redis: RedisServer, *, rate: int, seconds: float, fallback_rate: int | None = None, kill_at: float | None = None
) -> tuple[list[float], list[str], list[dict[str, object]]]:
    """Run the PROCESSES (tests/ratelimit_worker.py) together; return arrival times, paths and results.

    Without ``fallback_rate`` each process falls back to its share: a Redis call that times out on a
    starved machine then keeps the fleet within the budget too."""
    with RecordingServer() as server:
        children = [
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "tests.ratelimit_worker", server.url, redis.url, backend, engine),
                    *(str(rate), str(fallback_rate or 0), str(seconds), "10", str(index)),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for index, (backend, engine) in enumerate(PROCESSES)
        ]
        try:
            for child in children:
                assert child.stdout is not None
                assert child.stdout.readline().strip() == "ready"
            for child in children:
                assert child.stdin is not None
                child.stdin.write("go\n")
                child.stdin.flush()
            if kill_at is not None:
                time.sleep(kill_at)
                redis.kill()
                time.sleep(3.0)
                redis.start()
            results = []
            for child in children:
                out, _ = child.communicate(timeout=seconds + 60)
                assert child.returncode == 0
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        return server.times, [path for _, path in server.arrivals], results


def _check_shared_run(
    times: list[float], paths: list[str], results: list[dict[str, object]], rate: int, *, most: float
) -> None:
    """Every request sent once and answered; the busiest second at most ``most``; every process its share."""
    fetched = [sid for result in results for sid in result["fetched"]]  # type: ignore[attr-defined]
    failures = [f for result in results for f in result["failures"]]  # type: ignore[attr-defined]
    assert failures == []
    sent = [path.rsplit("/", 1)[1] for path in paths]
    assert sorted(sent) == sorted(fetched)
    assert len(set(sent)) == len(sent)
    busiest = busiest_window(times)
    counts = [len(result["fetched"]) for result in results]  # type: ignore[arg-type]
    print(f"\nbusiest 1 s window {busiest} (budget {rate}); per process {counts}; span {max(times) - min(times):.2f} s")
    assert busiest <= most
    share = len(fetched) / len(results)
    low, high = FAIR_SHARE
    assert all(low * share <= count <= high * share for count in counts), counts


def test_four_processes_share_fifty_requests_a_second(redis_server: RedisServer) -> None:
    times, paths, results = _run_processes(redis_server, rate=50, seconds=SECONDS)
    _check_shared_run(times, paths, results, 50, most=50 * (1 + WINDOW_TOLERANCE))
    assert Counter(result["outages"] for result in results) == {0: 4}


@pytest.mark.skipif(
    "TASKROUTER_RATELIMIT_SECONDS" not in os.environ,
    reason="long run: nox -s ratelimit (the default run kills Redis under one process, above)",
)
def test_four_processes_ride_out_a_redis_restart(redis_server: RedisServer) -> None:
    """Killed for 3 s: each process keeps to its share (50 / 4, counted in Redis before the outage); once Redis
    is back, each keeps to its share too until all four are back. Before issue 19 the busiest second held 75;
    now no more than a run without an outage (``WINDOW_TOLERANCE`` for arrival jitter at an exact 50/s budget;
    benchmarks/ratebudget.py measures the auto budget's, which keeps 3 % spare, against 52.5)."""
    times, paths, results = _run_processes(redis_server, rate=50, seconds=SECONDS, kill_at=SECONDS / 3)
    _check_shared_run(times, paths, results, 50, most=50 * (1 + WINDOW_TOLERANCE))
    assert all(result["outages"] == 1 for result in results)
