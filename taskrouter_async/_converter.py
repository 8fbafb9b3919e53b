"""Every (un)structuring hook in one place: update params to and from form fields, JSON to models.

Params go out as ``application/x-www-form-urlencoded`` with PascalCase keys, booleans as
``true``/``false``, integers in decimal, enums as their values, lists as repeated keys and
unset (``None``) fields left out. Responses are checked strictly: a field of the wrong type is
an error, an unknown key is ignored.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import quote_plus

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _enums
from ._enums import ReservationStatus
from ._models import PageMeta, Reservation, TaskReservation, WorkerReservation
from ._params import ReservationUpdate, TaskReservationUpdate, WorkerReservationUpdate

__all__ = [
    "ResponseShapeError",
    "decode_form",
    "describe_form_error",
    "encode_form",
    "form_fields",
    "format_timestamp",
    "structure_page",
    "structure_reservation",
    "unstructure_reservation",
    "wire_name",
]

P = TypeVar("P", bound=ReservationUpdate)
R = TypeVar("R", bound=Reservation)

_PARAM_CLASSES = (ReservationUpdate, TaskReservationUpdate, WorkerReservationUpdate)
_MODEL_CLASSES = (TaskReservation, WorkerReservation)


class ResponseShapeError(ValueError):
    """A response body does not have the documented shape; the pipeline turns it into a typed API error."""


def wire_name(field_name: str) -> str:
    """The form key of an update field: ``status_callback_event`` -> ``StatusCallbackEvent``."""
    return "".join(part.capitalize() for part in field_name.rstrip("_").split("_"))


def _renames(cls: type[Any]) -> dict[str, Any]:
    return {a.name: override(rename=wire_name(a.name)) for a in attrs.fields(cls)}


# --- update params -> form fields ---------------------------------------------------------

_ENUM_CLASSES = [getattr(_enums, name) for name in _enums.__all__]


def _enum_value(member: enum.Enum) -> Any:
    return member.value


_form_out = cattrs.Converter()
_form_out.register_unstructure_hook(bool, lambda value: "true" if value else "false")
_form_out.register_unstructure_hook(int, str)
for _enum_cls in _ENUM_CLASSES:  # str-mixin enums would otherwise pass through as members
    _form_out.register_unstructure_hook(_enum_cls, _enum_value)
for _cls in _PARAM_CLASSES:
    _form_out.register_unstructure_hook(
        _cls, make_dict_unstructure_fn(_cls, _form_out, _cattrs_omit_if_default=True, **_renames(_cls))
    )


def form_fields(params: ReservationUpdate) -> dict[str, str | list[str]]:
    """The set fields of ``params`` by wire name; list fields map to a list of strings."""
    fields: dict[str, str | list[str]] = _form_out.unstructure(params, unstructure_as=type(params))
    return fields


def encode_form(params: ReservationUpdate) -> bytes:
    """The urlencoded request body for ``params`` (lists as repeated keys, no brackets).

    Byte for byte what ``urlencode(..., doseq=True)`` writes, but a value made only of the characters
    ``quote_plus`` leaves alone (most SIDs, statuses, numbers) is not run through it: quoting was the
    largest part of the library's own CPU per update.
    """
    pairs: list[str] = []
    for key, value in form_fields(params).items():
        for item in (value,) if isinstance(value, str) else value:
            pairs.append(f"{key}={item if _NEEDS_NO_QUOTING(item) else quote_plus(item)}")
    return "&".join(pairs).encode("ascii")


#: The characters ``quote_plus`` keeps as they are (RFC 3986 unreserved).
_NEEDS_NO_QUOTING = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


# --- form fields -> update params (for round trips and the fake server) -------------------

_form_in = cattrs.Converter(forbid_extra_keys=True)


def _form_bool(value: object, _: object) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(f"expected 'true' or 'false', got {value!r}")


def _form_int(value: object, _: object) -> int:
    if isinstance(value, str) and value.lstrip("-").isdigit() and value.isascii():
        return int(value)
    raise ValueError(f"expected a decimal integer, got {value!r}")


_form_in.register_structure_hook(bool, _form_bool)
_form_in.register_structure_hook(int, _form_int)
for _cls in _PARAM_CLASSES:
    _form_in.register_structure_hook(_cls, make_dict_structure_fn(_cls, _form_in, **_renames(_cls)))

_LIST_FIELDS = {
    wire_name(a.name) for cls in _PARAM_CLASSES for a in attrs.fields(cls) if str(a.type).startswith("tuple")
}


def decode_form(pairs: Iterable[tuple[str, str]], cls: type[P]) -> P:
    """Rebuild update params from form pairs; raises ``cattrs`` errors or ValidationError on bad input."""
    grouped: dict[str, Any] = {}
    for key, value in pairs:
        if key in _LIST_FIELDS:
            grouped.setdefault(key, []).append(value)
        elif key in grouped:
            raise ValueError(f"form field {key!r} is given more than once")
        else:
            grouped[key] = value
    return _form_in.structure(grouped, cls)


def describe_form_error(exc: Exception) -> str:
    """One readable line for an error from ``decode_form``, naming fields by their wire names."""
    return "; ".join(_form_problems(exc, None))


def _form_problems(exc: BaseException, field: str | None) -> list[str]:
    if isinstance(exc, cattrs.BaseValidationError):
        problems: list[str] = []
        for sub in exc.exceptions:
            notes = [n for n in getattr(sub, "__notes__", ()) if isinstance(n, AttributeValidationNote)]
            problems += _form_problems(sub, notes[0].name if notes else field)
        return problems
    if isinstance(exc, ForbiddenExtraKeysError):
        return [f"unknown parameter {', '.join(sorted(exc.extra_fields))}"]
    return [f"{wire_name(field)}: {exc}" if field else str(exc)]


# --- models -> JSON (for output meant for people and pipes) ---------------------------------


def format_timestamp(moment: datetime) -> str:
    """A UTC datetime the way the API writes it: ``2014-05-14T10:50:02Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_json_out = cattrs.Converter()
_json_out.register_unstructure_hook(datetime, format_timestamp)
_json_out.register_unstructure_hook(ReservationStatus, _enum_value)


def unstructure_reservation(reservation: Reservation) -> dict[str, Any]:
    """A reservation as JSON-ready data with the API's keys and date format, plus its ``etag``."""
    data: dict[str, Any] = _json_out.unstructure(reservation)
    return data


# --- JSON -> models -------------------------------------------------------------------------

_json_in = cattrs.Converter()


def _strict_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_int(value: object, _: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    return value


def _timestamp(value: object, _: object) -> datetime:
    """ISO 8601 as Twilio sends it (``2014-05-14T10:50:02Z``), always returned timezone-aware."""
    text = _strict_str(value, None)
    parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def _status_or_text(value: object, _: object) -> ReservationStatus | str | None:
    if value is None:
        return None
    text = _strict_str(value, None)
    try:
        return ReservationStatus(text)
    except ValueError:
        return text


def _links(value: object, _: object) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("expected an object of URLs")
    return value


_json_in.register_structure_hook(str, _strict_str)
_json_in.register_structure_hook(int, _strict_int)
_json_in.register_structure_hook(datetime, _timestamp)
for _model in _MODEL_CLASSES:
    _json_in.register_structure_hook(
        _model,
        make_dict_structure_fn(
            _model,
            _json_in,
            reservation_status=override(struct_hook=_status_or_text),
            links=override(struct_hook=_links),
        ),
    )
_json_in.register_structure_hook(PageMeta, make_dict_structure_fn(PageMeta, _json_in))


def _structure(data: object, cls: type[R] | type[PageMeta], what: str) -> Any:
    if not isinstance(data, dict):
        raise ResponseShapeError(f"{what} is not a JSON object")
    try:
        return _json_in.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        problems = "; ".join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else exc
        raise ResponseShapeError(f"{what} does not match the documented schema: {problems}") from exc


def structure_reservation(data: object, cls: type[R], etag: str | None = None) -> R:
    """A reservation model from its decoded JSON, with the response's ETag attached."""
    if isinstance(data, dict):
        data = {**data, "etag": etag}
    reservation: R = _structure(data, cls, "the reservation")
    return reservation


def structure_page(data: object, cls: type[R]) -> tuple[tuple[R, ...], PageMeta]:
    """The records and ``meta`` of a list page; records live under ``payload[meta.key]``."""
    if not isinstance(data, dict):
        raise ResponseShapeError("the list page is not a JSON object")
    meta: PageMeta = _structure(data.get("meta"), PageMeta, "the page's 'meta'")
    records = data.get(meta.key)
    if not isinstance(records, list):
        raise ResponseShapeError(f"the page's {meta.key!r} is not a list")
    items = tuple(
        _structure({**record, "etag": None} if isinstance(record, dict) else record, cls, f"reservation {i}")
        for i, record in enumerate(records)
    )
    return items, meta
