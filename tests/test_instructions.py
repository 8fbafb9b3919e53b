"""Instruction helpers: each builds exactly the params (and so the form body) of the hand-built equivalent."""

from __future__ import annotations

import inspect

import attrs
import pytest

from taskrouter_async import (
    ReservationStatus,
    ReservationUpdate,
    SupervisorMode,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservationUpdate,
)
from taskrouter_async._converter import encode_form

from .sids import ACTIVITY_SID, CALL_SID, WORKER_SID

HELPERS = ("accept", "reject", "wrap_up", "complete", "conference", "dequeue", "call", "redirect")

# (helper, its keyword arguments, the same update built by hand) for both update classes.
CASES = [
    ("accept", {}, {"reservation_status": "accepted"}),
    ("reject", {}, {"reservation_status": "rejected"}),
    (
        "reject",
        {"worker_activity_sid": ACTIVITY_SID},
        {"reservation_status": "rejected", "worker_activity_sid": ACTIVITY_SID},
    ),
    ("wrap_up", {}, {"reservation_status": "wrapping"}),
    ("complete", {}, {"reservation_status": "completed"}),
    ("conference", {}, {"instruction": "conference"}),
    (
        "conference",
        {
            "to": "client:alice",
            "from_": "+15550100",
            "post_work_activity_sid": ACTIVITY_SID,
            "timeout": 20,
            "status_callback": "https://example.com/status",
            "status_callback_method": "get",
            "status_callback_event": ["ringing", "answered"],
            "record": True,
            "beep": "onEnter",
            "end_conference_on_exit": True,
            "max_participants": 10,
            "conference_status_callback_event": ["start", "end"],
            "conference_record": "record-from-start",
            "region": "ie1",
            "jitter_buffer_size": "small",
        },
        {
            "instruction": "conference",
            "to": "client:alice",
            "from_": "+15550100",
            "post_work_activity_sid": ACTIVITY_SID,
            "timeout": 20,
            "status_callback": "https://example.com/status",
            "status_callback_method": "GET",
            "status_callback_event": ("ringing", "answered"),
            "record": True,
            "beep": "onEnter",
            "end_conference_on_exit": True,
            "max_participants": 10,
            "conference_status_callback_event": ("start", "end"),
            "conference_record": "record-from-start",
            "region": "ie1",
            "jitter_buffer_size": "small",
        },
    ),
    (
        "dequeue",
        {"dequeue_from": "+15550100", "dequeue_timeout": 30, "dequeue_status_callback_event": ["initiated"]},
        {
            "instruction": "dequeue",
            "dequeue_from": "+15550100",
            "dequeue_timeout": 30,
            "dequeue_status_callback_event": ("initiated",),
        },
    ),
    (
        "call",
        {"call_from": "+15550100", "call_url": "https://example.com/twiml", "call_accept": True, "call_record": False},
        {
            "instruction": "call",
            "call_from": "+15550100",
            "call_url": "https://example.com/twiml",
            "call_accept": True,
            "call_record": "false",
        },
    ),
    (
        "redirect",
        {"redirect_call_sid": CALL_SID, "redirect_url": "https://example.com/r", "redirect_accept": True},
        {
            "instruction": "redirect",
            "redirect_call_sid": CALL_SID,
            "redirect_url": "https://example.com/r",
            "redirect_accept": True,
        },
    ),
]


@pytest.mark.parametrize("cls", [TaskReservationUpdate, WorkerReservationUpdate])
@pytest.mark.parametrize(("helper", "arguments", "by_hand"), CASES)
def test_a_helper_equals_the_hand_built_params(
    cls: type[ReservationUpdate], helper: str, arguments: dict[str, object], by_hand: dict[str, object]
) -> None:
    built = getattr(cls, helper)(**arguments)
    expected = cls(**by_hand)  # type: ignore[arg-type]
    assert type(built) is cls
    assert built == expected
    assert encode_form(built) == encode_form(expected)


def test_supervise_is_for_task_reservations_only() -> None:
    built = TaskReservationUpdate.supervise(supervisor=WORKER_SID, supervisor_mode="barge")
    assert built == TaskReservationUpdate(instruction="supervise", supervisor=WORKER_SID, supervisor_mode="barge")
    assert encode_form(built) == f"Instruction=supervise&SupervisorMode=barge&Supervisor={WORKER_SID}".encode()
    assert built.supervisor_mode is SupervisorMode.BARGE
    assert not hasattr(WorkerReservationUpdate, "supervise")


def test_helpers_take_only_their_instructions_fields_and_cover_them_all() -> None:
    fields = {a.name for a in attrs.fields(TaskReservationUpdate)}
    covered = {"reservation_status", "instruction"}
    for name in (*HELPERS, "supervise"):
        parameters = set(inspect.signature(getattr(TaskReservationUpdate, name)).parameters)
        assert parameters <= fields, name
        assert not parameters & covered - {"reservation_status", "instruction"}, f"{name} shares a field"
        covered |= parameters
    assert covered == fields


def test_helpers_keep_required_fields_and_checks() -> None:
    with pytest.raises(TypeError):
        TaskReservationUpdate.call(call_from="+15550100")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        WorkerReservationUpdate.conference(instruction="dequeue")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TaskReservationUpdate.conference(max_participants=1)
    with pytest.raises(ValidationError):
        WorkerReservationUpdate.reject(worker_activity_sid="WA123")
    assert TaskReservationUpdate.accept().reservation_status is ReservationStatus.ACCEPTED
