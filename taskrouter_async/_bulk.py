"""Concurrent bulk updates: ``update_many`` and ``update_all`` of every resource that updates.

One run is a task group inside ``async with``: ``concurrency`` workers each read the next item
(lazily, one at a time) and update it; results flow back through a bounded memory stream in
completion order. Every request goes through the client's one pipeline, so retries are the
client's, and every attempt, retries included, holds a slot of the adaptive limit while it is in
flight. The number of slots adapts to 429s (see ``BulkRun``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, NoReturn, Protocol, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._errors import APIStatusError, RateLimitError, TaskRouterError, ValidationError
from ._params import Params
from ._pipeline import AttemptGate, PreparedRequest

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BulkItem",
    "BulkProgress",
    "BulkResult",
    "BulkRun",
    "BulkUpdate",
    "WorkspaceBulkItem",
]

R = TypeVar("R")
U = TypeVar("U", bound=Params)
R_co = TypeVar("R_co", covariant=True)

#: Requests in flight at once when ``concurrency`` is not given.
DEFAULT_CONCURRENCY = 10


@attrs.frozen
class BulkUpdate(Generic[U]):
    """One update for ``update_many``: the reservation's address, the params and an optional If-Match ETag."""

    workspace_sid: str
    parent_sid: str
    reservation_sid: str
    params: U
    etag: str | None = attrs.field(default=None, kw_only=True)


#: What ``update_many`` of reservations (and worker channels) accepts per item: a ``BulkUpdate``, or the
#: same fields as a plain tuple.
BulkItem = BulkUpdate[U] | tuple[str, str, str, U] | tuple[str, str, str, U, str | None]
#: What ``update_many`` of tasks, workers and the other workspace resources accepts per item:
#: ``(workspace_sid, sid, params)`` or ``(workspace_sid, sid, params, etag)``.
WorkspaceBulkItem = tuple[str, str, U] | tuple[str, str, U, str | None]


@attrs.frozen(kw_only=True)
class BulkResult(Generic[R, U]):
    """The outcome of one item: ``result`` on success, else ``error``. ``item`` is the input object itself."""

    index: int
    item: Any
    #: The updated resource, as the API answered.
    result: R | None = None
    error: TaskRouterError | None = None

    @property
    def reservation(self) -> R | None:
        """``result``, by the name bulk updates of reservations have always used."""
        return self.result

    @property
    def ok(self) -> bool:
        """Whether the update succeeded."""
        return self.error is None


@attrs.frozen(kw_only=True)
class BulkProgress:
    """A snapshot for progress bars, passed to ``on_progress`` before each result is handed out."""

    done: int
    succeeded: int
    failed: int
    #: Requests in flight now (retries included).
    in_flight: int
    #: The current limit on requests in flight (lower than asked while the API answers 429).
    concurrency: int
    #: 429 answers so far; each one made its request wait (Retry-After or back-off) before a retry.
    rate_limited: int = 0


class _AdaptiveLimit:
    """AIMD on a CapacityLimiter; the rule is in ``BulkRun``'s docstring. The pipeline holds one slot per
    attempt (it is the ``AttemptGate`` of every request of the run), so after a halving even retries
    of requests already under way wait for a slot."""

    def __init__(self, maximum: int) -> None:
        self.limiter = anyio.CapacityLimiter(maximum)
        self.maximum = maximum
        self.generation = 0
        self.rate_limited_count = 0
        self._successes = 0

    @property
    def current(self) -> int:
        return int(self.limiter.total_tokens)

    async def acquire(self) -> None:
        try:
            self.limiter.acquire_nowait()  # uncontended: no trip through the event loop
        except anyio.WouldBlock:
            await self.limiter.acquire()

    def release(self) -> None:
        self.limiter.release()

    def rate_limited(self, sent_in_generation: int) -> None:
        self.rate_limited_count += 1
        if sent_in_generation != self.generation:
            return
        self.generation += 1
        self._successes = 0
        self.limiter.total_tokens = max(1, self.current // 2)

    def succeeded(self) -> None:
        """A request the API answered without a 429 (an error status included): additive increase."""
        current = self.current
        if current >= self.maximum:
            return
        self._successes += 1
        if self._successes >= current:
            self._successes = 0
            self.limiter.total_tokens = current + 1


@attrs.frozen
class _Failure:
    """An exception that is not an item's API error (the input iterator failed, or a bug): ends the run."""

    exception: Exception


_Message = BulkResult[R, U] | _Failure


class _Updater(Protocol[R_co]):
    """What a bulk run needs from a resource's update operation: check an item, then send it."""

    def prepare(self, item: object) -> PreparedRequest: ...

    async def send(
        self, request: PreparedRequest, *, gate: AttemptGate, on_rate_limited: Callable[[], None]
    ) -> R_co: ...


class BulkRun(Generic[R, U]):
    """A running ``update_many``: ``async with`` starts it and gives the results; leaving stops it.

    At most ``concurrency`` requests are in flight, each attempt (retries included) holding a slot,
    and at most ``concurrency`` items are read ahead of their results being handed out.

    429 handling, AIMD: a 429 halves the limit (minimum 1), once per round of requests (a 429
    answering a request sent before the last halving does not halve again); then every ``limit``
    answers that are not 429s (successes, and errors such as 412) raise it by one, back up to
    ``concurrency``. The client's own retries (with Retry-After) still apply to each request.
    """

    def __init__(
        self,
        updater: _Updater[R],
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int,
        on_progress: Callable[[BulkProgress], object] | None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(f"concurrency must be a positive integer, got {concurrency!r}")
        if not isinstance(items, (Iterable, AsyncIterable)):
            raise ValidationError(f"items must be an iterable or an async iterable, got {type(items).__name__}")
        if on_progress is not None and (not callable(on_progress) or inspect.iscoroutinefunction(on_progress)):
            raise ValidationError(f"on_progress must be a plain (not async) callable, got {on_progress!r}")
        self._updater = updater
        self._items = items
        self._limit = _AdaptiveLimit(concurrency)
        self._on_progress = on_progress
        self._task_group: TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[_Message[R, U]] | None = None
        self._results: _Results[R, U] | None = None

    def __aiter__(self) -> NoReturn:
        """``async for`` straight over the run: a TypeError that shows the ``async with`` it needs."""
        raise TypeError(
            "update_many() gives a context manager, not an iterator: it stops its requests when the block ends. "
            "Use: async with client.task_reservations.update_many(items) as results: "
            "async for result in results: ..."
        )

    @property
    def progress(self) -> BulkProgress:
        """The run's numbers now: for a display that refreshes on its own clock, not only at each result."""
        if self._results is None:
            return _snapshot(self._limit, succeeded=0, failed=0)
        return self._results.progress()

    async def __aenter__(self) -> AsyncIterator[BulkResult[R, U]]:
        if self._task_group is not None:
            raise RuntimeError("a BulkRun can be entered only once")
        send, receive = anyio.create_memory_object_stream[_Message[R, U]](self._limit.maximum)
        source: _Source[U] = _Source(self._items)
        self._receive = receive
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        with send:
            for _ in range(self._limit.maximum):
                self._task_group.start_soon(self._work, source, send.clone())
        self._results = _Results(receive, self._limit, self._on_progress)
        return self._results

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        # The block's own exception (if any) propagates unwrapped: the task group only sees it end.
        assert self._task_group is not None
        assert self._receive is not None
        self._task_group.cancel_scope.cancel()
        try:
            await self._task_group.__aexit__(None, None, None)
        finally:
            self._receive.close()

    async def _work(self, source: _Source[U], send: MemoryObjectSendStream[_Message[R, U]]) -> None:
        """One of ``concurrency`` workers: read the next item, update it, hand over the result.

        A worker waits for its result to be taken before it reads on, so a slow reader holds back new requests.
        """
        with send:
            while True:
                message = await self._next_result(source)
                if message is None:
                    return
                try:
                    send.send_nowait(message)
                except anyio.WouldBlock:
                    await send.send(message)

    async def _next_result(self, source: _Source[U]) -> _Message[R, U] | None:
        """The outcome of the next item, or None when the input is done."""
        try:
            pulled = await source.next()
        except Exception as exc:
            return _Failure(exc)
        if pulled is None:
            return None
        index, item = pulled
        try:
            request = self._updater.prepare(item)
        except Exception as exc:  # whatever one item's preparation raises is that item's error, not the run's
            return BulkResult(index=index, item=item, error=_item_error(exc))
        limit = self._limit
        sent_in = limit.generation

        def rate_limited() -> None:
            nonlocal sent_in
            limit.rate_limited(sent_in)
            sent_in = limit.generation  # a retry goes out after this 429's halving

        try:
            result = await self._updater.send(request, gate=limit, on_rate_limited=rate_limited)
        except TaskRouterError as exc:
            if isinstance(exc, APIStatusError) and not isinstance(exc, RateLimitError):
                limit.succeeded()  # answered without a 429 (a 404, a 412...): the API had room for it
            return BulkResult(index=index, item=item, error=exc)
        except Exception as exc:
            return _Failure(exc)
        limit.succeeded()
        return BulkResult(index=index, item=item, result=result)


class _Source(Generic[U]):
    """The input, shared by the workers: numbered items, read one at a time, lazily.

    An async iterator is read under a lock (two ``anext`` at once would fail); a sync one needs
    none. After the end, or an error, every worker is told the input is done.
    """

    def __init__(self, items: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(items, AsyncIterable):
            self._async = aiter(items)
        else:
            self._sync = iter(items)
        self._lock = anyio.Lock(fast_acquire=True)
        self._index = 0
        self._done = False

    async def next(self) -> tuple[int, Any] | None:
        if self._async is None:
            return self._take(self._sync)
        async with self._lock:
            if self._done:
                return None
            try:
                item = await self._async.__anext__()
            except StopAsyncIteration:
                self._done = True
                return None
            except Exception:
                self._done = True
                raise
            return self._numbered(item)

    def _take(self, iterator: Iterator[Any] | None) -> tuple[int, Any] | None:
        if self._done or iterator is None:
            return None
        try:
            item = next(iterator)
        except StopIteration:
            self._done = True
            return None
        except Exception:
            self._done = True
            raise
        return self._numbered(item)

    def _numbered(self, item: Any) -> tuple[int, Any]:
        index = self._index
        self._index += 1
        return index, item


class _Results(Generic[R, U]):
    """The consumer's side: results in completion order; raises what ended the run abnormally."""

    def __init__(
        self,
        receive: MemoryObjectReceiveStream[_Message[R, U]],
        limit: _AdaptiveLimit,
        on_progress: Callable[[BulkProgress], object] | None,
    ) -> None:
        self._receive = receive
        self._limit = limit
        self._on_progress = on_progress
        self._succeeded = 0
        self._failed = 0

    def __aiter__(self) -> _Results[R, U]:
        return self

    async def __anext__(self) -> BulkResult[R, U]:
        try:
            try:
                message = self._receive.receive_nowait()  # a result is often waiting already
            except anyio.WouldBlock:
                message = await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
        if isinstance(message, _Failure):
            raise message.exception
        if message.ok:
            self._succeeded += 1
        else:
            self._failed += 1
        if self._on_progress is not None:
            self._on_progress(self.progress())
        return message

    def progress(self) -> BulkProgress:
        return _snapshot(self._limit, succeeded=self._succeeded, failed=self._failed)


def _snapshot(limit: _AdaptiveLimit, *, succeeded: int, failed: int) -> BulkProgress:
    return BulkProgress(
        done=succeeded + failed,
        succeeded=succeeded,
        failed=failed,
        in_flight=limit.limiter.borrowed_tokens,
        concurrency=limit.current,
        rate_limited=limit.rate_limited_count,
    )


def _item_error(exc: Exception) -> TaskRouterError:
    """The error result of an item that could not be prepared: ours as raised, anything else as a
    ValidationError that names it and keeps it as ``__cause__``."""
    if isinstance(exc, TaskRouterError):
        return exc
    error = ValidationError(f"the item cannot be sent: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
