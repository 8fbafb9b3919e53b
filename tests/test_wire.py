"""Exact request bodies: what Twilio receives for each kind of update field."""

from __future__ import annotations

import attrs
import pytest
import respx

from taskrouter_async import (
    AsyncTaskRouter,
    Beep,
    CallStatus,
    ConferenceEvent,
    ConferenceRecord,
    HttpMethod,
    ReservationStatus,
    SupervisorMode,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservationUpdate,
)
from taskrouter_async._converter import encode_form

from .helpers import TASK, WORKER, reservation_json
from .sids import ACTIVITY_SID, CALL_SID, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("params", "body"),
    [
        (TaskReservationUpdate(), b""),
        (TaskReservationUpdate(reservation_status=ReservationStatus.ACCEPTED), b"ReservationStatus=accepted"),
        (TaskReservationUpdate(reservation_status="rejected"), b"ReservationStatus=rejected"),
        (TaskReservationUpdate(early_media=True, muted=False), b"Muted=false&EarlyMedia=true"),
        (TaskReservationUpdate(from_="+15550100", to="client:alice"), b"To=client%3Aalice&From=%2B15550100"),
        (TaskReservationUpdate(timeout=0, max_participants=250), b"Timeout=0&MaxParticipants=250"),
        (
            TaskReservationUpdate(status_callback_event=["initiated", CallStatus.COMPLETED]),
            b"StatusCallbackEvent=initiated&StatusCallbackEvent=completed",
        ),
        (
            TaskReservationUpdate(conference_status_callback_event=(ConferenceEvent.START, "end", "join")),
            b"ConferenceStatusCallbackEvent=start&ConferenceStatusCallbackEvent=end&ConferenceStatusCallbackEvent=join",
        ),
        (
            TaskReservationUpdate(dequeue_status_callback_event=["initiated", "answered"]),
            b"DequeueStatusCallbackEvent=initiated&DequeueStatusCallbackEvent=answered",
        ),
        (TaskReservationUpdate(status_callback_event=[]), b""),
        (TaskReservationUpdate(beep=True), b"Beep=true"),
        (TaskReservationUpdate(beep="onExit"), b"Beep=onExit"),
        (TaskReservationUpdate(conference_record=False), b"ConferenceRecord=false"),
        (
            TaskReservationUpdate(conference_record=ConferenceRecord.RECORD_FROM_START),
            b"ConferenceRecord=record-from-start",
        ),
        (
            TaskReservationUpdate(call_record=True, dequeue_record="record-from-answer"),
            b"DequeueRecord=record-from-answer&CallRecord=true",
        ),
        (
            TaskReservationUpdate(wait_method="get", status_callback_method=HttpMethod.POST),
            b"StatusCallbackMethod=POST&WaitMethod=GET",
        ),
        (
            TaskReservationUpdate(
                supervisor="client:sue", supervisor_mode=SupervisorMode.BARGE, instruction="supervise"
            ),
            b"Instruction=supervise&SupervisorMode=barge&Supervisor=client%3Asue",
        ),
        (
            TaskReservationUpdate(
                instruction="redirect", redirect_call_sid=CALL_SID, redirect_url="https://x.test/t?a=1&b=2"
            ),
            f"Instruction=redirect&RedirectCallSid={CALL_SID}&RedirectUrl=https%3A%2F%2Fx.test%2Ft%3Fa%3D1%26b%3D2".encode(),
        ),
        (TaskReservationUpdate(worker_activity_sid=ACTIVITY_SID), f"WorkerActivitySid={ACTIVITY_SID}".encode()),
        (TaskReservationUpdate(region="ie1", jitter_buffer_size="off"), b"Region=ie1&JitterBufferSize=off"),
        (TaskReservationUpdate(sip_auth_password="p@ss word"), b"SipAuthPassword=p%40ss+word"),
        (
            WorkerReservationUpdate(reservation_status="completed", record=True),
            b"ReservationStatus=completed&Record=true",
        ),
    ],
)
def test_form_bodies_are_exact(params: TaskReservationUpdate | WorkerReservationUpdate, body: bytes) -> None:
    assert encode_form(params) == body


async def test_the_encoded_body_is_what_goes_on_the_wire(api: respx.MockRouter, client: AsyncTaskRouter) -> None:
    route = api.post(TASK.path()).respond(200, json=reservation_json())
    params = TaskReservationUpdate(
        reservation_status="accepted",
        instruction="conference",
        from_="+15550100",
        status_callback_event=["ringing", "answered"],
        end_conference_on_exit=True,
        dequeue_timeout=30,
    )
    await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, params)
    assert route.calls.last.request.content == (
        b"ReservationStatus=accepted&Instruction=conference&DequeueTimeout=30&From=%2B15550100"
        b"&StatusCallbackEvent=ringing&StatusCallbackEvent=answered&EndConferenceOnExit=true"
    )


async def test_worker_updates_go_to_the_worker_path(api: respx.MockRouter, client: AsyncTaskRouter) -> None:
    route = api.post(WORKER.path()).respond(200, json=reservation_json())
    params = WorkerReservationUpdate(reservation_status="accepted", post_work_activity_sid=ACTIVITY_SID)
    await client.worker_reservations.update(WORKSPACE_SID, WORKER_SID, RESERVATION_SID, params)
    assert route.calls.last.request.content == f"ReservationStatus=accepted&PostWorkActivitySid={ACTIVITY_SID}".encode()


def test_field_counts_match_the_spec() -> None:
    task_fields = {a.name for a in attrs.fields(TaskReservationUpdate)}
    worker_fields = {a.name for a in attrs.fields(WorkerReservationUpdate)}
    assert (len(task_fields), len(worker_fields)) == (54, 52)
    assert task_fields - worker_fields == {"supervisor", "supervisor_mode"}


def test_update_params_are_frozen_keyword_only_and_slotted() -> None:
    params = TaskReservationUpdate(reservation_status="accepted")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        params.reservation_status = ReservationStatus.REJECTED  # type: ignore[misc]
    with pytest.raises(TypeError):
        TaskReservationUpdate("accepted")  # type: ignore[misc]
    assert not hasattr(params, "__dict__")


def test_worker_updates_have_no_supervisor_fields() -> None:
    with pytest.raises(TypeError):
        WorkerReservationUpdate(supervisor="client:sue")  # type: ignore[call-arg]


def test_secrets_in_params_are_not_in_repr() -> None:
    assert "hunter2" not in repr(TaskReservationUpdate(sip_auth_password="hunter2"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reservation_status": "approved"}, "not a valid ReservationStatus"),
        ({"worker_activity_sid": "WA123"}, "worker_activity_sid must be an Activity SID"),
        ({"redirect_call_sid": ACTIVITY_SID}, "redirect_call_sid must be a Call SID"),
        ({"timeout": "30"}, "timeout must be an integer"),
        ({"timeout": True}, "timeout must be an integer"),
        ({"timeout": -1}, "timeout must be 0 or more, got -1"),
        ({"max_participants": 1}, "max_participants must be in 2..250"),
        ({"max_participants": 251}, "max_participants must be in 2..250"),
        ({"muted": "false"}, "muted must be True or False"),
        ({"muted": 0}, "muted must be True or False"),
        ({"to": 15550100}, "to must be a string"),
        ({"status_callback": "not a url"}, "status_callback must be an absolute URI"),
        ({"status_callback": "/relative/path"}, "status_callback must be an absolute URI"),
        ({"status_callback_event": "initiated"}, "expected a list of CallStatus"),
        ({"status_callback_event": ["initiated", "hungup"]}, "not a valid CallStatus"),
        ({"conference_status_callback_event": ["start", "explode"]}, "not a valid ConferenceEvent"),
        ({"dequeue_status_callback_event": "answered"}, "expected a list of strings"),
        ({"dequeue_status_callback_event": [1]}, "must be a list of strings"),
        ({"wait_method": "PUT"}, "not a valid HttpMethod"),
        ({"beep": "sometimes"}, "not a valid Beep"),
        ({"conference_record": "always"}, "not a valid ConferenceRecord"),
        ({"conference_trim": "trim"}, "not a valid ConferenceTrim"),
        ({"recording_channels": "stereo"}, "not a valid RecordingChannels"),
        ({"jitter_buffer_size": "huge"}, "not a valid JitterBufferSize"),
        ({"region": "mars1"}, "not a valid Region"),
        ({"supervisor_mode": "spy"}, "not a valid SupervisorMode"),
        ({"call_record": 1}, "call_record must be a string"),
    ],
)
def test_bad_update_values_are_refused_when_built(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TaskReservationUpdate(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["timeout", "dequeue_timeout", "call_timeout"])
def test_a_negative_timeout_field_says_what_is_allowed(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TaskReservationUpdate(**{field: -5})  # type: ignore[arg-type]
    assert str(caught.value) == f"{field} must be 0 or more, got -5"


LONE_SURROGATE = "x\udc80y"  # what errors="surrogateescape" leaves of the byte 0x80


@pytest.mark.parametrize("cls", [TaskReservationUpdate, WorkerReservationUpdate])
def test_no_field_accepts_text_that_cannot_be_encoded(cls: type[TaskReservationUpdate]) -> None:
    """Every field, as a string and in a list: nothing unencodable gets past the params' own checks."""
    for field in attrs.fields(cls):
        for value in (LONE_SURROGATE, [LONE_SURROGATE], ["ok", LONE_SURROGATE]):
            with pytest.raises(ValidationError) as caught:
                cls(**{field.name: value})
            assert LONE_SURROGATE not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("to", LONE_SURROGATE, r"to cannot be sent: it holds a lone surrogate \('\\udc80' at index 1\)"),
        ("status_callback", "https://example.com/\udc80", "status_callback cannot be sent"),
        ("call_record", "\ud800", "call_record cannot be sent"),
        ("dequeue_status_callback_event", ["answered", LONE_SURROGATE], r"dequeue_status_callback_event\[1\] cannot"),
        ("sip_auth_password", "hunter2\udc80", "sip_auth_password cannot be sent"),
    ],
)
def test_a_lone_surrogate_is_refused_when_built_and_named(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        TaskReservationUpdate(**{field: value})  # type: ignore[arg-type]
    assert "hunter2" not in str(caught.value)


def test_any_other_text_is_accepted_and_encoded_as_utf8() -> None:
    params = TaskReservationUpdate(to="client:zoë 😀", dequeue_status_callback_event=["ü"])
    assert encode_form(params) == b"To=client%3Azo%C3%AB+%F0%9F%98%80&DequeueStatusCallbackEvent=%C3%BC"


def test_validation_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="ReservationStatus"):
        WorkerReservationUpdate(reservation_status="nope")


def test_enum_values_round_trip_through_their_strings() -> None:
    params = TaskReservationUpdate(beep=Beep.ON_ENTER, wait_method="post")
    assert params.beep is Beep.ON_ENTER
    assert params.wait_method is HttpMethod.POST


def test_repr_shows_only_the_fields_that_are_set() -> None:
    params = TaskReservationUpdate(reservation_status="accepted", muted=False, sip_auth_password="hunter2")
    assert (
        repr(params)
        == "TaskReservationUpdate(reservation_status=<ReservationStatus.ACCEPTED: 'accepted'>, muted=False)"
    )
    assert repr(WorkerReservationUpdate()) == "WorkerReservationUpdate()"
