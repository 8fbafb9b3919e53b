"""Keep the fake honest: one scenario against respx serving the spec's examples and against the fake.

The fake is seeded with the examples' SIDs, worker and timestamps and says it lives at
Twilio's base URL (in-process, nothing leaves), so its bodies must equal the examples exactly.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import respx

from taskrouter_async import AsyncTaskRouter, Reservation, TaskReservationUpdate, WorkerReservationUpdate
from taskrouter_async.testing import FakeTaskRouter

from .conftest import BASE_URL
from .sids import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.anyio

SPEC = json.loads((Path(__file__).parent / "spec" / "twilio_taskrouter_v1.json").read_text())
WS, WT, WK, WR = (prefix + "a" * 32 for prefix in ("WS", "WT", "WK", "WR"))
CREATED = datetime(2014, 5, 14, 10, 50, 2, tzinfo=timezone.utc)
UPDATED = datetime(2014, 5, 15, 16, 3, 42, tzinfo=timezone.utc)
KINDS = {
    "Tasks": (WT, TaskReservationUpdate.accept()),
    "Workers": (WK, WorkerReservationUpdate.accept()),
}


def _example(path: str, method: str, name: str) -> Any:
    content = SPEC["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return content["examples"][name]["value"]


def _examples(segment: str) -> dict[str, Any]:
    parent = "{TaskSid}" if segment == "Tasks" else "{WorkerSid}"
    path = f"/v1/Workspaces/{{WorkspaceSid}}/{segment}/{parent}/Reservations"
    return {
        "list": _example(path, "get", "readFull"),
        "fetch": _example(path + "/{Sid}", "get", "fetch"),
        "update": _example(path + "/{Sid}", "post", "update"),
    }


def _spec_fake() -> FakeTaskRouter:
    """The fake, seeded like the examples: a pending reservation that the scenario accepts."""
    clock = iter([CREATED, UPDATED])
    fake = FakeTaskRouter(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, base_url=BASE_URL, clock=lambda: next(clock))
    fake.add_reservation(workspace_sid=WS, task_sid=WT, worker_sid=WK, worker_name="Doug", sid=WR)
    return fake


async def _scenario(client: AsyncTaskRouter, segment: str) -> list[Reservation]:
    """Accept, fetch it back, list the parent's reservations; ETags aside, the models must agree."""
    parent, accept = KINDS[segment]
    resource: Any = client.task_reservations if segment == "Tasks" else client.worker_reservations
    updated = await resource.update(WS, parent, WR, accept)
    fetched = await resource.fetch(WS, parent, WR)
    listed = [r async for r in resource.list(WS, parent)]
    return [attrs.evolve(r, etag=None) for r in (updated, fetched, *listed)]


@pytest.mark.parametrize("segment", ["Tasks", "Workers"])
async def test_the_same_scenario_gives_the_same_models(
    segment: str, api: respx.MockRouter, client: AsyncTaskRouter
) -> None:
    examples = _examples(segment)
    parent = KINDS[segment][0]
    path = f"/v1/Workspaces/{WS}/{segment}/{parent}/Reservations"
    api.post(f"{path}/{WR}").respond(json=examples["update"])
    api.get(f"{path}/{WR}").respond(json=examples["fetch"])
    api.get(path).respond(json=examples["list"])
    from_spec = await _scenario(client, segment)

    fake = _spec_fake()
    async with fake.connect(max_retries=0) as fake_client:
        from_fake = await _scenario(fake_client, segment)
    assert from_fake == from_spec
    assert len(from_fake) == 3


@pytest.mark.parametrize("segment", ["Tasks", "Workers"])
async def test_fake_bodies_equal_the_spec_examples(segment: str) -> None:
    examples = _examples(segment)
    parent, accept = KINDS[segment]
    path = f"/v1/Workspaces/{WS}/{segment}/{parent}/Reservations"
    fake = _spec_fake()
    async with fake.client() as http:
        auth = httpx.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
        updated = await http.post(f"{path}/{WR}", data={"ReservationStatus": "accepted"}, auth=auth)
        fetched = await http.get(f"{path}/{WR}", auth=auth)
        listed = await http.get(path, auth=auth)
    assert accept.reservation_status == "accepted"
    assert updated.json() == examples["update"]
    assert fetched.json() == examples["fetch"]
    assert listed.json() == examples["list"]
    assert fetched.headers["etag"] == updated.headers["etag"] == '"2"'
