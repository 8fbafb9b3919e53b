"""Enumerations for every closed set of values the spec (or its descriptions) defines."""

from __future__ import annotations

import enum

__all__ = [
    "Beep",
    "CallStatus",
    "ConferenceEvent",
    "ConferenceRecord",
    "ConferenceTrim",
    "HttpMethod",
    "JitterBufferSize",
    "RecordingChannels",
    "Region",
    "ReservationStatus",
    "SupervisorMode",
]


class _ValueEnum(str, enum.Enum):
    """A string enum that prints as its value, in ``str()``, ``print()`` and f-strings alike.

    ``enum.StrEnum`` does this from Python 3.11 on; this base gives 3.10 the same behaviour.
    """

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)


class _BooleanTextEnum(_ValueEnum):
    """A field that is more than a boolean (``true``, ``false`` and other words): ``True`` means ``"true"``."""

    @classmethod
    def _missing_(cls, value: object) -> _BooleanTextEnum | None:
        if isinstance(value, bool):
            return cls("true" if value else "false")
        return None


class ReservationStatus(_ValueEnum):
    """A reservation's state. Responses may carry values newer than this list: they stay plain ``str``."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    RESCINDED = "rescinded"
    WRAPPING = "wrapping"
    COMPLETED = "completed"


class CallStatus(_ValueEnum):
    """Call progress events for ``status_callback_event``."""

    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"


class ConferenceEvent(_ValueEnum):
    """Conference events for ``conference_status_callback_event``."""

    START = "start"
    END = "end"
    JOIN = "join"
    LEAVE = "leave"
    MUTE = "mute"
    HOLD = "hold"
    SPEAKER = "speaker"


class SupervisorMode(_ValueEnum):
    """How a supervisor joins a call (task reservations only)."""

    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


class HttpMethod(_ValueEnum):
    """The methods Twilio uses for callbacks; given in any case (``"post"`` is ``POST``)."""

    @classmethod
    def _missing_(cls, value: object) -> HttpMethod | None:
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None

    GET = "GET"
    POST = "POST"


class Beep(_BooleanTextEnum):
    """Whether, or when, to beep as a participant joins: more than a boolean."""

    TRUE = "true"
    FALSE = "false"
    ON_ENTER = "onEnter"
    ON_EXIT = "onExit"


class ConferenceRecord(_BooleanTextEnum):
    """Whether, or when, to record the conference: more than a boolean."""

    TRUE = "true"
    FALSE = "false"
    RECORD_FROM_START = "record-from-start"
    DO_NOT_RECORD = "do-not-record"


class ConferenceTrim(_ValueEnum):
    """Silence trimming of conference recordings."""

    TRIM_SILENCE = "trim-silence"
    DO_NOT_TRIM = "do-not-trim"


class RecordingChannels(_ValueEnum):
    """Channels of the final recording."""

    MONO = "mono"
    DUAL = "dual"


class JitterBufferSize(_ValueEnum):
    """The conference jitter buffer."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    OFF = "off"


class Region(_ValueEnum):
    """Where Twilio mixes recorded conference audio."""

    US1 = "us1"
    US2 = "us2"
    IE1 = "ie1"
    DE1 = "de1"
    SG1 = "sg1"
    BR1 = "br1"
    AU1 = "au1"
    JP1 = "jp1"
