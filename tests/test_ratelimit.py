"""The request budget (``rate_limit=``) in one process: configuration, the pacer, max_wait, keys, retries, stats.

Real HTTP on 127.0.0.1 (``RecordingServer``), on every engine (``make_client``) and on asyncio
and trio. Time is asserted as "no faster than the budget allows", or as "this turn, not the
next" with wide margins; never as a speed. Cancellation is tested with Redis's tests, on both
storages.
"""

from __future__ import annotations

import logging
import math
import sys
import time

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskrouter_async import (
    AsyncTaskRouter,
    BulkUpdate,
    RateLimit,
    RateLimitStats,
    RateLimitTimeoutError,
    TaskReservationUpdate,
    TaskRouterError,
    ValidationError,
)
from taskrouter_async._ratelimit import MemoryBudget, Pace, reserve_turn

from .ratelimit_support import MakeClient, RecordingServer, reservation_sid
from .sids import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

OTHER_WORKSPACE = "WS" + "9" * 32

# --- configuration: checked before any I/O ------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rate": 0}, "rate must be a positive integer"),
        ({"rate": 2.5}, "rate must be a positive integer"),
        ({"rate": True}, "rate must be a positive integer"),
        ({"rate": 5, "per": 0}, "per must be a whole number of seconds"),
        ({"rate": 5, "per": 0.5}, "per must be a whole number of seconds"),
        ({"rate": 5, "per": math.nan}, "per must be a whole number of seconds"),
        ({"rate": 5, "burst": 0}, "burst must be a positive integer"),
        ({"rate": 5, "burst": 6}, r"burst \(6\) cannot be more than rate \(5\)"),
        ({"rate": 5, "max_wait": -1}, "max_wait must be None or a number of seconds >= 0"),
        ({"rate": 5, "max_wait": math.inf}, "max_wait must be None or a number of seconds >= 0"),
        ({"rate": 5, "key": ""}, "key must be None or a non-empty printable string"),
        ({"rate": 5, "key": "a\nb"}, "key must be None or a non-empty printable string"),
        ({"rate": 5, "storage_url": "memcached://127.0.0.1"}, "must be a redis://, rediss:// or redis"),
        ({"rate": 5, "storage_url": "redis://"}, "storage_url needs a host"),
        ({"rate": 5, "storage_url": "redis://127.0.0.1:99999"}, "not a valid URL"),
        ({"rate": 5, "storage_url": "redis+unix://"}, "needs a socket path"),
        ({"rate": 5, "fallback_rate": 2}, "fallback_rate applies only with storage_url"),
        ({"rate": 5, "storage_url": "redis://h", "fallback_rate": 0}, "fallback_rate must be a positive integer"),
    ],
)
def test_bad_configuration_is_a_validation_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RateLimit(**options)  # type: ignore[arg-type]


def test_configuration_defaults_and_whole_seconds() -> None:
    limit = RateLimit(rate=25, per=2.0)
    assert (limit.rate, limit.per, limit.burst, limit.key, limit.storage_url, limit.max_wait) == (
        25,
        2,
        1,
        None,
        None,
        None,
    )
    assert isinstance(limit.per, int)


def test_storage_password_never_shows() -> None:
    limit = RateLimit(rate=5, storage_url="redis://user:hunter2@cache.internal:6379/0")
    assert "hunter2" not in repr(limit)
    assert "redis://user:***@cache.internal:6379/0" in repr(limit)
    with pytest.raises(ValidationError) as caught:
        RateLimit(rate=5, storage_url="memcached://:hunter2@cache.internal")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://cache.internal:6379/0?password=hunter2", "redis://cache.internal:6379/0?password=***"),
        (
            "redis://cache.internal/0?db=1&username=ops&password=hunter2",
            "redis://cache.internal/0?db=1&username=***&password=***",
        ),
        (
            "rediss://default:hunter2@cache.internal/0?ssl_password=hunter2",
            "rediss://default:***@cache.internal/0?ssl_password=***",
        ),
        ("redis://hunter2@cache.internal:6379", "redis://***@cache.internal:6379"),
        ("redis://:hunter2%21@cache.internal", "redis://:***@cache.internal"),
        ("redis+unix:///run/redis.sock?password=hunter2&db=2", "redis+unix:///run/redis.sock?password=***&db=2"),
    ],
)
def test_every_credential_form_of_a_redis_url_is_hidden(url: str, shown: str) -> None:
    """Issue 16 item 3: redis-py reads ``?password=`` (and any other query value) as a connection argument."""
    limit = RateLimit(rate=5, storage_url=url)
    assert "hunter2" not in repr(limit)
    assert repr(shown) in repr(limit)


def test_rate_limit_must_be_a_rate_limit() -> None:
    with pytest.raises(ValidationError, match="rate_limit must be a RateLimit or None, got dict"):
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, rate_limit={"rate": 5})  # type: ignore[arg-type]


def test_a_redis_url_without_the_redis_client_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    limit = RateLimit(rate=5, storage_url="redis://127.0.0.1:6379/0")
    with pytest.raises(ValidationError, match=r"pip install 'taskrouter-async\[redis\]'"):
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, rate_limit=limit)


def test_the_timeout_error_is_in_the_tree() -> None:
    assert issubclass(RateLimitTimeoutError, TaskRouterError)
    assert issubclass(RateLimitTimeoutError, TimeoutError)


# --- the pacer's arithmetic (reserve_turn; the Lua script is tested alike in test_ratelimit_redis) --


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=60),
    rate=st.integers(1, 100),
    burst_share=st.floats(0, 1),
)
def test_turns_never_outrun_rate_and_burst(gaps: list[float], rate: int, burst_share: float) -> None:
    """GCRA's promise: between turns i < j lie at least (j - i - (burst - 1)) intervals, whenever asked."""
    burst = max(1, round(burst_share * rate))
    interval = 1.0 / rate
    tat, now, turns = 0.0, 1000.0, []
    for gap in gaps:
        now += gap
        turn = reserve_turn(tat, now, interval, burst, math.inf)
        assert turn is not None
        delay, tat = turn
        assert delay >= 0
        turns.append(now + delay)
    for i in range(len(turns)):
        for j in range(i + 1, len(turns)):
            assert turns[j] - turns[i] >= (j - i - (burst - 1)) * interval - 1e-9


def test_a_quiet_budget_lets_a_burst_through_then_paces() -> None:
    tat, delays = 0.0, []
    for _ in range(5):
        turn = reserve_turn(tat, 100.0, 0.1, 3, math.inf)
        assert turn is not None
        delay, tat = turn
        delays.append(round(delay, 9))
    assert delays == [0, 0, 0, 0.1, 0.2]


def test_a_turn_beyond_max_delay_reserves_nothing() -> None:
    assert reserve_turn(100.5, 100.0, 0.1, 1, 0.4) is None
    assert reserve_turn(100.5, 100.0, 0.1, 1, 0.5) == (0.5, pytest.approx(100.6))


# --- the client -------------------------------------------------------------------------------


async def _fetch(client: AsyncTaskRouter, number: int, workspace: str = WORKSPACE_SID) -> None:
    await client.task_reservations.fetch(workspace, TASK_SID, reservation_sid(number))


@pytest.mark.usefixtures("engine")
async def test_requests_are_spread_evenly(make_client: MakeClient, recording_server: RecordingServer) -> None:
    async with (
        make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=20)) as client,
        anyio.create_task_group() as tasks,
    ):
        for number in range(6):
            tasks.start_soon(_fetch, client, number)
    times = recording_server.times
    assert len(times) == 6
    # Turns are 50 ms apart; arrivals may bunch by a network delay (the first opens a connection).
    assert times[-1] - times[0] >= 4 * 0.05


@pytest.mark.usefixtures("engine")
async def test_a_burst_goes_at_once_then_the_rest_is_paced(
    make_client: MakeClient, recording_server: RecordingServer
) -> None:
    async with make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=10, burst=3)) as client:
        with anyio.fail_after(1):  # three go without waiting for a turn
            async with anyio.create_task_group() as tasks:
                for number in range(3):
                    tasks.start_soon(_fetch, client, number)
        await _fetch(client, 3)
        stats = client.rate_limit_stats
    assert stats is not None
    assert stats.acquired == 4
    assert stats.waited == 1


@pytest.mark.usefixtures("engine")
async def test_every_attempt_takes_a_token_retries_included(make_client: MakeClient) -> None:
    with RecordingServer(statuses=iter([503, 503, 200])) as server:
        async with make_client(base_url=server.url, rate_limit=RateLimit(rate=50), max_retries=2) as client:
            await _fetch(client, 1)
            stats = client.rate_limit_stats
    assert len(server.arrivals) == 3
    assert stats is not None
    assert stats.acquired == 3


@pytest.mark.usefixtures("engine")
async def test_past_max_wait_the_call_raises_without_sending(
    make_client: MakeClient, recording_server: RecordingServer
) -> None:
    async with make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=1, max_wait=0.2)) as client:
        await _fetch(client, 1)
        with anyio.fail_after(0.9), pytest.raises(RateLimitTimeoutError) as caught:
            await _fetch(client, 2)
        stats = client.rate_limit_stats
    assert len(recording_server.arrivals) == 1
    error = caught.value
    assert (error.key, error.max_wait) == (WORKSPACE_SID, 0.2)
    assert 0 <= error.waited < 0.9
    assert "the request was not sent" in str(error)
    assert stats is not None
    assert (stats.acquired, stats.timed_out) == (1, 1)


async def test_the_wall_clock_stepping_back_does_not_freeze_the_budget(
    make_client: MakeClient, recording_server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 7: after the wall clock stepped back 30 s, a call at 2/s waited about 30 s."""
    async with make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=2, max_wait=2)) as client:
        await _fetch(client, 1)
        await _fetch(client, 2)
        stepped_back = time.time() - 30
        monkeypatch.setattr(time, "time", lambda: stepped_back)
        with anyio.fail_after(3):
            await _fetch(client, 3)  # its turn is 0.5 s away, whatever the wall clock says
    assert len(recording_server.arrivals) == 3


@pytest.mark.usefixtures("engine")
async def test_max_wait_zero_never_waits(make_client: MakeClient, recording_server: RecordingServer) -> None:
    async with make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=2, burst=2, max_wait=0)) as client:
        await _fetch(client, 1)
        await _fetch(client, 2)
        with pytest.raises(RateLimitTimeoutError):
            await _fetch(client, 3)
    assert len(recording_server.arrivals) == 2


@pytest.mark.usefixtures("engine")
async def test_each_workspace_has_a_budget_of_its_own(
    make_client: MakeClient, recording_server: RecordingServer
) -> None:
    async with make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=1, max_wait=0)) as client:
        await _fetch(client, 1, WORKSPACE_SID)
        await _fetch(client, 2, OTHER_WORKSPACE)
        with pytest.raises(RateLimitTimeoutError) as caught:
            await _fetch(client, 3, WORKSPACE_SID)
    assert caught.value.key == WORKSPACE_SID
    assert len(recording_server.arrivals) == 2


@pytest.mark.usefixtures("engine")
async def test_a_key_puts_workspaces_under_one_budget(
    make_client: MakeClient, recording_server: RecordingServer
) -> None:
    async with make_client(
        base_url=recording_server.url, rate_limit=RateLimit(rate=1, max_wait=0, key="all-of-them")
    ) as client:
        await _fetch(client, 1, WORKSPACE_SID)
        with pytest.raises(RateLimitTimeoutError) as caught:
            await _fetch(client, 2, OTHER_WORKSPACE)
    assert caught.value.key == "all-of-them"
    assert len(recording_server.arrivals) == 1


@pytest.mark.usefixtures("engine")
async def test_waits_are_logged_and_counted(
    make_client: MakeClient, recording_server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="taskrouter_async")
    async with (
        make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=10)) as client,
        anyio.create_task_group() as tasks,
    ):
        for number in range(3):
            tasks.start_soon(_fetch, client, number)
        await anyio.sleep(0.05)
        now = client.rate_limit_stats
        assert now is not None
        assert 1 <= now.waiting <= 2  # the second waits for its turn, the third for the second
    stats = client.rate_limit_stats
    assert stats is not None
    assert (stats.acquired, stats.waited, stats.waiting, stats.timed_out) == (3, 2, 0, 0)
    assert (stats.using_fallback, stats.outages) == (False, 0)
    assert stats.wait_seconds >= 0.1 + 0.2 - 0.02  # the second waited a turn, the third two
    assert 0.18 <= stats.throttled_seconds <= stats.wait_seconds
    waits = [r.getMessage() for r in caplog.records if "for the rate budget" in r.getMessage()]
    assert len(waits) == 2
    assert all(w.startswith("waited 0.") and w.endswith(f"s for the rate budget ({WORKSPACE_SID})") for w in waits)


@pytest.mark.usefixtures("engine")
async def test_no_rate_limit_means_no_stats(make_client: MakeClient, recording_server: RecordingServer) -> None:
    async with make_client(base_url=recording_server.url, rate_limit=None) as client:
        await _fetch(client, 1)
        assert client.rate_limit_stats is None


@pytest.mark.usefixtures("engine")
async def test_views_share_the_budget(make_client: MakeClient, recording_server: RecordingServer) -> None:
    async with make_client(base_url=recording_server.url, rate_limit=RateLimit(rate=1, max_wait=0)) as client:
        view = client.with_options(max_retries=0)
        await _fetch(view, 1)
        await view.aclose()  # a view closes nothing of the client's
        with pytest.raises(RateLimitTimeoutError):
            await _fetch(client, 2)
        assert client.rate_limit_stats == view.rate_limit_stats


def test_a_budget_hands_turns_back_only_when_nobody_reserved_after() -> None:
    budget, pace = MemoryBudget(), Pace(rate=10, cap=10, per=1)
    first = budget.reserve("k", pace, math.inf)
    second = budget.reserve("k", pace, math.inf)
    assert first is not None
    assert second is not None
    budget.refund(first)  # a later turn exists: nothing to hand back
    third = budget.reserve("k", pace, math.inf)
    assert third is not None
    assert third.delay == pytest.approx(second.delay + 0.1, abs=0.01)
    budget.refund(third)  # the last one: handed back, the next caller gets it
    fourth = budget.reserve("k", pace, math.inf)
    assert fourth is not None
    assert fourth.delay == pytest.approx(third.delay, abs=0.01)


@pytest.mark.usefixtures("engine")
async def test_update_many_runs_within_the_budget(make_client: MakeClient) -> None:
    accept = TaskReservationUpdate.accept()
    sids = [reservation_sid(n) for n in range(5)]
    with RecordingServer() as server:
        async with make_client(base_url=server.url, rate_limit=RateLimit(rate=20, max_wait=1)) as client:
            items = [BulkUpdate(WORKSPACE_SID, TASK_SID, sid, accept) for sid in sids]
            results = await client.task_reservations.update_all(items, concurrency=5)
            stats = client.rate_limit_stats
    assert [r.ok for r in results] == [True] * 5
    times = server.times
    assert times[-1] - times[0] >= 3 * 0.05
    assert isinstance(stats, RateLimitStats)
    assert stats.acquired == 5


@pytest.mark.usefixtures("engine")
async def test_in_update_many_a_budget_timeout_is_one_items_error(make_client: MakeClient) -> None:
    accept = TaskReservationUpdate.accept()
    with RecordingServer() as server:
        async with make_client(base_url=server.url, rate_limit=RateLimit(rate=1, max_wait=0)) as client:
            items = [BulkUpdate(WORKSPACE_SID, TASK_SID, reservation_sid(n), accept) for n in range(3)]
            results = await client.task_reservations.update_all(items, concurrency=3)
    assert sum(r.ok for r in results) == 1
    assert all(isinstance(r.error, RateLimitTimeoutError) for r in results if not r.ok)
    assert len(server.arrivals) == 1
