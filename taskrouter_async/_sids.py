"""Twilio SID checks: every SID that goes into a URL or a body is validated first."""

from __future__ import annotations

import re
from typing import TypeGuard

from ._errors import ValidationError

#: What each SID prefix names, for error messages.
SID_KINDS = {
    "AC": "Account",
    "CA": "Call",
    "EV": "Event",
    "SK": "API Key",
    "WA": "Activity",
    "WK": "Worker",
    "WQ": "TaskQueue",
    "WR": "Reservation",
    "WS": "Workspace",
    "WT": "Task",
    "WW": "Workflow",
}

_SID_BODY = re.compile(r"[0-9a-fA-F]{32}")


def is_sid(value: object, prefix: str) -> TypeGuard[str]:
    """Whether ``value`` is a 34-character SID: ``prefix`` and 32 hex digits."""
    return (
        isinstance(value, str)
        and len(value) == 34
        and value.startswith(prefix)
        and _SID_BODY.fullmatch(value, 2) is not None
    )


def check_sid(value: object, prefix: str, name: str) -> str:
    """Return ``value`` if it is a SID with ``prefix``, else raise ValidationError naming ``name``."""
    if is_sid(value, prefix):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise ValidationError(f"{name} must be {_expected(prefix)}, got {shown}")


def check_credential_sid(value: object, prefix: str, name: str) -> str:
    """``check_sid`` for a credential position (an account SID, an API key SID): the value is never shown,
    because what is there instead of a SID is often the secret itself (swapped arguments, a wrong variable)."""
    if is_sid(value, prefix):
        return value
    given = "a string that is not one" if isinstance(value, str) else f"a {type(value).__name__}"
    raise ValidationError(
        f"{name} must be {_expected(prefix)}, got {given} (the value is not shown: it may be a secret, "
        "such as an auth token or API secret passed in the wrong place)"
    )


def _expected(prefix: str) -> str:
    return f"{_article(SID_KINDS[prefix])} SID ({prefix!r} followed by 32 hex digits)"


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "AEIOU" else f"a {noun}"
