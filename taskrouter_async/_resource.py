"""The one implementation behind every generated resource: operations as data, sent through the pipeline.

A generated resource method names its ``Operation`` record and hands over its arguments; this
module checks them (SIDs, params class, query arguments, ETag), builds the URL and body, sends
the request through the client's pipeline, and decodes the answer into the operation's model.
Lists are iterators over pages; ``update_many`` runs any update operation in bulk. Nothing here is
written per resource: what sets resources apart is in their ``Operation`` records.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any, ClassVar, Generic, Literal, TypeVar
from urllib.parse import quote, urlencode

import attrs
import httpx

from ._bulk import BulkProgress, BulkResult, BulkRun, BulkUpdate
from ._converter import ResponseShapeError, encode_form, structure_model, structure_page
from ._errors import APIResponseValidationError, ValidationError
from ._fields import QueryKind, check_encodable
from ._models import Page
from ._pagination import ItemIterator, PageHistory, PageIterator
from ._params import Params
from ._pipeline import AttemptGate, Pipeline, PreparedRequest, Reply
from ._raw_response import RawResponse
from ._sids import check_sid

__all__ = ["MAX_PAGE_SIZE", "Operation", "PathSid", "QueryParam", "Resource", "checked_etag", "form_body"]

M = TypeVar("M")
P = TypeVar("P", bound=Params)

MAX_PAGE_SIZE = 1000


@attrs.frozen
class PathSid:
    """A SID in an operation's path: the argument's name and its prefix (``None``: a SID or a unique name)."""

    name: str
    prefix: str | None


@attrs.frozen
class QueryParam:
    """A query (or JSON body) parameter: the keyword argument's name, the API's name, how it is checked, and
    the spec's description of it (the command line's ``--help`` shows it)."""

    name: str
    wire: str
    encode: QueryKind
    description: str = ""


@attrs.frozen(kw_only=True)
class Operation(Generic[M]):
    """One operation of the spec, as data: what ``Resource`` needs to send it and read its answer."""

    #: The spec's ``operationId``, such as ``UpdateTask``.
    id: str
    #: The method that sends it: ``update`` (on ``client.tasks``).
    name: str
    method: Literal["GET", "POST", "DELETE"]
    #: The path with a ``{}`` for each SID, in order: ``/v1/Workspaces/{}/Tasks/{}``.
    path: str
    sids: tuple[PathSid, ...]
    #: The model of the answer; ``None`` when there is no body (a DELETE's 204).
    model: type[M] | None = None
    #: The params class of a form body (create and update).
    params: type[Params] | None = None
    #: Keyword arguments sent in the query string.
    query: tuple[QueryParam, ...] = ()
    #: Keyword arguments sent as a JSON object body.
    json_body: tuple[QueryParam, ...] = ()
    #: Whether the operation takes If-Match (``etag=``).
    if_match: bool = False
    #: Whether it lists: the records are under ``meta.key`` and pages follow ``next_page_url``.
    lists: bool = False


class Resource:
    """The base of every resource of the client (``client.tasks``, ``client.task_reservations``...)."""

    #: The operations this resource sends, one per method (``with_raw_response`` has the same).
    operations: ClassVar[tuple[Operation[Any], ...]] = ()

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def _call(
        self,
        operation: Operation[M],
        sids: tuple[str, ...],
        params: Params | None = None,
        *,
        arguments: Mapping[str, object] | None = None,
        etag: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> RawResponse[M]:
        """Check and send one request of ``operation``; the decoded answer with its response.

        ``arguments`` are the call's keyword arguments that go into the query string or the JSON body.
        """
        pipeline = self._pipeline.with_options(timeout=timeout, max_retries=max_retries)
        reply = await _send(pipeline, operation, self._prepare(operation, sids, params, arguments, etag))
        return RawResponse(self._decode(operation, reply), reply)

    def _operation(self, name: str) -> Operation[Any]:
        """This resource's operation sent by the method ``name`` (``"update"``)."""
        (operation,) = (operation for operation in self.operations if operation.name == name)
        return operation

    def _prepare(
        self,
        operation: Operation[Any],
        sids: tuple[str, ...],
        params: Params | None,
        arguments: Mapping[str, object] | None,
        etag: str | None,
    ) -> PreparedRequest:
        """Check a request and build its URL and body, without I/O; raises ValidationError."""
        url = self._pipeline.url(_path(operation, sids))
        if operation.query and arguments:
            url += _query_string(operation.query, arguments)
        if etag is not None and not operation.if_match:
            raise ValidationError(f"{operation.id} does not take If-Match: leave out the etag")
        if operation.json_body:
            fields = _encoded(operation.json_body, arguments or {})
            return PreparedRequest(url, json.dumps(fields, separators=(",", ":")).encode(), json=True)
        body = None if operation.params is None else form_body(operation, params)
        return PreparedRequest(url, body, checked_etag(etag) if operation.if_match else None)

    def _decode(self, operation: Operation[M], reply: Reply) -> M:
        if operation.model is None:
            return None  # type: ignore[return-value]  # M is None for operations without a model
        try:
            return structure_model(_json(reply.content), operation.model, reply.headers.get("etag"))
        except ResponseShapeError as exc:
            raise _shape_error(exc, reply) from None

    # --- lists --------------------------------------------------------------------------------

    def _pages(
        self,
        operation: Operation[M],
        sids: tuple[str, ...],
        query: Mapping[str, object],
        *,
        page_size: int | None,
        page_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
    ) -> PageIterator[M]:
        """The pages of a list, one request each; arguments are checked now, before the first request.

        ``page_url`` resumes from a page's ``next_page_url`` (the filters are then in the URL).
        """
        pipeline = self._pipeline.with_options(timeout=timeout, max_retries=max_retries)
        first_url = self._first_page_url(operation, sids, query, page_size, page_url)
        return PageIterator(functools.partial(self._page, pipeline, operation), first_url)

    def _list(
        self,
        operation: Operation[M],
        sids: tuple[str, ...],
        query: Mapping[str, object],
        *,
        page_size: int | None,
        limit: int | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
    ) -> ItemIterator[M]:
        """The records of a list across pages, up to ``limit``."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValidationError(f"limit must be a non-negative integer or None, got {limit!r}")
        pages = self._pages(
            operation, sids, query, page_size=page_size, page_url=None, timeout=timeout, max_retries=max_retries
        )
        return ItemIterator(pages, limit)

    async def _page(self, pipeline: Pipeline, operation: Operation[M], url: str, history: PageHistory) -> Page[M]:
        """One page of a list; ``history`` holds the iteration's page URLs, to stop a loop of pages."""
        assert operation.model is not None
        reply = await pipeline.send("GET", url)
        try:
            items, meta = structure_page(_json(reply.content), operation.model)
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
        operation: Operation[Any],
        sids: tuple[str, ...],
        query: Mapping[str, object],
        page_size: int | None,
        page_url: str | None,
    ) -> str:
        path = _path(operation, sids)
        given = _encoded(operation.query, query)
        if page_size is not None:
            if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
                raise ValidationError(f"page_size must be an integer in 1..{MAX_PAGE_SIZE}, got {page_size!r}")
            given["PageSize"] = str(page_size)
        if page_url is None:
            return self._pipeline.url(path) + (f"?{urlencode(given, doseq=True)}" if given else "")
        if given:
            raise ValidationError("page_url already carries the filters and page size: pass it alone")
        page_url = self._pipeline.page_url(page_url)
        if not page_url.startswith(self._pipeline.url(path)):
            raise ValidationError(f"page_url is not a page of {path}")
        return page_url

    # --- bulk ---------------------------------------------------------------------------------

    def _prepare_bulk_item(self, item: object) -> PreparedRequest:
        """What ``update_many`` does with one item before sending it (SIDs, ETag, form body), without I/O."""
        return _BulkUpdater(self, self._operation("update")).prepare(item)

    def _update_many(
        self,
        operation: Operation[M],
        items: Iterable[Any] | AsyncIterable[Any],
        concurrency: int,
        on_progress: Callable[[BulkProgress], object] | None,
    ) -> BulkRun[M, Any]:
        """``update_many`` of any update operation: items are its SIDs and params, and an optional ETag."""
        return BulkRun(_BulkUpdater(self, operation), items, concurrency=concurrency, on_progress=on_progress)

    async def _update_all(
        self,
        operation: Operation[M],
        items: Iterable[Any] | AsyncIterable[Any],
        concurrency: int,
        on_progress: Callable[[BulkProgress], object] | None,
    ) -> list[BulkResult[M, Any]]:
        """Run ``update_many`` to the end and return every result in input order (all held in memory)."""
        async with self._update_many(operation, items, concurrency, on_progress) as results:
            collected = [result async for result in results]
        collected.sort(key=lambda result: result.index)
        return collected


class _BulkUpdater(Generic[M]):
    """What a bulk run needs from a resource: check one item, then send it through the pipeline."""

    def __init__(self, resource: Resource, operation: Operation[M]) -> None:
        self._resource = resource
        self._operation = operation

    def prepare(self, item: object) -> PreparedRequest:
        """Check one item (a ``BulkUpdate`` or a tuple of SIDs, params and an optional ETag); ValidationError."""
        count = len(self._operation.sids)
        if isinstance(item, BulkUpdate) and count == 3:
            sids: tuple[Any, ...] = (item.workspace_sid, item.parent_sid, item.reservation_sid)
            params, etag = item.params, item.etag
        elif isinstance(item, tuple) and len(item) in (count + 1, count + 2):
            sids, params = item[:count], item[count]
            etag = item[count + 1] if len(item) == count + 2 else None
        else:
            names = ", ".join(sid.name for sid in self._operation.sids)
            kinds = "a BulkUpdate or a " if count == 3 else "a "
            raise ValidationError(f"an item must be {kinds}({names}, params[, etag]) tuple, got {type(item).__name__}")
        return self._resource._prepare(self._operation, sids, params, None, etag)

    async def send(self, request: PreparedRequest, *, gate: AttemptGate, on_rate_limited: Callable[[], None]) -> M:
        reply = await _send(
            self._resource._pipeline, self._operation, request, gate=gate, on_rate_limited=on_rate_limited
        )
        return self._resource._decode(self._operation, reply)


async def _send(
    pipeline: Pipeline,
    operation: Operation[Any],
    request: PreparedRequest,
    *,
    gate: AttemptGate | None = None,
    on_rate_limited: Callable[[], None] | None = None,
) -> Reply:
    """Send a prepared request of ``operation`` through the pipeline: the one place a resource sends."""
    return await pipeline.send(
        operation.method,
        request.url,
        body=request.body,
        etag=request.etag,
        json=request.json,
        gate=gate,
        on_rate_limited=on_rate_limited,
    )


# --- checks and encodings, without I/O ------------------------------------------------------------


def _path(operation: Operation[Any], sids: tuple[object, ...]) -> str:
    return operation.path.format(*(_path_sid(sid, value) for sid, value in zip(operation.sids, sids, strict=True)))


def _path_sid(sid: PathSid, value: object) -> str:
    if sid.prefix is not None:
        return check_sid(value, sid.prefix, sid.name)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{sid.name} must be a SID or a unique name, got {value!r}")
    check_encodable(sid.name, value)
    return quote(value, safe="")


def _encoded(params: tuple[QueryParam, ...], given: Mapping[str, object]) -> dict[str, Any]:
    """The given (not ``None``) arguments by wire name, each checked by its kind."""
    return {
        param.wire: param.encode(param.name, given[param.name]) for param in params if given.get(param.name) is not None
    }


def _query_string(params: tuple[QueryParam, ...], given: Mapping[str, object]) -> str:
    encoded = _encoded(params, given)
    return f"?{urlencode(encoded, doseq=True)}" if encoded else ""


def form_body(operation: Operation[Any], params: Params | None) -> bytes:
    """The form body of a create or update; an update must set something (an empty one changes nothing)."""
    expected = operation.params
    assert expected is not None
    if not isinstance(params, expected):
        raise ValidationError(f"expected {expected.__name__}, got {type(params).__name__}")
    body = encode_form(params)
    if not body and operation.id.startswith("Update"):
        raise ValidationError(
            f"{type(params).__name__}() sets no field, so the update would change nothing (Twilio answers 400)"
            + getattr(params, "EMPTY_UPDATE_HINT", "")
        )
    return body


#: What an If-Match value may hold: visible ASCII, with spaces inside (``"1", "2"`` lists ETags).
#: Headers are sent as ASCII, and RFC 9110's entity-tag is made of these characters.
_ETAG = re.compile(r"[!-~](?:[ -~]*[!-~])?")


def checked_etag(etag: str | None) -> str | None:
    """``etag`` as given (sent exactly so), if it can be a header value; else ValidationError."""
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
