"""Every operation of the spec beside the library's record of it, and valid values for its arguments.

Shared by the tests that call all 61 operations (``test_operations``, ``test_engines_operations``) and
the Hypothesis round trips (``test_properties``). Values come from the spec's schemas, the type hints of
the generated classes and ``codegen/overrides.toml`` (what the spec states only in prose: ranges,
JSON-text fields, SID prefixes of fields without a pattern).
"""

from __future__ import annotations

import enum
import functools
import re
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import attrs

from taskrouter_async._converter import wire_name
from taskrouter_async._params import Params
from taskrouter_async._resource import Operation, QueryParam, Resource
from taskrouter_async.resources import RESOURCES

from .spec_check import form_schema, resolve, sid_prefix, spec

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = [
    "HTTP_METHODS",
    "MOMENT",
    "OPERATION_IDS",
    "PARAMS_OPERATIONS",
    "LibraryOperation",
    "example_answers",
    "field_value",
    "full_params",
    "integer_range",
    "json_text_fields",
    "library_operations",
    "overrides",
    "path_values",
    "query_value",
    "snake",
    "spec_operations",
    "wire_sid_prefix",
]

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
OVERRIDES_PATH = Path(__file__).parent.parent / "codegen" / "overrides.toml"
#: A whole-second UTC moment (the wire carries seconds), in the past as Twilio's dates must be.
MOMENT = datetime(2024, 5, 14, 10, 50, 2, tzinfo=timezone.utc)


class LibraryOperation(NamedTuple):
    """One operation as the library has it: the client attribute, the resource class and its record."""

    attribute: str
    resource: type[Resource]
    operation: Operation[Any]


@functools.cache
def overrides() -> dict[str, Any]:
    """``codegen/overrides.toml``: what the generator knows beyond the spec."""
    with OVERRIDES_PATH.open("rb") as file:
        return tomllib.load(file)


@functools.cache
def spec_operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every operation of the spec by id: its method, path template and definition."""
    return {
        definition["operationId"]: (method, path, definition)
        for path, item in spec()["paths"].items()
        for method, definition in item.items()
        if method in HTTP_METHODS
    }


@functools.cache
def library_operations() -> dict[str, LibraryOperation]:
    """Every operation record of the library by id."""
    found: dict[str, LibraryOperation] = {}
    for attribute, cls in RESOURCES.items():
        for operation in cls.operations:
            assert operation.id not in found, f"{operation.id} is sent by two resources"
            found[operation.id] = LibraryOperation(attribute, cls, operation)
    return found


OPERATION_IDS = sorted(spec_operations())


def _params_operations() -> dict[type[Params], str]:
    found: dict[type[Params], str] = {}
    for operation_id, entry in sorted(library_operations().items()):
        if entry.operation.params is not None:
            found.setdefault(entry.operation.params, operation_id)
    return found


#: Every params class, with an operation that sends it.
PARAMS_OPERATIONS = _params_operations()


def example_answers(operation_id: str) -> dict[str, tuple[int, Any]]:
    """The spec's example answers of an operation by name, with their status; a 204 has one, ``None``."""
    _, _, definition = spec_operations()[operation_id]
    answers = {}
    for code, response in definition["responses"].items():
        examples = response.get("content", {}).get("application/json", {}).get("examples", {})
        answers.update({name: (int(code), example["value"]) for name, example in examples.items()})
    if not answers:
        assert set(definition["responses"]) == {"204"}, operation_id
        answers["204"] = (204, None)
    return answers


def wire_sid_prefix(wire: str, schema: Mapping[str, Any]) -> str | None:
    """The SID prefix of a field or parameter: the spec's pattern, else the overrides' by its name."""
    prefix = sid_prefix(schema)
    if prefix is None and wire.endswith("Sid"):
        prefix = overrides()["sid_prefixes"].get(wire.removesuffix("Sid"))
    return prefix


def json_text_fields() -> set[str]:
    """The wire names of the fields that carry JSON as text (task ``Attributes``, workflow ``Configuration``)."""
    return {wire for wire, kind in overrides()["fields"].items() if kind == "json"}


def integer_range(operation_id: str, wire: str) -> tuple[int, int]:
    """The range the library enforces on an integer field or parameter (open ends made concrete)."""
    ranges = overrides()["ranges"]
    low, high = ranges.get(f"{operation_id}.{wire}", ranges.get(wire, [0, "none"]))
    return (low, 2**31 - 1 if high == "none" else high)


def path_values(operation: Operation[Any]) -> tuple[str, ...]:
    """Valid path SIDs of an operation; a path SID without a prefix (channels) is given by unique name."""
    return tuple(sid.prefix + "a" * 32 if sid.prefix else "voice" for sid in operation.sids)


def _inner(hint: Any) -> Any:
    """``X`` of ``X | None`` (the first of several)."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return hint
    return next(arg for arg in typing.get_args(hint) if arg is not type(None))


def _value(operation_id: str, wire: str, hint: Any, schema: Mapping[str, Any]) -> Any:
    """One valid value for a field or query parameter, from its hint, schema and the overrides."""
    hint = _inner(hint)
    prefix = wire_sid_prefix(wire, schema)
    if wire in json_text_fields():
        return {"skills": ["en", "es"], "level": 3, "note": "café"}
    if prefix is not None and hint is str:
        return prefix + "0123456789abcdef" * 2
    if schema.get("format") == "uri":
        return "https://example.com/callback?a=1"
    if hint is bool:
        return True
    if hint is int:
        low, high = integer_range(operation_id, wire)
        return min(max(low, 1), high)
    if hint is datetime:
        return MOMENT
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    origin = typing.get_origin(hint)
    if origin is tuple or (origin is not None and "Iterable" in str(origin)):
        item = _inner(typing.get_args(hint)[0])
        if isinstance(item, type) and issubclass(item, enum.Enum):
            return list(item)[:2]
        if prefix is not None:
            return [prefix + "0" * 32, prefix + "f" * 32]
        return ["initiated", "ringing"]
    if hint is str:
        return "support desk"
    raise AssertionError(f"no value for {operation_id}.{wire}: {hint}")


def field_value(operation_id: str, params: type[Params], field: attrs.Attribute[Any]) -> Any:
    """A valid value of one params field."""
    _, _, definition = spec_operations()[operation_id]
    wire = wire_name(field.name)
    schema = resolve(form_schema(definition)["properties"][wire])
    return _value(operation_id, wire, typing.get_type_hints(params)[field.name], schema)


def full_params(operation_id: str) -> Params:
    """The operation's params with every field set to a valid value."""
    params = library_operations()[operation_id].operation.params
    assert params is not None
    return params(**{field.name: field_value(operation_id, params, field) for field in attrs.fields(params)})


def query_value(operation_id: str, param: QueryParam) -> Any:
    """A valid value of one query keyword argument."""
    entry = library_operations()[operation_id]
    _, _, definition = spec_operations()[operation_id]
    (schema,) = (resolve(p["schema"]) for p in definition["parameters"] if p["name"] == param.wire)
    method = getattr(entry.resource, entry.operation.name)
    return _value(operation_id, param.wire, typing.get_type_hints(method)[param.name], schema)


def snake(name: str) -> str:
    """``TaskQueueSid`` -> ``task_queue_sid``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
