"""Every (un)structuring hook in one place: update params to and from form fields, JSON to models.

Params go out as ``application/x-www-form-urlencoded`` with PascalCase keys, booleans as
``true``/``false``, integers in decimal, enums as their values, lists as repeated keys and
unset (``None``) fields left out. Responses are checked strictly: a field of the wrong type, or
a missing or null identity field, is an error; an unknown key is ignored. Models go back out as
the API's JSON (``to_dict``), to pydantic/FastAPI through a core schema.
"""

from __future__ import annotations

import copy
import difflib
import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints
from urllib.parse import quote_plus

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _enums
from ._enums import ReservationStatus
from ._errors import ValidationError
from ._models import Page, PageMeta, Reservation, TaskReservation, WorkerReservation, _Model
from ._params import ReservationUpdate, TaskReservationUpdate, WorkerReservationUpdate, _to_enum

if TYPE_CHECKING:
    from pydantic_core import CoreSchema

__all__ = [
    "ResponseShapeError",
    "as_utc",
    "decode_form",
    "describe_form_error",
    "encode_form",
    "form_fields",
    "format_timestamp",
    "params_from_api_dict",
    "pydantic_core_schema",
    "reservation_json_schema",
    "structure_page",
    "structure_reservation",
    "unstructure_model",
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


def _enum_member(value: object, cls: type[enum.Enum]) -> enum.Enum:
    return _to_enum(cls, value)  # the params' own coercion: its error lists the allowed values


def _checked(attribute: attrs.Attribute[Any]) -> Any:
    """A field's structure hook that also runs its validator, so a bad value is reported under the field's name
    (the class's ``__init__`` runs it again, without knowing which form key the value came from)."""
    validator, field_type = attribute.validator, attribute.type
    if field_type is None:
        raise TypeError(f"{attribute.name} has no type to structure")

    def structure(value: object, _: object) -> object:
        structured = _form_in.structure(value, field_type)
        if validator is not None:
            validator(None, attribute, structured)
        return structured

    return structure


def _form_in_overrides(cls: type[Any]) -> dict[str, Any]:
    return {a.name: override(rename=wire_name(a.name), struct_hook=_checked(a)) for a in attrs.fields(cls)}


_form_in.register_structure_hook(bool, _form_bool)
_form_in.register_structure_hook(int, _form_int)
for _enum_cls in _ENUM_CLASSES:
    _form_in.register_structure_hook(_enum_cls, _enum_member)
for _cls in _PARAM_CLASSES:
    attrs.resolve_types(_cls)
    _form_in.register_structure_hook(_cls, make_dict_structure_fn(_cls, _form_in, **_form_in_overrides(_cls)))

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
        known = [wire_name(a.name) for a in attrs.fields(exc.cl)]
        return [f"unknown parameter {name}{_did_you_mean(name, known)}" for name in sorted(exc.extra_fields)]
    if field is None:
        return [str(exc)]
    # Validators name the field the Python way ("max_participants must be ..."): say it once, the API's way.
    return [f"{wire_name(field)}: {str(exc).removeprefix(f'{field} ')}"]


def _did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean X?)`` for the closest known name, ignoring case and underscores; else nothing."""
    by_folded = {_fold(candidate): candidate for candidate in known}
    close = difflib.get_close_matches(_fold(name), by_folded, n=1, cutoff=0.75)
    return f" (did you mean {by_folded[close[0]]}?)" if close else ""


def _fold(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


# --- API-named dicts <-> update params (the public ``from_api_dict`` / ``to_api_dict``) -----------


def params_from_api_dict(data: Mapping[str, object], cls: type[P]) -> P:
    """Update params from fields named as the API names them (``{"ReservationStatus": "accepted"}``).

    Values are form text or their JSON equivalents (``true``, ``30``, a list for list fields);
    ``None`` leaves a field unset. Raises ValidationError naming the field by its API name.
    """
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected a mapping of API field names to values, got {type(data).__name__}")
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items if value is not None else ():
            text = _form_text(item)
            if text is None:
                problem = f"{key}: expected a string, boolean or integer, got {item!r}"
                raise ValidationError(f"invalid {cls.__name__}: {problem}")
            pairs.append((key, text))
    try:
        return decode_form(pairs, cls)
    except (cattrs.BaseValidationError, ValueError) as exc:
        raise ValidationError(f"invalid {cls.__name__}: {describe_form_error(exc)}") from None


def _form_text(value: object) -> str | None:
    """A JSON value as the API's form text (booleans as ``true``/``false``, integers in decimal); else ``None``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return None


# --- models -> JSON (for output meant for people and pipes) ---------------------------------


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already (as the API's are)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """A datetime the way the API writes it, in UTC: ``2014-05-14T10:50:02Z`` (naive ones are taken as UTC)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unstructure_page(page: Page[Any]) -> dict[str, Any]:
    """A page as the API lists it: ``meta`` and the records under ``meta.key``."""
    return {"meta": _json_out.unstructure(page.meta), page.meta.key: [_json_out.unstructure(r) for r in page.items]}


_json_out = cattrs.Converter()
_json_out.register_unstructure_hook(datetime, format_timestamp)
for _enum_cls in _ENUM_CLASSES:
    _json_out.register_unstructure_hook(_enum_cls, _enum_value)
_json_out.register_unstructure_hook(Page, _unstructure_page)


def unstructure_model(model: _Model) -> dict[str, Any]:
    """A model as JSON-ready data: the API's keys and date format, enum values; reservations add their ``etag``."""
    data: dict[str, Any] = _json_out.unstructure(model)
    return data


def unstructure_reservation(reservation: Reservation) -> dict[str, Any]:
    """A reservation as JSON-ready data with the API's keys and date format, plus its ``etag``."""
    return unstructure_model(reservation)


# --- models -> pydantic (FastAPI response models) --------------------------------------------


def pydantic_core_schema(cls: type[Reservation]) -> CoreSchema:
    """Instances of ``cls`` pass as they are and serialise as ``to_dict()`` does.

    What makes ``-> TaskReservation`` and ``-> list[TaskReservation]`` work in FastAPI; the JSON
    schema for OpenAPI is ``reservation_json_schema``. pydantic is imported only when asked for.
    """
    from pydantic_core import core_schema

    return core_schema.is_instance_schema(
        cls,
        serialization=core_schema.plain_serializer_function_ser_schema(unstructure_reservation),
        ref=f"{cls.__module__}.{cls.__qualname__}",
    )


_STATUSES = ", ".join(member.value for member in ReservationStatus)
_JSON_SCHEMAS: dict[object, dict[str, Any]] = {
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
    ReservationStatus | str: {"type": "string", "description": f"{_STATUSES}, or a value newer than this list"},
    Mapping[str, str]: {"type": "object", "additionalProperties": {"type": "string"}},
}


def reservation_json_schema(cls: type[Reservation]) -> dict[str, Any]:
    """The JSON schema of ``cls().to_dict()``: every key present, the optional ones nullable."""
    hints = get_type_hints(cls)
    properties = {a.name: copy.deepcopy(_json_schema(hints[a.name])) for a in attrs.fields(cls)}
    return {
        "type": "object",
        "title": cls.__name__,
        "description": (cls.__doc__ or "").split("\n")[0],
        "properties": properties,
        "required": list(properties),
    }


def _json_schema(hint: object) -> dict[str, Any]:
    if hint in _JSON_SCHEMAS:
        return _JSON_SCHEMAS[hint]
    (inner,) = (arg for arg in getattr(hint, "__args__", ()) if arg is not type(None))  # an optional X
    return {"anyOf": [_JSON_SCHEMAS[inner], {"type": "null"}]}


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
    """ISO 8601 as Twilio sends it (``2014-05-14T10:50:02Z``), always returned as an aware UTC datetime."""
    text = _strict_str(value, None)
    return as_utc(datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text))


def _status_or_text(value: object, _: object) -> ReservationStatus | str:
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
