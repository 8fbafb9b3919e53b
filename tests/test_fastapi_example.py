"""examples/fastapi_app.py against the fake: one shared client, errors mapped, and the whole callback flow.

The fake drives the app as TaskRouter would: signed assignment callback -> instruction applied ->
REST update from the app -> event callbacks, all in-process, on asyncio and on trio.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from taskrouter_async.testing import FakeReservation, FakeTaskRouter
from taskrouter_async.webhooks import compute_signature
from taskrouter_async.webhooks.fastapi import TwilioWebhook

from .sids import ACTIVITY_SID, CALL_SID

pytestmark = pytest.mark.anyio


def _load_example() -> ModuleType:
    path = Path(__file__).parent.parent / "examples" / "fastapi_app.py"
    spec = importlib.util.spec_from_file_location("fastapi_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()


@pytest.fixture
def fake() -> FakeTaskRouter:
    return FakeTaskRouter()


@pytest.fixture
async def app(fake: FakeTaskRouter) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, driven in-process; its TaskRouter client talks to the fake."""
    application = example.create_app(functools.partial(fake.connect, max_retries=0))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(application), base_url="http://app") as http,
    ):
        yield http


def _accept_url(reservation: FakeReservation) -> str:
    return f"/workspaces/{reservation.workspace_sid}/tasks/{reservation.task_sid}/reservations/{reservation.sid}/accept"


def _complete_url(reservation: FakeReservation) -> str:
    return _accept_url(reservation).removesuffix("/accept") + "/complete"


APP_URL = "http://app.test"
CALLER_ID = "+15550100"


@pytest.fixture
async def flow(fake: FakeTaskRouter) -> AsyncIterator[httpx.AsyncClient]:
    """The app wired both ways to the fake: its REST client talks to the fake, the fake calls it back."""
    application: FastAPI = example.create_app(
        functools.partial(fake.connect, max_retries=0),
        webhook=TwilioWebhook(fake.auth_token),
        caller_id=CALLER_ID,
        wrap_up_activity_sid=ACTIVITY_SID,
    )
    fake.set_callbacks(
        assignment_url=f"{APP_URL}/taskrouter/assignment", event_url=f"{APP_URL}/taskrouter/events", app=application
    )
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(application), base_url=APP_URL) as http,
    ):
        yield http


async def test_a_voice_task_is_conferenced_from_the_assignment_callback(
    flow: httpx.AsyncClient, fake: FakeTaskRouter
) -> None:
    task = fake.add_task(attributes={"type": "voice", "call_sid": CALL_SID})
    reservation = await fake.reserve(task_sid=task, worker_name="Alice")

    assert (reservation.status, reservation.instruction) == ("accepted", "conference")
    answered = [delivery for delivery in fake.callbacks if delivery.kind == "assignment"]
    assert len(answered) == 1
    assert answered[0].instruction is not None
    assert answered[0].instruction.to_json() == {
        "instruction": "conference",
        "from": CALLER_ID,
        "post_work_activity_sid": ACTIVITY_SID,
    }
    completed = await flow.post(_complete_url(reservation))
    assert completed.json()["reservation_status"] == "completed"
    history = await flow.get(f"/reservations/{reservation.sid}/history")
    assert history.json() == ["pending", "accepted", "completed"]
    assert [(d.kind, d.event_type, d.status_code, d.error) for d in fake.callbacks] == [
        ("event", "reservation.created", 204, None),
        ("assignment", None, 200, None),
        ("event", "reservation.accepted", 204, None),
        ("event", "reservation.completed", 204, None),
        ("event", "task.completed", 204, None),  # completing the reservation completes the task
    ]
    assert [(r.method, r.params) for r in fake.requests] == [("POST", example.TaskReservationUpdate.complete())]


async def test_other_tasks_wait_for_a_worker_to_accept_over_rest(flow: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
    task = fake.add_task(attributes={"type": "chat"})
    reservation = await fake.reserve(task_sid=task, worker_name="Bob")
    assert reservation.status == "pending"
    assert fake.callbacks[-1].response == b"{}"

    accepted = await flow.post(_accept_url(reservation), headers={"If-Match": reservation.etag})
    assert accepted.json()["reservation_status"] == "accepted"
    rescinded = await fake.reserve(task_sid=task, worker_name="Carol")
    await fake.transition(rescinded.sid, "rescinded")

    assert (await flow.get(f"/reservations/{reservation.sid}/history")).json() == ["pending", "accepted"]
    assert (await flow.get(f"/reservations/{rescinded.sid}/history")).json() == ["pending", "rescinded"]


async def test_the_callback_endpoints_refuse_forgeries(flow: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
    form = {"EventType": "reservation.accepted", "AccountSid": fake.account_sid}
    unsigned = await flow.post("/taskrouter/events", data=form)
    forged = await flow.post(
        "/taskrouter/assignment",
        data=form,
        headers={"X-Twilio-Signature": compute_signature("not-the-token", f"{APP_URL}/taskrouter/assignment", form)},
    )
    signed_but_malformed = await flow.post(
        "/taskrouter/events",
        data=form,
        headers={"X-Twilio-Signature": compute_signature(fake.auth_token, f"{APP_URL}/taskrouter/events", form)},
    )
    assert (unsigned.status_code, forged.status_code, signed_but_malformed.status_code) == (403, 403, 400)
    assert "WorkspaceSid" in signed_but_malformed.json()["detail"]


async def test_endpoints_return_models_as_the_apis_json(app: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
    first = fake.add_reservation()
    second = fake.add_reservation(task_sid=first.task_sid)
    listed = await app.get(f"/workspaces/{first.workspace_sid}/tasks/{first.task_sid}/reservations")
    assert listed.status_code == 200
    assert sorted(r["sid"] for r in listed.json()) == sorted([first.sid, second.sid])
    assert all(r["reservation_status"] == "pending" and r["date_created"].endswith("Z") for r in listed.json())


async def test_accept_shares_one_client_and_maps_errors(app: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
    reservation = fake.add_reservation()
    accepted = await app.post(_accept_url(reservation))
    again = await app.post(_accept_url(reservation))
    assert accepted.status_code == 200
    assert (accepted.json()["sid"], accepted.json()["reservation_status"], accepted.json()["etag"]) == (
        reservation.sid,
        "accepted",
        '"2"',
    )
    assert {"account_sid", "date_created", "links", "worker_name", "workspace_sid"} <= set(accepted.json())
    assert again.status_code == 409
    assert again.json()["twilio_code"] == 20001
    assert fake.reservation(reservation.sid).status == "accepted"


async def test_if_match_is_passed_on(app: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
    reservation = fake.add_reservation()
    stale = await app.post(_accept_url(reservation), headers={"If-Match": '"7"'})
    fresh = await app.post(_accept_url(reservation), headers={"If-Match": reservation.etag})
    assert (stale.status_code, stale.json()["twilio_code"]) == (412, 20412)
    assert fresh.status_code == 200
    assert fake.requests[-1].headers["if-match"] == reservation.etag


async def test_not_found_bad_sid_and_rate_limit(app: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
    reservation = fake.add_reservation()
    unknown = await app.post(_accept_url(reservation).replace(reservation.sid, "WR" + "0" * 32))
    malformed = await app.post("/workspaces/WS1/tasks/WT1/reservations/WR1/accept")
    fake.fail_next(status=429, retry_after=7)
    limited = await app.post(_accept_url(reservation))
    assert unknown.status_code == 404
    assert malformed.status_code == 422
    assert "followed by 32 hex digits" in malformed.json()["detail"]
    assert (limited.status_code, limited.headers["retry-after"]) == (503, "7")
