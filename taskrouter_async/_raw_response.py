"""``RawResponse``: a parsed result together with the HTTP response it came from (``with_raw_response``)."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs
import httpx

from ._errors import REQUEST_ID_HEADER
from ._pipeline import Reply

__all__ = ["RawResponse"]

T = TypeVar("T")


@attrs.frozen
class RawResponse(Generic[T]):
    """What ``with_raw_response`` calls return: ``parse()`` gives the model, the rest describes the response."""

    _parsed: T
    _reply: Reply = attrs.field(repr=False)

    def parse(self) -> T:
        """The model the plain call would have returned."""
        return self._parsed

    @property
    def status_code(self) -> int:
        return self._reply.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive)."""
        return httpx.Headers(list(self._reply.headers.items()))

    @property
    def request_id(self) -> str | None:
        """Twilio's id of this request (``Twilio-Request-Id``), what Twilio support asks for."""
        return self._reply.headers.get(REQUEST_ID_HEADER)

    @property
    def attempts(self) -> int:
        """How many attempts the call took, retries included."""
        return self._reply.attempts

    @property
    def http_response(self) -> httpx.Response:
        """The response as a readable ``httpx.Response``, with its request (method and URL)."""
        return self._reply.http_response()
