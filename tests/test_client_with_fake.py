"""Client behaviour that reads better against the stateful fake than against canned respx routes."""

from __future__ import annotations

import pytest

from taskrouter_async import InternalServerError, PreconditionFailedError, TaskReservationUpdate
from taskrouter_async.testing import FakeTaskRouter

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> FakeTaskRouter:
    return FakeTaskRouter()


async def test_list_walks_every_page_once(fake: FakeTaskRouter) -> None:
    task = fake.add_task()
    sids = [fake.add_reservation(task_sid=task).sid for _ in range(7)]
    workspace = fake.reservations[0].workspace_sid
    async with fake.connect() as client:
        listed = [r.sid async for r in client.task_reservations.list(workspace, task, page_size=2)]
    assert listed == sids
    assert [r.query.get("Page") for r in fake.requests] == [None, "1", "2", "3"]


async def test_pages_resume_from_a_next_page_url(fake: FakeTaskRouter) -> None:
    task = fake.add_task()
    sids = [fake.add_reservation(task_sid=task).sid for _ in range(5)]
    workspace = fake.reservations[0].workspace_sid
    async with fake.connect() as client:
        pages = [page async for page in client.task_reservations.pages(workspace, task, page_size=2)]
        resume_at = pages[0].next_page_url
        assert resume_at is not None
        resumed = [page async for page in client.task_reservations.pages(workspace, task, page_url=resume_at)]
    assert [r.sid for page in resumed for r in page.items] == sids[2:]
    assert [page.meta.page for page in resumed] == [1, 2]


async def test_an_update_that_lost_a_race_fails_with_412_and_is_not_repeated(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    address = (seeded.workspace_sid, seeded.task_sid, seeded.sid)
    async with fake.connect(max_retries=3) as client:
        seen = await client.task_reservations.fetch(*address)
        fake.set_status(seeded.sid, "timeout")  # TaskRouter moves on meanwhile
        with pytest.raises(PreconditionFailedError):
            await client.task_reservations.update(*address, TaskReservationUpdate.accept(), etag=seen.etag)
    assert [r.method for r in fake.requests] == ["GET", "POST"]
    assert fake.reservation(seeded.sid).status == "timeout"


async def test_a_rate_limited_update_is_applied_once(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    fake.fail_next(2, status=429, retry_after=0)
    async with fake.connect(max_retries=2) as client:
        accepted = await client.task_reservations.update(
            seeded.workspace_sid, seeded.task_sid, seeded.sid, TaskReservationUpdate.accept()
        )
    assert accepted.reservation_status == "accepted"
    assert [r.method for r in fake.requests] == ["POST"] * 3
    assert fake.reservation(seeded.sid).version == 2


async def test_a_5xx_update_is_repeated_only_under_if_match(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    address = (seeded.workspace_sid, seeded.task_sid, seeded.sid)
    async with fake.connect(max_retries=1) as client:
        fake.fail_next(status=503, retry_after=0)
        with pytest.raises(InternalServerError):
            await client.task_reservations.update(*address, TaskReservationUpdate.accept())
        assert len(fake.requests) == 1
        fake.fail_next(status=503, retry_after=0)
        accepted = await client.task_reservations.update(*address, TaskReservationUpdate.accept(), etag=seeded.etag)
    assert accepted.reservation_status == "accepted"
    assert len(fake.requests) == 3
