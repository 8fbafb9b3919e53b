"""with_raw_response, request ids on results and errors, and per-call options (issue 10)."""

from __future__ import annotations

import httpx
import pytest
import respx

from taskrouter_async import (
    AsyncTaskRouter,
    InternalServerError,
    NotFoundError,
    RawResponse,
    TaskReservation,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservationUpdate,
    _retry,
)

from .helpers import TASK, WORKER, reservation_json
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

ACCEPT = TaskReservationUpdate(reservation_status="accepted")
REQUEST_ID = "RQ" + "0" * 32


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.002)


async def test_fetch_with_raw_response(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    headers = {"Twilio-Request-Id": REQUEST_ID, "ETag": '"e1"'}
    api.get(TASK.path()).respond(200, json=reservation_json(), headers=headers)
    raw = await client.task_reservations.with_raw_response.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    assert isinstance(raw, RawResponse)
    reservation: TaskReservation = raw.parse()
    assert reservation.sid == RESERVATION_SID
    assert reservation.etag == '"e1"'
    assert (raw.status_code, raw.request_id, raw.attempts) == (200, REQUEST_ID, 1)
    assert raw.headers["twilio-request-id"] == REQUEST_ID
    assert raw.http_response.status_code == 200
    assert raw.http_response.request.url.path == TASK.path()
    assert raw.http_response.json()["sid"] == RESERVATION_SID


async def test_update_with_raw_response_by_keyword(api: respx.MockRouter) -> None:
    route = api.post(WORKER.path()).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=reservation_json(), headers={"Twilio-Request-Id": REQUEST_ID}),
        ]
    )
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        raw = await client.worker_reservations.with_raw_response.update(
            workspace_sid=WORKSPACE_SID,
            worker_sid=WORKER_SID,
            reservation_sid=RESERVATION_SID,
            params=WorkerReservationUpdate.accept(),
            etag='"e0"',
        )
    assert raw.attempts == 2
    assert raw.request_id == REQUEST_ID
    assert route.call_count == 2


async def test_errors_carry_the_request_id(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    body = {"code": 20404, "message": "The requested resource was not found", "status": 404}
    api.get(TASK.path()).respond(404, json=body, headers={"Twilio-Request-Id": REQUEST_ID})
    with pytest.raises(NotFoundError) as caught:
        await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    assert caught.value.request_id == REQUEST_ID
    assert str(caught.value).endswith(f"[request {REQUEST_ID}]")


async def test_per_call_options_apply_to_that_call_only(api: respx.MockRouter) -> None:
    route = api.get(TASK.path()).mock(return_value=httpx.Response(502))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=3) as client:
        with pytest.raises(InternalServerError):
            await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID, max_retries=0)
        assert route.call_count == 1
        route.reset()
        api.get(TASK.path()).respond(200, json=reservation_json())
        await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID, timeout=2.5)
    assert route.calls.last.request.extensions["timeout"] == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}


async def test_per_call_options_on_lists(api: respx.MockRouter) -> None:
    page = {"meta": {"key": "reservations", "next_page_url": None}, "reservations": [reservation_json()]}
    route = api.get(TASK.path(None)).respond(200, json=page)
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        items = [r async for r in client.task_reservations.list(WORKSPACE_SID, TASK_SID, timeout=3.0, max_retries=0)]
    assert [r.sid for r in items] == [RESERVATION_SID]
    assert route.calls.last.request.extensions["timeout"]["read"] == 3.0


@pytest.mark.parametrize("options", [{"timeout": -1}, {"max_retries": -1}, {"timeout": "5"}, {"max_retries": True}])
async def test_bad_per_call_options_are_refused_before_io(
    client: AsyncTaskRouter, api: respx.MockRouter, options: dict[str, object]
) -> None:
    with pytest.raises(ValidationError):
        await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID, **options)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        client.task_reservations.list(WORKSPACE_SID, TASK_SID, **options)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT, **options)  # type: ignore[arg-type]
