"""The fake TaskRouter (taskrouter_async.testing): state machine, paging, errors, auth, ETags, faults, recording."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from taskrouter_async import (
    APITimeoutError,
    AsyncTaskRouter,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitError,
    ReservationStatus,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservationUpdate,
)
from taskrouter_async.testing import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTaskRouter

from .sids import ACTIVITY_SID, CALL_SID, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
S = ReservationStatus

#: The lifecycle the issue specifies, written out independently of the fake's own table.
ALLOWED = {
    (S.PENDING, S.ACCEPTED),
    (S.PENDING, S.REJECTED),
    (S.PENDING, S.TIMEOUT),
    (S.PENDING, S.CANCELED),
    (S.PENDING, S.RESCINDED),
    (S.ACCEPTED, S.WRAPPING),
    (S.ACCEPTED, S.COMPLETED),
    (S.WRAPPING, S.COMPLETED),
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeTaskRouter:
    return FakeTaskRouter(clock=clock)


def _auth(token: str = DEFAULT_AUTH_TOKEN) -> dict[str, str]:
    credentials = base64.b64encode(f"{DEFAULT_ACCOUNT_SID}:{token}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def _list_path(workspace_sid: str, segment: str, parent_sid: str) -> str:
    return f"/v1/Workspaces/{workspace_sid}/{segment}/{parent_sid}/Reservations"


async def test_fetch_returns_the_seeded_reservation_with_urls_on_the_fake_base_url(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation(
        workspace_sid=WORKSPACE_SID, task_sid=TASK_SID, worker_sid=WORKER_SID, worker_name="Alice", sid=RESERVATION_SID
    )
    async with fake.connect() as client:
        by_task = await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
        by_worker = await client.worker_reservations.fetch(WORKSPACE_SID, WORKER_SID, RESERVATION_SID)
    assert seeded.status is S.PENDING
    assert by_task.sid == by_worker.sid == RESERVATION_SID
    assert by_task.reservation_status is S.PENDING
    assert (by_task.worker_name, by_task.worker_sid, by_task.task_sid) == ("Alice", WORKER_SID, TASK_SID)
    assert by_task.account_sid == DEFAULT_ACCOUNT_SID
    assert by_task.date_created == by_task.date_updated == START
    workspace_url = f"{fake.base_url}/v1/Workspaces/{WORKSPACE_SID}"
    assert by_task.url == f"{workspace_url}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}"
    assert by_worker.url == f"{workspace_url}/Workers/{WORKER_SID}/Reservations/{RESERVATION_SID}"
    assert by_task.links == {
        "task": f"{workspace_url}/Tasks/{TASK_SID}",
        "worker": f"{workspace_url}/Workers/{WORKER_SID}",
        "workspace": workspace_url,
    }
    assert by_task.etag == '"1"'


@pytest.mark.parametrize("page_size", [1, 2, 3, 5, 50])
async def test_pages_follow_page_tokens_in_creation_order(fake: FakeTaskRouter, page_size: int) -> None:
    task = fake.add_task()
    sids = [fake.add_reservation(task_sid=task).sid for _ in range(5)]
    workspace = fake.reservations[0].workspace_sid
    async with fake.connect() as client:
        pages = [page async for page in client.task_reservations.pages(workspace, task, page_size=page_size)]
    assert [r.sid for page in pages for r in page.items] == sids
    assert [page.meta.page for page in pages] == list(range(len(pages)))
    assert all(page.meta.page_size == page_size for page in pages)
    assert pages[-1].next_page_url is None
    assert pages[0].meta.previous_page_url is None
    for page in pages[1:]:
        assert page.meta.previous_page_url is not None
        assert parse_qs(urlsplit(page.meta.previous_page_url).query)["PageToken"] == [f"PB{page.items[0].sid}"]


async def test_list_meta_is_shaped_like_the_real_api(fake: FakeTaskRouter) -> None:
    task = fake.add_task()
    first, second, third = (fake.add_reservation(task_sid=task) for _ in range(3))
    path = _list_path(first.workspace_sid, "Tasks", task)
    async with fake.client() as http:
        page0 = (await http.get(path, params={"PageSize": "2"}, headers=_auth())).json()
        page1 = (await http.get(page0["meta"]["next_page_url"], headers=_auth())).json()
        previous = (await http.get(page1["meta"]["previous_page_url"], headers=_auth())).json()
    url = fake.base_url + path
    assert page0["meta"] == {
        "first_page_url": f"{url}?PageSize=2&Page=0",
        "key": "reservations",
        "next_page_url": f"{url}?PageSize=2&Page=1&PageToken=PA{second.sid}",
        "page": 0,
        "page_size": 2,
        "previous_page_url": None,
        "url": f"{url}?PageSize=2&Page=0",
    }
    assert [r["sid"] for r in page0["reservations"]] == [first.sid, second.sid]
    assert page1["meta"]["url"] == f"{url}?PageSize=2&Page=1&PageToken=PA{second.sid}"
    assert page1["meta"]["previous_page_url"] == f"{url}?PageSize=2&Page=0&PageToken=PB{third.sid}"
    assert page1["meta"]["next_page_url"] is None
    assert [r["sid"] for r in page1["reservations"]] == [third.sid]
    assert [r["sid"] for r in previous["reservations"]] == [first.sid, second.sid]


async def test_list_filters_by_status_and_worker_and_lists_a_workers_reservations(fake: FakeTaskRouter) -> None:
    task = fake.add_task()
    alice = fake.add_worker(friendly_name="Alice")
    pending = fake.add_reservation(task_sid=task, worker_sid=alice)
    fake.add_reservation(task_sid=task, status="rejected")
    other_task = fake.add_reservation(worker_sid=alice, status="accepted")
    workspace = pending.workspace_sid
    async with fake.connect() as client:
        tasks = client.task_reservations
        only_pending = [r.sid async for r in tasks.list(workspace, task, reservation_status="pending")]
        alices = [r.sid async for r in tasks.list(workspace, task, worker_sid=alice)]
        by_worker = [r.sid async for r in client.worker_reservations.list(workspace, alice)]
        workers = client.worker_reservations
        accepted = [r.sid async for r in workers.list(workspace, alice, reservation_status="accepted")]
    assert only_pending == [pending.sid]
    assert alices == [pending.sid]
    assert by_worker == [pending.sid, other_task.sid]
    assert accepted == [other_task.sid]


async def test_every_status_change_follows_the_reservation_lifecycle(fake: FakeTaskRouter) -> None:
    async with fake.connect() as client:
        for start in S:
            for target in S:
                seeded = fake.add_reservation(status=start)
                params = TaskReservationUpdate(reservation_status=target)
                address = (seeded.workspace_sid, seeded.task_sid, seeded.sid)
                if (start, target) in ALLOWED:
                    updated = await client.task_reservations.update(*address, params)
                    assert updated.reservation_status is target
                    assert fake.reservation(seeded.sid).version == 2
                else:
                    with pytest.raises(BadRequestError) as caught:
                        await client.task_reservations.update(*address, params)
                    assert caught.value.code == 20001
                    assert "not in expected state" in caught.value.message
                    assert fake.reservation(seeded.sid) == seeded


@pytest.mark.parametrize(
    ("params", "status_after"),
    [
        (TaskReservationUpdate.conference(from_="+15550100"), S.ACCEPTED),
        (TaskReservationUpdate.dequeue(dequeue_from="+15550100"), S.ACCEPTED),
        (TaskReservationUpdate.call(call_from="+15550100", call_url="https://example.com/twiml"), S.PENDING),
        (
            TaskReservationUpdate.call(call_from="+15550100", call_url="https://example.com/twiml", call_accept=True),
            S.ACCEPTED,
        ),
        (TaskReservationUpdate.redirect(redirect_call_sid=CALL_SID, redirect_url="https://example.com/x"), S.PENDING),
        (
            TaskReservationUpdate.redirect(
                redirect_call_sid=CALL_SID, redirect_url="https://example.com/x", redirect_accept=True
            ),
            S.ACCEPTED,
        ),
        (TaskReservationUpdate.reject(worker_activity_sid=ACTIVITY_SID), S.REJECTED),
    ],
)
async def test_instructions_on_a_pending_reservation(
    fake: FakeTaskRouter, params: TaskReservationUpdate, status_after: ReservationStatus
) -> None:
    seeded = fake.add_reservation()
    fake.add_activity(seeded.workspace_sid, sid=ACTIVITY_SID)  # TaskRouter refuses an unknown WorkerActivitySid
    async with fake.connect() as client:
        updated = await client.task_reservations.update(seeded.workspace_sid, seeded.task_sid, seeded.sid, params)
    assert updated.reservation_status is status_after
    state = fake.reservation(seeded.sid)
    assert (state.status, state.version, state.instruction) == (status_after, 2, params.instruction)


async def test_instruction_rules(fake: FakeTaskRouter) -> None:
    pending = fake.add_reservation()
    accepted = fake.add_reservation(status="accepted")
    supervise = TaskReservationUpdate.supervise(supervisor=WORKER_SID, supervisor_mode="whisper")
    async with fake.connect() as client:
        tasks = client.task_reservations
        on_pending = (pending.workspace_sid, pending.task_sid, pending.sid)
        on_accepted = (accepted.workspace_sid, accepted.task_sid, accepted.sid)
        with pytest.raises(BadRequestError, match="requires DequeueFrom"):
            await tasks.update(*on_pending, TaskReservationUpdate(instruction="dequeue"))
        with pytest.raises(BadRequestError, match="not in expected state"):
            await tasks.update(*on_pending, supervise)
        with pytest.raises(BadRequestError, match="not in expected state"):
            await tasks.update(*on_accepted, TaskReservationUpdate.conference())
        with pytest.raises(BadRequestError, match="'supervise' is not valid"):
            await client.worker_reservations.update(
                pending.workspace_sid, pending.worker_sid, pending.sid, WorkerReservationUpdate(instruction="supervise")
            )
        with pytest.raises(BadRequestError, match="not valid"):
            await tasks.update(*on_pending, TaskReservationUpdate(instruction="dance"))
        updated = await tasks.update(*on_accepted, supervise)
    assert updated.reservation_status is S.ACCEPTED
    assert fake.reservation(accepted.sid).instruction == "supervise"
    assert fake.reservation(pending.sid).version == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"ReservationStatus=bogus", "ReservationStatus"),
        (b"Timeout=soon&Instruction=conference", "Timeout: expected a decimal integer"),
        (b"Supervisor=x", "unknown parameter Supervisor"),
        (b"MaxParticipants=1&Instruction=conference", "MaxParticipants: must be in 2..250"),
        (b"ReservationStatus=accepted&Instruction=conference", "exactly one of"),
        (b"", "exactly one of"),
    ],
)
@pytest.mark.nonconforming_requests  # sends what the fake must refuse
async def test_bad_values_answer_400_with_code_20001(fake: FakeTaskRouter, body: bytes, message: str) -> None:
    seeded = fake.add_reservation()
    path = f"{_list_path(seeded.workspace_sid, 'Workers', seeded.worker_sid)}/{seeded.sid}"
    async with fake.client() as http:
        response = await http.post(
            path, content=body, headers={**_auth(), "Content-Type": "application/x-www-form-urlencoded"}
        )
    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["status"]) == (20001, 400)
    assert error["more_info"] == "https://www.twilio.com/docs/errors/20001"
    assert message in error["message"]
    assert fake.reservation(seeded.sid) == seeded


@pytest.mark.nonconforming_requests  # sends what the fake must refuse
async def test_unknown_sids_answer_404(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    other_task = fake.add_task()
    ws, task, wr = seeded.workspace_sid, seeded.task_sid, seeded.sid
    async with fake.connect() as client:
        tasks = client.task_reservations
        for call in (
            tasks.fetch(WORKSPACE_SID, task, wr),
            tasks.fetch(ws, TASK_SID, wr),
            tasks.fetch(ws, task, RESERVATION_SID),
            tasks.fetch(ws, other_task, wr),
            client.worker_reservations.fetch(ws, WORKER_SID, wr),
            tasks.update(ws, task, RESERVATION_SID, TaskReservationUpdate.accept()),
        ):
            with pytest.raises(NotFoundError) as caught:
                await call
            assert caught.value.code == 20404
        with pytest.raises(NotFoundError):
            [r async for r in tasks.list(ws, TASK_SID)]
    async with fake.client() as http:
        assert (await http.get("/v1/Nothing", headers=_auth())).status_code == 404
        assert (await http.get(f"/v1/Workspaces/{ws}/Tasks/nonsense/Reservations", headers=_auth())).status_code == 404
        assert (await http.post(_list_path(ws, "Tasks", task), headers=_auth())).json()["code"] == 20004


@pytest.mark.nonconforming_requests  # sends what the fake must refuse
async def test_credentials_are_checked(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    path = _list_path(seeded.workspace_sid, "Tasks", seeded.task_sid)
    async with fake.client() as http:
        missing = await http.get(path)
        wrong = await http.get(path, headers=_auth("wrong-token"))
        garbled = await http.get(path, headers={"Authorization": "Basic !!!"})
    for response in (missing, wrong, garbled):
        assert response.status_code == 401
        assert response.json()["code"] == 20003
        assert response.headers["www-authenticate"].startswith("Basic")
    other = FakeTaskRouter(account_sid="AC" + "1" * 32, auth_token="another")
    other.add_reservation(workspace_sid=WORKSPACE_SID, task_sid=TASK_SID, sid=RESERVATION_SID)
    async with other.connect() as good:
        assert (await good.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)).sid == RESERVATION_SID
    async with other.client() as http:
        stranger = AsyncTaskRouter(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, base_url=other.base_url, http_client=http)
        with pytest.raises(AuthenticationError) as caught:
            await stranger.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    assert caught.value.code == 20003


async def test_an_api_key_is_accepted_when_configured() -> None:
    key = "SK" + "2" * 32
    fake = FakeTaskRouter(api_key=key, api_secret="key-secret")
    seeded = fake.add_reservation()
    async with fake.client() as http:
        client = AsyncTaskRouter(api_key=key, api_secret="key-secret", base_url=fake.base_url, http_client=http)
        fetched = await client.task_reservations.fetch(seeded.workspace_sid, seeded.task_sid, seeded.sid)
    assert fetched.sid == seeded.sid
    with pytest.raises(ValidationError):
        FakeTaskRouter(api_key=key)


async def test_if_match_guards_updates_and_date_updated_moves(fake: FakeTaskRouter, clock: Clock) -> None:
    seeded = fake.add_reservation()
    address = (seeded.workspace_sid, seeded.task_sid, seeded.sid)
    async with fake.connect() as client:
        tasks = client.task_reservations
        seen = await tasks.fetch(*address)
        clock.now = START + timedelta(minutes=5, microseconds=250)
        accepted = await tasks.update(*address, TaskReservationUpdate.accept(), etag=seen.etag)
        with pytest.raises(PreconditionFailedError) as caught:
            await tasks.update(*address, TaskReservationUpdate.wrap_up(), etag=seen.etag)
        wrapping = await tasks.update(*address, TaskReservationUpdate.wrap_up(), etag="*")
        completed = await tasks.update(*address, TaskReservationUpdate.complete(), etag=f'"0", {wrapping.etag}')
    assert seen.etag == '"1"'
    assert accepted.etag == '"2"'
    assert caught.value.code == 20412
    assert caught.value.status_code == 412
    assert accepted.date_created == START
    assert accepted.date_updated == START + timedelta(minutes=5)
    assert completed.reservation_status is S.COMPLETED
    assert fake.reservation(seeded.sid).version == 4


@pytest.fixture
def local_time_new_york() -> Iterator[None]:
    """The process's local time zone is UTC-5 (a POSIX TZ string: no tz database needed)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset() is Unix-only")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "EST+5")
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("local_time_new_york")
async def test_a_naive_clock_is_utc_whatever_the_local_time_zone() -> None:
    assert time.localtime(0).tm_hour == 19, "the local time zone is UTC-5 in this test"
    fake = FakeTaskRouter(clock=lambda: datetime(2024, 1, 2, 12, 30, 45, 999))
    seeded = fake.add_reservation()
    async with fake.connect() as client:
        fetched = await client.task_reservations.fetch(seeded.workspace_sid, seeded.task_sid, seeded.sid)
    noon = datetime(2024, 1, 2, 12, 30, 45, tzinfo=timezone.utc)
    assert seeded.date_created == noon
    assert fetched.date_created == noon
    assert fake.reservation(seeded.sid).date_updated == noon


async def test_an_aware_clock_in_another_zone_is_converted_to_utc() -> None:
    fake = FakeTaskRouter(clock=lambda: datetime(2024, 1, 2, 7, 30, 45, tzinfo=timezone(timedelta(hours=-5))))
    assert fake.add_reservation().date_created == datetime(2024, 1, 2, 12, 30, 45, tzinfo=timezone.utc)


async def test_fail_next_answers_429_with_retry_after_then_recovers(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    address = (seeded.workspace_sid, seeded.task_sid, seeded.sid)
    fake.fail_next(2, status=429, retry_after=0)
    async with fake.connect(max_retries=2) as client:
        assert (await client.task_reservations.fetch(*address)).sid == seeded.sid
    assert len(fake.requests) == 3
    fake.fail_next(status=429, retry_after=3)
    async with fake.connect(max_retries=0) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.task_reservations.update(*address, TaskReservationUpdate.accept())
    assert (caught.value.code, caught.value.retry_after) == (20429, 3.0)
    assert fake.reservation(seeded.sid) == seeded


async def test_fail_next_answers_5xx_without_applying_the_update(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    fake.fail_next(status=503)
    async with fake.connect(max_retries=3) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.task_reservations.update(
                seeded.workspace_sid, seeded.task_sid, seeded.sid, TaskReservationUpdate.accept()
            )
        after = await client.task_reservations.fetch(seeded.workspace_sid, seeded.task_sid, seeded.sid)
    assert (caught.value.status_code, caught.value.code) == (503, 20503)
    assert after.reservation_status is S.PENDING
    assert [r.method for r in fake.requests] == ["POST", "GET"]


async def test_a_stall_ends_in_the_clients_read_timeout_in_process(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    address = (seeded.workspace_sid, seeded.task_sid, seeded.sid)
    fake.stall_next()
    fake.stall_next(seconds=0.01)
    async with fake.connect(max_retries=0, timeout=0.2) as client:
        with pytest.raises(APITimeoutError):
            await client.task_reservations.fetch(*address)
        assert (await client.task_reservations.fetch(*address)).sid == seeded.sid


async def test_requests_are_recorded(fake: FakeTaskRouter) -> None:
    seeded = fake.add_reservation()
    conference = TaskReservationUpdate.conference(from_="+15550100", status_callback_event=["ringing", "answered"])
    async with fake.connect() as client:
        await client.task_reservations.fetch(seeded.workspace_sid, seeded.task_sid, seeded.sid)
        await client.task_reservations.update(seeded.workspace_sid, seeded.task_sid, seeded.sid, conference, etag='"1"')
    get, post = fake.requests
    assert (get.method, get.params, get.body) == ("GET", None, b"")
    assert post.method == "POST"
    assert post.path.endswith(f"/Tasks/{seeded.task_sid}/Reservations/{seeded.sid}")
    assert post.headers["if-match"] == '"1"'
    assert post.form == {
        "Instruction": ["conference"],
        "From": ["+15550100"],
        "StatusCallbackEvent": ["ringing", "answered"],
    }
    assert post.params == conference


def test_seeding_checks_sids_and_ownership(fake: FakeTaskRouter) -> None:
    with pytest.raises(ValidationError):
        fake.add_reservation(task_sid="WT123")
    fake.add_reservation(workspace_sid=WORKSPACE_SID, task_sid=TASK_SID, sid=RESERVATION_SID)
    with pytest.raises(ValueError, match="already exists"):
        fake.add_reservation(sid=RESERVATION_SID)
    with pytest.raises(ValueError, match="belongs to workspace"):
        fake.add_reservation(workspace_sid=fake.add_workspace(), task_sid=TASK_SID)
    with pytest.raises(ValidationError):
        fake.reservation("WR" + "0" * 32)
    with pytest.raises(ValidationError):
        fake.fail_next(status=404)
    with pytest.raises(ValidationError):
        fake.stall_next(0)
    timed_out = fake.set_status(RESERVATION_SID, "timeout")
    assert (timed_out.status, timed_out.version) == (S.TIMEOUT, 2)
    assert FakeTaskRouter(seed=7).add_reservation().sid == FakeTaskRouter(seed=7).add_reservation().sid
