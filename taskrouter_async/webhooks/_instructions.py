"""Assignment instructions: the JSON answer to an assignment callback, built from the REST update vocabulary.

An instruction is held as the REST update it is equivalent to (a ``TaskReservationUpdate``),
so its values are checked by the same validators as every update. ``INSTRUCTION_KEYS`` is the one
table between the REST form fields and the instruction's JSON keys, from
https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks#respond-to-assignment
("accept", "reject", "dequeue", "call", "redirect"); the conference instruction's keys (``to``,
``from``, ``post_work_activity_sid``) come from the examples on Twilio's conference-instruction
error pages (https://www.twilio.com/docs/api/errors/40138, https://www.twilio.com/docs/api/errors/40143).
Answering ``{}`` instead defers the decision to a later REST update
(https://www.twilio.com/docs/api/errors/40005).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ParamSpec

import attrs

from .._converter import wire_name
from .._enums import ReservationStatus
from .._errors import ValidationError
from ..resources import ReservationUpdate, TaskReservationUpdate

Arguments = ParamSpec("Arguments")

__all__ = [
    "INSTRUCTION_KEYS",
    "AssignmentInstruction",
    "accept",
    "call",
    "conference",
    "dequeue",
    "redirect",
    "reject",
]

#: For each assignment instruction: REST update form field -> instruction JSON key.
INSTRUCTION_KEYS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "accept": {},
        "reject": {"WorkerActivitySid": "activity_sid"},
        "conference": {"To": "to", "From": "from", "PostWorkActivitySid": "post_work_activity_sid"},
        "dequeue": {
            "DequeueTo": "to",
            "DequeueFrom": "from",
            "DequeuePostWorkActivitySid": "post_work_activity_sid",
            "DequeueRecord": "record",
            "DequeueTimeout": "timeout",
            "DequeueStatusCallbackUrl": "status_callback_url",
            # A list in the REST update (repeated keys); one comma-separated string in the JSON.
            "DequeueStatusCallbackEvent": "status_callback_events",
        },
        "call": {
            "CallTo": "to",
            "CallFrom": "from",
            "CallUrl": "url",
            "CallAccept": "accept",
            "CallRecord": "record",
            "CallTimeout": "timeout",
            "CallStatusCallbackUrl": "status_callback_url",
        },
        "redirect": {"RedirectCallSid": "call_sid", "RedirectUrl": "url", "RedirectAccept": "accept"},
    }
)

#: The two instructions that are a status change in the REST API rather than an ``Instruction``.
_STATUS_INSTRUCTIONS = {ReservationStatus.ACCEPTED: "accept", ReservationStatus.REJECTED: "reject"}
#: Update attribute name by form field name.
_ATTRIBUTES = {wire_name(field.name): field.name for field in attrs.fields(TaskReservationUpdate)}


@attrs.frozen(kw_only=True)
class AssignmentInstruction:
    """An answer to an assignment callback, held as the equivalent REST update.

    Build one with ``accept()``, ``reject()``, ``conference()``, ``dequeue()``, ``call()`` or
    ``redirect()``; answer the callback with ``to_json()``.
    """

    params: ReservationUpdate = attrs.field()

    @params.validator
    def _expressible(self, attribute: attrs.Attribute[Any], params: ReservationUpdate) -> None:
        instruction = _instruction_of(params)
        keys = INSTRUCTION_KEYS[instruction]
        for field in attrs.fields(type(params)):
            form_field = wire_name(field.name)
            if getattr(params, field.name) is None or form_field in ("ReservationStatus", "Instruction"):
                continue
            if form_field not in keys:
                raise ValidationError(
                    f"{field.name} has no key in the {instruction} assignment instruction; "
                    "answer the callback with {} and send it as a REST update instead"
                )

    @property
    def instruction(self) -> str:
        """``accept``, ``reject``, ``conference``, ``dequeue``, ``call`` or ``redirect``."""
        return _instruction_of(self.params)

    def to_json(self) -> dict[str, Any]:
        """The JSON object to answer the assignment callback with (``Content-Type: application/json``)."""
        body: dict[str, Any] = {"instruction": self.instruction}
        for form_field, key in INSTRUCTION_KEYS[self.instruction].items():
            value = getattr(self.params, _ATTRIBUTES[form_field])
            if value is not None:
                body[key] = _json_value(value)
        return body

    @classmethod
    def from_json(cls, data: object) -> AssignmentInstruction:
        """Read an instruction back from its JSON object (what TaskRouter does); ValidationError if invalid."""
        if not isinstance(data, dict):
            raise ValidationError(f"an assignment instruction is a JSON object, got {type(data).__name__}")
        instruction = data.get("instruction")
        if not isinstance(instruction, str) or instruction not in INSTRUCTION_KEYS:
            allowed = ", ".join(INSTRUCTION_KEYS)
            raise ValidationError(f"instruction must be one of {allowed}, got {instruction!r}")
        fields_by_key = {key: _ATTRIBUTES[form_field] for form_field, key in INSTRUCTION_KEYS[instruction].items()}
        unknown = sorted(set(data) - set(fields_by_key) - {"instruction"})
        if unknown:
            raise ValidationError(f"the {instruction} instruction has no key {', '.join(map(repr, unknown))}")
        values: dict[str, Any] = {
            fields_by_key[key]: _from_json_value(fields_by_key[key], key, value)
            for key, value in data.items()
            if key != "instruction"
        }
        if instruction in ("accept", "reject"):
            status = ReservationStatus.ACCEPTED if instruction == "accept" else ReservationStatus.REJECTED
            return cls(params=TaskReservationUpdate(reservation_status=status, **values))
        return cls(params=TaskReservationUpdate(instruction=instruction, **values))


def accept() -> AssignmentInstruction:
    """Accept the reservation: ``{"instruction": "accept"}``, like ``TaskReservationUpdate.accept()``."""
    return AssignmentInstruction(params=TaskReservationUpdate.accept())


def reject(*, worker_activity_sid: str | None = None) -> AssignmentInstruction:
    """Reject the reservation, moving the worker to ``worker_activity_sid`` (``activity_sid`` in the JSON)."""
    return AssignmentInstruction(params=TaskReservationUpdate.reject(worker_activity_sid=worker_activity_sid))


def conference(
    *, to: str | None = None, from_: str | None = None, post_work_activity_sid: str | None = None
) -> AssignmentInstruction:
    """Accept and conference the worker with the caller; the conference options with a documented JSON key.

    For the others (recording, beeps, callbacks...) answer ``{}`` and send
    ``TaskReservationUpdate.conference(...)`` over REST.
    """
    return AssignmentInstruction(
        params=TaskReservationUpdate.conference(to=to, from_=from_, post_work_activity_sid=post_work_activity_sid)
    )


def _answering_with(helper: Callable[Arguments, TaskReservationUpdate]) -> Callable[Arguments, AssignmentInstruction]:
    """An instruction builder taking exactly the REST helper's arguments, checked by the same validators."""

    @functools.wraps(helper)
    def build(*args: Arguments.args, **kwargs: Arguments.kwargs) -> AssignmentInstruction:
        return AssignmentInstruction(params=helper(*args, **kwargs))

    return build


#: Accept and bridge the queued call to the worker: ``TaskReservationUpdate.dequeue``'s arguments.
dequeue = _answering_with(TaskReservationUpdate.dequeue)
#: Call the worker and run the TwiML at ``call_url``: ``TaskReservationUpdate.call``'s arguments.
call = _answering_with(TaskReservationUpdate.call)
#: Send the call to the TwiML at ``redirect_url``: ``TaskReservationUpdate.redirect``'s arguments.
redirect = _answering_with(TaskReservationUpdate.redirect)


def _instruction_of(params: ReservationUpdate) -> str:
    if not isinstance(params, ReservationUpdate):
        raise ValidationError(f"expected reservation update params, got {type(params).__name__}")
    status, instruction = params.reservation_status, params.instruction
    if instruction is None and status in _STATUS_INSTRUCTIONS:
        return _STATUS_INSTRUCTIONS[status]
    if status is None and instruction in INSTRUCTION_KEYS and instruction not in _STATUS_INSTRUCTIONS.values():
        return str(instruction)
    raise ValidationError(
        "an assignment instruction is an accept, a reject, or a conference, dequeue, call or redirect "
        f"instruction; these params are {params!r}"
    )


def _json_value(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return ",".join(value)
    return value


def _from_json_value(attribute: str, key: str, value: object) -> object:
    """A JSON value as the update attribute takes it; the update's own validators do the rest."""
    kind = str(attrs.fields_dict(TaskReservationUpdate)[attribute].type)
    if kind.startswith("bool") and value in ("true", "false"):
        return value == "true"
    if kind.startswith("int") and isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if kind.startswith("tuple"):
        if isinstance(value, str):
            return [event.strip() for event in value.split(",") if event.strip()]
        if not isinstance(value, list):
            raise ValidationError(f"{key} must be a comma-separated string, got {value!r}")
    return value
