"""The callback models: every documented parameter round-trips; malformed bodies are typed errors naming the field."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_async import ReservationStatus, TaskRouterError
from taskrouter_async.webhooks import (
    RESERVATION_EVENT_STATUS,
    AssignmentCallback,
    EventCallback,
    EventType,
    WebhookPayloadError,
)

from .sids import ACCOUNT_SID, ACTIVITY_SID, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID

WORKFLOW_SID = "WW" + "2" * 32
QUEUE_SID = "WQ" + "3" * 32
EVENT_SID = "EV" + "4" * 32

# Every parameter of https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks#assignment-callback-parameters
ASSIGNMENT = {
    "Timestamp": "1700000000",
    "AccountSid": ACCOUNT_SID,
    "WorkspaceSid": WORKSPACE_SID,
    "WorkflowSid": WORKFLOW_SID,
    "TaskQueueSid": QUEUE_SID,
    "WorkerSid": WORKER_SID,
    "WorkerAttributes": '{"agent_id": "123456", "phone": "+1558675309"}',
    "TaskSid": TASK_SID,
    "TaskAttributes": '{"type": "support_request", "account_number": "1234567"}',
    "TaskAge": "47",
    "TaskPriority": "0",
    "ReservationSid": RESERVATION_SID,
}

# A reservation.accepted event as TaskRouter posts it: the documented parameters plus ones it sends
# without documenting them (kept in ``extra``).
EVENT = {
    "EventType": "reservation.accepted",
    "AccountSid": ACCOUNT_SID,
    "WorkspaceSid": WORKSPACE_SID,
    "WorkspaceName": "Support",
    "EventDescription": "Reservation WR… was accepted",
    "ResourceType": "reservation",
    "ResourceSid": RESERVATION_SID,
    "Timestamp": "1700000100",
    "TimestampMs": "1700000100123",
    "Sid": EVENT_SID,
    "TaskSid": TASK_SID,
    "TaskAttributes": '{"type": "support_request"}',
    "TaskAge": "147",
    "TaskPriority": "5",
    "TaskAssignmentStatus": "assigned",
    "TaskQueueSid": QUEUE_SID,
    "TaskQueueName": "Support",
    "WorkflowSid": WORKFLOW_SID,
    "WorkflowName": "Default",
    "WorkerSid": WORKER_SID,
    "WorkerName": "Alice",
    "WorkerAttributes": '{"contact_uri": "client:alice"}',
    "WorkerActivitySid": ACTIVITY_SID,
    "WorkerActivityName": "Busy",
    "ReservationSid": RESERVATION_SID,
}


def test_every_documented_assignment_parameter_is_typed() -> None:
    callback = AssignmentCallback.from_form(urlencode(ASSIGNMENT).encode())
    assert callback == AssignmentCallback(
        account_sid=ACCOUNT_SID,
        workspace_sid=WORKSPACE_SID,
        workflow_sid=WORKFLOW_SID,
        task_queue_sid=QUEUE_SID,
        worker_sid=WORKER_SID,
        task_sid=TASK_SID,
        reservation_sid=RESERVATION_SID,
        task_age=47,
        task_priority=0,
        task_attributes={"type": "support_request", "account_number": "1234567"},
        worker_attributes={"agent_id": "123456", "phone": "+1558675309"},
        timestamp=datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc),
    )
    assert callback.timestamp.tzinfo is timezone.utc
    assert AssignmentCallback.from_form(callback.to_form()) == callback
    assert dict(callback.to_form()).keys() == ASSIGNMENT.keys()


def test_the_body_pairs_and_a_mapping_parse_alike() -> None:
    from_body = AssignmentCallback.from_form(urlencode(ASSIGNMENT).encode())
    assert AssignmentCallback.from_form(ASSIGNMENT) == from_body
    assert AssignmentCallback.from_form(list(ASSIGNMENT.items())) == from_body


def test_unknown_parameters_are_kept() -> None:
    callback = AssignmentCallback.from_form({**ASSIGNMENT, "TaskChannelUniqueName": "voice", "Brand": ""})
    assert callback.extra == {"TaskChannelUniqueName": "voice", "Brand": ""}
    assert AssignmentCallback.from_form(callback.to_form()) == callback


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TaskSid", "WT123"),
        ("TaskSid", RESERVATION_SID),
        ("WorkflowSid", "WW" + "g" * 32),
        ("TaskAge", "ten"),
        ("TaskAge", "4.5"),
        ("TaskAge", "9" * 40),
        ("TaskPriority", ""),
        ("TaskAttributes", "{not json"),
        ("TaskAttributes", "[1, 2]"),
        ("TaskAttributes", "[" * 100_000 + "]" * 100_000),
        ("WorkerAttributes", '"a string"'),
        ("Timestamp", "yesterday"),
        ("Timestamp", "9" * 30),
        ("Timestamp", "1.2.3"),
    ],
)
def test_a_malformed_parameter_is_named(name: str, value: str) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        AssignmentCallback.from_form({**ASSIGNMENT, name: value})
    assert raised.value.field == name
    assert name in str(raised.value)
    assert isinstance(raised.value, TaskRouterError)


@pytest.mark.parametrize("name", sorted(ASSIGNMENT))
def test_a_missing_parameter_is_named(name: str) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        AssignmentCallback.from_form({k: v for k, v in ASSIGNMENT.items() if k != name})
    assert raised.value.field == name


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(WebhookPayloadError, match="TaskSid is given more than once"):
        AssignmentCallback.from_form([*ASSIGNMENT.items(), ("TaskSid", TASK_SID)])


def test_values_that_are_not_text_are_refused() -> None:
    with pytest.raises(WebhookPayloadError, match="TaskAge must be text"):
        AssignmentCallback.from_form({**ASSIGNMENT, "TaskAge": 47})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
        ("1700000000.25", datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=timezone.utc)),
        ("2023-11-14T22:13:20Z", datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
        ("2023-11-14T23:13:20+01:00", datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
        ("2023-11-14T22:13:20", datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
    ],
)
def test_timestamps_become_aware_utc(text: str, expected: datetime) -> None:
    callback = AssignmentCallback.from_form({**ASSIGNMENT, "Timestamp": text})
    assert callback.timestamp == expected
    assert callback.timestamp.utcoffset() is not None
    assert callback.timestamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


# --- event callbacks -----------------------------------------------------------------------------


def test_a_reservation_event_is_typed_and_narrowed() -> None:
    event = EventCallback.from_form(urlencode(EVENT).encode())
    assert event.event_type is EventType.RESERVATION_ACCEPTED
    assert (event.task_age, event.task_priority) == (147, 5)
    assert event.task_attributes == {"type": "support_request"}
    assert event.worker_attributes == {"contact_uri": "client:alice"}
    assert event.timestamp == datetime(2023, 11, 14, 22, 15, tzinfo=timezone.utc)
    assert event.extra == {"TimestampMs": "1700000100123", "TaskQueueName": "Support", "WorkflowName": "Default"}
    narrowed = event.reservation_event
    assert narrowed is not None
    assert narrowed.reservation_status is ReservationStatus.ACCEPTED
    assert (narrowed.reservation_sid, narrowed.task_sid, narrowed.worker_sid) == (RESERVATION_SID, TASK_SID, WORKER_SID)
    assert narrowed.callback is event
    assert EventCallback.from_form(event.to_form()) == event


def test_every_reservation_status_has_its_event() -> None:
    statuses = {RESERVATION_EVENT_STATUS[t] for t in RESERVATION_EVENT_STATUS}
    assert statuses == set(ReservationStatus)
    wrapup = EventCallback.from_form({**EVENT, "EventType": "reservation.wrapup"}).reservation_event
    assert wrapup is not None
    assert wrapup.reservation_status is ReservationStatus.WRAPPING


def test_other_events_need_only_the_common_parameters() -> None:
    worker_event = {
        "EventType": "worker.activity.update",
        "AccountSid": ACCOUNT_SID,
        "WorkspaceSid": WORKSPACE_SID,
        "WorkerSid": WORKER_SID,
        "WorkerActivitySid": ACTIVITY_SID,
        "WorkerTimeInPreviousActivity": "30",
    }
    event = EventCallback.from_form(worker_event)
    assert event.event_type is EventType.WORKER_ACTIVITY_UPDATE
    assert event.reservation_event is None
    assert event.task_sid is None
    assert event.extra == {"WorkerTimeInPreviousActivity": "30"}
    failed = EventCallback.from_form({**worker_event, "EventType": "reservation.failed", "TaskSid": TASK_SID})
    assert failed.reservation_event is None


def test_an_unknown_event_type_is_kept_as_text() -> None:
    event = EventCallback.from_form({**EVENT, "EventType": "reservation.teleported"})
    assert event.event_type == "reservation.teleported"
    assert not isinstance(event.event_type, EventType)
    assert event.reservation_event is None
    assert EventCallback.from_form(event.to_form()) == event


@pytest.mark.parametrize("name", ["ReservationSid", "TaskSid", "WorkerSid"])
def test_a_reservation_event_without_its_sids_is_refused(name: str) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        EventCallback.from_form({k: v for k, v in EVENT.items() if k != name})
    assert raised.value.field == name


@pytest.mark.parametrize("name", ["EventType", "AccountSid", "WorkspaceSid"])
def test_an_event_without_a_common_parameter_is_refused(name: str) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        EventCallback.from_form({k: v for k, v in EVENT.items() if k != name})
    assert raised.value.field == name


@pytest.mark.parametrize(
    ("name", "value"),
    [("Sid", "EV1"), ("WorkerActivitySid", WORKER_SID), ("TaskAttributes", "nope"), ("TaskAge", "-")],
)
def test_a_malformed_event_parameter_is_named(name: str, value: str) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        EventCallback.from_form({**EVENT, name: value})
    assert raised.value.field == name


# --- round trips of generated callbacks ------------------------------------------------------------

sids = {prefix: st.text("0123456789abcdef", min_size=32, max_size=32).map(lambda h, p=prefix: p + h) for prefix in (
    "AC", "WS", "WW", "WQ", "WK", "WT", "WR", "WA", "EV")}  # fmt: skip
json_objects = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    ),
    max_size=4,
)
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))
extras = st.dictionaries(st.text(min_size=1, max_size=8).map(lambda s: "X" + s), st.text(max_size=8), max_size=3)


@settings(max_examples=150, deadline=None)
@given(
    callback=st.builds(
        AssignmentCallback,
        account_sid=sids["AC"],
        workspace_sid=sids["WS"],
        workflow_sid=sids["WW"],
        task_queue_sid=sids["WQ"],
        worker_sid=sids["WK"],
        task_sid=sids["WT"],
        reservation_sid=sids["WR"],
        task_age=st.integers(0, 10**9),
        task_priority=st.integers(-(2**31), 2**31),
        task_attributes=json_objects,
        worker_attributes=json_objects,
        timestamp=moments,
        extra=extras,
    )
)
def test_generated_assignment_callbacks_round_trip(callback: AssignmentCallback) -> None:
    body = urlencode(callback.to_form()).encode()
    assert AssignmentCallback.from_form(body) == callback


@settings(max_examples=150, deadline=None)
@given(
    event=st.builds(
        EventCallback,
        event_type=st.sampled_from(sorted(set(EventType) - set(RESERVATION_EVENT_STATUS))) | st.text(min_size=1),
        account_sid=sids["AC"],
        workspace_sid=sids["WS"],
        sid=st.none() | sids["EV"],
        workspace_name=st.none() | st.text(max_size=8),
        timestamp=st.none() | moments,
        task_sid=st.none() | sids["WT"],
        task_attributes=st.none() | json_objects,
        task_age=st.none() | st.integers(0, 10**6),
        worker_sid=st.none() | sids["WK"],
        worker_attributes=st.none() | json_objects,
        worker_activity_sid=st.none() | sids["WA"],
        reservation_sid=st.none() | sids["WR"],
        extra=extras,
    )
)
def test_generated_event_callbacks_round_trip(event: EventCallback) -> None:
    body = urlencode(event.to_form()).encode()
    assert EventCallback.from_form(body) == event


def test_attributes_are_sent_as_compact_json() -> None:
    callback = AssignmentCallback.from_form(ASSIGNMENT)
    assert json.loads(dict(callback.to_form())["TaskAttributes"]) == callback.task_attributes
