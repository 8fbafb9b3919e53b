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


class ReservationStatus(str, enum.Enum):
    """A reservation's state. Responses may carry values newer than this list: they stay plain ``str``."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    RESCINDED = "rescinded"
    WRAPPING = "wrapping"
    COMPLETED = "completed"


class CallStatus(str, enum.Enum):
    """Call progress events for ``status_callback_event``."""

    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"


class ConferenceEvent(str, enum.Enum):
    """Conference events for ``conference_status_callback_event``."""

    START = "start"
    END = "end"
    JOIN = "join"
    LEAVE = "leave"
    MUTE = "mute"
    HOLD = "hold"
    SPEAKER = "speaker"


class SupervisorMode(str, enum.Enum):
    """How a supervisor joins a call (task reservations only)."""

    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


class HttpMethod(str, enum.Enum):
    """The methods Twilio uses for callbacks."""

    GET = "GET"
    POST = "POST"


class Beep(str, enum.Enum):
    """Whether, or when, to beep as a participant joins: more than a boolean."""

    TRUE = "true"
    FALSE = "false"
    ON_ENTER = "onEnter"
    ON_EXIT = "onExit"


class ConferenceRecord(str, enum.Enum):
    """Whether, or when, to record the conference: more than a boolean."""

    TRUE = "true"
    FALSE = "false"
    RECORD_FROM_START = "record-from-start"
    DO_NOT_RECORD = "do-not-record"


class ConferenceTrim(str, enum.Enum):
    """Silence trimming of conference recordings."""

    TRIM_SILENCE = "trim-silence"
    DO_NOT_TRIM = "do-not-trim"


class RecordingChannels(str, enum.Enum):
    """Channels of the final recording."""

    MONO = "mono"
    DUAL = "dual"


class JitterBufferSize(str, enum.Enum):
    """The conference jitter buffer."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    OFF = "off"


class Region(str, enum.Enum):
    """Where Twilio mixes recorded conference audio."""

    US1 = "us1"
    US2 = "us2"
    IE1 = "ie1"
    DE1 = "de1"
    SG1 = "sg1"
    BR1 = "br1"
    AU1 = "au1"
    JP1 = "jp1"
