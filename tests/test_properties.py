"""Hypothesis properties of the wire format and of input validation.

(i) Any valid combination of fields of any create or update params class encodes to a body that
decodes back to the same params (and ``from_api_dict(to_api_dict())`` too) and that the spec
accepts. (ii) Any malformed SID, in any path position of any operation or in any SID-typed field,
is refused with ValidationError before any I/O.

Strategies are built from the attrs fields of the params classes, their type hints, the spec's
schema for each field's wire name and ``codegen/overrides.toml`` (ranges, JSON-text fields).
``TASKROUTER_HYPOTHESIS_EXAMPLES`` raises the example count (the default keeps the suite fast).
"""

from __future__ import annotations

import enum
import json
import os
import string
import typing
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfc3986_validator import validate_rfc3986  # type: ignore[import-untyped]

from taskrouter_async import (
    AsyncTaskRouter,
    TaskCreate,
    TaskReservationUpdate,
    TaskUpdate,
    ValidationError,
    WorkerReservationUpdate,
)
from taskrouter_async._converter import decode_form, encode_form, form_fields, wire_name
from taskrouter_async._params import Params

from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID
from .spec_check import SPEC_SERVER, SentRequest, check_request, described_range, form_schema, resolve
from .spec_values import (
    OPERATION_IDS,
    PARAMS_OPERATIONS,
    field_value,
    full_params,
    integer_range,
    json_text_fields,
    library_operations,
    path_values,
    spec_operations,
    wire_sid_prefix,
)

pytestmark = pytest.mark.anyio

EXAMPLES = int(os.environ.get("TASKROUTER_HYPOTHESIS_EXAMPLES", "30"))
#: No deadline: two busy shared cores make per-example timing meaningless.
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every params class, and a concrete path of the operation that sends it.
PARAMS_CLASSES = sorted(PARAMS_OPERATIONS, key=lambda cls: cls.__name__)
PATHS: dict[type[Params], str] = {
    cls: (operation := library_operations()[op].operation).path.format(*path_values(operation))
    for cls, op in PARAMS_OPERATIONS.items()
}
by_params_class = pytest.mark.parametrize("cls", PARAMS_CLASSES, ids=lambda cls: cls.__name__)


# --- strategies ---------------------------------------------------------------------------------

HEX = "0123456789abcdefABCDEF"


def sids(prefix: str) -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=32, max_size=32).map(lambda body: prefix + body)


_UNRESERVED = string.ascii_letters + string.digits + "-._~"
_SUB_DELIMS = "!$&'()*+,;="
_PCHAR = _UNRESERVED + _SUB_DELIMS + ":@"
_pct = st.tuples(st.sampled_from(HEX), st.sampled_from(HEX)).map(lambda pair: "%" + "".join(pair))


def _uri_text(alphabet: str, min_size: int = 0, max_size: int = 8) -> st.SearchStrategy[str]:
    """Characters from ``alphabet`` mixed with percent-encoded octets."""
    return st.lists(st.sampled_from(alphabet) | _pct, min_size=min_size, max_size=max_size).map("".join)


def uris() -> st.SearchStrategy[str]:
    """Absolute URIs per RFC 3986: ``scheme://authority/path?query#fragment`` or ``scheme:opaque``."""
    scheme = st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9+.\-]{0,6}\Z")
    host = (
        _uri_text(_UNRESERVED + _SUB_DELIMS)
        | st.ip_addresses(v=4).map(str)
        | st.ip_addresses(v=6).map(lambda address: f"[{address}]")
    )
    userinfo = st.none() | _uri_text(_UNRESERVED + _SUB_DELIMS + ":")
    port = st.none() | st.integers(0, 65535)
    path = st.lists(_uri_text(_PCHAR), max_size=4).map(lambda segments: "".join("/" + s for s in segments))
    authority = st.builds(
        lambda user, h, p, rest: (
            "//" + (f"{user}@" if user is not None else "") + h + (f":{p}" if p is not None else "") + rest
        ),
        userinfo,
        host,
        port,
        path,
    )
    opaque = st.builds(lambda first, rest: first + rest, _uri_text(_PCHAR, min_size=1), path)
    optional = st.none() | _uri_text(_PCHAR + "/?")
    return st.builds(
        lambda s, hier, q, f: f"{s}:{hier}" + (f"?{q}" if q is not None else "") + (f"#{f}" if f is not None else ""),
        scheme,
        authority | opaque,
        optional,
        optional,
    )


def _optional_inner(hint: Any) -> Any:
    """``X`` of ``X | None``; a required field's ``X`` as it is."""
    args = set(typing.get_args(hint)) - {type(None)}
    if type(None) not in typing.get_args(hint):
        return hint
    (inner,) = args
    return inner


def _enum_values(cls: type[enum.Enum]) -> st.SearchStrategy[Any]:
    """Members, or their plain values: the update classes accept both."""
    return st.sampled_from(list(cls)) | st.sampled_from([member.value for member in cls])


_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_JSON_OBJECTS = st.dictionaries(
    st.text(max_size=8), st.recursive(_JSON_SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
)
#: Aware datetimes on whole seconds (the wire carries seconds), in fixed offsets, from 1901 on.
_MOMENTS = st.datetimes(
    min_value=datetime(1901, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]),
).map(lambda moment: moment.replace(microsecond=0))


def _value_strategy(operation_id: str, wire: str, hint: Any, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid values for one field: the spec's pattern or format first, then the overrides, then the type."""
    prefix = wire_sid_prefix(wire, schema)
    if prefix and hint is str:
        return sids(prefix)
    if schema.get("format") == "uri":
        return uris()
    if wire in json_text_fields():
        return _JSON_OBJECTS | _JSON_OBJECTS.map(json.dumps)
    if hint is bool:
        return st.booleans()
    if hint is int:
        low, high = described_range(schema) or integer_range(operation_id, wire)
        return st.integers(low, high)
    if hint is datetime:
        return _MOMENTS
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_values(hint)
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        # Non-empty: an empty list has no repeated-key form, so it is sent as nothing at all.
        # Items never hold commas, which would read as a comma-joined list.
        items = _enum_values(item) if issubclass(item, enum.Enum) else st.text().filter(lambda s: "," not in s)
        return st.lists(items, min_size=1, max_size=4)
    if hint is str:
        return st.text()
    raise AssertionError(f"no strategy for {operation_id}.{wire}: {hint}")


def field_strategies(cls: type[Params]) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy of valid values for every field of ``cls``, from its hints and the spec schema."""
    operation_id = PARAMS_OPERATIONS[cls]
    properties = form_schema(spec_operations()[operation_id][2])["properties"]
    hints = typing.get_type_hints(cls)
    return {
        field.name: _value_strategy(
            operation_id,
            wire_name(field.name),
            _optional_inner(hints[field.name]),
            resolve(properties[wire_name(field.name)]),
        )
        for field in attrs.fields(cls)
    }


def updates(cls: type[Params]) -> st.SearchStrategy[Params]:
    """Any combination of set fields, from none (or only the required ones) to all of them."""
    strategies = field_strategies(cls)
    required = {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    return st.fixed_dictionaries(
        {name: strategies[name] for name in required},
        optional={name: strategy for name, strategy in strategies.items() if name not in required},
    ).map(lambda values: cls(**values))


NON_HEX = st.characters(codec="utf-8").filter(lambda c: c not in HEX)


def malformed_sids(prefix: str) -> st.SearchStrategy[object]:
    """Anything that is not ``prefix`` followed by 32 hex digits: wrong prefix (case included),
    wrong length, a non-hex character, padding, or not a str at all."""
    body = st.text(HEX, min_size=32, max_size=32)
    other_prefix = st.text(string.ascii_letters, min_size=2, max_size=2).filter(lambda p: p != prefix)
    wrong_prefix = st.builds(str.__add__, other_prefix, body)
    wrong_length = (
        st.integers(0, 40).filter(lambda n: n != 32).flatmap(lambda n: st.text(HEX, min_size=n, max_size=n))
    ).map(lambda digits: prefix + digits)
    non_hex = st.builds(
        lambda digits, at, char: prefix + digits[:at] + char + digits[at + 1 :], body, st.integers(0, 31), NON_HEX
    )
    padded = st.sampled_from([" ", "\n", "\t", "\x00"]).map(lambda pad: prefix + "0" * 32 + pad)
    as_bytes = st.just((prefix + "0" * 32).encode())
    non_str = st.none() | st.integers() | st.floats() | as_bytes | st.lists(st.just(prefix))
    return wrong_prefix | wrong_length | non_hex | padded | non_str


# --- (i) valid updates round-trip and validate --------------------------------------------------


def test_every_create_and_update_has_a_params_class() -> None:
    assert len(PARAMS_CLASSES) == 17
    assert {TaskReservationUpdate, WorkerReservationUpdate, TaskCreate, TaskUpdate} <= set(PARAMS_CLASSES)


@by_params_class
def test_strategies_cover_every_field(cls: type[Params]) -> None:
    assert set(field_strategies(cls)) == {field.name for field in attrs.fields(cls)}


@by_params_class
@PROPERTY
@given(data=st.data())
def test_any_valid_params_round_trip_and_conform(cls: type[Params], data: st.DataObject) -> None:
    params = data.draw(updates(cls), label="params")
    assert cls.from_api_dict(params.to_api_dict()) == params
    body = encode_form(params)
    assert body == urlencode(form_fields(params), doseq=True).encode("ascii"), "byte for byte urlencode's output"
    pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True)
    assert decode_form(pairs, cls) == params
    set_fields = {wire_name(field.name) for field in attrs.fields(cls) if getattr(params, field.name) is not None}
    assert {key for key, _ in pairs} == set_fields
    sent = SentRequest(
        "POST",
        SPEC_SERVER + PATHS[cls],
        (("Authorization", "Basic eDp5"), ("Content-Type", "application/x-www-form-urlencoded")),
        body,
    )
    assert check_request(sent) == []


@PROPERTY
@given(uri=uris())
def test_uri_strategy_makes_rfc3986_uris_the_library_accepts(uri: str) -> None:
    assert validate_rfc3986(uri, rule="URI")
    assert TaskReservationUpdate(status_callback=uri).status_callback == uri


#: Characters RFC 3986 allows nowhere, or only in some places.
_AWKWARD = ' <>"{}|\\^`%[]#?/@:é\x00'


def near_uris() -> st.SearchStrategy[str]:
    """URIs with one awkward character inserted somewhere: valid or not, depending on where."""
    return st.builds(
        lambda uri, at, char: uri[:at] + char + uri[at:],
        uris(),
        st.integers(0, 60),
        st.sampled_from(_AWKWARD),
    )


@PROPERTY
@given(text=near_uris() | st.text(max_size=20))
def test_uri_fields_accept_exactly_what_rfc3986_accepts(text: str) -> None:
    """The spec's ``format: uri`` is RFC 3986 (what openapi-core checks): no looser, no stricter."""
    try:
        TaskReservationUpdate(status_callback=text)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert accepted == is_rfc3986_uri(text)


def is_rfc3986_uri(text: str) -> bool:
    """openapi-core's ``uri`` check (rfc3986-validator) without its one slip: its ``$`` also
    matches before a final newline, which RFC 3986 does not allow."""
    return not text.endswith("\n") and bool(validate_rfc3986(text, rule="URI"))


def test_an_empty_list_is_unset() -> None:
    """Repeated keys cannot express an empty list, so ``[]`` means "not set" and still round-trips."""
    params = TaskReservationUpdate(status_callback_event=[], dequeue_status_callback_event=(), instruction="conference")
    assert params == TaskReservationUpdate(instruction="conference")
    assert encode_form(params) == b"Instruction=conference"


# --- (ii) malformed SIDs are refused before I/O --------------------------------------------------


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be sent, got {request.method} {request.url}")


async def _drain(iterator: AsyncIterator[object]) -> None:
    async for _ in iterator:
        pass


Call = Callable[[AsyncTaskRouter, list[Any]], Any]


def _operations() -> dict[str, tuple[list[str], Call]]:
    """Each operation: the SID prefix expected at each position (``?``: a filter, where None means
    "not set"), and how to call it with those SIDs."""
    task_update = TaskReservationUpdate(reservation_status="accepted")
    worker_update = WorkerReservationUpdate(reservation_status="accepted")
    return {
        "task fetch": (["WS", "WT", "WR"], lambda c, s: c.task_reservations.fetch(*s)),
        "task update": (["WS", "WT", "WR"], lambda c, s: c.task_reservations.update(*s, task_update)),
        "task list": (["WS", "WT"], lambda c, s: _drain(c.task_reservations.list(*s))),
        "task list filter": (
            ["WS", "WT", "WK?"],
            lambda c, s: _drain(c.task_reservations.list(s[0], s[1], worker_sid=s[2])),
        ),
        "task pages": (["WS", "WT"], lambda c, s: _drain(c.task_reservations.pages(*s))),
        "task pages filter": (
            ["WS", "WT", "WK?"],
            lambda c, s: _drain(c.task_reservations.pages(s[0], s[1], worker_sid=s[2])),
        ),
        "worker fetch": (["WS", "WK", "WR"], lambda c, s: c.worker_reservations.fetch(*s)),
        "worker update": (["WS", "WK", "WR"], lambda c, s: c.worker_reservations.update(*s, worker_update)),
        "worker list": (["WS", "WK"], lambda c, s: _drain(c.worker_reservations.list(*s))),
        "worker pages": (["WS", "WK"], lambda c, s: _drain(c.worker_reservations.pages(*s))),
    }


def _generic(operation_id: str) -> tuple[list[str], Call]:
    """Any operation of the spec: its path SIDs that have a prefix, and a call with every argument."""
    entry = library_operations()[operation_id]
    operation = entry.operation
    rest: tuple[Any, ...] = ()
    if operation.params is not None:
        rest = (full_params(operation_id),)
    elif operation.json_body:
        rest = (["WQ" + "0" * 32],)

    def call(client: AsyncTaskRouter, sids_: list[Any]) -> Any:
        result = getattr(getattr(client, entry.attribute), operation.name)(*sids_, *rest)
        return _drain(result) if operation.lists else result

    return [sid.prefix or "name" for sid in operation.sids], call


OPERATIONS = {
    **_operations(),
    **{
        operation_id: _generic(operation_id)
        for operation_id in OPERATION_IDS
        if any(sid.prefix for sid in library_operations()[operation_id].operation.sids)
    },
}
VALID = {"WS": WORKSPACE_SID, "WT": TASK_SID, "WK": WORKER_SID, "WR": RESERVATION_SID}


@PROPERTY
@given(data=st.data())
async def test_malformed_sid_in_any_path_position_is_refused_before_io(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(OPERATIONS)), label="operation")
    prefixes, call = OPERATIONS[name]
    checked = [index for index, prefix in enumerate(prefixes) if prefix != "name"]
    position = data.draw(st.sampled_from(checked), label="position")
    sids_: list[Any] = [VALID.get(prefix.rstrip("?"), prefix + "0" * 32) for prefix in prefixes]
    sids_ = ["voice" if prefix == "name" else sid for prefix, sid in zip(prefixes, sids_, strict=True)]
    malformed = malformed_sids(prefixes[position].rstrip("?"))
    if prefixes[position].endswith("?"):
        malformed = malformed.filter(lambda value: value is not None)
    sids_[position] = data.draw(malformed, label="malformed")
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(_refuse)) as http,
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, http_client=http) as client,
    ):
        with pytest.raises(ValidationError):
            await call(client, sids_)


def _sid_fields(cls: type[Params]) -> list[tuple[str, str]]:
    properties = form_schema(spec_operations()[PARAMS_OPERATIONS[cls]][2])["properties"]
    hints = typing.get_type_hints(cls)
    found = [
        (field.name, wire_sid_prefix(wire_name(field.name), resolve(properties[wire_name(field.name)])))
        for field in attrs.fields(cls)
        if _optional_inner(hints[field.name]) is str
    ]
    return [(name, prefix) for name, prefix in found if prefix]


SID_FIELDS = [(cls, name, prefix) for cls in PARAMS_CLASSES for name, prefix in _sid_fields(cls)]


@PROPERTY
@given(data=st.data())
def test_malformed_sid_in_any_sid_field_is_refused(data: st.DataObject) -> None:
    cls, name, prefix = data.draw(st.sampled_from(SID_FIELDS), label="field")
    value: Any = data.draw(malformed_sids(prefix).filter(lambda v: v is not None), label="malformed")
    required = {
        f.name: field_value(PARAMS_OPERATIONS[cls], cls, f) for f in attrs.fields(cls) if f.default is attrs.NOTHING
    }
    with pytest.raises(ValidationError):
        cls(**{**required, name: value})


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(ValidationError, ValueError)
    assert {TaskReservationUpdate, WorkerReservationUpdate, TaskCreate} <= {cls for cls, _, _ in SID_FIELDS}
