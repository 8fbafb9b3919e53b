"""Typed models of what TaskRouter POSTs: the assignment callback and the event callback.

Both arrive as ``application/x-www-form-urlencoded`` bodies with PascalCase names (the
snake_case attribute names here, through the library's ``wire_name``). Documented parameters are
checked (SIDs by prefix, integers, JSON attributes, timestamps); a malformed one raises
``WebhookPayloadError`` naming it. Parameters this version does not know are kept in ``extra``.

Parameter lists:
- assignment callback: https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks#assignment-callback-parameters
- event callback and EventType values: https://www.twilio.com/docs/taskrouter/api/event/reference

The form is read with a table of per-field parsers rather than the cattrs converter: every value
is a string, each field has its own rule, and errors must name the wire parameter.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from .._converter import wire_name
from .._enums import ReservationStatus
from .._errors import WebhookPayloadError
from .._sids import SID_KINDS, is_sid
from ._signature import parse_form

__all__ = ["AssignmentCallback", "EventCallback", "EventType", "ReservationEvent"]

C = TypeVar("C", bound="_Callback")

#: What ``from_form`` takes: the raw body, (name, value) pairs, or a mapping of name to value.
Form = bytes | Mapping[str, str] | Iterable[tuple[str, str]]

_PARSER = "taskrouter_async.webhooks.parser"
_FORMAT = "taskrouter_async.webhooks.format"


class EventType(str, enum.Enum):
    """Every documented ``EventType``; callbacks keep a newer value as a plain ``str``."""

    ACTIVITY_CREATED = "activity.created"
    ACTIVITY_UPDATED = "activity.updated"
    ACTIVITY_DELETED = "activity.deleted"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_ACCEPTED = "reservation.accepted"
    RESERVATION_REJECTED = "reservation.rejected"
    RESERVATION_TIMEOUT = "reservation.timeout"
    RESERVATION_CANCELED = "reservation.canceled"
    RESERVATION_RESCINDED = "reservation.rescinded"
    RESERVATION_COMPLETED = "reservation.completed"
    RESERVATION_FAILED = "reservation.failed"
    RESERVATION_WRAPUP = "reservation.wrapup"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_CANCELED = "task.canceled"
    TASK_WRAPUP = "task.wrapup"
    TASK_COMPLETED = "task.completed"
    TASK_DELETED = "task.deleted"
    TASK_SYSTEM_DELETED = "task.system-deleted"
    TASK_TRANSFER_INITIATED = "task.transfer-initiated"
    TASK_TRANSFER_ATTEMPT_FAILED = "task.transfer-attempt-failed"
    TASK_TRANSFER_FAILED = "task.transfer-failed"
    TASK_TRANSFER_CANCELED = "task.transfer-canceled"
    TASK_TRANSFER_COMPLETED = "task.transfer-completed"
    TASK_CHANNEL_CREATED = "task-channel.created"
    TASK_CHANNEL_UPDATED = "task-channel.updated"
    TASK_CHANNEL_DELETED = "task-channel.deleted"
    TASK_QUEUE_CREATED = "task-queue.created"
    TASK_QUEUE_DELETED = "task-queue.deleted"
    TASK_QUEUE_ENTERED = "task-queue.entered"
    TASK_QUEUE_TIMEOUT = "task-queue.timeout"
    TASK_QUEUE_MOVED = "task-queue.moved"
    TASK_QUEUE_EXPRESSION_UPDATED = "task-queue.expression.updated"
    WORKER_CREATED = "worker.created"
    WORKER_ACTIVITY_UPDATE = "worker.activity.update"
    WORKER_ATTRIBUTES_UPDATE = "worker.attributes.update"
    WORKER_CAPACITY_UPDATE = "worker.capacity.update"
    WORKER_CHANNEL_AVAILABILITY_UPDATE = "worker.channel.availability.update"
    WORKER_DELETED = "worker.deleted"
    WORKFLOW_CREATED = "workflow.created"
    WORKFLOW_UPDATED = "workflow.updated"
    WORKFLOW_DELETED = "workflow.deleted"
    WORKFLOW_TARGET_MATCHED = "workflow.target-matched"
    WORKFLOW_ENTERED = "workflow.entered"
    WORKFLOW_TIMEOUT = "workflow.timeout"
    WORKFLOW_SKIPPED = "workflow.skipped"
    WORKSPACE_CREATED = "workspace.created"
    WORKSPACE_UPDATED = "workspace.updated"
    WORKSPACE_DELETED = "workspace.deleted"


#: The reservation events that report a change of status, and the status they report.
RESERVATION_EVENT_STATUS: Mapping[EventType, ReservationStatus] = MappingProxyType(
    {
        EventType.RESERVATION_CREATED: ReservationStatus.PENDING,
        EventType.RESERVATION_ACCEPTED: ReservationStatus.ACCEPTED,
        EventType.RESERVATION_REJECTED: ReservationStatus.REJECTED,
        EventType.RESERVATION_TIMEOUT: ReservationStatus.TIMEOUT,
        EventType.RESERVATION_CANCELED: ReservationStatus.CANCELED,
        EventType.RESERVATION_RESCINDED: ReservationStatus.RESCINDED,
        EventType.RESERVATION_WRAPUP: ReservationStatus.WRAPPING,
        EventType.RESERVATION_COMPLETED: ReservationStatus.COMPLETED,
    }
)

# --- one parser and one formatter per kind of parameter --------------------------------------------


def _parse_text(name: str, text: str) -> str:
    return text


def _sid_parser(prefix: str) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        if not is_sid(text, prefix):
            kind = SID_KINDS[prefix]
            raise WebhookPayloadError(f"{name} must be a {kind} SID ({prefix!r} and 32 hex digits)", field=name)
        return text

    return parse


def _parse_int(name: str, text: str) -> int:
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise WebhookPayloadError(f"{name} must be a decimal integer", field=name)
    return int(text)


def _parse_attributes(name: str, text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise WebhookPayloadError(f"{name} is not valid JSON", field=name) from None
    if not isinstance(value, dict):
        raise WebhookPayloadError(f"{name} must be a JSON object", field=name)
    return value


def _parse_timestamp(name: str, text: str) -> datetime:
    """Unix seconds, as TaskRouter sends them, or ISO 8601; always an aware UTC datetime."""
    seconds, dot, fraction = text.partition(".")
    try:
        if seconds.isascii() and seconds.isdigit() and (not dot or (fraction.isascii() and fraction.isdigit())):
            micros = int(fraction[:6].ljust(6, "0")) if dot else 0
            return datetime.fromtimestamp(int(seconds), timezone.utc) + timedelta(microseconds=micros)
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except (ValueError, OverflowError, OSError):
        raise WebhookPayloadError(f"{name} must be Unix seconds or an ISO 8601 date", field=name) from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _parse_event_type(name: str, text: str) -> EventType | str:
    try:
        return EventType(text)
    except ValueError:
        return text


def _format_json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False)


def _format_timestamp(value: datetime) -> str:
    """Unix seconds, with the microseconds when there are any."""
    seconds = int(value.replace(microsecond=0).timestamp())
    return f"{seconds}.{value.microsecond:06d}" if value.microsecond else str(seconds)


def _format_enum(value: EventType | str) -> str:
    return value.value if isinstance(value, EventType) else value


def _param(parse: Callable[[str, str], Any], *, required: bool = False, fmt: Callable[[Any], str] = str) -> Any:
    metadata = {_PARSER: parse, _FORMAT: fmt}
    if required:
        return attrs.field(metadata=metadata)
    return attrs.field(default=None, metadata=metadata)


def _sid(prefix: str, *, required: bool = False) -> Any:
    return _param(_sid_parser(prefix), required=required)


_TIMESTAMP = {_PARSER: _parse_timestamp, _FORMAT: _format_timestamp}


def _attributes(*, required: bool = False) -> Any:
    metadata = {_PARSER: _parse_attributes, _FORMAT: _format_json}
    if required:
        return attrs.field(metadata=metadata, hash=False)
    return attrs.field(default=None, metadata=metadata, hash=False)


def _read_only(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class _Callback:
    """Reading and writing the form; subclasses declare their parameters with ``_param``."""

    #: Parameters this version does not model, by name, as sent.
    extra: Mapping[str, str] = attrs.field(factory=dict, converter=_read_only, hash=False)

    @classmethod
    def from_form(cls: type[C], form: Form) -> C:
        """Parse a callback body (raw bytes, (name, value) pairs or a mapping); WebhookPayloadError if malformed."""
        pairs = parse_form(form) if isinstance(form, bytes) else form.items() if isinstance(form, Mapping) else form
        received: dict[str, str] = {}
        for name, value in pairs:
            if not isinstance(value, str):
                raise WebhookPayloadError(f"{name} must be text, got {type(value).__name__}", field=name)
            if name in received:
                raise WebhookPayloadError(f"{name} is given more than once", field=name)
            received[name] = value
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            parse = field.metadata.get(_PARSER)
            if parse is None:
                continue
            name = wire_name(field.name)
            text = received.pop(name, None)
            if text is not None:
                values[field.name] = parse(name, text)
            elif field.default is attrs.NOTHING:
                raise WebhookPayloadError(f"the callback has no {name}", field=name)
        return cls(**values, extra=received)

    def to_form(self) -> list[tuple[str, str]]:
        """The callback as form pairs, as TaskRouter would POST it (the fake uses this)."""
        pairs = [
            (wire_name(field.name), field.metadata[_FORMAT](value))
            for field in attrs.fields(type(self))
            if _FORMAT in field.metadata and (value := getattr(self, field.name)) is not None
        ]
        return pairs + list(self.extra.items())


@attrs.frozen(kw_only=True)
class AssignmentCallback(_Callback):
    """TaskRouter's POST to the workflow's AssignmentCallbackUrl when it reserves a worker for a task.

    Answer it with an ``AssignmentInstruction``'s JSON, or with ``{}`` to decide later over REST.
    """

    account_sid: str = _sid("AC", required=True)
    workspace_sid: str = _sid("WS", required=True)
    workflow_sid: str = _sid("WW", required=True)
    task_queue_sid: str = _sid("WQ", required=True)
    worker_sid: str = _sid("WK", required=True)
    task_sid: str = _sid("WT", required=True)
    reservation_sid: str = _sid("WR", required=True)
    #: Seconds since the task was created, when it was assigned.
    task_age: int = _param(_parse_int, required=True)
    task_priority: int = _param(_parse_int, required=True)
    #: The task's attributes, parsed from JSON.
    task_attributes: Mapping[str, Any] = _attributes(required=True)
    #: The worker's attributes, parsed from JSON (``contact_uri`` and the like).
    worker_attributes: Mapping[str, Any] = _attributes(required=True)
    #: When the task was assigned, an aware UTC datetime.
    timestamp: datetime = attrs.field(metadata=_TIMESTAMP)


@attrs.frozen(kw_only=True)
class EventCallback(_Callback):
    """TaskRouter's POST to the workspace's EventCallbackUrl; answer it with 204 within 15 seconds.

    Which of the optional fields are set depends on the event (``event_type``): task events carry
    the task fields, worker events the worker fields, reservation events both and
    ``reservation_sid``. ``reservation_event`` narrows a reservation's change of status.
    """

    #: An ``EventType`` member, or a plain ``str`` for an event newer than this library.
    event_type: EventType | str = attrs.field(metadata={_PARSER: _parse_event_type, _FORMAT: _format_enum})
    account_sid: str = _sid("AC", required=True)
    workspace_sid: str = _sid("WS", required=True)
    #: The event's own SID (``EV…``).
    sid: str | None = _sid("EV")
    workspace_name: str | None = _param(_parse_text)
    event_description: str | None = _param(_parse_text)
    #: The kind of resource the event is about (``reservation``, ``task``, ``worker``...).
    resource_type: str | None = _param(_parse_text)
    resource_sid: str | None = _param(_parse_text)
    timestamp: datetime | None = attrs.field(default=None, metadata=_TIMESTAMP)
    # Task fields
    task_sid: str | None = _sid("WT")
    task_attributes: Mapping[str, Any] | None = _attributes()
    task_age: int | None = _param(_parse_int)
    task_priority: int | None = _param(_parse_int)
    task_assignment_status: str | None = _param(_parse_text)
    task_canceled_reason: str | None = _param(_parse_text)
    task_completed_reason: str | None = _param(_parse_text)
    task_queue_sid: str | None = _sid("WQ")
    workflow_sid: str | None = _sid("WW")
    # Worker fields
    worker_sid: str | None = _sid("WK")
    worker_name: str | None = _param(_parse_text)
    worker_attributes: Mapping[str, Any] | None = _attributes()
    worker_activity_sid: str | None = _sid("WA")
    worker_activity_name: str | None = _param(_parse_text)
    # Reservation field
    reservation_sid: str | None = _sid("WR")

    def __attrs_post_init__(self) -> None:
        """A reservation's change of status must name the reservation, its task and its worker."""
        if isinstance(self.event_type, EventType) and self.event_type in RESERVATION_EVENT_STATUS:
            for name in ("reservation_sid", "task_sid", "worker_sid"):
                if getattr(self, name) is None:
                    wire = wire_name(name)
                    raise WebhookPayloadError(f"a {self.event_type.value} event must have {wire}", field=wire)

    @property
    def reservation_event(self) -> ReservationEvent | None:
        """This event as a reservation's change of status, or ``None`` for any other event."""
        if not isinstance(self.event_type, EventType) or self.event_type not in RESERVATION_EVENT_STATUS:
            return None
        # __attrs_post_init__ made sure a reservation event has these three.
        assert self.reservation_sid is not None
        assert self.task_sid is not None
        assert self.worker_sid is not None
        return ReservationEvent(
            event_type=self.event_type,
            reservation_status=RESERVATION_EVENT_STATUS[self.event_type],
            reservation_sid=self.reservation_sid,
            task_sid=self.task_sid,
            worker_sid=self.worker_sid,
            workspace_sid=self.workspace_sid,
            callback=self,
        )


@attrs.frozen(kw_only=True)
class ReservationEvent:
    """A reservation event that reports a new status, with the SIDs every such event carries."""

    event_type: EventType
    #: The status the reservation moved to (``reservation.wrapup`` is ``wrapping``).
    reservation_status: ReservationStatus
    reservation_sid: str
    task_sid: str
    worker_sid: str
    workspace_sid: str
    #: The whole callback, for the other fields.
    callback: EventCallback = attrs.field(repr=False)
