"""A command for every operation of every resource, built from the same operation records as the client.

``taskrouter-async workers list WS… --activity-name Available --table`` or
``taskrouter-async tasks update WS… WT… --assignment-status completed --if-match '"3"'``: the
resource is the client's attribute (``task_queues`` -> ``task-queues``), the operation its method
(``real_time_statistics`` -> ``real-time-statistics``), the positional arguments the operation's
path SIDs, and the flags its query parameters and params fields, named after them, typed from
their annotations (choices for enums and flags), with the spec's descriptions (the fields'
docstrings) as help. Nothing here is written per resource: a new operation record is a new command.
"""

from __future__ import annotations

import argparse
import ast
import enum
import functools
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .._converter import wire_name
from .._params import Params
from .._resource import MAX_PAGE_SIZE, Operation, PathSid
from .._sids import SID_KINDS, is_sid
from ..resources import _RESOURCES, resource_class

#: The client's resource attributes, in the client's order (names only: no resource module is imported).
RESOURCE_ATTRIBUTES = tuple(_RESOURCES)

__all__ = ["RESOURCE_ATTRIBUTES", "add_resource_commands", "call_arguments", "operation_params"]

#: Flags every resource command may have: a field or query parameter of the same name gets no flag of its own.
_RESERVED = {"help", "base_url", "engine", "allow_insecure_http", "table", "if_match", "limit", "page_size"}
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_HELP_CHARS = 240


def add_resource_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    api: argparse.ArgumentParser,
    typed: Callable[[Callable[[str], Any]], Callable[[str], Any]],
    *,
    if_match: Callable[[str], Any],
    only: str | None = None,
) -> None:
    """One command group per client resource, one sub-command per operation record.

    With ``only`` (the group named on the command line), the other groups get no sub-commands:
    building all 61 costs a few hundred milliseconds (importing every resource module, reading
    its field descriptions), paid by every run otherwise.
    """
    for attribute in RESOURCE_ATTRIBUTES:
        name = attribute.replace("_", "-")
        group = commands.add_parser(
            name, help=f"every operation of client.{attribute}", description=f"Every operation of client.{attribute}."
        )
        actions = group.add_subparsers(required=True, metavar="operation")
        if only is not None and only != name:
            continue
        resource = resource_class(attribute)
        for operation in resource.operations:
            _add_operation(actions, api, typed, if_match, attribute, resource, operation)


def _add_operation(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    api: argparse.ArgumentParser,
    typed: Callable[[Callable[[str], Any]], Callable[[str], Any]],
    if_match: Callable[[str], Any],
    attribute: str,
    resource: type[Any],
    operation: Operation[Any],
) -> None:
    method = getattr(resource, operation.name)
    summary = _first_line(method.__doc__)
    parser = actions.add_parser(
        operation.name.replace("_", "-"),
        parents=[api],
        help=summary,
        description=f"{summary} ({operation.method} {operation.path.replace('{}', '…')}, {operation.id})",
        epilog="Field values are the API's form text (true, 30, a JSON object); a list field takes its flag again "
        "for each value. Output: one JSON object per line, or --table.",
    )
    for sid in operation.sids:
        parser.add_argument(sid.name, metavar=_sid_metavar(sid), type=_sid_type(sid), help=_sid_help(sid))
    used = set(_RESERVED)
    hints = typing.get_type_hints(method)
    for query in operation.query + operation.json_body:
        if query.name in used:
            continue
        used.add(query.name)
        help_text = _short(query.description) if query.description else f"{query.wire}."
        _add_flag(parser, f"query_{query.name}", query.name, hints.get(query.name, str), typed, help_text)
    if operation.params is not None:
        docs = _field_docs(operation.params)
        params_hints = typing.get_type_hints(operation.params)
        for field in attrs.fields(operation.params):
            name = field.name.rstrip("_")
            if name in used:
                continue
            used.add(name)
            help_text = docs.get(field.name) or f"{wire_name(field.name)}."
            _add_flag(parser, f"field_{field.name}", name, params_hints[field.name], None, help_text, form=True)
    if operation.if_match:
        parser.add_argument(
            "--if-match",
            metavar="ETAG",
            type=if_match,
            help="apply only if unchanged since this ETag was read: the etag a fetch printed, sent exactly as given",
        )
    if operation.lists:
        parser.add_argument(
            "--page-size", type=typed(_count(1, MAX_PAGE_SIZE)), metavar="N", help=f"1..{MAX_PAGE_SIZE} per request"
        )
        parser.add_argument(
            "--limit", type=typed(_count(0, None)), metavar="N", help="stop after N (default: every page)"
        )
    parser.add_argument("--table", action="store_true", help="a table for people instead of JSON lines")
    parser.set_defaults(command="resource", command_parser=parser, resource=attribute, operation=operation)


def _add_flag(
    parser: argparse.ArgumentParser,
    dest: str,
    name: str,
    hint: Any,
    typed: Callable[[Callable[[str], Any]], Callable[[str], Any]] | None,
    help_text: str,
    *,
    form: bool = False,
) -> None:
    """``--name`` for one query parameter or params field: choices for enums and flags, a type for numbers
    and dates (query parameters: the method takes Python values; fields take the API's form text)."""
    kind, many = _kind(hint)
    options: dict[str, Any] = {"dest": dest, "help": _escape(help_text)}
    if many:
        options["action"] = "append"
    if kind is bool:
        options["choices"] = ["true", "false"] if form else [True, False]  # argparse checks after the type
        options["metavar"] = "{true,false}"
        if not form:
            options["type"] = _flag_value
    elif isinstance(kind, type) and issubclass(kind, enum.Enum):
        options["choices"] = [str(member.value) for member in kind]
        options["metavar"] = "{" + ",".join(options["choices"]) + "}"
    elif kind is int:
        options["metavar"] = "N"
        if not form and typed is not None:
            options["type"] = typed(int)
    elif kind is datetime:
        options["metavar"] = "ISO-8601"
        if not form and typed is not None:
            options["type"] = typed(_datetime)
    else:
        options["metavar"] = "TEXT"
    parser.add_argument(f"--{name.replace('_', '-')}", **options)


def _kind(hint: Any) -> tuple[Any, bool]:
    """The value type a flag takes, and whether it repeats (a list field): ``None`` and ``str`` alternatives
    of a union are dropped, so ``TaskStatus | str | None`` gives the enum's choices."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        typed_options = [a for a in options if a is not str] or options
        chosen, many = _kind(typed_options[0])
        open_enum = len(options) > 1 and str in options
        return (str if open_enum and not many else chosen), many
    if origin in (list, tuple, typing.Sequence) or (origin is not None and str(origin).endswith("Sequence")):
        inner = next(iter(typing.get_args(hint)), str)
        return _kind(inner)[0], True
    return hint, False


def _flag_value(text: str) -> bool | str:
    """``true``/``false`` as a bool; anything else is left for the choices check to refuse."""
    return {"true": True, "false": False}.get(text, text)


def _datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"a date and time with its zone, such as 2024-05-14T10:50:00Z, got {text!r}")
    return moment


def _count(low: int, high: int | None) -> Callable[[str], int]:
    def count(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError(f"expected {low}..{high if high is not None else ''}, got {text!r}")
        return value

    return count


def _sid_metavar(sid: PathSid) -> str:
    return f"{sid.prefix}_SID" if sid.prefix else sid.name.upper()


def _sid_help(sid: PathSid) -> str:
    if sid.prefix is None:
        return f"the {sid.name.replace('_', ' ')} (a SID or a unique name)"
    return f"the {SID_KINDS.get(sid.prefix, sid.prefix)} SID ({sid.prefix}…)"


def _sid_type(sid: PathSid) -> Callable[[str], str]:
    def checked(text: str) -> str:
        if sid.prefix is not None and not is_sid(text, sid.prefix):
            raise argparse.ArgumentTypeError(
                f"expected a {SID_KINDS.get(sid.prefix, sid.prefix)} SID ({sid.prefix!r} followed by 32 hex digits), "
                f"got {text!r}"
            )
        return text

    return checked


def _first_line(doc: str | None) -> str:
    return _escape(inspect.cleandoc(doc).split("\n", 1)[0]) if doc else ""


def _escape(text: str) -> str:
    """argparse formats help with ``%``: a literal one is ``%%``."""
    return text.replace("%", "%%")


def _field_docs(cls: type[Params]) -> dict[str, str]:
    """Each field's docstring (the spec's description, written by the generator), from the classes' source.

    Attribute docstrings exist only in the source (Python keeps no ``__doc__`` for them), so the
    modules are parsed with ``ast``; the first sentence or so is kept, markdown links as their text.
    """
    found: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        module = getattr(base, "__module__", "")
        if module.startswith("taskrouter_async"):
            found.update(_module_docs(module).get(base.__name__, {}))
    return found


@functools.cache
def _module_docs(module_name: str) -> Mapping[str, Mapping[str, str]]:
    try:
        tree = ast.parse(inspect.getsource(sys.modules[module_name]))
    except (OSError, TypeError, KeyError):  # no source (a zipped or frozen install): help without descriptions
        return {}
    classes: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs = classes[node.name] = {}
        for field, doc in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                docs[field.target.id] = _short(doc.value.value)
    return classes


def _short(doc: str) -> str:
    text = _MARKDOWN_LINK.sub(r"\1", " ".join(doc.split()))
    return text if len(text) <= _HELP_CHARS else text[: _HELP_CHARS - 1].rsplit(" ", 1)[0] + "…"


# --- running a command: from the parsed flags to the client's call ----------------------------------


def operation_params(args: argparse.Namespace) -> Params | None:
    """The params of a create or update from its field flags (the API's form text); ValueError says what is wrong."""
    operation: Operation[Any] = args.operation
    if operation.params is None:
        return None
    given: dict[str, object] = {}
    for field in attrs.fields(operation.params):
        value = getattr(args, f"field_{field.name}", None)
        if value is not None:
            given[wire_name(field.name)] = value
    from .._errors import ValidationError

    try:
        return operation.params.from_api_dict(given)
    except ValidationError as exc:
        raise ValueError(str(exc).removeprefix(f"invalid {operation.params.__name__}: ")) from None


def call_arguments(args: argparse.Namespace, params: Params | None) -> tuple[list[Any], dict[str, Any]]:
    """The client method's positional and keyword arguments for a parsed command."""
    operation: Operation[Any] = args.operation
    positional: list[Any] = [getattr(args, sid.name) for sid in operation.sids]
    if params is not None:
        positional.append(params)
    keywords: dict[str, Any] = {}
    for query in operation.query + operation.json_body:
        value = getattr(args, f"query_{query.name}", None)
        if value is not None:
            keywords[query.name] = value
    if operation.if_match and args.if_match is not None:
        keywords["etag"] = args.if_match
    if operation.lists:
        keywords.update(page_size=args.page_size, limit=args.limit)
    return positional, keywords
