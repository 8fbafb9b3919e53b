"""The one implementation of fetch, list and update, for task and worker reservations alike.

The two kinds differ only in data: the parent path segment, SID prefix and argument name
(``task_sid`` or ``worker_sid``), whether the ``worker_sid`` list filter applies, and which model
and update class they use. ``TaskReservations`` and ``WorkerReservations`` are the typed faces
of that one class: protocols that spell each kind's signatures with its own parent name.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlencode

import attrs
import httpx

from ._bulk import DEFAULT_CONCURRENCY, BulkItem, BulkProgress, BulkResult, BulkRun
from ._converter import ResponseShapeError, encode_form, structure_page, structure_reservation
from ._enums import ReservationStatus
from ._errors import APIResponseValidationError, ValidationError
from ._models import Page, Reservation, TaskReservation, WorkerReservation
from ._pagination import ItemIterator, PageHistory, PageIterator
from ._params import ReservationUpdate, TaskReservationUpdate, WorkerReservationUpdate
from ._pipeline import AttemptGate, Pipeline, PreparedUpdate, Reply
from ._raw_response import RawResponse
from ._resource_types import TaskReservations, WorkerReservations
from ._sids import check_sid

__all__ = [
    "TASK",
    "WORKER",
    "RawReservations",
    "ReservationKind",
    "Reservations",
    "TaskReservations",
    "WorkerReservations",
    "task_reservations",
    "worker_reservations",
]

R = TypeVar("R", bound=Reservation)
U = TypeVar("U", bound=ReservationUpdate)
F = TypeVar("F", bound=Callable[..., Any])
#: What ``_parent_by_kind_name`` wraps methods of (it reads their ``_kind``).
_Resource = Any

MAX_PAGE_SIZE = 1000


@attrs.frozen
class ReservationKind(Generic[R, U]):
    """What sets task reservations apart from worker reservations."""

    parent_segment: str
    parent_prefix: str
    #: What callers call the parent SID, positionally or as a keyword: ``task_sid`` or ``worker_sid``.
    parent_name: str
    filters_by_worker: bool
    model: type[R]
    update_params: type[U]


TASK = ReservationKind("Tasks", "WT", "task_sid", True, TaskReservation, TaskReservationUpdate)
WORKER = ReservationKind("Workers", "WK", "worker_sid", False, WorkerReservation, WorkerReservationUpdate)


def _parent_by_kind_name(method: F) -> F:
    """Take the parent SID under the kind's own name too (``task_sid=``/``worker_sid=``), as ``parent_sid``.

    Coroutine methods stay coroutine functions, so ``inspect`` and ``mock.create_autospec`` see them as such.
    """

    def renamed(self: _Resource, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        name = self._kind.parent_name
        if name in kwargs:
            if len(args) > 1 or "parent_sid" in kwargs:
                raise TypeError(f"{method.__name__}() got multiple values for argument {name!r}")
            kwargs["parent_sid"] = kwargs.pop(name)
        return kwargs

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def call_async(self: _Resource, /, *args: Any, **kwargs: Any) -> Any:
            return await method(self, *args, **renamed(self, args, kwargs))

        return cast(F, call_async)

    @functools.wraps(method)
    def call(self: _Resource, /, *args: Any, **kwargs: Any) -> Any:
        return method(self, *args, **renamed(self, args, kwargs))

    return cast(F, call)


class Reservations(Generic[R, U]):
    """Fetch, list and update the reservations of one task (``client.task_reservations``) or one
    worker (``client.worker_reservations``). The parent is a task SID or a worker SID accordingly,
    given by position or by its name (see ``TaskReservations`` and ``WorkerReservations``).
    """

    def __init__(self, pipeline: Pipeline, kind: ReservationKind[R, U]) -> None:
        self._pipeline = pipeline
        self._kind = kind

    @property
    def with_raw_response(self) -> RawReservations[R, U]:
        """The same fetch and update, returning a ``RawResponse``: status, headers and request id too."""
        return RawReservations(self)

    @_parent_by_kind_name
    async def fetch(
        self,
        workspace_sid: str,
        parent_sid: str,
        reservation_sid: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> R:
        """Fetch one reservation; its ``etag`` is set when the API sends an ETag."""
        return (await self._fetch(workspace_sid, parent_sid, reservation_sid, timeout, max_retries)).parse()

    @_parent_by_kind_name
    async def update(
        self,
        workspace_sid: str,
        parent_sid: str,
        reservation_sid: str,
        params: U,
        *,
        etag: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> R:
        """Update one reservation. With ``etag``, the API applies it only if the reservation is unchanged
        since that ETag was read (If-Match), and raises PreconditionFailedError otherwise."""
        raw = await self._update(workspace_sid, parent_sid, reservation_sid, params, etag, timeout, max_retries)
        return raw.parse()

    async def _fetch(
        self,
        workspace_sid: str,
        parent_sid: str,
        reservation_sid: str,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
    ) -> RawResponse[R]:
        pipeline = self._pipeline.with_options(timeout=timeout, max_retries=max_retries)
        url = pipeline.url(self._instance_path(workspace_sid, parent_sid, reservation_sid))
        reply = await pipeline.send("GET", url)
        return RawResponse(self._reservation(reply), reply)

    async def _update(
        self,
        workspace_sid: str,
        parent_sid: str,
        reservation_sid: str,
        params: U,
        etag: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
    ) -> RawResponse[R]:
        pipeline = self._pipeline.with_options(timeout=timeout, max_retries=max_retries)
        request = self._prepare_update(workspace_sid, parent_sid, reservation_sid, params, etag)
        reply = await pipeline.send("POST", request.url, body=request.body, etag=request.etag)
        return RawResponse(self._reservation(reply), reply)

    def _prepare_update(
        self, workspace_sid: str, parent_sid: str, reservation_sid: str, params: U, etag: str | None
    ) -> PreparedUpdate:
        """Check an update and build its URL and body, without I/O; raises ValidationError."""
        url = self._pipeline.url(self._instance_path(workspace_sid, parent_sid, reservation_sid))
        return PreparedUpdate(url=url, body=self.encode(params), etag=_etag(etag))

    async def _send_update(
        self,
        request: PreparedUpdate,
        *,
        gate: AttemptGate | None = None,
        on_rate_limited: Callable[[], None] | None = None,
    ) -> R:
        """Send a prepared update through the client's pipeline (and its retries); return the reservation."""
        reply = await self._pipeline.send(
            "POST", request.url, body=request.body, etag=request.etag, gate=gate, on_rate_limited=on_rate_limited
        )
        return self._reservation(reply)

    def update_many(
        self,
        items: Iterable[BulkItem[U]] | AsyncIterable[BulkItem[U]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Callable[[BulkProgress], object] | None = None,
    ) -> BulkRun[R, U]:
        """Update many reservations concurrently; use as ``async with ... as results: async for r in results``.

        ``items`` are ``BulkUpdate`` objects or ``(workspace_sid, parent_sid, reservation_sid, params[, etag])``
        tuples, read lazily. Results arrive as requests complete, one per item, each with the item's
        ``index``; an item that fails (bad input included) yields a result with ``error`` set. At most
        ``concurrency`` requests are in flight, fewer while the API answers 429 (see ``BulkRun``).
        Leaving the block early cancels the requests still in flight and reads no more items.
        """
        return BulkRun(self, items, concurrency=concurrency, on_progress=on_progress)

    async def update_all(
        self,
        items: Iterable[BulkItem[U]] | AsyncIterable[BulkItem[U]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Callable[[BulkProgress], object] | None = None,
    ) -> list[BulkResult[R, U]]:
        """Run ``update_many`` to the end and return every result in input order (all held in memory)."""
        async with self.update_many(items, concurrency=concurrency, on_progress=on_progress) as results:
            collected = [result async for result in results]
        collected.sort(key=lambda result: result.index)
        return collected

    def encode(self, params: U) -> bytes:
        """The form body ``update`` sends for ``params``; checks they are this kind's update class and set
        something (an empty update changes nothing: Twilio answers 400)."""
        if not isinstance(params, self._kind.update_params):
            raise ValidationError(f"expected {self._kind.update_params.__name__}, got {type(params).__name__}")
        body = encode_form(params)
        if not body:
            raise ValidationError(
                f"{type(params).__name__}() sets no field, so the update would change nothing (Twilio answers 400): "
                "set reservation_status or instruction, or use a helper such as accept()"
            )
        return body

    @_parent_by_kind_name
    def pages(
        self,
        workspace_sid: str,
        parent_sid: str,
        *,
        reservation_status: ReservationStatus | str | None = None,
        worker_sid: str | None = None,
        page_size: int | None = None,
        page_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> PageIterator[R]:
        """Iterate over the pages of a list (``async for page in ...``), one request per page.

        ``page_url`` resumes from a page's ``next_page_url`` (the filters are then in the URL).
        Arguments are checked now, before the first request.
        """
        pipeline = self._pipeline.with_options(timeout=timeout, max_retries=max_retries)
        first_url = self._first_page_url(workspace_sid, parent_sid, reservation_status, worker_sid, page_size, page_url)
        return PageIterator(functools.partial(self._page, pipeline), first_url)

    @_parent_by_kind_name
    def list(
        self,
        workspace_sid: str,
        parent_sid: str,
        *,
        reservation_status: ReservationStatus | str | None = None,
        worker_sid: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> ItemIterator[R]:
        """Iterate over reservations across pages, stopping after ``limit`` items if given.

        ``worker_sid`` filters task reservations by worker; worker reservations do not take it.
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValidationError(f"limit must be a non-negative integer or None, got {limit!r}")
        pipeline = self._pipeline.with_options(timeout=timeout, max_retries=max_retries)
        first_url = self._first_page_url(workspace_sid, parent_sid, reservation_status, worker_sid, page_size, None)
        return ItemIterator(PageIterator(functools.partial(self._page, pipeline), first_url), limit)

    async def _page(self, pipeline: Pipeline, url: str, history: PageHistory) -> Page[R]:
        """One page of a list; ``history`` holds the iteration's page URLs, to stop a loop of pages."""
        reply = await pipeline.send("GET", url)
        try:
            items, meta = structure_page(_json(reply.content), self._kind.model)
            next_url = None
            if meta.next_page_url:  # null or "": the last page
                next_url = self._next_page_url(meta.next_page_url, reply.url)
                if history.seen(next_url):
                    raise ResponseShapeError("next_page_url points back at a page this list already read (a loop)")
        except ResponseShapeError as exc:
            raise _shape_error(exc, reply) from None
        return Page(items=items, meta=attrs.evolve(meta, next_page_url=next_url))

    def _next_page_url(self, url: str, page_url: str) -> str:
        """The absolute, normalised URL to request for a next page (see ``Pipeline.page_url``); a relative
        one is resolved against the page's."""
        try:
            return self._pipeline.page_url(str(httpx.URL(page_url).join(url)))
        except (httpx.InvalidURL, UnicodeError, ValidationError) as exc:
            raise ResponseShapeError(f"next_page_url is unsafe: {exc}") from None

    def _first_page_url(
        self,
        workspace_sid: str,
        parent_sid: str,
        reservation_status: ReservationStatus | str | None,
        worker_sid: str | None,
        page_size: int | None,
        page_url: str | None,
    ) -> str:
        path = self._list_path(workspace_sid, parent_sid)
        query: dict[str, str] = {}
        if reservation_status is not None:
            try:
                query["ReservationStatus"] = ReservationStatus(reservation_status).value
            except ValueError:
                raise ValidationError(f"{reservation_status!r} is not a ReservationStatus") from None
        if worker_sid is not None:
            if not self._kind.filters_by_worker:
                raise ValidationError("worker_sid filters task reservations only; these are already one worker's")
            query["WorkerSid"] = check_sid(worker_sid, "WK", "worker_sid")
        if page_size is not None:
            if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
                raise ValidationError(f"page_size must be an integer in 1..{MAX_PAGE_SIZE}, got {page_size!r}")
            query["PageSize"] = str(page_size)
        if page_url is None:
            return self._pipeline.url(path) + (f"?{urlencode(query)}" if query else "")
        if query:
            raise ValidationError("page_url already carries the filters and page size: pass it alone")
        page_url = self._pipeline.page_url(page_url)
        if not page_url.startswith(self._pipeline.url(path)):
            raise ValidationError(f"page_url is not a page of {path}")
        return page_url

    def _list_path(self, workspace_sid: str, parent_sid: str) -> str:
        kind = self._kind
        return (
            f"/v1/Workspaces/{check_sid(workspace_sid, 'WS', 'workspace_sid')}"
            f"/{kind.parent_segment}/{check_sid(parent_sid, kind.parent_prefix, kind.parent_name)}/Reservations"
        )

    def _instance_path(self, workspace_sid: str, parent_sid: str, reservation_sid: str) -> str:
        sid = check_sid(reservation_sid, "WR", "reservation_sid")
        return f"{self._list_path(workspace_sid, parent_sid)}/{sid}"

    def _reservation(self, reply: Reply) -> R:
        try:
            return structure_reservation(_json(reply.content), self._kind.model, reply.headers.get("etag"))
        except ResponseShapeError as exc:
            raise _shape_error(exc, reply) from None


class RawReservations(Generic[R, U]):
    """``with_raw_response``: fetch and update of one ``Reservations``, returning ``RawResponse``s."""

    def __init__(self, reservations: Reservations[R, U]) -> None:
        self._reservations = reservations
        self._kind = reservations._kind

    @_parent_by_kind_name
    async def fetch(
        self,
        workspace_sid: str,
        parent_sid: str,
        reservation_sid: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> RawResponse[R]:
        """Fetch one reservation, with the response's status, headers and request id."""
        return await self._reservations._fetch(workspace_sid, parent_sid, reservation_sid, timeout, max_retries)

    @_parent_by_kind_name
    async def update(
        self,
        workspace_sid: str,
        parent_sid: str,
        reservation_sid: str,
        params: U,
        *,
        etag: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> RawResponse[R]:
        """Update one reservation, with the response's status, headers and request id."""
        return await self._reservations._update(
            workspace_sid, parent_sid, reservation_sid, params, etag, timeout, max_retries
        )


def task_reservations(pipeline: Pipeline) -> TaskReservations:
    """``client.task_reservations``: the one implementation, seen through the task kind's signatures."""
    return cast(TaskReservations, Reservations(pipeline, TASK))


def worker_reservations(pipeline: Pipeline) -> WorkerReservations:
    """``client.worker_reservations``: the one implementation, seen through the worker kind's signatures."""
    return cast(WorkerReservations, Reservations(pipeline, WORKER))


#: What an If-Match value may hold: visible ASCII, with spaces inside (``"1", "2"`` lists ETags).
#: Headers are sent as ASCII, and RFC 9110's entity-tag is made of these characters.
_ETAG = re.compile(r"[!-~](?:[ -~]*[!-~])?")


def _etag(etag: str | None) -> str | None:
    if etag is not None and (not isinstance(etag, str) or not _ETAG.fullmatch(etag)):
        raise ValidationError(
            "etag must be an ETag as the API sent it: non-empty printable ASCII on one line, "
            f"such as '\"3\"' or 'W/\"3\"', got {etag!r}"
        )
    return etag


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep to parse
        raise ResponseShapeError(f"the body is not JSON ({exc})") from None


def _shape_error(exc: ResponseShapeError, reply: Reply) -> APIResponseValidationError:
    response = reply.http_response()
    return APIResponseValidationError(
        f"unexpected response to {reply.method} {response.request.url.path}: {exc}", response=response
    )
