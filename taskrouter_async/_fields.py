"""The kinds of field a params class can have, and the checks behind them: written once, referenced by name.

Generated params classes (``resources/``) declare each field with one of the ``*_field`` functions
here; query parameters are checked and encoded by the ``Query*`` kinds. Every check runs when the
object is built or the call is made, so bad input raises ValidationError before any I/O.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs

from ._errors import ValidationError
from ._sids import check_sid

__all__ = [
    "QueryKind",
    "as_utc",
    "aware_datetime",
    "bool_text",
    "check_encodable",
    "check_integer",
    "flag",
    "format_timestamp",
    "integer",
    "is_uri",
    "json_text",
    "named_conversions",
    "present",
    "query_datetime",
    "query_enum",
    "query_enum_list",
    "query_flag",
    "query_int",
    "query_sid",
    "query_sid_list",
    "query_text",
    "sid",
    "text",
    "text_items",
    "text_list",
    "to_enum",
    "to_enum_tuple",
    "uri",
]

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
Validator = Callable[[object, "attrs.Attribute[Any]", Any], None]

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


# --- coercion: converters are named functions in generated code, because mypy's attrs plugin reads them ---


def to_enum(cls: type[E], value: object) -> E:
    """A member of ``cls`` from a member or its value; ValidationError lists the allowed values."""
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValidationError(f"{value!r} is not a valid {cls.__name__}; expected one of {allowed}") from None


def to_enum_tuple(cls: type[E], values: object) -> tuple[E, ...] | None:
    """A tuple of members; an empty list is ``None`` (unset), since repeated form keys cannot say "empty"."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError(f"expected a list of {cls.__name__} values, got {values!r}")
    return tuple(to_enum(cls, v) for v in values) or None


def bool_text(value: bool | T) -> str | T:
    """Fields such as Beep take ``true``/``false`` among other strings: accept Python booleans too."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def text_list(value: Iterable[str] | None) -> tuple[str, ...] | None:
    """A list of strings as a tuple; an empty list is ``None`` (unset)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"expected a list of strings, got {value!r}")
    return tuple(value) or None


def json_text(value: Mapping[str, Any] | list[Any] | str | None) -> str | None:
    """A JSON-text field (task ``Attributes``, workflow ``Configuration``): a dict or list is sent as compact
    JSON, a string must already be JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise ValidationError(f"expected JSON text or a dict, got a string that is not JSON ({exc})") from None
        return value
    if isinstance(value, (Mapping, list)):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValidationError(f"cannot be sent as JSON: {exc}") from None
    raise ValidationError(f"expected a dict or JSON text, got {type(value).__name__}")


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already (as the API's are)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """A datetime the way the API writes it, in UTC: ``2014-05-14T10:50:02Z`` (naive ones are taken as UTC)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- validators ----------------------------------------------------------------------------


def check_encodable(name: str, text: str) -> None:
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


def text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(f"{attribute.name} must be a string, got {value!r}")
    check_encodable(attribute.name, value)


def is_uri(text: str) -> bool:
    """Whether ``text`` is an absolute URI (RFC 3986)."""
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


def uri(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    text(instance, attribute, value)
    if isinstance(value, str) and not is_uri(value):
        raise ValidationError(f"{attribute.name} must be an absolute URI such as 'https://…', got {value!r}")


def flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{attribute.name} must be True or False, got {value!r}")


def text_items(instance: object, attribute: attrs.Attribute[Any], value: tuple[object, ...] | None) -> None:
    if value is None:
        return
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError(f"{attribute.name} must be a list of strings, got {value!r}")
        check_encodable(f"{attribute.name}[{index}]", item)


def aware_datetime(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, datetime):
        raise ValidationError(f"{attribute.name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{attribute.name} must be timezone-aware (such as datetime.now(timezone.utc)): a naive datetime "
            "could mean any time zone"
        )


def check_integer(name: str, value: object, low: int | None, high: int | None) -> int:
    """``value`` if it is an int (not a bool) within ``low..high``; else ValidationError naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"{name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValidationError(f"{name} must be {_range_text(low, high)}, got {value}")
    return value


def integer(low: int | None, high: int | None) -> Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check_integer(attribute.name, value, low, high)

    return check


def _range_text(low: int | None, high: int | None) -> str:
    """``in 2..250``, ``0 or more`` or ``250 or less``: an open end is left unsaid."""
    if low is not None and high is not None:
        return f"in {low}..{high}"
    return f"{low} or more" if low is not None else f"{high} or less"


def sid(prefix: str) -> Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check_sid(value, prefix, attribute.name)

    return check


# --- what generated params classes declare -------------------------------------------------
#
# Generated classes declare each field as ``attrs.field(...)`` with one of the validators above and,
# for coerced fields, a named converter: mypy's attrs plugin reads only such direct declarations (it
# types ``__init__`` from a converter's argument and knows which fields have no default).


def present(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A field the spec requires (a create's ``FriendlyName``): ``None`` is refused."""
    if value is None:
        raise ValidationError(f"{attribute.name} is required")


def named_conversions(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """The ``field_transformer`` of params classes: a converter's ValidationError names its field, as every
    validator's does (``attributes: expected JSON text or a dict, ...``)."""
    return [field if field.converter is None else field.evolve(converter=_naming(field)) for field in fields]


def _naming(field: attrs.Attribute[Any]) -> Callable[[Any], Any]:
    convert = field.converter
    assert callable(convert)

    def converter(value: object) -> Any:
        try:
            return convert(value)
        except ValidationError as exc:
            raise ValidationError(f"{field.name}: {exc}") from None

    return converter


# --- query parameter kinds: each checks a call's keyword argument and gives its query text -------

#: Checks one query argument (named as the caller wrote it) and gives its wire text, or texts for a list.
QueryKind = Callable[[str, Any], "str | list[str]"]


def query_text(name: str, value: object) -> str:
    """A string argument."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {value!r}")
    check_encodable(name, value)
    return value


def query_flag(name: str, value: object) -> str:
    """A boolean argument, sent as ``true``/``false``."""
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}")
    return "true" if value else "false"


def query_datetime(name: str, value: object) -> str:
    """A timezone-aware datetime, sent in UTC as ISO 8601 (``2024-05-14T10:50:02Z``)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return format_timestamp(value)


def query_int(low: int | None = None, high: int | None = None) -> QueryKind:
    """An integer argument within ``low..high``."""

    def encode(name: str, value: object) -> str:
        return str(check_integer(name, value, low, high))

    return encode


def query_sid(prefix: str) -> QueryKind:
    """A SID argument with a two-letter ``prefix``."""

    def encode(name: str, value: object) -> str:
        return check_sid(value, prefix, name)

    return encode


def query_sid_list(prefix: str, most: int) -> QueryKind:
    """A list of at most ``most`` SIDs with ``prefix``."""

    def encode(name: str, value: object) -> list[str]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise ValidationError(f"{name} must be a list of SIDs, got {value!r}")
        sids = [check_sid(sid, prefix, f"{name}[{index}]") for index, sid in enumerate(value)]
        if not 1 <= len(sids) <= most:
            raise ValidationError(f"{name} must hold 1 to {most} SIDs, got {len(sids)}")
        return sids

    return encode


def query_enum(cls: type[enum.Enum]) -> QueryKind:
    """An argument that is a member of ``cls`` or its value."""

    def encode(name: str, value: object) -> str:
        return str(_named(name, to_enum, cls, value).value)

    return encode


def query_enum_list(cls: type[enum.Enum]) -> QueryKind:
    """A list of ``cls`` members or values, sent as repeated keys."""

    def encode(name: str, value: object) -> list[str]:
        members = _named(name, to_enum_tuple, cls, value) or ()
        return [str(member.value) for member in members]

    return encode


def _named(name: str, convert: Callable[[type[E], object], T], cls: type[E], value: object) -> T:
    """``convert(cls, value)``, its ValidationError naming the argument."""
    try:
        return convert(cls, value)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc}") from None


def flag_or_text(value: bool | str | None) -> str | None:
    """A field that takes ``true``/``false`` among other words (``DequeueRecord``): a bool is sent as such."""
    return None if value is None else bool_text(value)
