"""Test data: API-shaped JSON for reservations and list pages, and the two reservation kinds."""

from __future__ import annotations

from typing import Any

import attrs

from taskrouter_async import AsyncTaskRouter, Reservations, TaskReservationUpdate, WorkerReservationUpdate
from taskrouter_async.resources import ReservationUpdate

from .sids import ACCOUNT_SID, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID

BASE_URL = "https://taskrouter.twilio.com"


@attrs.frozen
class Kind:
    """Task or worker reservations, as a test sees them."""

    name: str
    segment: str
    parent_sid: str
    update_class: type[ReservationUpdate]

    def resource(self, client: AsyncTaskRouter) -> Reservations[Any, Any]:
        return client.task_reservations if self.name == "task" else client.worker_reservations

    def path(self, reservation_sid: str | None = RESERVATION_SID) -> str:
        path = f"/v1/Workspaces/{WORKSPACE_SID}/{self.segment}/{self.parent_sid}/Reservations"
        return path if reservation_sid is None else f"{path}/{reservation_sid}"


TASK = Kind("task", "Tasks", TASK_SID, TaskReservationUpdate)
WORKER = Kind("worker", "Workers", WORKER_SID, WorkerReservationUpdate)


def reservation_json(sid: str = RESERVATION_SID, status: str = "pending", **extra: Any) -> dict[str, Any]:
    """A reservation as the API returns it (the spec's example, with a chosen SID and status)."""
    return {
        "account_sid": ACCOUNT_SID,
        "date_created": "2014-05-14T10:50:02Z",
        "date_updated": "2014-05-15T16:03:42Z",
        "links": {
            "task": f"{BASE_URL}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}",
            "worker": f"{BASE_URL}/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}",
            "workspace": f"{BASE_URL}/v1/Workspaces/{WORKSPACE_SID}",
        },
        "reservation_status": status,
        "sid": sid,
        "task_sid": TASK_SID,
        "url": f"{BASE_URL}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{sid}",
        "worker_name": "Doug",
        "worker_sid": WORKER_SID,
        "workspace_sid": WORKSPACE_SID,
        **extra,
    }


def reservation_sids(count: int) -> list[str]:
    return [f"WR{i:032x}" for i in range(count)]


def page_json(path: str, sids: list[str], *, page: int, page_size: int, next_token: str | None) -> dict[str, Any]:
    """A list page shaped like Twilio's, with ``next_page_url`` carrying a PageToken."""
    url = f"{BASE_URL}{path}?PageSize={page_size}&Page={page}"
    return {
        "meta": {
            "first_page_url": f"{BASE_URL}{path}?PageSize={page_size}&Page=0",
            "key": "reservations",
            "next_page_url": None
            if next_token is None
            else f"{BASE_URL}{path}?PageSize={page_size}&Page={page + 1}&PageToken={next_token}",
            "page": page,
            "page_size": page_size,
            "previous_page_url": None,
            "url": url,
        },
        "reservations": [reservation_json(sid) for sid in sids],
    }
