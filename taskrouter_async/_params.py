"""Update parameters for reservations: one base class, the task class adds the supervisor fields.

Every field is optional and defaults to ``None``, which means "leave it out of the request".
Values are checked when the object is built, so a bad update never reaches the network.
Wire names are the PascalCase forms of these names (``from_`` is ``From``); see ``_converter``.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from ._enums import (
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
)
from ._errors import ValidationError
from ._sids import check_sid

__all__ = ["ReservationUpdate", "TaskReservationUpdate", "WorkerReservationUpdate"]

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
P = TypeVar("P", bound="ReservationUpdate")
TP = TypeVar("TP", bound="TaskReservationUpdate")

# An absolute URI per RFC 3986 (the spec's ``format: uri``), from its ABNF; IP literals are checked apart.
_PCT = r"%[0-9A-Fa-f]{2}"
_UNRESERVED_SUB_DELIMS = r"A-Za-z0-9\-._~!$&'()*+,;="
_PCHAR = rf"(?:[{_UNRESERVED_SUB_DELIMS}:@]|{_PCT})"
_QUERY = rf"(?:{_PCHAR}|[/?])*"
_AUTHORITY = (
    rf"(?:(?:[{_UNRESERVED_SUB_DELIMS}:]|{_PCT})*@)?"
    rf"(?P<host>\[[^\]]*\]|(?:[{_UNRESERVED_SUB_DELIMS}]|{_PCT})*)(?::[0-9]*)?"
)
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*:(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
    rf"(?:\?{_QUERY})?(?:#{_QUERY})?"
)
_IP_FUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED_SUB_DELIMS}:]+")


# --- coercion: named functions, because mypy's attrs plugin reads their signatures ---------


def _to_enum(cls: type[E], value: object) -> E:
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValidationError(f"{value!r} is not a valid {cls.__name__}; expected one of {allowed}") from None


def _to_enum_tuple(cls: type[E], values: object) -> tuple[E, ...] | None:
    """A tuple of members; an empty list is ``None`` (unset), since repeated form keys cannot say "empty"."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError(f"expected a list of {cls.__name__} values, got {values!r}")
    return tuple(_to_enum(cls, v) for v in values) or None


def _bool_text(value: bool | T) -> str | T:
    """Fields such as Beep take ``true``/``false`` among other strings: accept Python booleans too."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _status(value: ReservationStatus | str | None) -> ReservationStatus | None:
    return None if value is None else _to_enum(ReservationStatus, value)


def _supervisor_mode(value: SupervisorMode | str | None) -> SupervisorMode | None:
    return None if value is None else _to_enum(SupervisorMode, value)


def _http_method(value: HttpMethod | str | None) -> HttpMethod | None:
    if isinstance(value, str) and not isinstance(value, HttpMethod):
        value = value.upper()
    return None if value is None else _to_enum(HttpMethod, value)


def _beep(value: Beep | bool | str | None) -> Beep | None:
    return None if value is None else _to_enum(Beep, _bool_text(value))


def _conference_record(value: ConferenceRecord | bool | str | None) -> ConferenceRecord | None:
    return None if value is None else _to_enum(ConferenceRecord, _bool_text(value))


def _conference_trim(value: ConferenceTrim | str | None) -> ConferenceTrim | None:
    return None if value is None else _to_enum(ConferenceTrim, value)


def _recording_channels(value: RecordingChannels | str | None) -> RecordingChannels | None:
    return None if value is None else _to_enum(RecordingChannels, value)


def _jitter_buffer_size(value: JitterBufferSize | str | None) -> JitterBufferSize | None:
    return None if value is None else _to_enum(JitterBufferSize, value)


def _region(value: Region | str | None) -> Region | None:
    return None if value is None else _to_enum(Region, value)


def _call_statuses(value: Iterable[CallStatus | str] | None) -> tuple[CallStatus, ...] | None:
    return None if value is None else _to_enum_tuple(CallStatus, value)


def _conference_events(value: Iterable[ConferenceEvent | str] | None) -> tuple[ConferenceEvent, ...] | None:
    return None if value is None else _to_enum_tuple(ConferenceEvent, value)


def _record_text(value: bool | str | None) -> str | None:
    return None if value is None else _bool_text(value)


def _strings(value: Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"expected a list of strings, got {value!r}")
    return tuple(value) or None


# --- validators ----------------------------------------------------------------------------


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(f"{attribute.name} must be a string, got {value!r}")
    _check_encodable(attribute.name, value)


def _check_encodable(name: str, text: str) -> None:
    """Refuse text the form body cannot carry: the body is UTF-8, and only a lone surrogate (as left by
    ``errors="surrogateescape"`` decoding, for one) has no UTF-8 form. The value is not shown: it may be
    a password; its position is."""
    if text.isascii():  # the common case, and O(1) for CPython's compact strings
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{name} cannot be sent: it holds a lone surrogate ({text[exc.start]!r} at index {exc.start}), "
            "which has no UTF-8 form; decode the text it came from strictly, or with errors='replace'"
        ) from None


def _is_uri(text: str) -> bool:
    match = _URI.fullmatch(text)
    if match is None:
        return False
    host = match.group("host") or ""
    return not host.startswith("[") or _is_ip_literal(host[1:-1])


def _is_ip_literal(inner: str) -> bool:
    if _IP_FUTURE.fullmatch(inner):
        return True
    try:
        ipaddress.IPv6Address(inner)
    except ValueError:
        return False
    return "%" not in inner  # a zone ID is not RFC 3986


def _uri(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _text(instance, attribute, value)
    if isinstance(value, str) and not _is_uri(value):
        raise ValidationError(f"{attribute.name} must be an absolute URI such as 'https://…', got {value!r}")


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{attribute.name} must be True or False, got {value!r}")


def _text_items(instance: object, attribute: attrs.Attribute[Any], value: tuple[object, ...] | None) -> None:
    if value is None:
        return
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError(f"{attribute.name} must be a list of strings, got {value!r}")
        _check_encodable(f"{attribute.name}[{index}]", item)


def _integer(low: int | None = None, high: int | None = None) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(f"{attribute.name} must be an integer, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationError(f"{attribute.name} must be {_range_text(low, high)}, got {value}")

    return check


def _range_text(low: int | None, high: int | None) -> str:
    """``in 2..250``, ``0 or more`` or ``250 or less``: an open end is left unsaid."""
    if low is not None and high is not None:
        return f"in {low}..{high}"
    return f"{low} or more" if low is not None else f"{high} or less"


def _sid(prefix: str) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check_sid(value, prefix, attribute.name)

    return check


# --- field kinds ---------------------------------------------------------------------------


def _text_field() -> Any:
    return attrs.field(default=None, validator=_text)


def _uri_field() -> Any:
    return attrs.field(default=None, validator=_uri)


def _flag_field() -> Any:
    return attrs.field(default=None, validator=_flag)


def _int_field(low: int | None = None, high: int | None = None) -> Any:
    return attrs.field(default=None, validator=_integer(low, high))


def _sid_field(prefix: str) -> Any:
    return attrs.field(default=None, validator=_sid(prefix))


def _arguments(scope: dict[str, Any]) -> dict[str, Any]:
    """An instruction helper's keyword arguments, from its ``locals()``: its signature is the only field list."""
    return {name: value for name, value in scope.items() if name != "cls"}


@attrs.frozen(kw_only=True, repr=False)
class ReservationUpdate:
    """The fields shared by task and worker reservation updates (52 of them)."""

    reservation_status: ReservationStatus | None = attrs.field(default=None, converter=_status)
    #: New worker activity when rejecting.
    worker_activity_sid: str | None = _sid_field("WA")
    #: ``accept``, ``reject``, ``conference``, ``dequeue``, ``call``, ``redirect``, ``supervise``...
    instruction: str | None = _text_field()

    # Dequeue instruction
    dequeue_post_work_activity_sid: str | None = _sid_field("WA")
    dequeue_from: str | None = _text_field()
    dequeue_record: str | None = attrs.field(default=None, converter=_record_text, validator=_text)
    dequeue_timeout: int | None = _int_field(low=0)
    dequeue_to: str | None = _text_field()
    dequeue_status_callback_url: str | None = _uri_field()
    dequeue_status_callback_event: tuple[str, ...] | None = attrs.field(
        default=None, converter=_strings, validator=_text_items
    )

    # Call instruction
    call_from: str | None = _text_field()
    call_record: str | None = attrs.field(default=None, converter=_record_text, validator=_text)
    call_timeout: int | None = _int_field(low=0)
    call_to: str | None = _text_field()
    call_url: str | None = _uri_field()
    call_status_callback_url: str | None = _uri_field()
    call_accept: bool | None = _flag_field()

    # Redirect instruction
    redirect_call_sid: str | None = _sid_field("CA")
    redirect_accept: bool | None = _flag_field()
    redirect_url: str | None = _uri_field()

    # Conference instruction
    to: str | None = _text_field()
    from_: str | None = _text_field()
    status_callback: str | None = _uri_field()
    status_callback_method: HttpMethod | None = attrs.field(default=None, converter=_http_method)
    status_callback_event: tuple[CallStatus, ...] | None = attrs.field(default=None, converter=_call_statuses)
    timeout: int | None = _int_field(low=0)
    record: bool | None = _flag_field()
    muted: bool | None = _flag_field()
    beep: Beep | None = attrs.field(default=None, converter=_beep)
    start_conference_on_enter: bool | None = _flag_field()
    end_conference_on_exit: bool | None = _flag_field()
    wait_url: str | None = _uri_field()
    wait_method: HttpMethod | None = attrs.field(default=None, converter=_http_method)
    early_media: bool | None = _flag_field()
    max_participants: int | None = _int_field(low=2, high=250)
    conference_status_callback: str | None = _uri_field()
    conference_status_callback_method: HttpMethod | None = attrs.field(default=None, converter=_http_method)
    conference_status_callback_event: tuple[ConferenceEvent, ...] | None = attrs.field(
        default=None, converter=_conference_events
    )
    conference_record: ConferenceRecord | None = attrs.field(default=None, converter=_conference_record)
    conference_trim: ConferenceTrim | None = attrs.field(default=None, converter=_conference_trim)
    recording_channels: RecordingChannels | None = attrs.field(default=None, converter=_recording_channels)
    recording_status_callback: str | None = _uri_field()
    recording_status_callback_method: HttpMethod | None = attrs.field(default=None, converter=_http_method)
    conference_recording_status_callback: str | None = _uri_field()
    conference_recording_status_callback_method: HttpMethod | None = attrs.field(default=None, converter=_http_method)
    region: Region | None = attrs.field(default=None, converter=_region)
    sip_auth_username: str | None = _text_field()
    sip_auth_password: str | None = attrs.field(default=None, validator=_text, repr=False)
    post_work_activity_sid: str | None = _sid_field("WA")
    end_conference_on_customer_exit: bool | None = _flag_field()
    beep_on_customer_entrance: bool | None = _flag_field()
    jitter_buffer_size: JitterBufferSize | None = attrs.field(default=None, converter=_jitter_buffer_size)

    def __repr__(self) -> str:
        """Only the fields that are set (and never ``sip_auth_password``): 54 ``None``s hide the point."""
        shown = (
            f"{field.name}={value!r}"
            for field in attrs.fields(type(self))
            if field.repr and (value := getattr(self, field.name)) is not None
        )
        return f"{type(self).__name__}({', '.join(shown)})"

    # --- API names: what the CLI, bulk files and Twilio's docs use; the converter does the work ---

    @classmethod
    def from_api_dict(cls: type[P], data: Mapping[str, object]) -> P:
        """Params from fields named as the API names them: ``{"ReservationStatus": "accepted", "Timeout": 30}``.

        Values are the API's form text (``"true"``, ``"30"``) or JSON values (``true``, ``30``), a list
        for list fields; ``None`` leaves a field unset. Raises ValidationError naming the field by its
        API name, and suggests the closest name for an unknown one.
        """
        from ._converter import params_from_api_dict  # the converter imports this module

        return params_from_api_dict(data, cls)

    def to_api_dict(self) -> dict[str, str | list[str]]:
        """The set fields by API name, as form text (``{"ReservationStatus": "accepted"}``); the inverse of
        ``from_api_dict``, and exactly what ``update`` sends."""
        from ._converter import form_fields

        return form_fields(self)

    # --- instruction helpers: each takes only its instruction's fields; None leaves Twilio's default ---

    @classmethod
    def accept(cls: type[P]) -> P:
        """Accept the reservation (``ReservationStatus=accepted``) without a call instruction."""
        return cls(reservation_status=ReservationStatus.ACCEPTED)

    @classmethod
    def reject(cls: type[P], *, worker_activity_sid: str | None = None) -> P:
        """Reject the reservation; ``worker_activity_sid`` (``WA…``) moves the worker to that activity."""
        return cls(reservation_status=ReservationStatus.REJECTED, **_arguments(locals()))

    @classmethod
    def wrap_up(cls: type[P]) -> P:
        """Move an accepted reservation to wrap-up (``ReservationStatus=wrapping``)."""
        return cls(reservation_status=ReservationStatus.WRAPPING)

    @classmethod
    def complete(cls: type[P]) -> P:
        """Complete an accepted or wrapping reservation (``ReservationStatus=completed``)."""
        return cls(reservation_status=ReservationStatus.COMPLETED)

    @classmethod
    def conference(
        cls: type[P],
        *,
        to: str | None = None,
        from_: str | None = None,
        post_work_activity_sid: str | None = None,
        timeout: int | None = None,
        status_callback: str | None = None,
        status_callback_method: HttpMethod | str | None = None,
        status_callback_event: Iterable[CallStatus | str] | None = None,
        record: bool | None = None,
        muted: bool | None = None,
        beep: Beep | bool | str | None = None,
        start_conference_on_enter: bool | None = None,
        end_conference_on_exit: bool | None = None,
        end_conference_on_customer_exit: bool | None = None,
        beep_on_customer_entrance: bool | None = None,
        wait_url: str | None = None,
        wait_method: HttpMethod | str | None = None,
        early_media: bool | None = None,
        max_participants: int | None = None,
        conference_status_callback: str | None = None,
        conference_status_callback_method: HttpMethod | str | None = None,
        conference_status_callback_event: Iterable[ConferenceEvent | str] | None = None,
        conference_record: ConferenceRecord | bool | str | None = None,
        conference_trim: ConferenceTrim | str | None = None,
        recording_channels: RecordingChannels | str | None = None,
        recording_status_callback: str | None = None,
        recording_status_callback_method: HttpMethod | str | None = None,
        conference_recording_status_callback: str | None = None,
        conference_recording_status_callback_method: HttpMethod | str | None = None,
        region: Region | str | None = None,
        sip_auth_username: str | None = None,
        sip_auth_password: str | None = None,
        jitter_buffer_size: JitterBufferSize | str | None = None,
    ) -> P:
        """Accept the reservation and put the worker in a conference with the caller (``Instruction=conference``).

        ``to`` defaults to the worker's ``contact_uri``. Twilio's documented defaults apply to
        what is left out: beep and start_conference_on_enter ``true``; record, muted and
        conference_record ``false``; early_media ``true``; max_participants 250; conference_trim
        ``trim-silence``; recording_channels ``mono``; every ``*_method`` ``POST``.
        """
        return cls(instruction="conference", **_arguments(locals()))

    @classmethod
    def dequeue(
        cls: type[P],
        *,
        dequeue_from: str,
        dequeue_to: str | None = None,
        dequeue_post_work_activity_sid: str | None = None,
        dequeue_record: bool | str | None = None,
        dequeue_timeout: int | None = None,
        dequeue_status_callback_url: str | None = None,
        dequeue_status_callback_event: Iterable[str] | None = None,
    ) -> P:
        """Accept the reservation and bridge the queued call to the worker (``Instruction=dequeue``).

        ``dequeue_from`` is the caller ID; ``dequeue_to`` defaults to the worker's ``contact_uri``;
        Twilio does not record (``do-not-record``) and rings for 60 seconds unless told otherwise.
        """
        return cls(instruction="dequeue", **_arguments(locals()))

    @classmethod
    def call(
        cls: type[P],
        *,
        call_from: str,
        call_url: str,
        call_to: str | None = None,
        call_accept: bool | None = None,
        call_record: bool | str | None = None,
        call_timeout: int | None = None,
        call_status_callback_url: str | None = None,
    ) -> P:
        """Place a new call to the worker that runs the TwiML at ``call_url`` (``Instruction=call``).

        The reservation is accepted only with ``call_accept=True`` (Twilio's default is ``false``);
        ``call_to`` defaults to the worker's ``contact_uri``.
        """
        return cls(instruction="call", **_arguments(locals()))

    @classmethod
    def redirect(cls: type[P], *, redirect_call_sid: str, redirect_url: str, redirect_accept: bool | None = None) -> P:
        """Redirect the queued call ``redirect_call_sid`` (``CA…``) to new TwiML (``Instruction=redirect``).

        The reservation is accepted only with ``redirect_accept=True`` (Twilio's default is ``false``).
        """
        return cls(instruction="redirect", **_arguments(locals()))


@attrs.frozen(kw_only=True, repr=False)
class TaskReservationUpdate(ReservationUpdate):
    """Update parameters for a task reservation: the shared fields plus the Supervise instruction's."""

    #: Supervisor SID or URI for the ``supervise`` instruction.
    supervisor: str | None = _text_field()
    supervisor_mode: SupervisorMode | None = attrs.field(default=None, converter=_supervisor_mode)

    @classmethod
    def supervise(cls: type[TP], *, supervisor: str, supervisor_mode: SupervisorMode | str | None = None) -> TP:
        """Join ``supervisor`` (a worker SID or contact URI) to the accepted reservation's conference
        (``Instruction=supervise``) as ``monitor``, ``whisper`` or ``barge``; task reservations only."""
        return cls(instruction="supervise", **_arguments(locals()))


@attrs.frozen(kw_only=True, repr=False)
class WorkerReservationUpdate(ReservationUpdate):
    """Update parameters for a worker reservation: the shared fields."""
