"""The typed faces of ``Reservations``: one protocol per kind, spelling its signatures with its own names.

``client.task_reservations`` is a ``TaskReservations`` (the parent is ``task_sid``) and
``client.worker_reservations`` a ``WorkerReservations`` (``worker_sid``); the object behind both is
the one ``Reservations`` implementation. Typing only: nothing here runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from typing import Protocol, TypeVar

import httpx

from ._bulk import DEFAULT_CONCURRENCY, BulkItem, BulkProgress, BulkResult, BulkRun
from ._enums import ReservationStatus
from ._models import Reservation, TaskReservation, WorkerReservation
from ._pagination import ItemIterator, PageIterator
from ._params import ReservationUpdate, TaskReservationUpdate, WorkerReservationUpdate
from ._raw_response import RawResponse

__all__ = [
    "TaskReservations",
    "TaskReservationsWithRawResponse",
    "WorkerReservations",
    "WorkerReservationsWithRawResponse",
]

R = TypeVar("R", bound=Reservation)
U = TypeVar("U", bound=ReservationUpdate)


class _BothKinds(Protocol[R, U]):
    """What task and worker reservations share, whatever their parent is called."""

    def update_many(
        self,
        items: Iterable[BulkItem[U]] | AsyncIterable[BulkItem[U]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Callable[[BulkProgress], object] | None = None,
    ) -> BulkRun[R, U]:
        """Update many reservations concurrently (see ``Reservations.update_many``)."""
        ...

    async def update_all(
        self,
        items: Iterable[BulkItem[U]] | AsyncIterable[BulkItem[U]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Callable[[BulkProgress], object] | None = None,
    ) -> list[BulkResult[R, U]]:
        """Run ``update_many`` to the end; every result in input order."""
        ...

    def encode(self, params: U) -> bytes:
        """The form body ``update`` sends for ``params``."""
        ...


class TaskReservationsWithRawResponse(Protocol):
    """``client.task_reservations.with_raw_response``: the same calls, returning ``RawResponse``s."""

    async def fetch(
        self,
        workspace_sid: str,
        task_sid: str,
        reservation_sid: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> RawResponse[TaskReservation]:
        """Fetch one reservation, with its status, headers and request id."""
        ...

    async def update(
        self,
        workspace_sid: str,
        task_sid: str,
        reservation_sid: str,
        params: TaskReservationUpdate,
        *,
        etag: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> RawResponse[TaskReservation]:
        """Update one reservation, with its status, headers and request id."""
        ...


class WorkerReservationsWithRawResponse(Protocol):
    """``client.worker_reservations.with_raw_response``: the same calls, returning ``RawResponse``s."""

    async def fetch(
        self,
        workspace_sid: str,
        worker_sid: str,
        reservation_sid: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> RawResponse[WorkerReservation]:
        """Fetch one reservation, with its status, headers and request id."""
        ...

    async def update(
        self,
        workspace_sid: str,
        worker_sid: str,
        reservation_sid: str,
        params: WorkerReservationUpdate,
        *,
        etag: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> RawResponse[WorkerReservation]:
        """Update one reservation, with its status, headers and request id."""
        ...


class TaskReservations(_BothKinds[TaskReservation, TaskReservationUpdate], Protocol):
    """The type of ``client.task_reservations``: reservations of a task, whose SID is ``task_sid`` (``WT…``).

    Arguments go by position or by name: ``fetch(workspace_sid=..., task_sid=..., reservation_sid=...)``.
    ``timeout=`` and ``max_retries=`` set that one call's options. A typing-only protocol: the object
    is a ``Reservations``, the one implementation of both kinds.
    """

    @property
    def with_raw_response(self) -> TaskReservationsWithRawResponse:
        """The same fetch and update, returning the HTTP status, headers and request id with the model."""
        ...

    async def fetch(
        self,
        workspace_sid: str,
        task_sid: str,
        reservation_sid: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> TaskReservation:
        """Fetch one reservation; its ``etag`` is set when the API sends an ETag."""
        ...

    async def update(
        self,
        workspace_sid: str,
        task_sid: str,
        reservation_sid: str,
        params: TaskReservationUpdate,
        *,
        etag: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> TaskReservation:
        """Update one reservation; with ``etag``, only if it is unchanged since (If-Match)."""
        ...

    def pages(
        self,
        workspace_sid: str,
        task_sid: str,
        *,
        reservation_status: ReservationStatus | str | None = None,
        worker_sid: str | None = None,
        page_size: int | None = None,
        page_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> PageIterator[TaskReservation]:
        """The task's reservations a page at a time; ``worker_sid`` keeps one worker's."""
        ...

    def list(
        self,
        workspace_sid: str,
        task_sid: str,
        *,
        reservation_status: ReservationStatus | str | None = None,
        worker_sid: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> ItemIterator[TaskReservation]:
        """The task's reservations across pages, up to ``limit``; ``worker_sid`` keeps one worker's."""
        ...


class WorkerReservations(_BothKinds[WorkerReservation, WorkerReservationUpdate], Protocol):
    """The type of ``client.worker_reservations``: reservations of a worker, whose SID is ``worker_sid`` (``WK…``).

    Arguments go by position or by name: ``fetch(workspace_sid=..., worker_sid=..., reservation_sid=...)``.
    ``timeout=`` and ``max_retries=`` set that one call's options. A typing-only protocol: the object
    is a ``Reservations``, the one implementation of both kinds.
    """

    @property
    def with_raw_response(self) -> WorkerReservationsWithRawResponse:
        """The same fetch and update, returning the HTTP status, headers and request id with the model."""
        ...

    async def fetch(
        self,
        workspace_sid: str,
        worker_sid: str,
        reservation_sid: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> WorkerReservation:
        """Fetch one reservation; its ``etag`` is set when the API sends an ETag."""
        ...

    async def update(
        self,
        workspace_sid: str,
        worker_sid: str,
        reservation_sid: str,
        params: WorkerReservationUpdate,
        *,
        etag: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> WorkerReservation:
        """Update one reservation; with ``etag``, only if it is unchanged since (If-Match)."""
        ...

    def pages(
        self,
        workspace_sid: str,
        worker_sid: str,
        *,
        reservation_status: ReservationStatus | str | None = None,
        page_size: int | None = None,
        page_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> PageIterator[WorkerReservation]:
        """The worker's reservations a page at a time."""
        ...

    def list(
        self,
        workspace_sid: str,
        worker_sid: str,
        *,
        reservation_status: ReservationStatus | str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> ItemIterator[WorkerReservation]:
        """The worker's reservations across pages, up to ``limit``."""
        ...
