"""Update params from and to the API's field names (``{"ReservationStatus": "accepted"}``), as the CLI uses them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from taskrouter_async import (
    CallStatus,
    ReservationStatus,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservationUpdate,
)
from taskrouter_async._converter import encode_form

from .sids import ACTIVITY_SID


def test_from_api_dict_reads_api_names_and_form_text() -> None:
    params = TaskReservationUpdate.from_api_dict(
        {
            "ReservationStatus": "accepted",
            "From": "+15550100",
            "Timeout": "30",
            "Record": "true",
            "StatusCallbackEvent": ["ringing", "answered"],
        }
    )
    assert params == TaskReservationUpdate(
        reservation_status=ReservationStatus.ACCEPTED,
        from_="+15550100",
        timeout=30,
        record=True,
        status_callback_event=(CallStatus.RINGING, CallStatus.ANSWERED),
    )


def test_from_api_dict_reads_json_values_and_skips_nulls() -> None:
    params = WorkerReservationUpdate.from_api_dict(
        {"Instruction": "conference", "Timeout": 30, "Record": False, "StatusCallbackEvent": "ringing", "To": None}
    )
    assert params == WorkerReservationUpdate(
        instruction="conference", timeout=30, record=False, status_callback_event=["ringing"]
    )


def test_to_api_dict_is_what_update_sends_and_reads_back() -> None:
    params = TaskReservationUpdate.conference(
        from_="+15550100", timeout=30, record=True, status_callback_event=["ringing", "answered"]
    )
    api = params.to_api_dict()
    assert api == {
        "Instruction": "conference",
        "From": "+15550100",
        "Timeout": "30",
        "Record": "true",
        "StatusCallbackEvent": ["ringing", "answered"],
    }
    assert TaskReservationUpdate.from_api_dict(api) == params
    assert TaskReservationUpdate().to_api_dict() == {}
    assert encode_form(TaskReservationUpdate.from_api_dict(api)) == encode_form(params)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"Timeout": "soon"}, "Timeout: expected a decimal integer, got 'soon'"),
        ({"Timeout": 2.5}, "Timeout: expected a string, boolean or integer, got 2.5"),
        ({"MaxParticipants": 1}, "MaxParticipants: must be in 2..250, got 1"),
        (
            {"ReservationStatus": "bogus"},
            "ReservationStatus: 'bogus' is not a valid ReservationStatus; expected one of",
        ),
        ({"WorkerActivitySid": "WA123"}, "WorkerActivitySid: must be an Activity SID"),
        ({"CallUrl": "not a url"}, "CallUrl: must be an absolute URI"),
        ({"Record": "yes"}, "Record: expected 'true' or 'false', got 'yes'"),
        ({"StatusCallbackEvent": ["ringing", "ringed"]}, "StatusCallbackEvent: 'ringed' is not a valid CallStatus"),
        ({"Instruction": ["accept", "reject"]}, "form field 'Instruction' is given more than once"),
    ],
)
def test_bad_values_name_the_field_the_api_way(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=f"^invalid TaskReservationUpdate: {re.escape(message)}"):
        TaskReservationUpdate.from_api_dict(data)


def test_every_bad_field_is_reported() -> None:
    with pytest.raises(ValidationError) as caught:
        TaskReservationUpdate.from_api_dict({"Timeout": "x", "Record": "y", "WorkerActivitySid": ACTIVITY_SID})
    assert "Timeout:" in str(caught.value)
    assert "Record:" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("reservation_status", "ReservationStatus"),
        ("reservationstatus", "ReservationStatus"),
        ("ReservationStatu", "ReservationStatus"),
        ("from", "From"),
        ("StatusCallbackEvents", "StatusCallbackEvent"),
    ],
)
def test_an_unknown_name_suggests_the_closest(name: str, suggestion: str) -> None:
    with pytest.raises(ValidationError, match=rf"unknown parameter {name} \(did you mean {suggestion}\?\)"):
        TaskReservationUpdate.from_api_dict({name: "accepted"})


def test_an_unknown_name_with_nothing_close_gets_no_guess() -> None:
    with pytest.raises(ValidationError, match=r"unknown parameter Colour$"):
        TaskReservationUpdate.from_api_dict({"Colour": "blue"})


def test_worker_updates_have_no_supervisor() -> None:
    with pytest.raises(ValidationError, match="unknown parameter Supervisor"):
        WorkerReservationUpdate.from_api_dict({"Supervisor": "client:sue"})
    assert TaskReservationUpdate.from_api_dict({"Supervisor": "client:sue"}).supervisor == "client:sue"


@pytest.mark.parametrize("data", [["ReservationStatus", "accepted"], "ReservationStatus=accepted", None])
def test_anything_but_a_mapping_is_refused(data: Any) -> None:
    with pytest.raises(ValidationError, match="expected a mapping"):
        TaskReservationUpdate.from_api_dict(data)
