"""FastAPI dependencies that hand a handler a verified, typed TaskRouter callback.

```python
from typing import Annotated, Any
from fastapi import Depends, FastAPI
from taskrouter_async.webhooks import AssignmentCallback, accept
from taskrouter_async.webhooks.fastapi import TwilioWebhook

webhook = TwilioWebhook()  # the auth token from TWILIO_AUTH_TOKEN
app = FastAPI()


@app.post("/taskrouter/assignment")
async def assignment(callback: Annotated[AssignmentCallback, Depends(webhook.assignment)]) -> dict[str, Any]:
    return accept().to_json()
```

Only Starlette is imported (FastAPI is built on it), so the dependencies also serve a plain
Starlette app: ``callback = await webhook.assignment(request)``. Install with
``pip install 'taskrouter-async[fastapi]'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import aclosing

try:
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
except ImportError as exc:  # said as the other extras say it, not as a bare ModuleNotFoundError
    raise ImportError(
        "taskrouter_async.webhooks.fastapi needs FastAPI (or Starlette): pip install 'taskrouter-async[fastapi]'"
    ) from exc

from .._errors import WebhookPayloadError, WebhookPayloadTooLargeError, WebhookSignatureError
from ._callbacks import AssignmentCallback, EventCallback
from ._signature import DEFAULT_MAX_BODY_SIZE, SIGNATURE_HEADER, verify_request

__all__ = ["TwilioWebhook"]


class TwilioWebhook:
    """Dependencies that check ``X-Twilio-Signature`` and parse the callback, or answer with an HTTP error.

    A missing or forged signature is 403 (the body is not parsed), a body over ``max_body_size``
    413, a malformed one 400: hostile requests never reach the handler and never cause a 500.
    """

    def __init__(
        self,
        auth_token: str | None = None,
        *,
        public_url: str | Callable[[Request], str] | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        """``auth_token`` signs the callbacks (default: ``TWILIO_AUTH_TOKEN``, read at each request).

        ``public_url`` is what Twilio called when your server sits behind a proxy: either the
        public URL of the server's root (``"https://api.example.com"``; the path and query the
        server received are appended), or a function of the request that returns the whole URL.
        By default the URL is rebuilt from the request (scheme, ``Host`` header, raw path, query).
        """
        self._auth_token = auth_token
        self.public_url = public_url
        self.max_body_size = max_body_size

    def __repr__(self) -> str:
        return f"TwilioWebhook(public_url={self.public_url!r}, max_body_size={self.max_body_size})"

    async def params(self, request: Request) -> list[tuple[str, str]]:
        """The dependency for any signed callback: its verified form parameters, as (name, value) pairs."""
        auth_token = self._auth_token or os.environ.get("TWILIO_AUTH_TOKEN")
        if not auth_token:
            raise HTTPException(500, "TaskRouter callbacks cannot be checked: no Twilio auth token is configured")
        signature = request.headers.get(SIGNATURE_HEADER)
        try:
            if not signature:
                raise WebhookSignatureError(f"the request has no {SIGNATURE_HEADER} header")
            body = await _read_body(request, self.max_body_size)
            url = self.signed_url(request)
            return verify_request(auth_token, url, body, signature, max_body_size=self.max_body_size)
        except WebhookSignatureError as exc:
            raise HTTPException(403, str(exc)) from None
        except WebhookPayloadTooLargeError as exc:
            raise HTTPException(413, str(exc)) from None
        except WebhookPayloadError as exc:
            raise HTTPException(400, str(exc)) from None

    async def assignment(self, request: Request) -> AssignmentCallback:
        """The dependency for the workflow's AssignmentCallbackUrl."""
        params = await self.params(request)
        try:
            return AssignmentCallback.from_form(params)
        except WebhookPayloadError as exc:
            raise HTTPException(400, str(exc)) from None

    async def event(self, request: Request) -> EventCallback:
        """The dependency for the workspace's EventCallbackUrl."""
        params = await self.params(request)
        try:
            return EventCallback.from_form(params)
        except WebhookPayloadError as exc:
            raise HTTPException(400, str(exc)) from None

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed for this request: from ``public_url`` if set, else rebuilt from the request."""
        if callable(self.public_url):
            return self.public_url(request)
        # The path exactly as received (percent-escapes kept), which request.url does not give.
        raw_path: bytes | None = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else request.url.path
        query = request.scope.get("query_string", b"").decode("latin-1")
        base = self.public_url.rstrip("/") if self.public_url else f"{request.url.scheme}://{request.url.netloc}"
        return f"{base}{path}?{query}" if query else f"{base}{path}"


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to be larger than ``limit``, and kept for the handler.

    ``request.body()`` has no limit, so the body is streamed here; Starlette does not keep what
    ``stream()`` gave, so the bytes go where ``body()``, ``form()`` and ``json()`` look for them
    (``Request._body``: Starlette has no public way to set it), and the handler can read them again.
    """
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise WebhookPayloadTooLargeError(f"the callback body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:  # closed here, not by the garbage collector
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise WebhookPayloadTooLargeError(f"the callback body is larger than {limit} bytes")
            chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body
