"""Testing your own code with ``FakeTaskRouter``: no account, no network, no mocks of this library.

The fake is a stateful stand-in for TaskRouter's reservation endpoints. Seed it, hand your code a
client connected to it in-process, then check what your code left behind and what it sent.
Run these tests with (the anyio pytest plugin comes with anyio):

    pytest examples/testing_with_fake.py
"""

from __future__ import annotations

import pytest

from taskrouter_async import AsyncTaskRouter, TaskReservationUpdate
from taskrouter_async.testing import FakeTaskRouter


async def accept_first_pending(client: AsyncTaskRouter, workspace_sid: str, task_sid: str) -> str | None:
    """The code under test: accept the task's first pending reservation and return its SID, if there is one."""
    async for reservation in client.task_reservations.list(
        workspace_sid, task_sid, reservation_status="pending", limit=1
    ):
        await client.task_reservations.update(workspace_sid, task_sid, reservation.sid, TaskReservationUpdate.accept())
        return reservation.sid
    return None


@pytest.fixture
def fake() -> FakeTaskRouter:
    return FakeTaskRouter()


@pytest.mark.anyio
async def test_accepts_the_first_pending_reservation(fake: FakeTaskRouter) -> None:
    task = fake.add_task()
    first = fake.add_reservation(task_sid=task, worker_name="Alice")
    second = fake.add_reservation(task_sid=task, worker_name="Bob")

    async with fake.connect() as client:  # an AsyncTaskRouter wired to the fake, in-process
        assert await accept_first_pending(client, first.workspace_sid, task) == first.sid

    assert fake.reservation(first.sid).status == "accepted"
    assert fake.reservation(second.sid).status == "rescinded"  # the first to accept gets the task
    assert fake.requests[-1].params == TaskReservationUpdate.accept()  # what your code sent


@pytest.mark.anyio
async def test_nothing_pending_sends_no_update(fake: FakeTaskRouter) -> None:
    taken = fake.add_reservation(status="accepted")

    async with fake.connect() as client:
        assert await accept_first_pending(client, taken.workspace_sid, taken.task_sid) is None

    assert [request.method for request in fake.requests] == ["GET"]


@pytest.mark.anyio
async def test_a_rate_limited_accept_is_retried_by_the_client(fake: FakeTaskRouter) -> None:
    pending = fake.add_reservation()
    fake.fail_next(1, status=429, retry_after=0)  # the first request gets HTTP 429 with Retry-After: 0

    async with fake.connect(max_retries=2) as client:
        assert await accept_first_pending(client, pending.workspace_sid, pending.task_sid) == pending.sid

    assert [request.method for request in fake.requests] == ["GET", "GET", "POST"]
    assert fake.reservation(pending.sid).version == 2  # changed exactly once
