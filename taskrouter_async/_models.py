"""Resources returned by the API: reservations and list pages.

Data only: turning them into JSON (``to_dict``, ``to_json``, FastAPI/pydantic) is the converter's job;
the methods here delegate to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ._enums import ReservationStatus

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

__all__ = ["Page", "PageMeta", "Reservation", "TaskReservation", "WorkerReservation"]


class _Model:
    """Serialisation shared by every model, delegated to the converter."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data with the API's keys: dates as the API writes them, enums as their values."""
        from ._converter import unstructure_model  # the converter imports this module

        return unstructure_model(self)

    def to_json(self, *, indent: int | None = None) -> str:
        """``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)


@attrs.frozen(kw_only=True)
class Reservation(_Model):
    """A reservation of a worker for a task, as the API returns it.

    The identity and state of a reservation are always set; a response without them is an
    ``APIResponseValidationError``. ``worker_name``, ``url``, ``links`` and ``etag`` may be ``None``.
    """

    account_sid: str
    date_created: datetime
    date_updated: datetime
    #: A ``ReservationStatus`` when known; a plain ``str`` for values newer than this library.
    reservation_status: ReservationStatus | str
    sid: str
    task_sid: str
    worker_name: str | None = None
    worker_sid: str
    workspace_sid: str
    url: str | None = None
    #: URLs of the related task, worker and workspace, by name.
    links: Mapping[str, str] | None = attrs.field(default=None, hash=False)
    #: The response's ETag header, when the API sent one: pass it as ``etag=`` to update.
    etag: str | None = None

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[Any], handler: GetCoreSchemaHandler) -> CoreSchema:
        """Lets pydantic, and so FastAPI, return reservations as the API's JSON (``-> TaskReservation``)."""
        from ._converter import pydantic_core_schema

        return pydantic_core_schema(cls)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The JSON schema of ``to_dict()``'s output, for OpenAPI documents."""
        from ._converter import reservation_json_schema

        return reservation_json_schema(cls)


@attrs.frozen(kw_only=True)
class TaskReservation(Reservation):
    """A reservation reached through its task: ``/Tasks/{task_sid}/Reservations/{sid}``."""


@attrs.frozen(kw_only=True)
class WorkerReservation(Reservation):
    """A reservation reached through its worker: ``/Workers/{worker_sid}/Reservations/{sid}``."""


@attrs.frozen(kw_only=True)
class PageMeta(_Model):
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
class Page(_Model, Generic[R]):
    """One page of a list: its reservations and where the next page is.

    ``to_dict()`` gives the API's list JSON: ``meta`` and the records under ``meta.key``.
    """

    items: tuple[R, ...]
    meta: PageMeta

    @property
    def next_page_url(self) -> str | None:
        """The URL of the next page, or ``None`` on the last page; pass it to ``pages(page_url=...)``."""
        return self.meta.next_page_url
