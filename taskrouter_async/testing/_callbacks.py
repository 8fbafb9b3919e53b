"""The fake's calls to the application: signed assignment and event callbacks, as TaskRouter makes them.

``FakeTaskRouter`` decides when to call back; this module builds the callback from the fake's
records, signs it with the account's auth token, POSTs it (to an ASGI app in-process, or over
HTTP to a loopback URL) and reads an assignment callback's answer into an instruction.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import anyio
import attrs
import httpx

from .._errors import ValidationError
from ..webhooks._callbacks import AssignmentCallback, EventCallback
from ..webhooks._instructions import AssignmentInstruction
from ..webhooks._signature import SIGNATURE_HEADER, compute_signature
from ._records import Event, Task
from ._state import FakeReservation, FakeStore

__all__ = [
    "ASSIGNMENT_TIMEOUT",
    "ASGIApp",
    "Answer",
    "CallbackDelivery",
    "CallbackTargets",
    "assignment_callback",
    "event_callback",
    "post_callback",
    "read_answer",
]

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[MutableMapping[str, Any]]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]

#: TaskRouter waits this long for an answer to an assignment callback before it gives up on it.
ASSIGNMENT_TIMEOUT = 5.0

#: Event data the library's ``EventCallback`` has fields for; the rest goes into its ``extra`` in CamelCase.
_EVENT_FIELDS = frozenset(attrs.fields_dict(EventCallback)) - {"extra"}

_LOOPBACK_NAMES = {"localhost"}


@attrs.frozen(kw_only=True)
class CallbackTargets:
    """Where the fake sends callbacks: URLs, and the ASGI app that serves them in-process (if any)."""

    assignment_url: str | None = None
    event_url: str | None = None
    #: Callbacks go to this app in-process; without it, over HTTP to a URL on 127.0.0.1.
    app: ASGIApp | None = attrs.field(default=None, repr=False)
    timeout: float = ASSIGNMENT_TIMEOUT

    def __attrs_post_init__(self) -> None:
        for url in (self.assignment_url, self.event_url):
            if url is not None:
                _check_url(url, in_process=self.app is not None)
        if not self.timeout > 0:
            raise ValidationError(f"timeout must be > 0 seconds, got {self.timeout!r}")


@attrs.frozen(kw_only=True)
class CallbackDelivery:
    """A callback the fake sent, and how the application answered it, in the order they completed."""

    #: ``assignment`` or ``event``.
    kind: str
    url: str
    #: The POSTed form, in order.
    params: tuple[tuple[str, str], ...]
    #: The answer's HTTP status; ``None`` if none came (connection failure, timeout).
    status_code: int | None = None
    response: bytes = b""
    #: For an assignment callback: the instruction read from the answer and applied.
    instruction: AssignmentInstruction | None = None
    #: Why the callback failed or its answer was not applied, in TaskRouter's terms.
    error: str | None = None

    @property
    def event_type(self) -> str | None:
        """An event callback's ``EventType``."""
        return dict(self.params).get("EventType")


@attrs.frozen(kw_only=True)
class Answer:
    """What an assignment callback's answer asks for: an instruction, nothing (deferred), or an error."""

    instruction: AssignmentInstruction | None = None
    error: str | None = None


def assignment_callback(store: FakeStore, account_sid: str, reservation: FakeReservation) -> AssignmentCallback:
    """The assignment callback TaskRouter sends for a new reservation (the documented parameters)."""
    task = store.tasks[reservation.task_sid]
    worker = store.workers.get(reservation.worker_sid)
    now = store.now()
    return AssignmentCallback(
        account_sid=account_sid,
        workspace_sid=reservation.workspace_sid,
        workflow_sid=task.workflow_sid,
        task_queue_sid=store.reservation_queue.get(reservation.sid, task.task_queue_sid),
        worker_sid=reservation.worker_sid,
        task_sid=reservation.task_sid,
        reservation_sid=reservation.sid,
        task_age=_age(task, now),
        task_priority=task.priority,
        task_attributes=task.attributes,
        worker_attributes=worker.attributes if worker is not None else {},
        timestamp=now,
    )


def event_callback(store: FakeStore, account_sid: str, event: Event) -> EventCallback:
    """The event callback for a recorded event: the common parameters, then the event's data."""
    workspace = store.workspaces.get(event.workspace_sid)
    known = {k: v for k, v in event.data.items() if k in _EVENT_FIELDS and v is not None}
    extra = {
        _camel(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in event.data.items()
        if k not in _EVENT_FIELDS and v is not None
    }
    extra["TimestampMs"] = str(int(event.date.timestamp() * 1000))
    return EventCallback(
        event_type=event.event_type,
        account_sid=account_sid,
        sid=event.sid,
        workspace_name=workspace.friendly_name if workspace is not None else None,
        event_description=event.description,
        resource_type=event.resource_type,
        resource_sid=event.resource_sid,
        timestamp=event.date,
        extra=extra,
        **known,
    )


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


async def post_callback(
    targets: CallbackTargets, auth_token: str, kind: str, url: str, params: list[tuple[str, str]]
) -> CallbackDelivery:
    """POST a signed form callback and record the answer; failures are recorded, never raised."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        SIGNATURE_HEADER: compute_signature(auth_token, url, params),
        "User-Agent": "TwilioProxy/1.1",
    }
    delivery = CallbackDelivery(kind=kind, url=url, params=tuple(params))
    transport = None if targets.app is None else httpx.ASGITransport(app=targets.app, raise_app_exceptions=False)
    try:
        with anyio.fail_after(targets.timeout):
            async with httpx.AsyncClient(
                transport=transport, trust_env=False, timeout=targets.timeout, verify=_ssl_context()
            ) as client:
                response = await client.post(url, content=urlencode(params).encode(), headers=headers)
    except (TimeoutError, httpx.TimeoutException):
        return attrs.evolve(delivery, error=f"no answer within {targets.timeout} s")
    except httpx.HTTPError as exc:
        return attrs.evolve(delivery, error=f"the callback failed: {type(exc).__name__}: {exc}")
    delivery = attrs.evolve(delivery, status_code=response.status_code, response=response.content)
    if not response.is_success:
        return attrs.evolve(delivery, error=f"answered HTTP {response.status_code}")
    if kind == "assignment":
        answer = read_answer(response)
        return attrs.evolve(delivery, instruction=answer.instruction, error=answer.error)
    return delivery


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default context, made once: building it for every callback cost more than the callback itself."""
    return httpx.create_ssl_context()


def read_answer(response: httpx.Response) -> Answer:
    """Read an assignment callback's 2xx answer as TaskRouter does (an empty body or ``{}`` defers)."""
    body = response.content.strip()
    if not body:
        return Answer()
    if response.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return Answer(error="an answer with a body must have Content-Type application/json")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return Answer(error="the answer is not valid JSON (Twilio warning 40001)")
    if data == {}:
        return Answer()
    if isinstance(data, dict) and "instruction" not in data:
        return Answer(error="the answer has no instruction (Twilio warning 40005)")
    try:
        return Answer(instruction=AssignmentInstruction.from_json(data))
    except ValidationError as exc:
        return Answer(error=f"invalid instruction: {exc}")


def _age(task: Task, now: datetime) -> int:
    return max(0, int((now - task.date_created).total_seconds()))


def _check_url(url: str, *, in_process: bool) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ValidationError(f"callback URL {url!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError(f"callback URL {url!r} must be an absolute http:// or https:// URL")
    if not in_process and not _is_loopback(host):
        raise ValidationError(
            f"callback URL {url!r} is not on this machine: the fake calls back only to loopback "
            "(127.0.0.1), or in-process to an ASGI app passed as app="
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
