"""What every model shares: serialisation, JSON-text values, and list pages.

The models themselves are generated (``resources/``). Data only: turning them into JSON
(``to_dict``, ``to_json``, FastAPI/pydantic) is the converter's job; the methods here delegate to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

__all__ = ["JsonObject", "Page", "PageMeta"]


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

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[Any], handler: GetCoreSchemaHandler) -> CoreSchema:
        """Lets pydantic, and so FastAPI, return models as the API's JSON (``-> Task``, ``-> list[Task]``)."""
        from ._converter import pydantic_core_schema

        return pydantic_core_schema(cls)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The JSON schema of ``to_dict()``'s output, for OpenAPI documents."""
        from ._converter import model_json_schema

        return model_json_schema(cls)


@attrs.frozen
class JsonObject(Mapping[str, Any]):
    """A JSON object the API sends as text (task and worker ``attributes``, workflow ``configuration``).

    Read it as a mapping (``task.attributes["skills"]``); ``text`` is exactly what the API sent. Text
    that is not a JSON object (Twilio's own examples have some) is kept as ``text`` and reads as empty.
    """

    text: str
    _parsed: Mapping[str, Any] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        try:
            parsed = json.loads(self.text)
        except (ValueError, RecursionError):
            parsed = None
        object.__setattr__(self, "_parsed", parsed if isinstance(parsed, dict) else {})

    def __getitem__(self, key: str) -> Any:
        return self._parsed[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed)

    def __len__(self) -> int:
        return len(self._parsed)


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


M = TypeVar("M")


@attrs.frozen(kw_only=True)
class Page(_Model, Generic[M]):
    """One page of a list: its records and where the next page is.

    ``to_dict()`` gives the API's list JSON: ``meta`` and the records under ``meta.key``.
    """

    items: tuple[M, ...]
    meta: PageMeta

    @property
    def next_page_url(self) -> str | None:
        """The URL of the next page, or ``None`` on the last page; pass it to ``pages(page_url=...)``."""
        return self.meta.next_page_url
