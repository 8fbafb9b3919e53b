"""examples/fastapi_app.py against the fake: one shared client, errors mapped to HTTP responses."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from taskrouter_async.testing import FakeReservation, FakeTaskRouter

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


async def test_accept_shares_one_client_and_maps_errors(app: httpx.AsyncClient, fake: FakeTaskRouter) -> None:
    reservation = fake.add_reservation()
    accepted = await app.post(_accept_url(reservation))
    again = await app.post(_accept_url(reservation))
    assert accepted.status_code == 200
    assert accepted.json() == {"sid": reservation.sid, "reservation_status": "accepted", "etag": '"2"'}
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
