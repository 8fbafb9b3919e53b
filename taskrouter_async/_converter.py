"""Every (un)structuring hook in one place: params to and from form fields, JSON to models and back.

Params go out as ``application/x-www-form-urlencoded`` with PascalCase keys, booleans as
``true``/``false``, integers in decimal, enums as their values, datetimes in UTC ISO 8601, lists
as repeated keys and unset (``None``) fields left out. Responses are checked strictly where the
spec is typed: a field of the wrong type, or a missing or null identity field, is an error; keys
the spec does not know are kept in the model's ``extra``. Models go back out as the API's JSON
(``to_dict``), to pydantic/FastAPI through a core schema. Hooks are made per class on first use
(cattrs hook factories), so every generated class is covered without being listed here.
"""

from __future__ import annotations

import difflib
import enum
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast, get_type_hints
from urllib.parse import quote_plus

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._errors import ValidationError
from ._fields import as_utc, format_timestamp, to_enum
from ._models import JsonObject, Page, PageMeta, _Model
from ._params import Params

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
    "model_json_schema",
    "params_from_api_dict",
    "pydantic_core_schema",
    "structure_model",
    "structure_page",
    "unstructure_model",
    "wire_name",
]

P = TypeVar("P", bound=Params)
M = TypeVar("M")

#: The model field that keeps the keys of an answer the spec does not know.
EXTRA = "extra"
#: The model field that carries the response's ETag header.
ETAG = "etag"


class ResponseShapeError(ValueError):
    """A response body does not have the documented shape; the pipeline turns it into a typed API error."""


def wire_name(field_name: str) -> str:
    """The form key of a params field: ``status_callback_event`` -> ``StatusCallbackEvent``."""
    return "".join(part.capitalize() for part in field_name.rstrip("_").split("_"))


def _is_params(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Params) and attrs.has(cls)


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, _Model) and attrs.has(cls) and cls not in (Page, PageMeta)


def _is_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


def _enum_value(member: enum.Enum) -> Any:
    return member.value


# --- params -> form fields ---------------------------------------------------------------------

_form_out = cattrs.Converter()
_form_out.register_unstructure_hook(bool, lambda value: "true" if value else "false")
_form_out.register_unstructure_hook(int, str)
_form_out.register_unstructure_hook(datetime, format_timestamp)


def _enums_in(hint: Any) -> Iterable[type[enum.Enum]]:
    """The enum classes a field's type names (``X | None``, ``tuple[X, ...] | None``)."""
    if _is_enum(hint):
        yield hint
    for arg in typing.get_args(hint):
        yield from _enums_in(arg)


def _register_enums(cls: type[Params]) -> None:
    """Hooks for the enums of ``cls``'s fields, by class: the enums are ``str`` subclasses, and cattrs would
    otherwise treat them as plain strings (its ``str`` hook wins over a predicate)."""
    for hint in get_type_hints(cls).values():
        for enum_cls in _enums_in(hint):
            _form_out.register_unstructure_hook(enum_cls, _enum_value)
            _form_in.register_structure_hook(enum_cls, _enum_member_fn(enum_cls))


def _params_unstructure_fn(cls: type[Params]) -> Any:
    _register_enums(cls)
    renames: dict[str, Any] = {a.name: override(rename=wire_name(a.name)) for a in attrs.fields(cls)}
    return make_dict_unstructure_fn(cls, _form_out, _cattrs_omit_if_default=True, **renames)


_form_out.register_unstructure_hook_factory(_is_params, _params_unstructure_fn)


def form_fields(params: Params) -> dict[str, str | list[str]]:
    """The set fields of ``params`` by wire name; list fields map to a list of strings."""
    fields: dict[str, str | list[str]] = _form_out.unstructure(params, unstructure_as=type(params))
    return fields


def encode_form(params: Params) -> bytes:
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


# --- form fields -> params (``from_api_dict``, round trips and the fake server) ----------------------

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


def _form_datetime(value: object, _: object) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
    raise ValueError(f"expected an ISO 8601 date-time with its offset, got {value!r}")


def _enum_member_fn(cls: type[enum.Enum]) -> Any:
    def structure(value: object, _: object) -> enum.Enum:
        return to_enum(cls, value)  # the params' own coercion: its error lists the allowed values

    return structure


def _checked(attribute: attrs.Attribute[Any], field_type: Any) -> Any:
    """A field's structure hook that also runs its validator, so a bad value is reported under the field's name
    (the class's ``__init__`` runs it again, without knowing which form key the value came from)."""
    validator = attribute.validator

    def structure(value: object, _: object) -> object:
        structured = _form_in.structure(value, field_type)
        if validator is not None:
            validator(None, attribute, structured)
        return structured

    return structure


def _params_structure_fn(cls: type[Params]) -> Any:
    _register_enums(cls)
    hints = get_type_hints(cls)
    overrides: dict[str, Any] = {
        a.name: override(rename=wire_name(a.name), struct_hook=_checked(a, hints[a.name])) for a in attrs.fields(cls)
    }
    return make_dict_structure_fn(cls, _form_in, **overrides)


_form_in.register_structure_hook(bool, _form_bool)
_form_in.register_structure_hook(int, _form_int)
_form_in.register_structure_hook(datetime, _form_datetime)
_form_in.register_structure_hook_factory(_is_params, _params_structure_fn)


_LIST_FIELDS: dict[type[Any], frozenset[str]] = {}


def _list_fields(cls: type[Params]) -> frozenset[str]:
    """The wire names of ``cls``'s list fields (repeated form keys), worked out once per class."""
    if cls not in _LIST_FIELDS:
        hints = get_type_hints(cls)
        _LIST_FIELDS[cls] = frozenset(wire_name(a.name) for a in attrs.fields(cls) if "tuple" in str(hints[a.name]))
    return _LIST_FIELDS[cls]


def decode_form(pairs: Iterable[tuple[str, str]], cls: type[P]) -> P:
    """Rebuild params from form pairs; raises ``cattrs`` errors or ValidationError on bad input."""
    list_fields = _list_fields(cls)
    grouped: dict[str, Any] = {}
    for key, value in pairs:
        if key in list_fields:
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


def params_from_api_dict(data: Mapping[str, object], cls: type[P]) -> P:
    """Params from fields named as the API names them (``{"ReservationStatus": "accepted"}``).

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


# --- JSON -> models ------------------------------------------------------------------------------

_json_in = cattrs.Converter()


def _strict_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_int(value: object, _: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    return value


def _strict_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {type(value).__name__}")
    return value


def _timestamp(value: object, _: object) -> datetime:
    """ISO 8601 as Twilio sends it (``2014-05-14T10:50:02Z``), always returned as an aware UTC datetime."""
    text = _strict_str(value, None)
    return as_utc(datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text))


def _json_object(value: object, _: object) -> JsonObject:
    return JsonObject(_strict_str(value, None))


def _is_open_enum(hint: Any) -> bool:
    """``SomeEnum | str``: a closed set the API may grow (a newer value stays a plain ``str``)."""
    args = typing.get_args(hint)
    return _is_union(hint) and len(args) == 2 and str in args and any(_is_enum(a) for a in args)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _open_enum_hook(hint: Any) -> Any:
    (cls,) = (a for a in typing.get_args(hint) if _is_enum(a))

    def structure(value: object, _: object) -> object:
        text = _strict_str(value, None)
        try:
            return cls(text)
        except ValueError:
            return text

    return structure


def _is_mapping(hint: Any) -> bool:
    return typing.get_origin(hint) in (Mapping, dict)


def _mapping_hook(hint: Any) -> Any:
    """An object the spec leaves open (statistics, ``event_data``) or a map of URLs (``links``)."""
    _, value_type = typing.get_args(hint)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {type(value).__name__}")
        if value_type is str and not all(isinstance(v, str) for v in value.values()):
            raise ValueError("expected an object of strings")
        return value

    return structure


def _is_sequence(hint: Any) -> bool:
    return typing.get_origin(hint) is Sequence


def _sequence_hook(hint: Any) -> Any:
    """A list the spec leaves open (``activity_statistics``): a list of objects, kept as they are."""

    def structure(value: object, _: object) -> object:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {type(value).__name__}")
        return value

    return structure


def _is_optional(hint: Any) -> bool:
    return _is_union(hint) and type(None) in typing.get_args(hint)


def _optional_hook(hint: Any) -> Any:
    inner = _without_none(hint)
    structure_inner = _SIMPLE_HOOKS.get(inner)  # the common case, without a second dispatch
    if structure_inner is None:

        def structure_inner(value: object, _: object) -> object:
            return _json_in.structure(value, inner)

    def structure(value: object, _: object) -> object:
        return None if value is None else structure_inner(value, inner)

    return structure


def _without_none(hint: Any) -> Any:
    """``X`` of ``X | None``; ``X | Y`` of ``X | Y | None``."""
    rest = tuple(a for a in typing.get_args(hint) if a is not type(None))
    return rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007


#: Per model class: the answer keys it models, and whether it carries the ETag header; worked out once.
_MODEL_KEYS: dict[type[Any], tuple[frozenset[str], bool]] = {}


def _model_keys(cls: type[Any]) -> tuple[frozenset[str], bool]:
    if cls not in _MODEL_KEYS:
        names = frozenset(a.name for a in attrs.fields(cls))
        _MODEL_KEYS[cls] = (names - {EXTRA, ETAG}, ETAG in names)
    return _MODEL_KEYS[cls]


def _model_structure_fn(cls: type[Any]) -> Any:
    return make_dict_structure_fn(cls, _json_in)


_SIMPLE_HOOKS: dict[Any, Any] = {
    str: _strict_str,
    int: _strict_int,
    bool: _strict_bool,
    datetime: _timestamp,
    JsonObject: _json_object,
}
for _type, _hook in _SIMPLE_HOOKS.items():
    _json_in.register_structure_hook(_type, _hook)
_json_in.register_structure_hook_factory(_is_optional, _optional_hook)
_json_in.register_structure_hook_factory(_is_open_enum, _open_enum_hook)
_json_in.register_structure_hook_factory(_is_mapping, _mapping_hook)
_json_in.register_structure_hook_factory(_is_sequence, _sequence_hook)
_json_in.register_structure_hook_factory(_is_model, _model_structure_fn)
_json_in.register_structure_hook(PageMeta, make_dict_structure_fn(PageMeta, _json_in))


def _structure(data: object, cls: type[Any], what: str) -> Any:
    if not isinstance(data, dict):
        raise ResponseShapeError(f"{what} is not a JSON object")
    try:
        return _json_in.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        problems = "; ".join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else exc
        raise ResponseShapeError(f"{what} does not match the documented schema: {problems}") from exc


def _with_extras(data: dict[str, Any], cls: type[Any], etag: str | None) -> dict[str, Any]:
    """The record with what the model keeps beside the spec's keys: unknown keys and the ETag header."""
    known, has_etag = _model_keys(cls)
    extra = {key: value for key, value in data.items() if key not in known}
    return {**data, EXTRA: extra, ETAG: etag} if has_etag else {**data, EXTRA: extra}


def _what(cls: type[Any]) -> str:
    return "the " + re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()


def structure_model(data: object, cls: type[M], etag: str | None = None) -> M:
    """A model from its decoded JSON, with the response's ETag attached where the model has one."""
    if isinstance(data, dict):
        data = _with_extras(data, cls, etag)
    model: M = _structure(data, cls, _what(cls))
    return model


def structure_page(data: object, cls: type[M]) -> tuple[tuple[M, ...], PageMeta]:
    """The records and ``meta`` of a list page; records live under ``payload[meta.key]``."""
    if not isinstance(data, dict):
        raise ResponseShapeError("the list page is not a JSON object")
    meta: PageMeta = _structure(data.get("meta"), PageMeta, "the page's 'meta'")
    records = data.get(meta.key)
    if not isinstance(records, list):
        raise ResponseShapeError(f"the page's {meta.key!r} is not a list")
    what = _what(cls).removeprefix("the ")
    items = tuple(
        _structure(_with_extras(record, cls, None) if isinstance(record, dict) else record, cls, f"{what} {i}")
        for i, record in enumerate(records)
    )
    return items, meta


# --- models -> JSON (``to_dict``: output meant for people and pipes) ------------------------------


def _unstructure_page(page: Page[Any]) -> dict[str, Any]:
    """A page as the API lists it: ``meta`` and the records under ``meta.key``."""
    return {"meta": _json_out.unstructure(page.meta), page.meta.key: [_json_out.unstructure(r) for r in page.items]}


def _model_unstructure_fn(cls: type[Any]) -> Any:
    """The API's JSON of a model: its fields, then the unknown keys it kept (``extra``) at the top level."""
    omit_extra: dict[str, Any] = {EXTRA: override(omit=True)}
    fields = make_dict_unstructure_fn(cls, _json_out, **omit_extra)

    def unstructure(model: Any) -> dict[str, Any]:
        data: dict[str, Any] = fields(model)
        extra = getattr(model, EXTRA, None)
        return {**extra, **data} if extra else data

    return unstructure


_json_out = cattrs.Converter()
_json_out.register_unstructure_hook(datetime, format_timestamp)
_json_out.register_unstructure_hook(JsonObject, lambda value: value.text)
_json_out.register_unstructure_hook_func(_is_enum, _enum_value)
_json_out.register_unstructure_hook(Page, _unstructure_page)
_json_out.register_unstructure_hook_factory(_is_model, _model_unstructure_fn)


def unstructure_model(model: _Model) -> dict[str, Any]:
    """A model as JSON-ready data: the API's keys and date format, enum values, and its ``etag`` if it has one."""
    data: dict[str, Any] = _json_out.unstructure(model)
    return data


# --- models -> pydantic (FastAPI response models) -------------------------------------------------


def pydantic_core_schema(cls: type[_Model]) -> CoreSchema:
    """Instances of ``cls`` pass as they are and serialise as ``to_dict()`` does.

    What makes ``-> TaskReservation`` and ``-> list[Task]`` work in FastAPI; the JSON schema for
    OpenAPI is ``model_json_schema``. pydantic is imported only when asked for.
    """
    from pydantic_core import core_schema

    return core_schema.is_instance_schema(
        cls,
        serialization=core_schema.plain_serializer_function_ser_schema(unstructure_model),
        ref=f"{cls.__module__}.{cls.__qualname__}",
    )


def model_json_schema(cls: type[_Model]) -> dict[str, Any]:
    """The JSON schema of ``cls().to_dict()``: every key present, the optional ones nullable."""
    hints = get_type_hints(cls)
    properties = {a.name: _json_schema(hints[a.name]) for a in attrs.fields(cast(Any, cls)) if a.name != EXTRA}
    return {
        "type": "object",
        "title": cls.__name__,
        "description": (cls.__doc__ or "").split("\n")[0],
        "properties": properties,
        "required": list(properties),
        "additionalProperties": True,
    }


def _json_schema(hint: Any) -> dict[str, Any]:
    if _is_optional(hint):
        return {"anyOf": [_json_schema(_without_none(hint)), {"type": "null"}]}
    if _is_open_enum(hint):
        (cls,) = (a for a in typing.get_args(hint) if _is_enum(a))
        values = ", ".join(str(member.value) for member in cls)
        return {"type": "string", "description": f"{values}, or a value newer than this list"}
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    simple = {str: "string", int: "integer", bool: "boolean", JsonObject: "string"}
    if hint in simple:
        return {"type": simple[hint]}
    if _is_mapping(hint):
        return {"type": "object"}
    if _is_sequence(hint):
        return {"type": "array"}
    return {}
