"""The fake TaskRouter's data: workspaces, tasks, workers and reservations, and the reservation state machine.

Nothing here knows about HTTP: the ASGI layer (``_app``) parses requests, calls these
methods and turns ``FakeAPIError`` into Twilio's error JSON.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

import attrs

from .._converter import as_utc, wire_name
from .._enums import ReservationStatus
from .._sids import check_sid
from ..resources import ReservationUpdate

__all__ = ["FakeAPIError", "FakeReservation", "FakeStore", "FakeTask", "ListQuery", "PageSlice"]

#: Status changes a client may ask for, by current status (TaskRouter's documented lifecycle).
TRANSITIONS: dict[ReservationStatus, frozenset[ReservationStatus]] = {
    ReservationStatus.PENDING: frozenset(
        {
            ReservationStatus.ACCEPTED,
            ReservationStatus.REJECTED,
            ReservationStatus.TIMEOUT,
            ReservationStatus.CANCELED,
            ReservationStatus.RESCINDED,
        }
    ),
    ReservationStatus.ACCEPTED: frozenset({ReservationStatus.WRAPPING, ReservationStatus.COMPLETED}),
    ReservationStatus.WRAPPING: frozenset({ReservationStatus.COMPLETED}),
}

#: Fields each instruction needs; the others fall back to the worker's contact URI or Twilio's defaults.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "conference": (),
    "dequeue": ("dequeue_from",),
    "call": ("call_from", "call_url"),
    "redirect": ("redirect_call_sid", "redirect_url"),
    "supervise": ("supervisor",),
}

INVALID_PARAMETER = 20001


class FakeAPIError(Exception):
    """A request the fake refuses, with the HTTP status and Twilio error code it answers with."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def utc_now() -> datetime:
    """The fake's default clock."""
    return datetime.now(timezone.utc)


@attrs.frozen(kw_only=True)
class FakeReservation:
    """A reservation as the fake holds it; every change replaces it with a new version."""

    sid: str
    workspace_sid: str
    task_sid: str
    worker_sid: str
    worker_name: str
    status: ReservationStatus
    date_created: datetime
    date_updated: datetime
    #: Starts at 1 and grows by one with every change; the ETag is derived from it.
    version: int = 1
    #: The last instruction applied (``conference``, ``dequeue``, ...), if any.
    instruction: str | None = None

    @property
    def etag(self) -> str:
        """The ETag the fake sends for this version, and expects back in If-Match."""
        return f'"{self.version}"'


def _read_only(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class FakeTask:
    """What callbacks say about a task besides its SID: routing, attributes, priority, age."""

    sid: str
    workspace_sid: str
    #: One workflow and one task queue per workspace, derived from its SID.
    workflow_sid: str
    task_queue_sid: str
    attributes: Mapping[str, Any] = attrs.field(converter=_read_only, hash=False)
    priority: int = 0
    #: Taken from its first reservation, so that seeding a task does not read the clock.
    date_created: datetime | None = None


@attrs.frozen(kw_only=True)
class ListQuery:
    """A parsed list request: filters, page size and where the page starts."""

    status: ReservationStatus | None = None
    worker_sid: str | None = None
    page_size: int = 50
    page: int = 0
    #: ``PA<sid>``: the page after that reservation; ``PB<sid>``: the page before it.
    page_token: str | None = None


@attrs.frozen(kw_only=True)
class PageSlice:
    """One page of reservations and whether pages exist before and after it."""

    items: tuple[FakeReservation, ...]
    has_previous: bool
    has_next: bool


def _seconds(moment: datetime) -> datetime:
    """In UTC (a naive ``clock`` reading is UTC, not local time) and in whole seconds, like Twilio's timestamps."""
    return as_utc(moment).replace(microsecond=0)


class FakeStore:
    """The fake's records, with seeding methods for tests and the update rules of the real API."""

    def __init__(self, *, clock: Callable[[], datetime], seed: int) -> None:
        self._clock = clock
        self._random = random.Random(seed)
        self.workspaces: list[str] = []
        self.tasks: dict[str, str] = {}  # task SID -> workspace SID
        self.task_details: dict[str, FakeTask] = {}  # task SID -> what callbacks report about it
        self.workers: dict[str, tuple[str, str]] = {}  # worker SID -> (workspace SID, friendly name)
        self.worker_attributes: dict[str, Mapping[str, Any]] = {}
        self.reservations: dict[str, FakeReservation] = {}  # in creation order: the list order
        self._order: dict[str, int] = {}

    # --- seeding -------------------------------------------------------------------------

    def new_sid(self, prefix: str) -> str:
        return f"{prefix}{self._random.getrandbits(128):032x}"

    def now(self) -> datetime:
        return _seconds(self._clock())

    def add_workspace(self, sid: str | None = None) -> str:
        sid = check_sid(sid, "WS", "sid") if sid is not None else self.new_sid("WS")
        if sid not in self.workspaces:
            self.workspaces.append(sid)
        return sid

    def workspace_or_default(self, workspace_sid: str | None) -> str:
        if workspace_sid is not None:
            return self.add_workspace(workspace_sid)
        return self.workspaces[0] if self.workspaces else self.add_workspace()

    def add_task(
        self,
        workspace_sid: str | None,
        sid: str | None,
        attributes: Mapping[str, Any] | None = None,
        priority: int | None = None,
    ) -> str:
        workspace_sid = self.workspace_or_default(workspace_sid)
        sid = check_sid(sid, "WT", "sid") if sid is not None else self.new_sid("WT")
        self._check_owner("task", sid, self.tasks.get(sid), workspace_sid)
        self.tasks[sid] = workspace_sid
        known = self.task_details.get(sid)
        if known is None:
            # Derived rather than drawn from the seeded generator, so other generated SIDs stay as they were.
            known = FakeTask(
                sid=sid,
                workspace_sid=workspace_sid,
                workflow_sid="WW" + workspace_sid[2:],
                task_queue_sid="WQ" + workspace_sid[2:],
                attributes={},
            )
        self.task_details[sid] = attrs.evolve(
            known,
            attributes=known.attributes if attributes is None else attributes,
            priority=known.priority if priority is None else priority,
        )
        return sid

    def add_worker(
        self,
        workspace_sid: str | None,
        friendly_name: str | None,
        sid: str | None,
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        workspace_sid = self.workspace_or_default(workspace_sid)
        sid = check_sid(sid, "WK", "sid") if sid is not None else self.new_sid("WK")
        known = self.workers.get(sid)
        self._check_owner("worker", sid, known[0] if known else None, workspace_sid)
        if known is None or friendly_name is not None:
            self.workers[sid] = (workspace_sid, friendly_name or f"Worker {len(self.workers) + 1}")
        if attributes is not None or sid not in self.worker_attributes:
            self.worker_attributes[sid] = MappingProxyType(dict(attributes or {}))
        return sid

    def add_reservation(
        self,
        *,
        workspace_sid: str | None,
        task_sid: str | None,
        worker_sid: str | None,
        worker_name: str | None,
        status: ReservationStatus,
        sid: str | None,
    ) -> FakeReservation:
        workspace_sid = self.workspace_or_default(workspace_sid)
        task_sid = self.add_task(workspace_sid, task_sid)
        worker_sid = self.add_worker(workspace_sid, worker_name, worker_sid)
        sid = check_sid(sid, "WR", "sid") if sid is not None else self.new_sid("WR")
        if sid in self.reservations:
            raise ValueError(f"reservation {sid} already exists")
        now = self.now()
        task = self.task_details[task_sid]
        if task.date_created is None:
            self.task_details[task_sid] = attrs.evolve(task, date_created=now)
        reservation = FakeReservation(
            sid=sid,
            workspace_sid=workspace_sid,
            task_sid=task_sid,
            worker_sid=worker_sid,
            worker_name=self.workers[worker_sid][1],
            status=status,
            date_created=now,
            date_updated=now,
        )
        self._order[sid] = len(self._order)
        self.reservations[sid] = reservation
        return reservation

    def set_status(self, sid: str, status: ReservationStatus) -> FakeReservation:
        """Change a status as TaskRouter itself would (a timeout, a cancel), with no transition check."""
        return self._save(self.reservations[sid], status=status)

    @staticmethod
    def _check_owner(kind: str, sid: str, known_workspace: str | None, workspace_sid: str) -> None:
        if known_workspace is not None and known_workspace != workspace_sid:
            raise ValueError(f"{kind} {sid} belongs to workspace {known_workspace}, not {workspace_sid}")

    # --- what the API does ---------------------------------------------------------------

    def find_parent(self, workspace_sid: str, segment: str, parent_sid: str) -> None:
        """404 unless the workspace exists and holds this task (``Tasks``) or worker (``Workers``)."""
        if segment == "Tasks":
            owner = self.tasks.get(parent_sid)
        else:
            worker = self.workers.get(parent_sid)
            owner = worker[0] if worker else None
        if workspace_sid not in self.workspaces or owner != workspace_sid:
            raise FakeAPIError(404, 20404, "The requested resource was not found")

    def find(self, workspace_sid: str, segment: str, parent_sid: str, sid: str) -> FakeReservation:
        self.find_parent(workspace_sid, segment, parent_sid)
        reservation = self.reservations.get(sid)
        if reservation is None or _parent(reservation, segment) != parent_sid:
            raise FakeAPIError(404, 20404, "The requested resource was not found")
        return reservation

    def page(self, segment: str, parent_sid: str, query: ListQuery) -> PageSlice:
        """The reservations of one task or worker that pass the filters, sliced as ``query`` asks."""
        matching = [r for r in self._of_parent(segment, parent_sid) if _passes(r, query)]
        if query.page_token is None:
            start = query.page * query.page_size
            items = matching[start : start + query.page_size]
            return PageSlice(
                items=tuple(items), has_previous=start > 0, has_next=start + query.page_size < len(matching)
            )
        direction, anchor = query.page_token[:2], self._order[query.page_token[2:]]
        if direction == "PA":
            after = [r for r in matching if self._order[r.sid] > anchor]
            items = after[: query.page_size]
            return PageSlice(items=tuple(items), has_previous=True, has_next=len(after) > query.page_size)
        before = [r for r in matching if self._order[r.sid] < anchor]
        items = before[-query.page_size :]
        return PageSlice(items=tuple(items), has_previous=len(before) > query.page_size, has_next=True)

    def is_page_token(self, token: str) -> bool:
        return token[:2] in ("PA", "PB") and token[2:] in self._order

    def update(self, reservation: FakeReservation, params: ReservationUpdate, *, segment: str) -> FakeReservation:
        """Apply a status change or an instruction the way TaskRouter does, or raise FakeAPIError."""
        target, instruction = params.reservation_status, params.instruction
        if (target is None) == (instruction is None):
            raise FakeAPIError(400, INVALID_PARAMETER, "Set exactly one of ReservationStatus and Instruction")
        if target is not None:
            self._check_transition(reservation, target)
            return self._save(reservation, status=target)
        assert instruction is not None
        if instruction not in REQUIRED_FIELDS or (instruction == "supervise" and segment != "Tasks"):
            raise FakeAPIError(400, INVALID_PARAMETER, f"Instruction {instruction!r} is not valid here")
        missing = [name for name in REQUIRED_FIELDS[instruction] if getattr(params, name) is None]
        if missing:
            names = ", ".join(wire_name(name) for name in missing)
            raise FakeAPIError(400, INVALID_PARAMETER, f"The {instruction} instruction requires {names}")
        if instruction == "supervise":
            self._check_state(reservation, ReservationStatus.ACCEPTED, instruction)
            return self._save(reservation, instruction=instruction)
        self._check_state(reservation, ReservationStatus.PENDING, instruction)
        accepts = instruction in ("conference", "dequeue") or bool(params.call_accept or params.redirect_accept)
        return self._save(
            reservation, status=ReservationStatus.ACCEPTED if accepts else reservation.status, instruction=instruction
        )

    def _check_transition(self, reservation: FakeReservation, target: ReservationStatus) -> None:
        if target not in TRANSITIONS.get(reservation.status, frozenset()):
            expected = ", ".join(s.value for s, allowed in TRANSITIONS.items() if target in allowed)
            if not expected:  # nothing moves to this status (pending): no empty brackets
                raise FakeAPIError(
                    400,
                    INVALID_PARAMETER,
                    f"Reservation {reservation.sid} not in expected state (no status moves to "
                    f"{target.value}) and cannot be updated to [{target.value}]; it is {reservation.status.value}",
                )
            raise FakeAPIError(
                400,
                INVALID_PARAMETER,
                f"Reservation {reservation.sid} not in expected state [{expected}] and cannot be updated to "
                f"[{target.value}]; it is {reservation.status.value}",
            )

    @staticmethod
    def _check_state(reservation: FakeReservation, expected: ReservationStatus, instruction: str) -> None:
        if reservation.status is not expected:
            raise FakeAPIError(
                400,
                INVALID_PARAMETER,
                f"Reservation {reservation.sid} not in expected state [{expected.value}] for the {instruction} "
                f"instruction; it is {reservation.status.value}",
            )

    def _save(
        self, reservation: FakeReservation, *, status: ReservationStatus | None = None, instruction: str | None = None
    ) -> FakeReservation:
        saved = attrs.evolve(
            reservation,
            version=reservation.version + 1,
            date_updated=self.now(),
            status=status or reservation.status,
            instruction=instruction or reservation.instruction,
        )
        self.reservations[saved.sid] = saved
        return saved

    def _of_parent(self, segment: str, parent_sid: str) -> Iterator[FakeReservation]:
        for reservation in self.reservations.values():
            if _parent(reservation, segment) == parent_sid:
                yield reservation


def _parent(reservation: FakeReservation, segment: str) -> str:
    return reservation.task_sid if segment == "Tasks" else reservation.worker_sid


def _passes(reservation: FakeReservation, query: ListQuery) -> bool:
    return (query.status is None or reservation.status is query.status) and (
        query.worker_sid is None or reservation.worker_sid == query.worker_sid
    )
