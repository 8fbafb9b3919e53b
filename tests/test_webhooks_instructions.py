"""Assignment instructions: the documented JSON, one table of keys, and the REST helpers' vocabulary and checks."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from taskrouter_async import ReservationStatus, TaskReservationUpdate, ValidationError, WorkerReservationUpdate
from taskrouter_async._converter import wire_name
from taskrouter_async.webhooks import (
    INSTRUCTION_KEYS,
    AssignmentInstruction,
    accept,
    call,
    conference,
    dequeue,
    redirect,
    reject,
)

from .sids import ACTIVITY_SID, CALL_SID

# The JSON examples of https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks (SIDs made
# valid: the page abbreviates them), and of the conference instruction's error page
# https://www.twilio.com/docs/api/errors/40143, each with the builder call that must produce it.
DOCUMENTED: list[tuple[str, dict[str, Any], AssignmentInstruction]] = [
    ("accept", {"instruction": "accept"}, accept()),
    (
        "reject",
        {"instruction": "reject", "activity_sid": ACTIVITY_SID},
        reject(worker_activity_sid=ACTIVITY_SID),
    ),
    (
        "dequeue",
        {
            "instruction": "dequeue",
            "to": "+14151112222",
            "from": "+18001231234",
            "post_work_activity_sid": "WA0123456789abcdef0123456789abcdef",
        },
        dequeue(
            dequeue_to="+14151112222",
            dequeue_from="+18001231234",
            dequeue_post_work_activity_sid="WA0123456789abcdef0123456789abcdef",
        ),
    ),
    (
        "dequeue to the worker's contact_uri",
        {
            "instruction": "dequeue",
            "from": "+18001231234",
            "post_work_activity_sid": "WA0123456789abcdef0123456789abcdef",
        },
        dequeue(dequeue_from="+18001231234", dequeue_post_work_activity_sid="WA0123456789abcdef0123456789abcdef"),
    ),
    (
        "dequeue with status callback events (error 40134)",
        {
            "instruction": "dequeue",
            "to": "client:alice",
            "from": "bob",
            "post_work_activity_sid": "WA0123456789abcdef0123456789abcdef",
            "status_callback_events": "initiated,ringing,answered,completed",
        },
        dequeue(
            dequeue_to="client:alice",
            dequeue_from="bob",
            dequeue_post_work_activity_sid="WA0123456789abcdef0123456789abcdef",
            dequeue_status_callback_event=["initiated", "ringing", "answered", "completed"],
        ),
    ),
    (
        "call",
        {
            "instruction": "call",
            "to": "joey",
            "from": "+15558675309",
            "url": "http://example.com/agent_answer",
            "status_callback_url": "http://example.com/agent_answer_status_callback",
        },
        call(
            call_to="joey",
            call_from="+15558675309",
            call_url="http://example.com/agent_answer",
            call_status_callback_url="http://example.com/agent_answer_status_callback",
        ),
    ),
    (
        "redirect",
        {"instruction": "redirect", "call_sid": CALL_SID, "url": "http://example.com/assignment_redirect"},
        redirect(redirect_call_sid=CALL_SID, redirect_url="http://example.com/assignment_redirect"),
    ),
    (
        "conference (error 40143)",
        {
            "instruction": "conference",
            "to": "client:alice",
            "from": "18001234567",
            "post_work_activity_sid": "WA0123456789abcdef0123456789abcdef",
        },
        conference(to="client:alice", from_="18001234567", post_work_activity_sid="WA0123456789abcdef0123456789abcdef"),
    ),
]


@pytest.mark.parametrize(("name", "documented", "built"), DOCUMENTED, ids=[case[0] for case in DOCUMENTED])
def test_builders_give_the_documented_json(name: str, documented: dict[str, Any], built: AssignmentInstruction) -> None:
    assert built.to_json() == documented
    assert AssignmentInstruction.from_json(documented) == built


def test_every_option_round_trips() -> None:
    instructions = [
        dequeue(
            dequeue_from="+15550100",
            dequeue_to="client:alice",
            dequeue_post_work_activity_sid=ACTIVITY_SID,
            dequeue_record="record-from-answer",
            dequeue_timeout=15,
            dequeue_status_callback_url="https://example.com/status",
            dequeue_status_callback_event=["answered", "completed"],
        ),
        call(
            call_from="+15550100",
            call_url="https://example.com/twiml",
            call_to="client:alice",
            call_accept=True,
            call_record="record-from-answer",
            call_timeout=30,
            call_status_callback_url="https://example.com/status",
        ),
        redirect(redirect_call_sid=CALL_SID, redirect_url="https://example.com/twiml", redirect_accept=False),
    ]
    for instruction in instructions:
        as_json = instruction.to_json()
        assert set(as_json) == {"instruction", *INSTRUCTION_KEYS[instruction.instruction].values()}
        assert AssignmentInstruction.from_json(as_json) == instruction


@pytest.mark.parametrize(
    ("name", "rest"),
    [
        ("accept", TaskReservationUpdate.accept()),
        ("reject", TaskReservationUpdate.reject(worker_activity_sid=ACTIVITY_SID)),
        ("conference", TaskReservationUpdate.conference(from_="+15550100", post_work_activity_sid=ACTIVITY_SID)),
        ("dequeue", TaskReservationUpdate.dequeue(dequeue_from="+15550100", dequeue_timeout=5)),
        ("call", TaskReservationUpdate.call(call_from="+1", call_url="https://e.com/t", call_accept=True)),
        ("redirect", TaskReservationUpdate.redirect(redirect_call_sid=CALL_SID, redirect_url="https://e.com/t")),
    ],
)
def test_an_instruction_is_the_rest_update_it_stands_for(name: str, rest: TaskReservationUpdate) -> None:
    instruction = AssignmentInstruction(params=rest)
    assert instruction.instruction == name
    assert instruction.params is rest
    assert AssignmentInstruction.from_json(instruction.to_json()).params == rest


def test_worker_reservation_updates_are_instructions_too() -> None:
    assert AssignmentInstruction(params=WorkerReservationUpdate.accept()).to_json() == {"instruction": "accept"}


def test_the_table_names_real_update_fields_and_distinct_keys() -> None:
    fields = {wire_name(field.name) for field in attrs.fields(TaskReservationUpdate)}
    for instruction, keys in INSTRUCTION_KEYS.items():
        assert set(keys) <= fields, instruction
        assert len(set(keys.values())) == len(keys), instruction
        assert "instruction" not in keys.values()


@pytest.mark.parametrize(
    "build",
    [
        lambda: reject(worker_activity_sid="WA123"),
        lambda: conference(post_work_activity_sid=CALL_SID),
        lambda: dequeue(dequeue_from="+1", dequeue_timeout=-1),
        lambda: dequeue(dequeue_from="+1", dequeue_status_callback_url="not a url"),
        lambda: call(call_from="+1", call_url="/relative"),
        lambda: call(call_from="+1", call_url="https://e.com/t", call_accept="yes"),  # type: ignore[arg-type]
        lambda: redirect(redirect_call_sid="CA1", redirect_url="https://e.com/t"),
    ],
    ids=["activity sid", "post-work sid", "timeout", "callback url", "call url", "accept", "call sid"],
)
def test_values_are_checked_like_rest_updates(build: Any) -> None:
    with pytest.raises(ValidationError):
        build()


@pytest.mark.parametrize(
    "params",
    [
        TaskReservationUpdate.conference(from_="+1", record=True),
        TaskReservationUpdate.wrap_up(),
        TaskReservationUpdate.complete(),
        TaskReservationUpdate.supervise(supervisor="client:sue"),
        TaskReservationUpdate(reservation_status="accepted", instruction="conference"),
        TaskReservationUpdate(),
        TaskReservationUpdate(reservation_status="rejected", to="+1"),
    ],
    ids=["no json key", "wrap-up", "complete", "supervise", "both", "neither", "stray field"],
)
def test_updates_without_an_instruction_form_are_refused(params: TaskReservationUpdate) -> None:
    with pytest.raises(ValidationError):
        AssignmentInstruction(params=params)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {},
        {"instruction": "supervise", "supervisor": "client:sue"},
        {"instruction": "ACCEPT"},
        {"instruction": "accept", "activity_sid": ACTIVITY_SID},
        {"instruction": "reject", "worker_activity_sid": ACTIVITY_SID},
        {"instruction": "call", "from": "+1", "url": "https://e.com/t", "accept": "maybe"},
        {"instruction": "call", "from": "+1", "url": "https://e.com/t", "timeout": "ten"},
        {"instruction": "dequeue", "from": "+1", "status_callback_events": 5},
        {"instruction": "dequeue", "from": 15550100},
    ],
)
def test_invalid_instruction_json_is_a_validation_error(data: object) -> None:
    with pytest.raises(ValidationError):
        AssignmentInstruction.from_json(data)


def test_json_accepts_documented_string_forms() -> None:
    instruction = AssignmentInstruction.from_json(
        {"instruction": "call", "from": "+1", "url": "https://e.com/t", "accept": "true", "timeout": "20"}
    )
    assert instruction.params == TaskReservationUpdate.call(
        call_from="+1", call_url="https://e.com/t", call_accept=True, call_timeout=20
    )
    listed = AssignmentInstruction.from_json(
        {"instruction": "dequeue", "from": "+1", "status_callback_events": ["ringing"]}
    )
    assert listed.params.dequeue_status_callback_event == ("ringing",)


def test_accept_and_reject_are_status_changes_in_rest() -> None:
    assert accept().params.reservation_status is ReservationStatus.ACCEPTED
    assert reject().params.reservation_status is ReservationStatus.REJECTED
    assert reject().to_json() == {"instruction": "reject"}
