"""The hand-written layer over the generated reservation resources: instruction helpers and their base.

Generated params classes of reservations (``resources/reservations.py``) derive from these mixins,
so ``TaskReservationUpdate.conference(...)`` and the others exist once, for both kinds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .._enums import (
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
from .._params import Params, arguments
from .._resource import Resource, form_body

__all__ = ["ReservationInstructions", "Reservations", "SupervisorInstructions"]

P = TypeVar("P", bound="ReservationInstructions")
S = TypeVar("S", bound="SupervisorInstructions")


class Reservations(Resource):
    """What ``client.task_reservations`` and ``client.worker_reservations`` are: reservations of a task or a worker."""

    def encode(self, params: Params) -> bytes:
        """The form body ``update`` sends for ``params``, checked as ``update`` checks it (ValidationError)."""
        return form_body(self._operation("update"), params)


class ReservationInstructions:
    """The instruction helpers of reservation updates: each takes only its instruction's fields; ``None``
    leaves Twilio's default."""

    __slots__ = ()

    #: What the error about an update that sets nothing suggests.
    EMPTY_UPDATE_HINT: ClassVar[str] = ": set reservation_status or instruction, or use a helper such as accept()"

    if TYPE_CHECKING:

        def __init__(self, **fields: Any) -> None: ...

    @classmethod
    def accept(cls: type[P]) -> P:
        """Accept the reservation (``ReservationStatus=accepted``) without a call instruction."""
        return cls(reservation_status=ReservationStatus.ACCEPTED)

    @classmethod
    def reject(cls: type[P], *, worker_activity_sid: str | None = None) -> P:
        """Reject the reservation; ``worker_activity_sid`` (``WA…``) moves the worker to that activity."""
        return cls(reservation_status=ReservationStatus.REJECTED, **arguments(locals()))

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
        return cls(instruction="conference", **arguments(locals()))

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
        return cls(instruction="dequeue", **arguments(locals()))

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
        return cls(instruction="call", **arguments(locals()))

    @classmethod
    def redirect(cls: type[P], *, redirect_call_sid: str, redirect_url: str, redirect_accept: bool | None = None) -> P:
        """Redirect the queued call ``redirect_call_sid`` (``CA…``) to new TwiML (``Instruction=redirect``).

        The reservation is accepted only with ``redirect_accept=True`` (Twilio's default is ``false``).
        """
        return cls(instruction="redirect", **arguments(locals()))


class SupervisorInstructions:
    """The Supervise instruction, which task reservations alone take."""

    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(self, **fields: Any) -> None: ...

    @classmethod
    def supervise(cls: type[S], *, supervisor: str, supervisor_mode: SupervisorMode | str | None = None) -> S:
        """Join ``supervisor`` (a worker SID or contact URI) to the accepted reservation's conference
        (``Instruction=supervise``) as ``monitor``, ``whisper`` or ``barge``; task reservations only."""
        return cls(instruction="supervise", **arguments(locals()))
