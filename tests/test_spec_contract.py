"""The library against the repository's copy of the official spec, all 61 operations of TaskRouter v1.

(a) Every operation of the spec is a method of ``client.<resource>`` named by the public naming rule
(issue 15), and every body field, query parameter, path parameter and response key is modelled with
the right wire name and type; every comparison is a set equality both ways, so an operation or a
field added to the spec fails here. (b) The request checker that guards the whole suite
(``tests/spec_check.py``) accepts what the library sends and catches what it must.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.abc
import attrs
import httpx
import pytest
import respx

from taskrouter_async import (
    AsyncTaskRouter,
    JsonObject,
    PageMeta,
    Reservation,
    ReservationStatus,
    ReservationUpdate,
    TaskReservation,
    TaskReservations,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservation,
    WorkerReservations,
    WorkerReservationUpdate,
)
from taskrouter_async._converter import structure_model, structure_page, wire_name
from taskrouter_async._resource import MAX_PAGE_SIZE, Resource
from taskrouter_async.resources import RESOURCES

from .sids import ACCOUNT_SID, ACTIVITY_SID, AUTH_TOKEN, CALL_SID, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID
from .spec_check import (
    SPEC_SERVER,
    RequestRecorder,
    SentRequest,
    check_request,
    described_range,
    form_schema,
    resolve,
    sid_prefix,
    spec,
)
from .spec_values import OPERATION_IDS, library_operations, snake, spec_operations

pytestmark = pytest.mark.anyio

TASK_LIST = "/v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}/Reservations"
TASK_ITEM = TASK_LIST + "/{Sid}"
WORKER_LIST = "/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations"
WORKER_ITEM = WORKER_LIST + "/{Sid}"


@attrs.frozen
class Kind:
    """One side of the reservation API as the spec lays it out, and the library classes that model it."""

    name: str
    list_path: str
    item_path: str
    parent_param: str
    parent_segment: str
    parent_prefix: str
    filters_by_worker: bool
    resource: type[Resource]
    update: type[ReservationUpdate]
    model: type[Reservation]
    body_fields: int


KINDS = [
    Kind(
        "task",
        TASK_LIST,
        TASK_ITEM,
        "TaskSid",
        "Tasks",
        "WT",
        True,
        TaskReservations,
        TaskReservationUpdate,
        TaskReservation,
        54,
    ),
    Kind(
        "worker",
        WORKER_LIST,
        WORKER_ITEM,
        "WorkerSid",
        "Workers",
        "WK",
        False,
        WorkerReservations,
        WorkerReservationUpdate,
        WorkerReservation,
        52,
    ),
]
by_kind = pytest.mark.parametrize("side", KINDS, ids=[k.name for k in KINDS])

#: Reservation list query parameters modelled as keywords of ``list``/``pages``.
QUERY_KEYWORDS = {"ReservationStatus": "reservation_status", "WorkerSid": "worker_sid", "PageSize": "page_size"}
#: List query parameters handled otherwise on every list, and how.
QUERY_HANDLED_EXPLICITLY = {
    "PageToken": "opaque; carried verbatim by meta.next_page_url and pages(page_url=...)",
    "Page": "deliberately not exposed: Twilio warns against page numbers; use next_page_url",
}
#: What every list takes beside its filters.
PAGING = {"PageSize": "page_size", **dict.fromkeys(QUERY_HANDLED_EXPLICITLY)}

_BACKTICKED = re.compile(r"`([^`]+)`")


def op(method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = spec()["paths"][path][method]
    return operation


def params(operation: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: resolve(p["schema"]) for p in operation.get("parameters", ()) if p["in"] == where}


def response_schema(operation: Mapping[str, Any]) -> dict[str, Any]:
    return resolve(operation["responses"]["200"]["content"]["application/json"]["schema"])


def sid(prefix: str) -> str:
    return prefix + "0123456789abcdef" * 2


def optional_inner(hint: Any) -> Any:
    """``X`` of ``X | None``; fails if the hint is not optional or holds more than one other type."""
    args = set(typing.get_args(hint))
    assert typing.get_origin(hint) in (typing.Union, types.UnionType), f"{hint} is not optional"
    assert type(None) in args, f"{hint} is not optional"
    (inner,) = args - {type(None)}
    return inner


def with_field(cls: type[ReservationUpdate], name: str, value: Any) -> ReservationUpdate:
    """``cls`` with one field set (by attribute name)."""
    return cls(**{name: value})


def enum_values(cls: type[enum.Enum]) -> set[str]:
    return {member.value for member in cls}


def is_str_enum(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, enum.Enum) and issubclass(hint, str)


def type_problem(schema: Mapping[str, Any], hint: Any) -> str | None:
    """Why ``hint`` does not model ``schema``, or None if it does.

    boolean <-> bool, integer <-> int, array <-> tuple of its items; string <-> str, or a
    str-Enum whose values are the spec's enum, or (where the spec lists the values only in the
    description) exactly the values the description names in backticks.
    """
    schema = resolve(schema)
    kind = schema.get("type")
    if kind == "boolean":
        return None if hint is bool else f"boolean modelled as {hint}"
    if kind == "integer":
        return None if hint is int else f"integer modelled as {hint}"
    if kind == "array":
        if typing.get_origin(hint) is not tuple or typing.get_args(hint)[1:] != (Ellipsis,):
            return f"array modelled as {hint}, not a tuple"
        return type_problem(schema["items"], typing.get_args(hint)[0])
    if kind == "string":
        if "enum" in schema:
            if not is_str_enum(hint):
                return f"enum {schema['enum']} modelled as {hint}"
            if enum_values(hint) != set(schema["enum"]):
                return f"{hint.__name__} values {sorted(enum_values(hint))} != spec enum {sorted(schema['enum'])}"
            return None
        if hint is str:
            return None
        if is_str_enum(hint):
            named = set(_BACKTICKED.findall(schema.get("description", "")))
            if enum_values(hint) != named:
                return f"{hint.__name__} values {sorted(enum_values(hint))} != described values {sorted(named)}"
            return None
        return f"string modelled as {hint}"
    return f"unexpected spec type {kind!r}"


# --- (a) every operation of the spec is a method, by the naming rule --------------------------------

#: The entities of ``<Verb><Resource>`` operation ids and the client attribute each is mounted on.
ENTITIES = {
    "Workspace": "workspaces",
    "Activity": "activities",
    "Event": "events",
    "Task": "tasks",
    "TaskChannel": "task_channels",
    "TaskQueue": "task_queues",
    "Worker": "workers",
    "WorkerChannel": "worker_channels",
    "Workflow": "workflows",
    "TaskReservation": "task_reservations",
    "WorkerReservation": "worker_reservations",
}
#: Statistics operations and their methods, exactly as issue 15 names them.
STATISTICS = {
    "FetchWorkspaceStatistics": ("workspaces", "statistics"),
    "FetchWorkspaceRealTimeStatistics": ("workspaces", "real_time_statistics"),
    "FetchWorkspaceCumulativeStatistics": ("workspaces", "cumulative_statistics"),
    "FetchTaskQueueStatistics": ("task_queues", "statistics"),
    "FetchTaskQueueRealTimeStatistics": ("task_queues", "real_time_statistics"),
    "FetchTaskQueueCumulativeStatistics": ("task_queues", "cumulative_statistics"),
    "ListTaskQueuesStatistics": ("task_queues", "list_statistics"),
    "CreateTaskQueueBulkRealTimeStatistics": ("task_queues", "bulk_real_time_statistics"),
    "FetchWorkflowStatistics": ("workflows", "statistics"),
    "FetchWorkflowRealTimeStatistics": ("workflows", "real_time_statistics"),
    "FetchWorkflowCumulativeStatistics": ("workflows", "cumulative_statistics"),
    "FetchWorkerStatistics": ("workers", "statistics"),
    "FetchWorkerInstanceStatistics": ("workers", "instance_statistics"),
    "FetchWorkersRealTimeStatistics": ("workers", "real_time_statistics"),
    "FetchWorkersCumulativeStatistics": ("workers", "cumulative_statistics"),
}
_ENTITY_OPERATION = re.compile(r"(Fetch|Update|Delete|List|Create)([A-Za-z]+)")
#: Form fields the spec types ``string`` whose descriptions say they are booleans (codegen/overrides.toml).
FLAGS_TYPED_AS_STRINGS = {("CreateTask", "IgnoreCapacity"), ("UpdateWorkflow", "ReEvaluateTasks")}
#: Response fields the spec types ``string`` that hold JSON text, read as ``JsonObject``.
JSON_TEXT_RESPONSE_FIELDS = {("Task", "attributes"), ("Worker", "attributes"), ("Workflow", "configuration")}


every_operation = pytest.mark.parametrize("operation_id", OPERATION_IDS)


def named_by_the_rule(operation_id: str) -> tuple[str, str]:
    """``(client attribute, method)`` of an operation, by issue 15's rule."""
    if operation_id in STATISTICS:
        return STATISTICS[operation_id]
    match = _ENTITY_OPERATION.fullmatch(operation_id)
    assert match is not None, f"{operation_id} is not <Verb><Resource>"
    assert match.group(2) in ENTITIES, f"{operation_id}: {match.group(2)} is not an entity"
    return ENTITIES[match.group(2)], match.group(1).lower()


def positional_names(operation_id: str, path: str) -> list[str]:
    """The path SIDs' argument names: parents first, in path order; a path's own ``{Sid}`` takes the
    resource's singular snake_case name plus ``_sid`` (``reservation_sid`` for both reservation kinds)."""
    entity = _ENTITY_OPERATION.fullmatch(operation_id)
    own = "reservation" if "Reservation" in operation_id else snake(entity.group(2)) if entity else None
    names = []
    for name in re.findall(r"\{([A-Za-z]+)\}", path):
        assert own is not None or name != "Sid", operation_id
        names.append(f"{own}_sid" if name == "Sid" else snake(name))
    return names


def spec_response_schema(definition: Mapping[str, Any]) -> dict[str, Any] | None:
    """The schema of an operation's 2xx JSON answer; None for a 204."""
    for code in ("200", "201"):
        if code in definition["responses"]:
            return resolve(definition["responses"][code]["content"]["application/json"]["schema"])
    assert set(definition["responses"]) == {"204"}
    return None


def test_every_spec_operation_is_one_library_operation() -> None:
    """61 operations, none missing, none invented, none sent by two resources."""
    assert len(OPERATION_IDS) == 61
    assert set(library_operations()) == set(OPERATION_IDS)
    assert set(RESOURCES) == set(ENTITIES.values())


#: The page-at-a-time counterpart of each list method.
PAGES = {"list": "pages", "list_statistics": "statistics_pages"}


@every_operation
def test_each_operation_is_the_method_the_naming_rule_gives(operation_id: str) -> None:
    method, path, _ = spec_operations()[operation_id]
    attribute, cls, operation = library_operations()[operation_id]
    assert (attribute, operation.name) == named_by_the_rule(operation_id)
    assert (operation.method, operation.path) == (method.upper(), re.sub(r"\{[A-Za-z]+\}", "{}", path))
    assert inspect.iscoroutinefunction(getattr(cls, operation.name)) is not operation.lists
    raw = typing.get_type_hints(cls.with_raw_response.fget)["return"]  # type: ignore[attr-defined]
    if operation.lists:
        assert operation.method == "GET"
        assert callable(getattr(cls, PAGES[operation.name]))
        assert not hasattr(raw, operation.name)
    else:
        assert inspect.iscoroutinefunction(getattr(raw, operation.name))


@every_operation
def test_each_signature_is_path_sids_params_then_query_keywords(operation_id: str) -> None:
    """Path SIDs positional (parents first), then the params object or JSON body, then keyword-only query
    arguments in snake_case, ``etag`` where If-Match is declared, and the paging and per-call options."""
    _, path, definition = spec_operations()[operation_id]
    _, cls, operation = library_operations()[operation_id]
    signature = inspect.signature(getattr(cls, operation.name))
    positional = [
        p.name for p in signature.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    body = []
    if operation.params is not None:
        body = ["params"]
    elif operation.json_body:
        body = [param.name for param in operation.json_body]
    assert positional == positional_names(operation_id, path) + body
    query = [p for p in definition.get("parameters", ()) if p["in"] == "query"]
    keywords = [snake(p["name"]) for p in query if p["name"] not in PAGING]
    if any(p["in"] == "header" for p in definition.get("parameters", ())):
        keywords.append("etag")
    if operation.lists:
        keywords += ["page_size", "limit"]
        assert {p["name"] for p in query} >= set(PAGING), "a list without the paging trio"
    keywords += ["timeout", "max_retries"]
    keyword_only = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert sorted(keyword_only) == sorted(keywords)
    assert all(p.default is None for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY)


@every_operation
def test_path_parameters_are_checked_with_their_spec_prefixes(operation_id: str) -> None:
    _, _, definition = spec_operations()[operation_id]
    _, _, operation = library_operations()[operation_id]
    spec_sids = [
        (p["name"], sid_prefix(resolve(p["schema"]))) for p in definition.get("parameters", ()) if p["in"] == "path"
    ]
    assert [sid.prefix for sid in operation.sids] == [prefix for _, prefix in spec_sids]


@every_operation
def test_query_parameters_are_modelled_with_their_wire_names(operation_id: str) -> None:
    _, _, definition = spec_operations()[operation_id]
    _, _, operation = library_operations()[operation_id]
    declared = {p["name"] for p in definition.get("parameters", ()) if p["in"] == "query"} - set(PAGING)
    assert {param.wire for param in operation.query} == declared
    for param in operation.query:
        assert (param.name, wire_name(param.name)) == (snake(param.wire), param.wire)


@every_operation
def test_if_match_is_declared_exactly_where_etag_is_taken(operation_id: str) -> None:
    _, _, definition = spec_operations()[operation_id]
    _, cls, operation = library_operations()[operation_id]
    headers = {p["name"] for p in definition.get("parameters", ()) if p["in"] == "header"}
    assert headers <= {"If-Match"}
    assert operation.if_match is (headers == {"If-Match"})
    assert ("etag" in inspect.signature(getattr(cls, operation.name)).parameters) is operation.if_match


@every_operation
def test_body_fields_are_exactly_the_spec_fields_by_wire_name(operation_id: str) -> None:
    """Both directions: every spec form field is a params field, every params field a spec form field, and
    ``from_api_dict`` takes each by its wire name; the one JSON body is the documented one."""
    _, _, definition = spec_operations()[operation_id]
    _, _, operation = library_operations()[operation_id]
    content = definition.get("requestBody", {}).get("content", {})
    if "application/x-www-form-urlencoded" in content:
        assert operation.params is not None
        assert not operation.json_body
        spec_fields = set(form_schema(definition)["properties"])
        modelled = {wire_name(field.name): field.name for field in attrs.fields(operation.params)}
        assert set(modelled) == spec_fields
        required = set(form_schema(definition).get("required", ()))
        given = {wire: (None if wire not in required else "x") for wire in modelled}
        if "Configuration" in required:
            given["Configuration"] = "{}"
        assert operation.params.from_api_dict(given) == operation.params(
            **{modelled[wire]: value for wire, value in given.items() if value is not None}
        )
        with pytest.raises(ValidationError, match="Bogus"):
            operation.params.from_api_dict({"Bogus": "1"})
    elif "application/json" in content:
        assert resolve(content["application/json"]["schema"])["properties"] == {}, "the spec now says what to send"
        assert operation.params is None
        assert [(p.name, p.wire) for p in operation.json_body] == [("task_queue_sids", "TaskQueueSids")]
    else:
        assert (operation.params, operation.json_body) == (None, ())


@every_operation
def test_the_fields_a_create_requires_are_required_exactly(operation_id: str) -> None:
    """The spec's ``required`` form fields have no default (and refuse ``None``); every other field is optional."""
    _, _, definition = spec_operations()[operation_id]
    _, _, operation = library_operations()[operation_id]
    if operation.params is None:
        return
    required = set(form_schema(definition).get("required", ()))
    mandatory = {wire_name(f.name) for f in attrs.fields(operation.params) if f.default is attrs.NOTHING}
    assert mandatory == required
    hints = typing.get_type_hints(operation.params)
    assert all(
        type(None) not in typing.get_args(hints[f.name])
        for f in attrs.fields(operation.params)
        if wire_name(f.name) in required
    )


def test_params_classes_are_named_after_their_resource() -> None:
    for operation_id in OPERATION_IDS:
        _, _, operation = library_operations()[operation_id]
        if operation.params is None:
            continue
        match = _ENTITY_OPERATION.fullmatch(operation_id)
        assert match is not None
        assert operation.params.__name__ == match.group(2) + match.group(1)


@every_operation
def test_body_field_types_match_the_spec(operation_id: str) -> None:
    _, _, definition = spec_operations()[operation_id]
    _, _, operation = library_operations()[operation_id]
    if operation.params is None:
        return
    properties = form_schema(definition)["properties"]
    hints = typing.get_type_hints(operation.params)
    problems = {}
    required = set(form_schema(definition).get("required", ()))
    for field in attrs.fields(operation.params):
        wire = wire_name(field.name)
        if wire in required:
            inner = hints[field.name]
        else:
            assert field.default is None, f"{field.name} must default to None (unset)"
            inner = optional_inner(hints[field.name])
        if (operation_id, wire) in FLAGS_TYPED_AS_STRINGS:
            problem = None if inner is bool else f"a flag modelled as {inner}"
        elif resolve(properties[wire]).get("format") == "date-time":
            problem = None if inner is datetime else f"date-time modelled as {inner}"
        else:
            problem = type_problem(properties[wire], inner)
        if problem:
            problems[field.name] = problem
    assert problems == {}


def response_type_problem(model: type[Any], key: str, schema: Mapping[str, Any], hint: Any) -> str | None:
    """Why a model field's hint does not model a response property, or None: typed where the spec types,
    a mapping where the spec leaves the shape open."""
    schema = resolve(schema)
    args = set(typing.get_args(hint)) - {type(None)}
    inner = hint if not args or typing.get_origin(hint) not in (typing.Union, types.UnionType) else None
    if inner is None and len(args) == 1:
        (inner,) = args
    kind, fmt = schema.get("type"), schema.get("format")
    if "enum" in schema:
        enums = [a for a in args if is_str_enum(a)]
        ok = len(enums) == 1 and str in args and enum_values(enums[0]) == set(schema["enum"])
        return None if ok else f"enum {schema['enum']} modelled as {hint}"
    if fmt == "date-time":
        return None if inner is datetime else f"date-time modelled as {hint}"
    if kind == "string":
        expected: Any = JsonObject if (model.__name__, key) in JSON_TEXT_RESPONSE_FIELDS else str
        return None if inner is expected else f"string modelled as {hint}"
    if kind in ("integer", "boolean"):
        return None if inner is {"integer": int, "boolean": bool}[kind] else f"{kind} modelled as {hint}"
    if kind == "object" and fmt == "uri-map":
        ok = typing.get_origin(inner) is Mapping and typing.get_args(inner) == (str, str)
        return None if ok else f"uri-map modelled as {hint}"
    if kind == "array":
        if typing.get_origin(inner) is not Sequence:
            return f"array modelled as {hint}"
        (item,) = typing.get_args(inner)
        return response_type_problem(model, key, schema.get("items", {}), item)
    if kind is None and not (schema.keys() - {"description", "nullable"}):
        ok = typing.get_origin(inner) is Mapping and typing.get_args(inner) == (str, Any)
        return None if ok else f"an open shape modelled as {hint}"
    return f"unexpected spec schema {schema}"


@every_operation
def test_response_keys_are_the_model_fields_with_their_types(operation_id: str) -> None:
    """Every key of the answer's schema is a model field and every field (but ``etag`` and ``extra``) a key,
    typed where the spec types it; a list's records likewise, under the key its ``meta.key`` names."""
    _, _, definition = spec_operations()[operation_id]
    _, _, operation = library_operations()[operation_id]
    schema = spec_response_schema(definition)
    if schema is None:
        assert operation.model is None
        assert operation.method == "DELETE"
        return
    assert operation.model is not None
    if operation.lists:
        (key,) = set(schema["properties"]) - {"meta"}
        assert set(resolve(schema["properties"]["meta"])["properties"]) == {f.name for f in attrs.fields(PageMeta)}
        schema = resolve(schema["properties"][key]["items"])
    model = operation.model
    fields = {field.name for field in attrs.fields(model)} - {"etag", "extra"}
    assert set(schema["properties"]) == fields
    hints = typing.get_type_hints(model)
    problems = {key: response_type_problem(model, key, prop, hints[key]) for key, prop in schema["properties"].items()}
    assert {key: problem for key, problem in problems.items() if problem} == {}
    assert ("etag" in {field.name for field in attrs.fields(model)}) is (
        model.__name__ in ("Task", "Worker", "TaskReservation", "WorkerReservation")
    )


def test_models_are_named_after_the_schemas_last_segment() -> None:
    for operation_id in OPERATION_IDS:
        _, _, definition = spec_operations()[operation_id]
        _, _, operation = library_operations()[operation_id]
        code = "201" if "201" in definition["responses"] else "200"
        if code not in definition["responses"]:
            continue
        node = definition["responses"][code]["content"]["application/json"]["schema"]
        if operation.lists:
            schema = resolve(node)
            (key,) = set(schema["properties"]) - {"meta"}
            node = schema["properties"][key]["items"]
        segment = node["$ref"].rsplit(".", 1)[-1]
        assert operation.model is not None
        assert operation.model.__name__ == "".join(part.capitalize() for part in segment.split("_"))


def test_wire_names_are_pascal_case_with_from_for_from_() -> None:
    assert wire_name("from_") == "From"
    assert wire_name("status_callback_event") == "StatusCallbackEvent"
    assert wire_name("sip_auth_username") == "SipAuthUsername"


# --- (a) reservations in depth --------------------------------------------------------------------


@by_kind
def test_update_body_fields_are_exactly_the_spec_fields(side: Kind) -> None:
    spec_fields = set(form_schema(op("post", side.item_path))["properties"])
    modelled = {wire_name(field.name) for field in attrs.fields(side.update)}
    assert len(spec_fields) == side.body_fields
    assert modelled - spec_fields == set(), "modelled but not in the spec"
    assert spec_fields - modelled == set(), "in the spec but not modelled"


def test_worker_fields_are_the_task_fields_minus_the_supervisor_pair() -> None:
    task = {field.name for field in attrs.fields(TaskReservationUpdate)}
    worker = {field.name for field in attrs.fields(WorkerReservationUpdate)}
    shared = {field.name for field in attrs.fields(ReservationUpdate)}
    assert worker == shared
    assert task - worker == {"supervisor", "supervisor_mode"}


@by_kind
def test_update_field_types_match_the_spec(side: Kind) -> None:
    properties = form_schema(op("post", side.item_path))["properties"]
    hints = typing.get_type_hints(side.update)
    problems = {}
    for field in attrs.fields(side.update):
        assert field.default is None, f"{field.name} must default to None (unset)"
        problem = type_problem(properties[wire_name(field.name)], optional_inner(hints[field.name]))
        if problem:
            problems[field.name] = problem
    assert problems == {}


@by_kind
def test_sid_fields_take_only_their_prefix(side: Kind) -> None:
    properties = form_schema(op("post", side.item_path))["properties"]
    prefixes = {name: sid_prefix(resolve(schema)) for name, schema in properties.items()}
    sid_fields = {name: prefix for name, prefix in prefixes.items() if prefix}
    assert {"WorkerActivitySid", "RedirectCallSid"} <= set(sid_fields)
    names = {wire_name(field.name): field.name for field in attrs.fields(side.update)}
    for key, prefix in sid_fields.items():
        assert getattr(with_field(side.update, names[key], sid(prefix)), names[key]) == sid(prefix)
        for bad in (sid("XX" if prefix != "XX" else "YY"), sid(prefix)[:-1], sid(prefix)[:-1] + "g", 42):
            with pytest.raises(ValidationError):
                with_field(side.update, names[key], bad)


@by_kind
def test_free_text_fields_take_any_text_and_uri_fields_only_uris(side: Kind) -> None:
    properties = form_schema(op("post", side.item_path))["properties"]
    hints = typing.get_type_hints(side.update)
    names = {wire_name(field.name): field.name for field in attrs.fields(side.update)}
    for key, schema in properties.items():
        schema = resolve(schema)
        name = names[key]
        if schema.get("type") != "string" or optional_inner(hints[name]) is not str or sid_prefix(schema):
            continue
        if schema.get("format") == "uri":
            assert (
                getattr(with_field(side.update, name, "https://example.com/cb?a=1"), name)
                == "https://example.com/cb?a=1"
            )
            with pytest.raises(ValidationError):
                with_field(side.update, name, "not a uri")
        else:
            assert schema.keys() <= {"type", "description"}, f"{key} has constraints this test does not know"
            assert getattr(with_field(side.update, name, "any text, at all"), name) == "any text, at all"


def test_ranges_named_only_in_descriptions_are_enforced() -> None:
    properties = form_schema(op("post", TASK_ITEM))["properties"]
    ranged = {}
    for key, schema in properties.items():
        if (bounds := described_range(schema)) is not None:
            ranged[key] = bounds
    assert ranged == {"MaxParticipants": (2, 250)}
    low, high = ranged["MaxParticipants"]
    for ok in (low, high):
        assert TaskReservationUpdate(max_participants=ok).max_participants == ok
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError):
            TaskReservationUpdate(max_participants=bad)


@by_kind
def test_path_parameters_are_validated_with_their_spec_prefixes(side: Kind) -> None:
    for method, path in (("get", side.list_path), ("get", side.item_path), ("post", side.item_path)):
        prefixes = {name: sid_prefix(schema) for name, schema in params(op(method, path), "path").items()}
        expected = {"WorkspaceSid": "WS", side.parent_param: side.parent_prefix}
        if path == side.item_path:
            expected["Sid"] = "WR"
        assert prefixes == expected
    assert f"/{side.parent_segment}/{{{side.parent_param}}}/" in side.item_path


@by_kind
def test_if_match_is_the_only_header_and_is_update_etag(side: Kind) -> None:
    assert set(params(op("post", side.item_path), "header")) == {"If-Match"}
    assert set(params(op("get", side.item_path), "header")) == set()
    assert set(params(op("get", side.list_path), "header")) == set()
    etag = inspect.signature(side.resource.update).parameters["etag"]
    assert etag.kind is inspect.Parameter.KEYWORD_ONLY
    assert etag.default is None


@by_kind
def test_list_query_parameters_are_modelled_or_handled_explicitly(side: Kind) -> None:
    declared = params(op("get", side.list_path), "query")
    modelled = {key for key in QUERY_KEYWORDS if key != "WorkerSid" or side.filters_by_worker}
    assert set(declared) == modelled | set(QUERY_HANDLED_EXPLICITLY)
    for method in (side.resource.list, side.resource.pages):
        keywords = inspect.signature(method).parameters
        for key in modelled:
            assert keywords[QUERY_KEYWORDS[key]].kind is inspect.Parameter.KEYWORD_ONLY
        assert "page" not in keywords
        assert "page_token" not in keywords
    assert "page_url" in inspect.signature(side.resource.pages).parameters
    assert type_problem(declared["ReservationStatus"], ReservationStatus) is None
    assert (declared["PageSize"]["minimum"], declared["PageSize"]["maximum"]) == (1, MAX_PAGE_SIZE)
    if "WorkerSid" in declared:
        assert sid_prefix(declared["WorkerSid"]) == "WK"


@by_kind
def test_response_keys_are_the_model_fields(side: Kind) -> None:
    schemas = [response_schema(op("get", side.item_path)), response_schema(op("post", side.item_path))]
    list_schema = response_schema(op("get", side.list_path))
    schemas.append(resolve(list_schema["properties"]["reservations"]["items"]))
    hints = typing.get_type_hints(side.model)
    fields = {field.name for field in attrs.fields(side.model)} - {"etag", "extra"}
    # The spec calls every property nullable; a reservation's identity and state are required all the same.
    optional = {"worker_name", "url", "links"}
    for schema in schemas:
        assert set(schema["properties"]) == fields
        problems = {}
        for key, prop in schema["properties"].items():
            prop, hint = resolve(prop), hints[key]
            inner = optional_inner(hint) if key in optional else hint
            if key == "reservation_status":
                # An enum that keeps values newer than this library as plain str.
                ok = set(typing.get_args(hint)) == {ReservationStatus, str}
                ok = ok and enum_values(ReservationStatus) == set(prop["enum"])
            elif prop.get("format") == "date-time":
                ok = inner is datetime
            elif prop["type"] == "object":
                ok = typing.get_origin(inner) is Mapping and typing.get_args(inner) == (str, str)
            else:
                ok = prop["type"] == "string" and inner is str
            if not ok:
                problems[key] = f"{prop} modelled as {hint}"
        assert problems == {}


@by_kind
def test_list_page_shape_is_meta_plus_records(side: Kind) -> None:
    schema = response_schema(op("get", side.list_path))
    assert set(schema["properties"]) == {"meta", "reservations"}
    meta = schema["properties"]["meta"]["properties"]
    assert set(meta) == {field.name for field in attrs.fields(PageMeta)}
    hints = typing.get_type_hints(PageMeta)
    for key, prop in meta.items():
        hint = hints[key] if key == "key" else optional_inner(hints[key])
        assert hint is {"integer": int, "string": str}[prop["type"]], key


@by_kind
def test_spec_examples_structure_into_the_models(side: Kind) -> None:
    for method, path in (("get", side.item_path), ("post", side.item_path)):
        examples = op(method, path)["responses"]["200"]["content"]["application/json"]["examples"]
        for example in examples.values():
            data = example["value"]
            reservation = structure_model(data, side.model, etag='"e1"')
            assert reservation.sid == data["sid"]
            assert reservation.reservation_status == data["reservation_status"]
            assert reservation.etag == '"e1"'
    examples = op("get", side.list_path)["responses"]["200"]["content"]["application/json"]["examples"]
    for example in examples.values():
        data = example["value"]
        items, meta = structure_page(data, side.model)
        assert meta.key == "reservations"
        assert [item.sid for item in items] == [record["sid"] for record in data["reservations"]]


# --- (a) and (b): what the library sends, seen by the recorder ------------------------------------

FULL_UPDATE: dict[str, Any] = {
    "reservation_status": "accepted",
    "worker_activity_sid": ACTIVITY_SID,
    "instruction": "conference",
    "dequeue_post_work_activity_sid": ACTIVITY_SID,
    "dequeue_from": "+15005550006",
    "dequeue_record": "record-from-answer",
    "dequeue_timeout": 30,
    "dequeue_to": "client:alice",
    "dequeue_status_callback_url": "https://example.com/dequeue",
    "dequeue_status_callback_event": ["initiated", "completed"],
    "call_from": "+15005550006",
    "call_record": True,
    "call_timeout": 0,
    "call_to": "+15005550001",
    "call_url": "https://example.com/twiml",
    "call_status_callback_url": "https://example.com/call-status",
    "call_accept": False,
    "redirect_call_sid": CALL_SID,
    "redirect_accept": True,
    "redirect_url": "https://example.com/redirect",
    "to": "client:bob",
    "from_": "+15005550006",
    "status_callback": "https://example.com/status",
    "status_callback_method": "post",
    "status_callback_event": ["initiated", "ringing", "answered", "completed"],
    "timeout": 25,
    "record": True,
    "muted": False,
    "beep": "onEnter",
    "start_conference_on_enter": True,
    "end_conference_on_exit": False,
    "wait_url": "https://example.com/hold-music",
    "wait_method": "GET",
    "early_media": True,
    "max_participants": 250,
    "conference_status_callback": "https://example.com/conference",
    "conference_status_callback_method": "POST",
    "conference_status_callback_event": ["start", "end", "join", "leave", "mute", "hold", "speaker"],
    "conference_record": "record-from-start",
    "conference_trim": "do-not-trim",
    "recording_channels": "dual",
    "recording_status_callback": "https://example.com/recording",
    "recording_status_callback_method": "GET",
    "conference_recording_status_callback": "https://example.com/conference-recording",
    "conference_recording_status_callback_method": "POST",
    "region": "ie1",
    "sip_auth_username": "alice",
    "sip_auth_password": "p@ss word&=",
    "post_work_activity_sid": ACTIVITY_SID,
    "end_conference_on_customer_exit": True,
    "beep_on_customer_entrance": False,
    "jitter_buffer_size": "off",
}
TASK_ONLY: dict[str, Any] = {"supervisor": "WK" + "2" * 32, "supervisor_mode": "barge"}

RESERVATION_JSON = {
    "account_sid": ACCOUNT_SID,
    "date_created": "2014-05-14T10:50:02Z",
    "date_updated": "2014-05-15T16:03:42Z",
    "links": {"workspace": f"{SPEC_SERVER}/v1/Workspaces/{WORKSPACE_SID}"},
    "reservation_status": "accepted",
    "sid": RESERVATION_SID,
    "task_sid": TASK_SID,
    "url": f"{SPEC_SERVER}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}",
    "worker_name": "Doug",
    "worker_sid": WORKER_SID,
    "workspace_sid": WORKSPACE_SID,
}


def full_update(side: Kind) -> ReservationUpdate:
    """An update with every field of ``side`` set."""
    values = {**FULL_UPDATE, **(TASK_ONLY if side.update is TaskReservationUpdate else {})}
    params = side.update(**values)
    assert all(getattr(params, field.name) is not None for field in attrs.fields(side.update))
    return params


def page_json(side: Kind, next_page_url: str | None) -> dict[str, Any]:
    return {
        "meta": {"key": "reservations", "next_page_url": next_page_url, "page": 0, "page_size": 2},
        "reservations": [RESERVATION_JSON],
    }


@by_kind
async def test_every_operation_with_every_field_conforms(
    side: Kind, api: respx.MockRouter, client: AsyncTaskRouter, spec_conformance: RequestRecorder
) -> None:
    """All six operations with every body field and every modelled filter set: the recorder saw each
    request and found nothing wrong (it checks again, for the record, at teardown)."""
    parent = TASK_SID if side is KINDS[0] else WORKER_SID
    reservations: Any = client.task_reservations
    if side is KINDS[1]:
        reservations = client.worker_reservations
    list_path = f"/v1/Workspaces/{WORKSPACE_SID}/{side.parent_segment}/{parent}/Reservations"
    token_url = f"{SPEC_SERVER}{list_path}?PageSize=2&PageToken=PT123"
    api.get(f"{list_path}/{RESERVATION_SID}").respond(200, json=RESERVATION_JSON, headers={"ETag": '"e1"'})
    api.post(f"{list_path}/{RESERVATION_SID}").respond(200, json=RESERVATION_JSON)
    api.get(list_path, params={"PageToken": "PT123"}).respond(200, json=page_json(side, None))
    api.get(list_path).respond(200, json=page_json(side, token_url))

    fetched = await reservations.fetch(WORKSPACE_SID, parent, RESERVATION_SID)
    await reservations.update(WORKSPACE_SID, parent, RESERVATION_SID, full_update(side), etag=fetched.etag)
    filters: dict[str, Any] = {"reservation_status": "pending", "page_size": 2}
    if side.filters_by_worker:
        filters["worker_sid"] = WORKER_SID
    items = [item async for item in reservations.list(WORKSPACE_SID, parent, **filters)]
    assert len(items) == 2

    sent = spec_conformance.sent
    assert [request.method for request in sent] == ["GET", "POST", "GET", "GET"]
    body_keys = {key for key, _ in parse_qsl((sent[1].body or b"").decode("ascii"))}
    assert body_keys == set(form_schema(op("post", side.item_path))["properties"])
    first_query = dict(httpx.URL(sent[2].url).params)
    assert set(first_query) == {key for key, name in QUERY_KEYWORDS.items() if name in filters}
    assert sent[3].url == token_url
    assert spec_conformance.problems() == []


async def test_worker_list_refuses_the_task_only_worker_filter(client: AsyncTaskRouter) -> None:
    """On worker reservations ``worker_sid`` names the parent, so there is no WorkerSid filter to send."""
    with pytest.raises(TypeError, match="multiple values for argument 'worker_sid'"):
        client.worker_reservations.list(WORKSPACE_SID, WORKER_SID, worker_sid=WORKER_SID)  # type: ignore[misc]


RESERVATION_BODY = json.dumps(RESERVATION_JSON).encode()


async def _asgi_app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """An in-process ASGI server that answers every request with a reservation."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": RESERVATION_BODY})


async def _answer(stream: anyio.abc.ByteStream) -> None:
    """Serve one HTTP/1.1 request on ``stream`` with a reservation, then close."""
    async with stream:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        head = data.split(b"\r\n\r\n", 1)[0].lower()
        length = re.search(rb"content-length: *(\d+)", head)
        while length and len(data.split(b"\r\n\r\n", 1)[1]) < int(length.group(1)):
            data += await stream.receive()
        status = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        await stream.send(status + b"Content-Length: %d\r\n\r\n" % len(RESERVATION_BODY) + RESERVATION_BODY)


@contextlib.asynccontextmanager
async def _http_client(transport: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An httpx client that reaches a server by way of ``transport``, and that server's base URL."""
    if transport == "loopback":
        async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, _answer)
            async with httpx.AsyncClient() as http:
                yield http, f"http://127.0.0.1:{listener.extra(anyio.abc.SocketAttribute.local_port)}"
            tg.cancel_scope.cancel()
    elif transport == "respx":
        with respx.mock(assert_all_called=False) as router:
            router.route().respond(200, json=RESERVATION_JSON)
            async with httpx.AsyncClient() as http:
                yield http, "http://127.0.0.1:9"
    else:
        in_process: httpx.AsyncBaseTransport = httpx.ASGITransport(_asgi_app)
        if transport == "mock":
            in_process = httpx.MockTransport(lambda _: httpx.Response(200, json=RESERVATION_JSON))
        async with httpx.AsyncClient(transport=in_process) as http:
            yield http, "http://127.0.0.1:9"


@pytest.mark.parametrize("transport", ["respx", "mock", "asgi", "loopback"])
async def test_recorder_sees_requests_through_every_transport(
    transport: str, spec_conformance: RequestRecorder
) -> None:
    """Whatever carries it and whatever the host and path prefix, an API request is recorded and
    checked against the spec's own server and paths; other requests are not recorded."""
    async with _http_client(transport) as (http, server):
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=f"{server}/proxy", http_client=http) as client:
            reservation = await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
        assert reservation.sid == RESERVATION_SID
        await http.get(f"{server}/health")
    assert [request.api_path for request in spec_conformance.sent] == [
        f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}"
    ]
    assert spec_conformance.problems() == []


async def test_recorder_flags_a_nonconforming_request(spec_conformance: RequestRecorder) -> None:
    """A raw client with httpx's own Basic auth: the header it adds while sending is seen, so the
    one problem reported is the body's."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=RESERVATION_JSON))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9", auth=("x", "y")) as http:
        await http.post(
            f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}",
            content=b"Record=True",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    problems = spec_conformance.problems()
    assert len(problems) == 1
    assert "Record='True'" in problems[0]
    spec_conformance.clear()


async def test_recorder_sees_a_transport_called_directly(spec_conformance: RequestRecorder) -> None:
    """A client may hand requests straight to its transport, skipping AsyncClient.send; a transport
    class defined after the hooks were installed (here, in the test) is still seen."""

    class Direct(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=RESERVATION_JSON)

    url = f"http://127.0.0.1:9/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}/Reservations?Page=x"
    await Direct().handle_async_request(httpx.Request("GET", url, headers={"Authorization": "Basic eDp5"}))
    assert len(spec_conformance.sent) == 1
    assert any("Page='x' is not a plain decimal integer" in problem for problem in spec_conformance.problems())
    spec_conformance.clear()


def test_recorder_sees_sync_clients_too(spec_conformance: RequestRecorder) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=RESERVATION_JSON))
    with httpx.Client(transport=transport, auth=("x", "y")) as http:
        http.get(f"http://127.0.0.1:9/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations?Bogus=1")
    problems = spec_conformance.problems()
    assert len(problems) == 1
    assert "query parameter 'Bogus' is not declared" in problems[0]
    spec_conformance.clear()


@pytest.mark.nonconforming_requests
async def test_marker_lets_a_test_send_a_nonconforming_request(spec_conformance: RequestRecorder) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(404))
    async with httpx.AsyncClient(transport=transport) as http:
        await http.delete(f"http://127.0.0.1:9/v1/Workspaces/{WORKSPACE_SID}")
    assert spec_conformance.problems() != []


# --- (b) the checker itself -----------------------------------------------------------------------

ITEM = f"{SPEC_SERVER}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}"
WORKER_ITEM_URL = f"{SPEC_SERVER}/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}/Reservations/{RESERVATION_SID}"
LIST = f"{SPEC_SERVER}/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations"
WORKER_LIST_URL = f"{SPEC_SERVER}/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}/Reservations"
AUTH = ("Authorization", "Basic eDp5")
FORM_HEADERS = (AUTH, ("Content-Type", "application/x-www-form-urlencoded"))
JSON_HEADERS = (AUTH, ("Content-Type", "application/json"))
WORKSPACES = f"{SPEC_SERVER}/v1/Workspaces"
BULK_STATISTICS = f"{WORKSPACES}/{WORKSPACE_SID}/TaskQueues/RealTimeStatistics"
TASK_URL = f"{WORKSPACES}/{WORKSPACE_SID}/Tasks/{TASK_SID}"
QUEUE_SID = "WQ" + "0" * 32


def post(body: bytes, url: str = ITEM, headers: tuple[tuple[str, str], ...] = FORM_HEADERS) -> SentRequest:
    return SentRequest("POST", url, headers, body)


def get(url: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = (AUTH,)) -> SentRequest:
    return SentRequest("GET", url, headers, body)


@pytest.mark.parametrize(
    "request_",
    [
        post(b""),
        post(b"ReservationStatus=accepted&Record=true&MaxParticipants=2&Timeout=0"),
        post(b"StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&From=%2B1500&To=a+b"),
        post(b"Supervisor=WK00000000000000000000000000000000&SupervisorMode=monitor"),
        post(b"ReservationStatus=rejected", url=WORKER_ITEM_URL),
        get(ITEM),
        get(LIST + "?ReservationStatus=pending&WorkerSid=WK00000000000000000000000000000000&PageSize=1000"),
        get(LIST + "?PageSize=50&Page=3&PageToken=PA123"),
        get(WORKER_LIST_URL + "?PageSize=1"),
        get("http://127.0.0.1:8080/prefix" + LIST.removeprefix(SPEC_SERVER)),
        get(WORKSPACES + "?FriendlyName=a+b&PageSize=5"),
        post(b"FriendlyName=x", url=WORKSPACES),
        post(b'{"TaskQueueSids":["%s"]}' % QUEUE_SID.encode(), url=BULK_STATISTICS, headers=JSON_HEADERS),
        SentRequest("DELETE", TASK_URL, (AUTH, ("If-Match", '"3"')), b""),
        post(b"Attributes=%7B%7D&Priority=2", url=TASK_URL, headers=(*FORM_HEADERS, ("If-Match", '"3"'))),
        get(f"{WORKSPACES}/{WORKSPACE_SID}/Tasks?AssignmentStatus=pending&AssignmentStatus=reserved"),
        get(f"{WORKSPACES}/{WORKSPACE_SID}/TaskChannels/voice"),
    ],
    ids=lambda r: f"{r.method} {r.url.rsplit('/', 1)[-1]} {r.body!r}",
)
def test_checker_accepts_conforming_requests(request_: SentRequest) -> None:
    assert check_request(request_) == []


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (post(b"Bogus=1"), "unknown form field 'Bogus'"),
        (post(b"StatusCallbackEvent[]=initiated"), "bracket form"),
        (post(b"DequeueStatusCallbackEvent=initiated,ringing"), "comma-joined"),
        (post(b"StatusCallbackEvent=initiated,ringing"), "not one of"),
        (post(b"Record=True"), "not exactly 'true' or 'false'"),
        (post(b"Record=1"), "not exactly 'true' or 'false'"),
        (post(b"Record="), "not exactly 'true' or 'false'"),
        (post(b"MaxParticipants=+5"), "not a plain decimal integer"),
        (post(b"MaxParticipants=05"), "not a plain decimal integer"),
        (post(b"MaxParticipants=5.0"), "not a plain decimal integer"),
        (post(b"Instruction=accept&Instruction=reject"), "given 2 times"),
        (post(b"ReservationStatus=ACCEPTED"), "not one of"),
        (post(b"WorkerActivitySid=WK00000000000000000000000000000000"), "does not match"),
        (post(b"StatusCallback=not%20a%20uri"), "is not a 'uri'"),
        (post(b"StatusCallbackMethod=PUT"), "not one of"),
        (post(b"Supervisor=x", url=WORKER_ITEM_URL), "unknown form field 'Supervisor'"),
        (post(b"Record=true", headers=(AUTH, ("Content-Type", "application/json"))), "Content-Type"),
        (post(b"Record=true", headers=(("Content-Type", "application/x-www-form-urlencoded"),)), "Security"),
        (post(b"Caf\xc3\xa9=1"), "not an ASCII urlencoded form"),
        (get(LIST + "?Bogus=1"), "query parameter 'Bogus' is not declared"),
        (get(LIST + "?PageSize=1&PageSize=2"), "given 2 times"),
        (get(LIST + "?PageSize=0"), "less than the minimum"),
        (get(LIST + "?PageSize=1001"), "greater than the maximum"),
        (get(LIST + "?PageSize=+5"), "not a plain decimal integer"),
        (get(LIST + "?ReservationStatus=bogus"), "not one of"),
        (get(LIST + "?WorkerSid=WA00000000000000000000000000000000"), "does not match"),
        (get(WORKER_LIST_URL + "?WorkerSid=WK00000000000000000000000000000000"), "'WorkerSid' is not declared"),
        (get(ITEM, body=b"Record=true"), "takes no body"),
        (get(ITEM.replace("/Tasks/WT", "/Tasks/WX")), "does not match"),
        (get(ITEM + "/Extra"), "PathNotFound"),
        (SentRequest("DELETE", ITEM, (AUTH,), b""), "OperationNotFound"),
        (SentRequest("POST", ITEM, FORM_HEADERS, None), "unread stream"),
        (get("http://127.0.0.1/health"), "not a /v1/Workspaces... path"),
        (get("http://127.0.0.1/v1/WorkspacesX"), "not a /v1/Workspaces... path"),
        (get(WORKSPACES + "?Bogus=1"), "query parameter 'Bogus' is not declared"),
        (post(b"Bogus=1", url=WORKSPACES), "unknown form field 'Bogus'"),
        (post(b"TaskQueueSids=" + QUEUE_SID.encode(), url=BULK_STATISTICS), "not application/json"),
        (post(b'{"TaskQueueSids":["%s"]}' % QUEUE_SID.encode(), url=TASK_URL, headers=JSON_HEADERS), "Content-Type"),
        (post(b"[]", url=BULK_STATISTICS, headers=JSON_HEADERS), "not an object"),
        (post(b"{", url=BULK_STATISTICS, headers=JSON_HEADERS), "not JSON"),
        (post(b'{"Sids":[]}', url=BULK_STATISTICS, headers=JSON_HEADERS), "unknown JSON body key 'Sids'"),
        (post(b'{"TaskQueueSids":[]}', url=BULK_STATISTICS, headers=JSON_HEADERS), "1 to 50"),
        (
            post(b'{"TaskQueueSids":["%s"]}' % ACTIVITY_SID.encode(), url=BULK_STATISTICS, headers=JSON_HEADERS),
            "not a WQ SID",
        ),
        (post(b'{"TaskQueueSids": ["%s"]}' % QUEUE_SID.encode(), url=BULK_STATISTICS, headers=JSON_HEADERS), "compact"),
        (SentRequest("DELETE", TASK_URL, (AUTH,), b"x=1"), "takes no body"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_checker_flags_nonconforming_requests(request_: SentRequest, expected: str) -> None:
    problems = check_request(request_)
    assert any(expected in problem for problem in problems), problems
