"""Models as data a user can hand on: ``to_dict``/``to_json`` with the API's JSON, enums that print their value."""

from __future__ import annotations

import enum
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import respx

from taskrouter_async import (
    AsyncTaskRouter,
    Beep,
    CallStatus,
    ConferenceEvent,
    ConferenceRecord,
    ConferenceTrim,
    HttpMethod,
    JitterBufferSize,
    PageMeta,
    RecordingChannels,
    Region,
    ReservationStatus,
    SupervisorMode,
    TaskReservation,
    WorkerReservation,
)
from taskrouter_async._converter import structure_model

from .helpers import TASK, WORKER, Kind, page_json, reservation_json, reservation_sids
from .sids import ACCOUNT_SID, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID

ROOT = Path(__file__).parent.parent
ENUMS: list[type[enum.Enum]] = [
    Beep,
    CallStatus,
    ConferenceEvent,
    ConferenceRecord,
    ConferenceTrim,
    HttpMethod,
    JitterBufferSize,
    RecordingChannels,
    Region,
    ReservationStatus,
    SupervisorMode,
]


def reservation(**changes: object) -> TaskReservation:
    return structure_model({**reservation_json(), **changes}, TaskReservation, etag='"3"')


# --- to_dict / to_json -----------------------------------------------------------------------


def test_to_dict_is_the_api_json_plus_the_etag() -> None:
    assert reservation().to_dict() == {**reservation_json(), "etag": '"3"'}


def test_to_dict_is_json_safe_and_reads_back_as_the_same_model() -> None:
    model = reservation(reservation_status="accepted")
    data = json.loads(json.dumps(model.to_dict()))
    assert data["reservation_status"] == "accepted"
    assert data["date_created"] == "2014-05-14T10:50:02Z"
    assert structure_model(data, TaskReservation, etag=data.pop("etag")) == model


def test_to_dict_writes_dates_in_utc_as_the_api_does() -> None:
    model = reservation(date_updated="2014-05-15T18:03:42+02:00")
    assert model.to_dict()["date_updated"] == "2014-05-15T16:03:42Z"
    made_by_hand = TaskReservation(
        account_sid=ACCOUNT_SID,
        date_created=datetime(2014, 5, 14, 12, 50, 2, tzinfo=timezone(timedelta(hours=2))),
        date_updated=datetime(2014, 5, 15, 16, 3, 42),  # naive: taken as UTC
        reservation_status=ReservationStatus.PENDING,
        sid=RESERVATION_SID,
        task_sid=TASK_SID,
        worker_sid=WORKER_SID,
        workspace_sid=WORKSPACE_SID,
    )
    data = made_by_hand.to_dict()
    assert (data["date_created"], data["date_updated"]) == ("2014-05-14T10:50:02Z", "2014-05-15T16:03:42Z")
    assert (data["worker_name"], data["url"], data["links"], data["etag"]) == (None, None, None, None)


def test_a_status_newer_than_the_library_stays_text() -> None:
    assert reservation(reservation_status="escalated").to_dict()["reservation_status"] == "escalated"


def test_to_json_is_to_dict_as_text() -> None:
    model = reservation()
    assert json.loads(model.to_json()) == model.to_dict()
    assert "\n" not in model.to_json()
    assert model.to_json(indent=2).startswith('{\n  "account_sid"')


@pytest.mark.anyio
@pytest.mark.parametrize("kind", [TASK, WORKER], ids=["task", "worker"])
async def test_a_page_to_dict_is_the_api_list_json(kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    body = page_json(kind.path(None), reservation_sids(2), page=0, page_size=2, next_token=None)
    api.get(kind.path(None)).respond(200, json=body)
    pages = [page async for page in kind.resource(client).pages(WORKSPACE_SID, kind.parent_sid, page_size=2)]
    expected = {**body, "reservations": [{**record, "etag": None} for record in body["reservations"]]}
    assert pages[0].to_dict() == expected
    assert json.loads(pages[0].to_json()) == expected


def test_page_meta_to_dict() -> None:
    meta = PageMeta(key="reservations", page=0, page_size=50)
    assert meta.to_dict() == {
        "key": "reservations",
        "url": None,
        "first_page_url": None,
        "next_page_url": None,
        "previous_page_url": None,
        "page": 0,
        "page_size": 50,
    }


def test_models_are_still_frozen_slotted_data() -> None:
    model = reservation()
    assert not hasattr(model, "__dict__")
    with pytest.raises(AttributeError):
        model.sid = "WR" + "0" * 32  # type: ignore[misc]
    assert isinstance(reservation(), TaskReservation)
    assert not isinstance(reservation(), WorkerReservation)


# --- enums print their value -------------------------------------------------------------------


@pytest.mark.parametrize("member", [member for cls in ENUMS for member in cls], ids=repr)
def test_enums_print_their_value(member: enum.Enum) -> None:
    assert str(member) == member.value
    assert f"{member}" == member.value
    assert format(member, ">12") == format(member.value, ">12")
    assert "%s" % member == member.value  # noqa: UP031 (the %-format users still write)
    assert repr(member) == f"<{type(member).__name__}.{member.name}: {member.value!r}>"


def test_a_reservation_status_prints_as_pending(capsys: pytest.CaptureFixture[str]) -> None:
    print(reservation().reservation_status)
    assert capsys.readouterr().out == "pending\n"


def test_pydantic_is_imported_only_when_asked_for() -> None:
    """FastAPI support costs nothing to users without it: the library never imports pydantic by itself."""
    code = (
        "import sys, taskrouter_async\n"
        "from tests.helpers import reservation_json\n"
        "from taskrouter_async._converter import structure_model\n"
        "structure_model(reservation_json(), taskrouter_async.TaskReservation).to_json()\n"
        "assert not {'pydantic', 'pydantic_core'} & set(sys.modules), sorted(sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
