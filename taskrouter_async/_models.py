"""Resources returned by the API: reservations and list pages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from ._enums import ReservationStatus

__all__ = ["Page", "PageMeta", "Reservation", "TaskReservation", "WorkerReservation"]


@attrs.frozen(kw_only=True)
class Reservation:
    """A reservation of a worker for a task, as the API returns it. Every field may be ``None``."""

    account_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    #: A ``ReservationStatus`` when known; a plain ``str`` for values newer than this library.
    reservation_status: ReservationStatus | str | None = None
    sid: str | None = None
    task_sid: str | None = None
    worker_name: str | None = None
    worker_sid: str | None = None
    workspace_sid: str | None = None
    url: str | None = None
    #: URLs of the related task, worker and workspace, by name.
    links: Mapping[str, str] | None = attrs.field(default=None, hash=False)
    #: The response's ETag header, when the API sent one: pass it as ``etag=`` to update.
    etag: str | None = None


@attrs.frozen(kw_only=True)
class TaskReservation(Reservation):
    """A reservation reached through its task: ``/Tasks/{task_sid}/Reservations/{sid}``."""


@attrs.frozen(kw_only=True)
class WorkerReservation(Reservation):
    """A reservation reached through its worker: ``/Workers/{worker_sid}/Reservations/{sid}``."""


@attrs.frozen(kw_only=True)
class PageMeta:
    """The ``meta`` object of a list response."""

    key: str
    url: str | None = None
    first_page_url: str | None = None
    next_page_url: str | None = None
    previous_page_url: str | None = None
    page: int | None = None
    page_size: int | None = None


R = TypeVar("R", bound=Reservation)


@attrs.frozen(kw_only=True)
class Page(Generic[R]):
    """One page of a list: its reservations and where the next page is."""

    items: tuple[R, ...]
    meta: PageMeta

    @property
    def next_page_url(self) -> str | None:
        """The URL of the next page, or ``None`` on the last page; pass it to ``pages(page_url=...)``."""
        return self.meta.next_page_url
