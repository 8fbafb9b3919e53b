"""Each command in two steps: ``prepare`` checks the command line and the environment (no I/O), then it runs.

Checking first means bad usage exits 2 with the command's usage, and a missing credential or
extra is one ``error:`` line, before any request is sent.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

from .._client import BASE_URL_ENV, AsyncTaskRouter, _is_loopback
from .._converter import unstructure_model
from .._demo import run_demo
from .._engines import pyreqwest_usable
from .._errors import ValidationError
from .._params import Params
from .._ratelimit import RateLimit
from ..resources import Reservation, TaskReservationUpdate, WorkerReservationUpdate
from ._bulk_update import run_bulk_update
from ._fake_server import prepare_fake_server
from ._inputs import CLIError, UsageError, credentials_from_env, update_params
from ._output import needs_rich, write_json_line
from ._parser import build_parser
from ._resources import call_arguments, operation_params
from ._walk import counted, walk_display

__all__ = ["prepare"]

T = TypeVar("T")
Command = Callable[[], Awaitable[int]]
Printer = Callable[[AsyncIterator[Reservation]], Awaitable[None]]


def prepare(args: argparse.Namespace) -> Command:
    """The command to run, once its input has been checked; raises UsageError or CLIError."""
    if args.command == "demo":
        return _demo
    if args.command == "completion":
        return functools.partial(_completion, args.shell)
    if args.command == "fake-server":
        return prepare_fake_server(args)
    if args.command == "resource":
        try:
            params = operation_params(args)
        except ValueError as exc:
            raise UsageError(f"invalid fields: {exc}") from None
        return functools.partial(_operation, args, _client_options(args), _model_printer(args), params)
    # Usage first (exit 2), then the environment and the installed extras (exit 1).
    if args.command == "list" and args.worker_sid is not None and args.task is None:
        raise UsageError("--worker-sid filters task reservations only: give --task")
    params = _update_params(args) if args.command == "update" else None
    options = _client_options(args)
    if args.command == "bulk-update":
        if args.dry_run and args.resume:
            raise UsageError("--dry-run checks every line: give it without --resume")
        return functools.partial(_bulk_update, args, {**options, **_rate_limit(args)})
    printer = _printer(args)
    if args.command == "list":
        return functools.partial(_list, args, options, printer)
    if args.command == "fetch":
        return functools.partial(_fetch, args, options, printer)
    assert params is not None
    return functools.partial(_update, args, options, printer, params)


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """``AsyncTaskRouter`` arguments: credentials from the environment and a checked base URL, from
    ``--base-url`` or else TWILIO_TASKROUTER_BASE_URL (checked here too, so its errors name the variable)."""
    options: dict[str, Any] = {"allow_insecure_http": args.allow_insecure_http, "engine": _engine(args.engine)}
    if args.base_url is not None:
        options["base_url"] = _base_url(args.base_url, "--base-url", UsageError, args.allow_insecure_http)
    elif os.environ.get(BASE_URL_ENV):
        options["base_url"] = _base_url(os.environ[BASE_URL_ENV], BASE_URL_ENV, CLIError, args.allow_insecure_http)
    return {**options, **credentials_from_env()}


def _rate_limit(args: argparse.Namespace) -> dict[str, Any]:
    """``--rate`` and ``--rate-limit-url`` as the client's ``rate_limit=``; bad values are usage errors."""
    if args.rate is None:
        if args.rate_limit_url is not None:
            raise UsageError("--rate-limit-url shares a --rate budget: give --rate too")
        return {}
    try:
        if args.rate == "auto":
            return {"rate_limit": RateLimit.auto(storage_url=args.rate_limit_url)}
        return {"rate_limit": RateLimit(rate=args.rate, storage_url=args.rate_limit_url)}
    except ValidationError as exc:
        raise UsageError(f"--rate-limit-url: {exc}") from None


def _engine(choice: str) -> str:
    """``--engine``: ``auto`` is the library's own choice (the fastest engine installed for asyncio)."""
    if choice == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
        raise CLIError("--engine aiohttp needs the aiohttp extra: pip install 'taskrouter-async[aiohttp]'")
    if choice == "pyreqwest" and not pyreqwest_usable():
        raise CLIError(
            "--engine pyreqwest needs CPython 3.11 or later and the pyreqwest extra: "
            "pip install 'taskrouter-async[pyreqwest]'"
        )
    return choice


def _base_url(text: str, name: str, error: type[CLIError], allow_insecure_http: bool) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise error(f"{name} is not a URL: {exc}") from None
    if url.userinfo:
        raise error(f"{name} must not carry credentials: they come from the TWILIO_* variables")
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise error(f"{name} must be an http(s) URL such as http://127.0.0.1:8765, got {text!r}")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise error(
            f"{name} {text} is plain http to a host that is not loopback: use https, "
            "or add --allow-insecure-http if you mean it"
        )
    return text


def _printer(args: argparse.Namespace) -> Printer:
    if not args.table:
        return _print_json_lines
    try:
        from ._table import print_table
    except ImportError:
        raise needs_rich("--table") from None
    return functools.partial(print_table, by_task=args.task is not None, with_etag=args.command != "list")


async def _print_json_lines(items: AsyncIterator[Reservation]) -> None:
    async for reservation in items:
        write_json_line(unstructure_model(reservation))


async def _one(item: T) -> AsyncIterator[T]:
    yield item


def _resource(client: AsyncTaskRouter, args: argparse.Namespace) -> Any:
    return client.task_reservations if args.task else client.worker_reservations


async def _list(args: argparse.Namespace, options: dict[str, Any], printer: Printer) -> int:
    async with AsyncTaskRouter(**options) as client:
        by_worker: dict[str, Any] = {"worker_sid": args.worker_sid} if args.task else {}
        items = _resource(client, args).list(
            args.workspace,
            args.task or args.worker,
            reservation_status=args.status,
            page_size=args.page_size,
            limit=args.limit,
            **by_worker,  # worker reservations take no worker filter
        )
        with walk_display("reservations") as display:
            await printer(counted(items, display))
    return 0


async def _fetch(args: argparse.Namespace, options: dict[str, Any], printer: Printer) -> int:
    async with AsyncTaskRouter(**options) as client:
        reservation = await _resource(client, args).fetch(args.workspace, args.task or args.worker, args.sid)
    await printer(_one(reservation))
    return 0


def _update_params(args: argparse.Namespace) -> TaskReservationUpdate | WorkerReservationUpdate:
    pairs: list[tuple[str, str]] = [("ReservationStatus", args.status)] if args.status else []
    pairs += args.param
    if not pairs:
        raise UsageError("nothing to update: give --status or -p/--param KEY=VALUE")
    try:
        if args.task:
            return update_params(pairs, TaskReservationUpdate)
        return update_params(pairs, WorkerReservationUpdate)
    except ValueError as exc:
        raise UsageError(f"invalid update: {exc}") from None


async def _update(
    args: argparse.Namespace,
    options: dict[str, Any],
    printer: Printer,
    params: TaskReservationUpdate | WorkerReservationUpdate,
) -> int:
    async with AsyncTaskRouter(**options) as client:
        reservation = await _resource(client, args).update(
            args.workspace, args.task or args.worker, args.sid, params, etag=args.if_match
        )
    await printer(_one(reservation))
    return 0


async def _bulk_update(args: argparse.Namespace, options: dict[str, Any]) -> int:
    async with AsyncTaskRouter(**options) as client:
        return await run_bulk_update(
            client, args.file, concurrency=args.concurrency, dry_run=args.dry_run, resume=args.resume
        )


def _model_printer(args: argparse.Namespace) -> Callable[[AsyncIterator[Any]], Awaitable[None]]:
    if not args.table:
        return _print_models_as_json_lines
    try:
        from ._table import print_models
    except ImportError:
        raise needs_rich("--table") from None
    return functools.partial(print_models, listing=args.operation.lists)


async def _print_models_as_json_lines(items: AsyncIterator[Any]) -> None:
    async for model in items:
        write_json_line(model.to_dict())


async def _operation(
    args: argparse.Namespace,
    options: dict[str, Any],
    printer: Callable[[AsyncIterator[Any]], Awaitable[None]],
    params: Params | None,
) -> int:
    """Any operation of any resource: a list is printed as it is walked (with a count on a terminal),
    a single answer as one line (or table); a delete prints nothing."""
    positional, keywords = call_arguments(args, params)
    async with AsyncTaskRouter(**options) as client:
        method = getattr(getattr(client, args.resource), args.operation.name)
        if args.operation.lists:
            with walk_display(args.resource.replace("_", " ")) as display:
                await printer(counted(method(*positional, **keywords), display))
        else:
            result = await method(*positional, **keywords)
            if result is not None:
                await printer(_one(result))
    return 0


async def _demo() -> int:
    await run_demo(print)
    return 0


async def _completion(shell: str) -> int:
    try:
        import shtab
    except ImportError:
        raise CLIError("completion needs shtab: pip install 'taskrouter-async[cli]'") from None
    print(shtab.complete(build_parser(file_completion=shtab.FILE), shell=shell))
    return 0
