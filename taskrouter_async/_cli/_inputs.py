"""What people type, turned into library values: update fields by either name, If-Match ETags, credentials.

Every refusal here is worded for the command line: it names the flag, the key or the
environment variable, never a Python argument.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from typing import TypeVar

import attrs

from .._converter import wire_name
from .._errors import ValidationError
from .._params import Params
from .._resource import checked_etag
from .._sids import is_sid
from ..resources import TaskReservationUpdate, WorkerReservationUpdate

__all__ = [
    "CLIError",
    "UsageError",
    "close_match",
    "credentials_from_env",
    "if_match_value",
    "update_params",
]

P = TypeVar("P", bound=Params)


class CLIError(Exception):
    """An expected failure: one ``error:`` line on stderr, exit status 1."""


class UsageError(CLIError):
    """Bad command-line input: the command's usage and the message, exit status 2 (as argparse does)."""


def _folded(name: str) -> str:
    """A name with case, ``_`` and ``-`` ignored: ``reservation_status`` and ``ReservationStatus`` fold alike."""
    return name.replace("_", "").replace("-", "").lower()


def close_match(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to ``name`` (difflib, on folded names), if one is close enough to suggest."""
    by_folded = {_folded(k): k for k in known}
    found = difflib.get_close_matches(_folded(name), list(by_folded), n=1, cutoff=0.75)
    return by_folded[found[0]] if found else None


@attrs.frozen
class _FieldNames:
    """An update class's fields by folded name: their API name and their snake_case name."""

    wire: Mapping[str, str]
    snake: Mapping[str, str]

    @classmethod
    def of(cls, update_class: type[Params]) -> _FieldNames:
        names = [a.name for a in attrs.fields(update_class)]
        return cls(
            wire={_folded(n): wire_name(n) for n in names},
            snake={_folded(n): n.rstrip("_") for n in names},
        )


_FIELDS: dict[type[Params], _FieldNames] = {}


def _fields(update_class: type[Params]) -> _FieldNames:
    """The class's field names, worked out once per class."""
    found = _FIELDS.get(update_class)
    if found is None:
        found = _FIELDS[update_class] = _FieldNames.of(update_class)
    return found


def _api_name(name: str, update_class: type[Params]) -> str:
    """``reservation_status``, ``ReservationStatus`` (or any case of them) -> ``ReservationStatus``."""
    fields = _fields(update_class)
    found = fields.wire.get(_folded(name))
    if found is not None:
        return found
    if update_class is WorkerReservationUpdate and _folded(name) in _fields(TaskReservationUpdate).wire:
        raise ValueError(f"{name} applies to task reservations only")
    # Suggest in the style that was typed: snake_case for snake_case, the API's names otherwise.
    styled = fields.snake if "_" in name or name.islower() else fields.wire
    suggestion = close_match(name, styled.values())
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    raise ValueError(f"unknown update field {name!r}{hint}")


def update_params(fields: Iterable[tuple[str, object]], update_class: type[P]) -> P:
    """Update params from (name, value) pairs: names are API names or their snake_case forms; values
    are form text or JSON values, a repeated name (or a list) giving a list field several values.

    The library's ``from_api_dict`` does the converting; ValueError carries a message for people
    (an unknown name comes with a suggestion in the style it was typed).
    """
    named: dict[str, list[object]] = {}
    for name, value in fields:
        named.setdefault(_api_name(name, update_class), []).extend(value if isinstance(value, list) else [value])
    try:
        return update_class.from_api_dict(named)
    except ValidationError as exc:
        # Its message names the Python class first; a command line user needs only the field's problem.
        raise ValueError(str(exc).removeprefix(f"invalid {update_class.__name__}: ")) from None


def if_match_value(text: str) -> str:
    """An ETag for If-Match, sent exactly as given: the ETag header as read (``"3"``, quotes and all).

    Nothing is added: Twilio does not document its ETag format, and quoting a value it sent bare
    would make every conditional update fail. The check is the library's, worded for the CLI.
    """
    try:
        checked_etag(text)
    except ValidationError:
        raise ValueError(f"expected an ETag as the API sent it (printable ASCII), got {text!r}") from None
    return text


_NOT_SHOWN = "its value is not shown, in case it is a secret"


def credentials_from_env(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Keyword arguments for ``AsyncTaskRouter`` from the TWILIO_* variables, or a CLIError naming what is missing.

    A value that is not a SID is never echoed: a token set in the SID's variable must not end up on a screen.
    """
    account_sid = env.get("TWILIO_ACCOUNT_SID") or None
    auth_token = env.get("TWILIO_AUTH_TOKEN") or None
    api_key = env.get("TWILIO_API_KEY") or None
    api_secret = env.get("TWILIO_API_SECRET") or None
    if account_sid is not None and not is_sid(account_sid, "AC"):
        raise CLIError(f"TWILIO_ACCOUNT_SID must be an Account SID ('AC' followed by 32 hex digits); {_NOT_SHOWN}")
    if api_key or api_secret:
        if api_key is None:
            raise CLIError("TWILIO_API_SECRET is set but TWILIO_API_KEY is not: set it to the API key's SID (SK...)")
        if api_secret is None:
            raise CLIError("TWILIO_API_KEY is set but TWILIO_API_SECRET is not: set it to the API key's secret")
        if not is_sid(api_key, "SK"):
            raise CLIError(f"TWILIO_API_KEY must be an API Key SID ('SK' followed by 32 hex digits); {_NOT_SHOWN}")
        found = {"api_key": api_key, "api_secret": api_secret}
        return found if account_sid is None else {**found, "account_sid": account_sid}
    if account_sid is None and auth_token is None:
        raise CLIError(
            "no credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)"
        )
    if auth_token is None:
        raise CLIError("TWILIO_AUTH_TOKEN is not set (TWILIO_ACCOUNT_SID is): set it to the account's auth token")
    if account_sid is None:
        raise CLIError("TWILIO_ACCOUNT_SID is not set (TWILIO_AUTH_TOKEN is): set it to the account's SID (AC...)")
    return {"account_sid": account_sid, "auth_token": auth_token}
