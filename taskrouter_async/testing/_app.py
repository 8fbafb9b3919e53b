"""FakeTaskRouter: TaskRouter's REST API as a plain ASGI app over ``FakeStore``, plus an in-process transport.

It answers like TaskRouter does: the same JSON, ``meta`` paging with absolute URLs on its own
base URL, Twilio error bodies, ETags and If-Match, HTTP Basic auth. Reservations are served
here; every other resource by ``_resources``. Tests can make it fail or stall on purpose, move
its clock, and read back every request it received and every callback it sent.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import random
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

import anyio
import attrs
import cattrs
import httpx

from .._client import AsyncTaskRouter
from .._converter import decode_form, describe_form_error, format_timestamp
from .._enums import ReservationStatus
from .._errors import ValidationError
from .._resource import MAX_PAGE_SIZE
from .._sids import check_credential_sid, is_sid
from ..resources import ReservationUpdate, TaskReservationUpdate, WorkerReservationUpdate
from ._callbacks import (
    ASSIGNMENT_TIMEOUT,
    ASGIApp,
    CallbackDelivery,
    CallbackTargets,
    assignment_callback,
    event_callback,
    post_callback,
)
from ._limits import FakeRateLimits
from ._records import Event
from ._resources import Request as ResourceRequest
from ._resources import handle as handle_resource
from ._state import INVALID_PARAMETER, FakeAPIError, FakeReservation, FakeStore, ListQuery, utc_now

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "DEFAULT_BASE_URL", "FakeTaskRouter", "RecordedRequest"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Credentials the fake accepts unless it is given others; they are not secret.
DEFAULT_ACCOUNT_SID = "AC" + "fa4e" * 8
DEFAULT_AUTH_TOKEN = "fake-auth-token"
#: Where the fake says it lives when it is used in-process: loopback, so plain http is allowed.
DEFAULT_BASE_URL = "http://127.0.0.1:8765"

_ROUTE = re.compile(
    r"/v1/Workspaces/(?P<workspace>[^/]+)/(?P<segment>Tasks|Workers)/(?P<parent>[^/]+)/Reservations(?:/(?P<sid>[^/]+))?"
)
_PARENT_PREFIX = {"Tasks": "WT", "Workers": "WK"}
_UPDATE_CLASSES: dict[str, type[ReservationUpdate]] = {
    "Tasks": TaskReservationUpdate,
    "Workers": WorkerReservationUpdate,
}


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """A request the fake received, faulted ones included, in arrival order."""

    method: str
    path: str
    #: Query parameters (the last value of a repeated key).
    query: Mapping[str, str]
    headers: httpx.Headers = attrs.field(eq=False)
    body: bytes
    #: The query string as sent (repeated keys included).
    raw_query: str = attrs.field(default="", eq=False, repr=False)

    @property
    def form(self) -> dict[str, list[str]]:
        """The urlencoded body by key, each with the list of its values."""
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    @property
    def params(self) -> ReservationUpdate | None:
        """For a reservation update: the body read back into update params; ``None`` otherwise or if invalid."""
        route = _ROUTE.fullmatch(self.path)
        if self.method != "POST" or route is None or route["sid"] is None:
            return None
        try:
            return decode_form(_form_pairs(self.body), _UPDATE_CLASSES[route["segment"]])
        except (ValueError, cattrs.BaseValidationError):
            return None


@attrs.frozen
class _Fault:
    status: int | None
    retry_after: int | None
    stall_seconds: float


@attrs.frozen
class _Response:
    status: int
    #: ``None``: no body (204).
    body: dict[str, Any] | None
    headers: tuple[tuple[str, str], ...] = ()


class _History(list[Any]):
    """A list that keeps only its last ``limit`` items (``None``: all of them), for a long-running fake."""

    def __init__(self, limit: int | None) -> None:
        super().__init__()
        self.limit = limit

    def append(self, item: Any) -> None:
        super().append(item)
        if self.limit is not None and len(self) > self.limit:
            del self[: len(self) - self.limit]


class FakeTaskRouter:
    """A TaskRouter emulator for tests and demos: every v1 resource, routing, the lifecycle, events, a clock.

    Create workspaces, queues, workflows, workers and tasks over its REST API (or with
    ``load_workspace``) and it routes tasks to workers as TaskRouter does; or seed reservations
    directly with ``add_reservation`` (workspaces, tasks and workers are created as needed).
    Point a client at it in-process with ``connect()`` or ``client()``, or serve it with any ASGI
    server (``python -m taskrouter_async fake-server``). Time moves only when ``advance`` (or, on
    a server, ``tick``) says so. It is not thread-safe: use it from one event loop.

    It also plays TaskRouter's side of the webhooks: after ``set_callbacks`` (or with a
    workflow's ``AssignmentCallbackUrl`` and a workspace's ``EventCallbackUrl``) each new
    reservation gets a signed assignment callback whose instruction is applied, and every event
    is sent as a signed event callback (see ``callbacks``). See docs/emulator.md for what it
    models and what it does not.
    """

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        api_key: str | None = None,
        api_secret: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], datetime] = utc_now,
        seed: int = 0,
        history_limit: int | None = None,
        rate_limits: FakeRateLimits | None = None,
    ) -> None:
        """Requests must authenticate as ``account_sid``/``auth_token``, or as ``api_key``/``api_secret`` if given.

        ``base_url`` is where the fake says it lives (in ``url``, ``links`` and paging URLs);
        ``clock`` stamps ``date_created``/``date_updated`` (a naive reading is UTC; ``advance``
        adds to it); ``seed`` makes generated SIDs repeatable; ``history_limit`` bounds how many
        requests, callbacks and events are kept (the oldest go first; ``None``: all); ``rate_limits``
        enforces TaskRouter's rate limits and concurrency cap, with their headers (``FakeRateLimits``).
        """
        if history_limit is not None and (isinstance(history_limit, bool) or history_limit < 1):
            raise ValidationError(f"history_limit must be a positive integer or None, got {history_limit!r}")
        self.account_sid = check_credential_sid(account_sid, "AC", "account_sid")
        self.auth_token = auth_token
        self._credentials = [f"{account_sid}:{auth_token}".encode()]
        if api_key is not None or api_secret is not None:
            if api_key is None or api_secret is None:
                raise ValidationError("api_key and api_secret go together: pass both, or neither")
            self._credentials.append(f"{check_credential_sid(api_key, 'SK', 'api_key')}:{api_secret}".encode())
        self.base_url = base_url.rstrip("/")
        self._store = FakeStore(clock=clock, seed=seed, history_limit=history_limit, base_url=self.base_url)
        self._faults: deque[_Fault] = deque()
        self._random_faults: list[tuple[float, _Fault]] = []
        self._fault_random = random.Random(seed)
        #: Every request received, in order (the last ``history_limit``); clear it freely.
        self.requests: list[RecordedRequest] = _History(history_limit)
        self._targets = CallbackTargets()
        #: Every callback sent and how it was answered, in the order they completed; clear it freely.
        self.callbacks: list[CallbackDelivery] = _History(history_limit)
        self._delivering = False
        self.rate_limits = rate_limits

    def __repr__(self) -> str:
        return f"FakeTaskRouter(base_url={self.base_url!r}, reservations={len(self._store.reservations)})"

    # --- seeding and inspection -----------------------------------------------------------

    def add_workspace(self, sid: str | None = None) -> str:
        """Create a workspace (a new SID unless ``sid`` is given) and return its SID."""
        with self._store.moment():
            return self._store.add_workspace(sid)

    def add_activity(
        self,
        workspace_sid: str | None = None,
        *,
        friendly_name: str | None = None,
        available: bool = False,
        sid: str | None = None,
    ) -> str:
        """Create an activity in ``workspace_sid`` (default: the first workspace, created if needed).

        A new workspace already has TaskRouter's Offline, Available and Unavailable activities.
        """
        with self._store.moment():
            return self._store.add_activity(workspace_sid, friendly_name, available, sid)

    def add_task(
        self,
        workspace_sid: str | None = None,
        *,
        sid: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        priority: int | None = None,
    ) -> str:
        """Create a task in ``workspace_sid`` (default: the first workspace, created if needed).

        ``attributes`` (a JSON object) and ``priority`` are what callbacks report about the task.
        """
        with self._store.moment():
            return self._store.add_task(workspace_sid, sid, attributes, priority)

    def add_worker(
        self,
        workspace_sid: str | None = None,
        *,
        friendly_name: str | None = None,
        sid: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        activity_sid: str | None = None,
    ) -> str:
        """Create a worker in ``workspace_sid`` (default: the first workspace, created if needed).

        ``attributes`` (a JSON object, such as ``{"contact_uri": "client:alice"}``) go into callbacks
        and are what routing expressions see; ``activity_sid`` defaults to the workspace's default
        activity (Offline, so a seeded worker gets no task until it is made available).
        """
        with self._store.moment():
            return self._store.add_worker(workspace_sid, friendly_name, sid, attributes, activity_sid)

    def load_workspace(self, description: Mapping[str, Any]) -> str:
        """Create a workspace from a description (what ``fake-server --workspace`` reads) and return its SID.

        See docs/emulator.md for the format: ``friendly_name``, ``event_callback_url``,
        ``activities``, ``task_channels``, ``task_queues``, ``workflows`` and ``workers``, each
        referring to the others by name.
        """
        from ._workspace_file import load_workspace

        with self._store.moment():
            return load_workspace(self._store, description)

    def describe(self, workspace_sid: str) -> list[str]:
        """A workspace in a few lines for people: its queues, workflows and workers, with their SIDs."""
        store = self._store
        store.workspace(workspace_sid)
        lines = []
        for queue in store.task_queues.values():
            if queue.workspace_sid == workspace_sid:
                lines.append(f"queue {queue.sid} {queue.friendly_name}: {queue.target_workers}")
        for workflow in store.workflows.values():
            if workflow.workspace_sid == workspace_sid:
                lines.append(f"workflow {workflow.sid} {workflow.friendly_name}")
        for worker in store.workers.values():
            if worker.workspace_sid == workspace_sid:
                activity = store.activities[worker.activity_sid].friendly_name
                lines.append(f"worker {worker.sid} {worker.friendly_name} ({activity})")
        return lines

    async def advance(self, seconds: float) -> None:
        """Move the fake's clock on by ``seconds``: reservation timeouts, workflow step timeouts and task TTLs
        fire at their own moments, in order, and their callbacks are sent."""
        if not seconds >= 0:
            raise ValidationError(f"seconds must be >= 0, got {seconds!r}")
        self._store.advance(seconds)
        await self._deliver()

    async def tick(self) -> None:
        """Fire the timers that are due by the clock now (``fake-server`` calls this every second)."""
        with self._store.moment():
            self._store.fire_due()
        await self._deliver()

    def add_reservation(
        self,
        *,
        workspace_sid: str | None = None,
        task_sid: str | None = None,
        worker_sid: str | None = None,
        worker_name: str | None = None,
        status: ReservationStatus | str = ReservationStatus.PENDING,
        sid: str | None = None,
    ) -> FakeReservation:
        """Create a reservation; a task or worker not given is created, and given SIDs that do not exist yet are."""
        with self._store.moment():
            return self._store.add_reservation(
                workspace_sid=workspace_sid,
                task_sid=task_sid,
                worker_sid=worker_sid,
                worker_name=worker_name,
                status=_status(status),
                sid=sid,
            )

    def reservation(self, sid: str) -> FakeReservation:
        """The current state of a reservation."""
        try:
            return self._store.reservations[sid]
        except KeyError:
            raise ValidationError(f"the fake has no reservation {sid!r}") from None

    @property
    def reservations(self) -> tuple[FakeReservation, ...]:
        """Every reservation, in creation order (the order lists return them in)."""
        return tuple(self._store.reservations.values())

    def set_status(self, sid: str, status: ReservationStatus | str) -> FakeReservation:
        """Change a reservation as TaskRouter itself would (a timeout, a cancel): new version, no rules checked."""
        self.reservation(sid)
        with self._store.moment():
            return self._store.set_status(sid, _status(status))

    # --- TaskRouter's callbacks ------------------------------------------------------------

    def set_callbacks(
        self,
        *,
        assignment_url: str | None = None,
        event_url: str | None = None,
        app: ASGIApp | None = None,
        timeout: float = ASSIGNMENT_TIMEOUT,
    ) -> None:
        """Send assignment callbacks to ``assignment_url`` and event callbacks to ``event_url``.

        With ``app`` (an ASGI app, such as your FastAPI app) the callbacks are served by it
        in-process, whatever the URLs' host; without it they go over HTTP to URLs on 127.0.0.1.
        Each is signed for its URL with this fake's ``auth_token``. ``timeout`` is how long an
        answer may take (TaskRouter waits 5 seconds for an assignment answer).
        """
        self._targets = CallbackTargets(assignment_url=assignment_url, event_url=event_url, app=app, timeout=timeout)

    async def reserve(
        self,
        *,
        workspace_sid: str | None = None,
        task_sid: str | None = None,
        worker_sid: str | None = None,
        worker_name: str | None = None,
        sid: str | None = None,
    ) -> FakeReservation:
        """Reserve a worker for a task as TaskRouter does, and return the reservation as it ends up.

        Creates a pending reservation (like ``add_reservation``), sends the ``reservation.created``
        event, then the signed assignment callback; an instruction in the answer is applied like
        the same REST update would be (and its events sent); an empty answer or ``{}`` leaves the
        reservation pending. ``callbacks`` records each callback and what came of it.
        """
        reservation = self.add_reservation(
            workspace_sid=workspace_sid, task_sid=task_sid, worker_sid=worker_sid, worker_name=worker_name, sid=sid
        )
        self._store.outbox.extend(e for e in self._store.events if e.resource_sid == reservation.sid)
        self._store.new_reservations.append(reservation.sid)
        await self._deliver()
        return self.reservation(reservation.sid)

    async def transition(self, sid: str, status: ReservationStatus | str) -> FakeReservation:
        """``set_status`` (a timeout, a cancel: TaskRouter's own changes) plus the event callbacks it causes."""
        self.reservation(sid)
        with self._store.moment():
            reservation = self._store.set_status(sid, _status(status), quiet=False)
        await self._deliver()
        return reservation

    async def _deliver(self) -> None:
        """Send the callbacks for what changed: event callbacks, then assignment callbacks for new reservations
        (whose answers may change more, and so on)."""
        if self._delivering:
            # One sender at a time keeps callbacks in the order of the changes; the one at work picks these up
            # (a request made while a callback is being answered, the server's clock ticking).
            return
        self._delivering = True
        store = self._store
        try:
            while store.outbox or store.new_reservations:
                events, store.outbox = store.outbox, []
                for event in events:
                    await self._send_event(event)
                new, store.new_reservations = store.new_reservations, []
                for sid in new:
                    await self._assign(sid)
        finally:
            self._delivering = False

    async def _assign(self, sid: str) -> None:
        reservation = self._store.reservations.get(sid)
        if reservation is None or reservation.status is not ReservationStatus.PENDING:
            return
        task = self._store.tasks[reservation.task_sid]
        workflow = self._store.workflows.get(task.workflow_sid)
        url = (workflow.assignment_callback_url if workflow else None) or self._targets.assignment_url
        if url is None:
            return
        callback = assignment_callback(self._store, self.account_sid, reservation)
        delivery = await self._post("assignment", url, callback.to_form())
        if delivery.instruction is not None:
            try:
                with self._store.moment():
                    self._store.update(self._store.reservations[sid], delivery.instruction.params, segment="Tasks")
            except FakeAPIError as exc:
                delivery = attrs.evolve(delivery, error=f"the instruction was refused: {exc.message}")
        self.callbacks.append(delivery)

    async def _send_event(self, event: Event) -> None:
        workspace = self._store.workspaces.get(event.workspace_sid)
        url = (workspace.event_callback_url if workspace else None) or self._targets.event_url
        if url is None:
            return
        wanted = workspace.events_filter if workspace else None
        if wanted and event.event_type not in [name.strip() for name in wanted.split(",")]:
            return
        form = event_callback(self._store, self.account_sid, event).to_form()
        self.callbacks.append(await self._post("event", url, form))

    async def _post(self, kind: str, url: str, form: list[tuple[str, str]]) -> CallbackDelivery:
        """POST a callback to ``url`` through the configured targets; a URL the fake may not call is recorded."""
        try:
            targets = attrs.evolve(
                self._targets,
                assignment_url=url if kind == "assignment" else None,
                event_url=url if kind == "event" else None,
            )
        except ValidationError as exc:
            return CallbackDelivery(kind=kind, url=url, params=tuple(form), error=f"not sent: {exc}")
        return await post_callback(targets, self.auth_token, kind, url, form)

    # --- faults -------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 503, retry_after: int | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (429 or 5xx) and Twilio's error body,
        without touching any state; ``retry_after`` adds a Retry-After header in seconds."""
        if status != 429 and not 500 <= status <= 599:
            raise ValidationError(f"status must be 429 or 5xx, got {status!r}")
        self._faults.extend([_Fault(status, retry_after, 0.0)] * _count(count))

    def stall_next(self, count: int = 1, *, seconds: float = math.inf) -> None:
        """Hold the next ``count`` requests for ``seconds`` (default: until the client gives up), then answer."""
        if not seconds >= 0:
            raise ValidationError(f"seconds must be >= 0, got {seconds!r}")
        self._faults.extend([_Fault(None, None, seconds)] * _count(count))

    def fail_randomly(self, rate: float, *, status: int = 503, retry_after: int | None = None) -> None:
        """From now on, answer each request with ``status`` (429 or 5xx) with probability ``rate``, as ``fail_next``
        does; the draws are repeatable (the fake's ``seed``). Rates of several calls add up, to at most 1."""
        if status != 429 and not 500 <= status <= 599:
            raise ValidationError(f"status must be 429 or 5xx, got {status!r}")
        self._add_random_fault(rate, _Fault(status, retry_after, 0.0))

    def stall_randomly(self, rate: float, *, seconds: float = math.inf) -> None:
        """From now on, hold each request for ``seconds`` (then answer it) with probability ``rate``."""
        if not seconds >= 0:
            raise ValidationError(f"seconds must be >= 0, got {seconds!r}")
        self._add_random_fault(rate, _Fault(None, None, seconds))

    def _add_random_fault(self, rate: float, fault: _Fault) -> None:
        if not 0 <= rate <= 1 or sum(r for r, _ in self._random_faults) + rate > 1 + 1e-9:
            raise ValidationError(f"fault rates must be in 0..1 and add up to at most 1, got {rate!r}")
        self._random_faults.append((rate, fault))

    def _next_fault(self) -> _Fault | None:
        """A queued fault (``fail_next``, ``stall_next``) first; else a random one, if any is configured."""
        if self._faults:
            return self._faults.popleft()
        if self._random_faults:
            draw = self._fault_random.random()
            for rate, fault in self._random_faults:
                if draw < rate:
                    return fault
                draw -= rate
        return None

    # --- wiring -------------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls this app in-process, honouring the request's read timeout."""
        return _InProcessTransport(self)

    def client(self) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` wired to this fake; pass it as ``AsyncTaskRouter(http_client=...)``."""
        return httpx.AsyncClient(transport=self.transport(), base_url=self.base_url)

    @asynccontextmanager
    async def connect(self, **options: Any) -> AsyncIterator[AsyncTaskRouter]:
        """An ``AsyncTaskRouter`` with this fake's credentials and base URL, in-process.

        ``options`` go to ``AsyncTaskRouter`` (``max_retries``, ``timeout``...).
        """
        async with (
            self.client() as http,
            AsyncTaskRouter(
                self.account_sid, self.auth_token, base_url=self.base_url, http_client=http, **options
            ) as c,
        ):
            yield c

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"FakeTaskRouter serves HTTP only, not {scope['type']!r}")
        body = await _read_body(receive)
        request = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)),
            headers=httpx.Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]),
            body=body,
            raw_query=scope["query_string"].decode("latin-1"),
        )
        self.requests.append(request)
        response = await self._limited(request)
        await self._deliver()  # before answering, so a test sees the callbacks when its request returns
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        headers = [
            *([(b"content-type", b"application/json")] if response.body is not None else []),
            (b"content-length", str(len(payload)).encode()),
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers),
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _limited(self, request: RecordedRequest) -> _Response:
        """``_respond`` within the rate limits, if the fake has any (``testing/_limits.py``)."""
        limits = self.rate_limits
        if limits is None:
            return await self._respond(request)
        admission = limits.admit(request.method, request.path, request.query)
        if admission.refusal is not None:
            return _error(*admission.refusal, admission.headers)
        with limits.serving():
            await limits.delay()
            response = await self._respond(request)
        return attrs.evolve(response, headers=(*response.headers, *admission.headers))

    async def _respond(self, request: RecordedRequest) -> _Response:
        fault = self._next_fault()
        if fault is not None:
            if fault.status is not None:
                headers = () if fault.retry_after is None else (("retry-after", str(fault.retry_after)),)
                return _error(fault.status, 20000 + fault.status, _fault_message(fault.status), headers)
            await (anyio.sleep_forever() if math.isinf(fault.stall_seconds) else anyio.sleep(fault.stall_seconds))
        try:
            self._authenticate(request.headers)
            with self._store.moment():
                return self._route(request)
        except FakeAPIError as exc:
            headers = (("www-authenticate", 'Basic realm="Twilio API"'),) if exc.status == 401 else ()
            return _error(exc.status, exc.code, exc.message, headers)

    def _authenticate(self, headers: httpx.Headers) -> None:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        given = f"{user}:{password}".encode()
        if scheme.lower() != "basic" or not any(hmac.compare_digest(given, known) for known in self._credentials):
            raise FakeAPIError(401, 20003, "Authenticate")

    def _route(self, request: RecordedRequest) -> _Response:
        if request.path == "/_fake/advance":
            return self._advance_request(request)
        route = _ROUTE.fullmatch(request.path)
        if route is None:
            answer = handle_resource(
                self._store,
                self.account_sid,
                self.base_url,
                ResourceRequest(
                    method=request.method,
                    path=request.path,
                    query=tuple(parse_qsl(request.raw_query, keep_blank_values=True)),
                    body=request.body,
                    if_match=request.headers.get("if-match"),
                    content_type=request.headers.get("content-type", ""),
                ),
            )
            return _Response(answer.status, answer.body, answer.headers)
        workspace_sid, segment, parent_sid, sid = route["workspace"], route["segment"], route["parent"], route["sid"]
        if not (is_sid(workspace_sid, "WS") and is_sid(parent_sid, _PARENT_PREFIX[segment])):
            raise FakeAPIError(404, 20404, f"The requested resource {request.path} was not found")
        if sid is None:
            if request.method != "GET":
                raise FakeAPIError(405, 20004, "Method not allowed")
            self._store.find_parent(workspace_sid, segment, parent_sid)
            return _Response(200, self._page(request, segment, parent_sid))
        if request.method not in ("GET", "POST"):
            raise FakeAPIError(405, 20004, "Method not allowed")
        reservation = self._store.find(workspace_sid, segment, parent_sid, sid)
        if request.method == "POST":
            reservation = self._update(request, reservation, segment)
        return _Response(200, self._reservation_json(reservation, segment), (("etag", reservation.etag),))

    def _advance_request(self, request: RecordedRequest) -> _Response:
        """``POST /_fake/advance`` with ``Seconds=n``: the clock, for an app's end-to-end test against fake-server."""
        if request.method != "POST":
            raise FakeAPIError(405, 20004, "Method not allowed")
        form = dict(_form_pairs(request.body))
        try:
            seconds = float(form.get("Seconds", ""))
        except ValueError:
            raise FakeAPIError(400, INVALID_PARAMETER, "Seconds must be a number of seconds") from None
        if not 0 <= seconds <= 366 * 86400:
            raise FakeAPIError(400, INVALID_PARAMETER, "Seconds must be between 0 and one year")
        self._store.advance(seconds)
        return _Response(200, {"now": format_timestamp(self._store.now())})

    def _update(self, request: RecordedRequest, reservation: FakeReservation, segment: str) -> FakeReservation:
        if_match = request.headers.get("if-match")
        if if_match is not None and not _matches(if_match, reservation.etag):
            raise FakeAPIError(
                412,
                20412,
                f"Reservation {reservation.sid} was modified: its ETag is {reservation.etag}, not {if_match}",
            )
        try:
            params = decode_form(_form_pairs(request.body), _UPDATE_CLASSES[segment])
        except (ValueError, cattrs.BaseValidationError) as exc:
            raise FakeAPIError(400, INVALID_PARAMETER, f"Invalid parameter: {describe_form_error(exc)}") from None
        return self._store.update(reservation, params, segment=segment)

    def _page(self, request: RecordedRequest, segment: str, parent_sid: str) -> dict[str, Any]:
        query = self._list_query(request.query, segment)
        page = self._store.page(segment, parent_sid, query)
        items = page.items
        next_url = previous_url = None
        if items and page.has_next:
            next_url = self._page_url(request.path, query, query.page + 1, "PA" + items[-1].sid)
        if items and page.has_previous and query.page > 0:
            previous_url = self._page_url(request.path, query, query.page - 1, "PB" + items[0].sid)
        return {
            "meta": {
                "first_page_url": self._page_url(request.path, query, 0, None),
                "key": "reservations",
                "next_page_url": next_url,
                "page": query.page,
                "page_size": query.page_size,
                "previous_page_url": previous_url,
                "url": self._page_url(request.path, query, query.page, query.page_token),
            },
            "reservations": [self._reservation_json(r, segment) for r in items],
        }

    def _list_query(self, query: Mapping[str, str], segment: str) -> ListQuery:
        status = query.get("ReservationStatus")
        worker_sid = query.get("WorkerSid") if segment == "Tasks" else None
        token = query.get("PageToken")
        if status is not None and status not in {s.value for s in ReservationStatus}:
            raise FakeAPIError(400, INVALID_PARAMETER, f"Invalid ReservationStatus: {status!r}")
        if worker_sid is not None and not is_sid(worker_sid, "WK"):
            raise FakeAPIError(400, INVALID_PARAMETER, f"Invalid WorkerSid: {worker_sid!r}")
        if token is not None and not self._store.is_page_token(token):
            raise FakeAPIError(400, INVALID_PARAMETER, f"Invalid PageToken: {token!r}")
        return ListQuery(
            status=None if status is None else ReservationStatus(status),
            worker_sid=worker_sid,
            page_size=_integer(query, "PageSize", 50, 1, MAX_PAGE_SIZE),
            page=_integer(query, "Page", 0, 0, None),
            page_token=token,
        )

    def _page_url(self, path: str, query: ListQuery, page: int, token: str | None) -> str:
        params = [("ReservationStatus", query.status.value)] if query.status is not None else []
        if query.worker_sid is not None:
            params.append(("WorkerSid", query.worker_sid))
        params += [("PageSize", str(query.page_size)), ("Page", str(page))]
        if token is not None:
            params.append(("PageToken", token))
        return f"{self.base_url}{path}?{urlencode(params)}"

    def _reservation_json(self, reservation: FakeReservation, segment: str) -> dict[str, Any]:
        workspace_url = f"{self.base_url}/v1/Workspaces/{reservation.workspace_sid}"
        parent_sid = reservation.task_sid if segment == "Tasks" else reservation.worker_sid
        return {
            "account_sid": self.account_sid,
            "date_created": format_timestamp(reservation.date_created),
            "date_updated": format_timestamp(reservation.date_updated),
            "links": {
                "task": f"{workspace_url}/Tasks/{reservation.task_sid}",
                "worker": f"{workspace_url}/Workers/{reservation.worker_sid}",
                "workspace": workspace_url,
            },
            "reservation_status": reservation.status.value,
            "sid": reservation.sid,
            "task_sid": reservation.task_sid,
            "url": f"{workspace_url}/{segment}/{parent_sid}/Reservations/{reservation.sid}",
            "worker_name": reservation.worker_name,
            "worker_sid": reservation.worker_sid,
            "workspace_sid": reservation.workspace_sid,
        }


class _InProcessTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport plus the read timeout a socket would have, so stalls end as ``ReadTimeout``."""

    def __init__(self, app: FakeTaskRouter) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        with anyio.move_on_after(timeout) as scope:
            return await self._asgi.handle_async_request(request)
        assert scope.cancelled_caught
        raise httpx.ReadTimeout(f"the fake TaskRouter did not answer within {timeout} s", request=request)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _error(status: int, code: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> _Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return _Response(status, body, headers)


def _fault_message(status: int) -> str:
    return "Too Many Requests" if status == 429 else "Service unavailable (a fault injected into the fake)"


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8 form data") from None


def _matches(if_match: str, etag: str) -> bool:
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or etag in tags


def _integer(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < low or (high is not None and int(text) > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise FakeAPIError(400, INVALID_PARAMETER, f"Invalid {name}: {text!r} (expected an integer {bounds})")
    return int(text)


def _status(value: ReservationStatus | str) -> ReservationStatus:
    try:
        return ReservationStatus(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not a ReservationStatus") from None


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError(f"count must be a positive integer, got {count!r}")
    return count
