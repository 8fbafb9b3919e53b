"""The emulator's state and TaskRouter's rules: resources, the task-reservation-worker lifecycle, routing, timers.

Nothing here knows about HTTP: the ASGI layer (``_app``, ``_resources``) parses requests, calls
these methods and turns ``FakeAPIError`` into Twilio's error JSON. Every change records an
event (``events``) and queues it for the event callback (``outbox``); every new reservation is
queued for the assignment callback (``new_reservations``).

Sources for the rules, cited where they apply:
LIFECYCLE = https://www.twilio.com/docs/taskrouter/lifecycle-task-state
ASSIGNMENT = https://www.twilio.com/docs/taskrouter/lifecycle-task-workflows-and-assignment
ACTIVITIES = https://www.twilio.com/docs/taskrouter/api/activity
MULTI = https://www.twilio.com/en-us/blog/route-tasks-even-faster-with-taskrouter-multi-reservation-html
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from .._converter import as_utc, wire_name
from .._enums import ReservationStatus
from .._sids import check_sid
from ..resources import ReservationUpdate
from ._expressions import ExpressionError, parse_expression
from ._records import (
    Activity,
    Event,
    RoutingPlan,
    RoutingTarget,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from ._routing import ConfigurationError, filter_document, parse_plan, target_document, worker_document

__all__ = ["INVALID_PARAMETER", "FakeAPIError", "FakeReservation", "FakeStore", "ListQuery", "PageSlice", "utc_now"]

S = ReservationStatus

#: Status changes a client may ask for, by current status (TaskRouter's documented lifecycle).
TRANSITIONS: dict[ReservationStatus, frozenset[ReservationStatus]] = {
    S.PENDING: frozenset({S.ACCEPTED, S.REJECTED, S.TIMEOUT, S.CANCELED, S.RESCINDED}),
    S.ACCEPTED: frozenset({S.WRAPPING, S.COMPLETED}),
    S.WRAPPING: frozenset({S.COMPLETED}),
}

#: Fields each instruction needs; the others fall back to the worker's contact URI or Twilio's defaults.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "conference": (),
    "dequeue": ("dequeue_from",),
    "call": ("call_from", "call_url"),
    "redirect": ("redirect_call_sid", "redirect_url"),
    "supervise": ("supervisor",),
}

#: Twilio's "Invalid parameter" (https://www.twilio.com/docs/errors/20001): TaskRouter's answer to a bad value
#: and to a change the resource's state forbids.
INVALID_PARAMETER = 20001
NOT_FOUND = 20404

#: A new workspace's activities (ACTIVITIES: "Offline", "Unavailable" and "Available"); Offline is both its
#: default activity and its timeout activity.
DEFAULT_ACTIVITIES = (("Offline", False), ("Available", True), ("Unavailable", False))
#: A new workspace's task channels, by unique name (https://www.twilio.com/docs/taskrouter/api/task-channel).
DEFAULT_CHANNELS = (("Default", "default"), ("Voice", "voice"), ("Chat", "chat"), ("SMS", "sms"), ("Video", "video"))
#: TaskRouter deletes a completed or canceled task five minutes later (LIFECYCLE).
CLOSED_TASK_LIFETIME = timedelta(minutes=5)
#: Reservation statuses that hold a worker's capacity on the task's channel.
_HOLDING = frozenset({S.PENDING, S.ACCEPTED, S.WRAPPING})

_EVENT_RESERVATION = {
    S.PENDING: "reservation.created",
    S.ACCEPTED: "reservation.accepted",
    S.REJECTED: "reservation.rejected",
    S.TIMEOUT: "reservation.timeout",
    S.CANCELED: "reservation.canceled",
    S.RESCINDED: "reservation.rescinded",
    S.WRAPPING: "reservation.wrapup",
    S.COMPLETED: "reservation.completed",
}


class FakeAPIError(Exception):
    """A request the fake refuses, with the HTTP status and Twilio error code it answers with."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> FakeAPIError:
    return FakeAPIError(400, INVALID_PARAMETER, message)


def not_found(what: str = "resource") -> FakeAPIError:
    return FakeAPIError(404, NOT_FOUND, f"The requested {what} was not found")


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


@attrs.frozen(kw_only=True)
class ListQuery:
    """A parsed reservations list request: filters, page size and where the page starts."""

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


def _derived_sid(prefix: str, *parts: str) -> str:
    """A SID derived from its parent's, so that a workspace's defaults leave the seeded SID sequence alone."""
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


class FakeStore:
    """The emulator's records, with seeding methods for tests and the rules of the real API."""

    def __init__(
        self, *, clock: Callable[[], datetime], seed: int, history_limit: int | None = None, base_url: str = ""
    ) -> None:
        self._clock = clock
        #: What ``advance`` added to the clock.
        self.offset = timedelta(0)
        self._random = random.Random(seed)
        self.base_url = base_url
        self.workspaces: dict[str, Workspace] = {}
        self.activities: dict[str, Activity] = {}
        self.task_channels: dict[str, TaskChannel] = {}
        self.task_queues: dict[str, TaskQueue] = {}
        self.workflows: dict[str, Workflow] = {}
        self.workers: dict[str, Worker] = {}
        self.worker_channels: dict[str, WorkerChannel] = {}
        self.tasks: dict[str, Task] = {}
        self.reservations: dict[str, FakeReservation] = {}  # in creation order: the list order
        self._order: dict[str, int] = {}
        #: When each pending reservation times out.
        self.reservation_expiry: dict[str, datetime] = {}
        #: The queue each reservation was made from (its activities apply on reserve and accept).
        self.reservation_queue: dict[str, str] = {}
        #: Recorded events, oldest first; at most ``history_limit``.
        self.events: deque[Event] = deque(maxlen=history_limit)
        #: Events not yet sent as event callbacks; reservations not yet sent as assignment callbacks.
        self.outbox: list[Event] = []
        self.new_reservations: list[str] = []
        self._event_count = 0
        self._creations = 0
        self._quiet = 0
        self._in_moment = False
        self._moment: datetime | None = None

    @contextlib.contextmanager
    def seeding(self) -> Iterator[None]:
        """Changes made by the seeding helpers: recorded as events, but no callbacks are sent for them."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    # --- time and identity -----------------------------------------------------------------

    def new_sid(self, prefix: str) -> str:
        return f"{prefix}{self._random.getrandbits(128):032x}"

    def now(self) -> datetime:
        """The clock (plus what ``advance`` added); read at most once per operation (see ``moment``)."""
        if self._moment is not None:
            return self._moment
        now = _seconds(self._clock() + self.offset)
        if self._in_moment:
            self._moment = now
        return now

    @contextlib.contextmanager
    def moment(self) -> Iterator[None]:
        """One operation (a request, a seeding call): every change in it carries the same time."""
        if self._in_moment:
            yield
            return
        self._in_moment = True
        try:
            yield
        finally:
            self._in_moment = False
            self._moment = None

    def _next_order(self) -> int:
        self._creations += 1
        return self._creations

    # --- workspaces and their defaults ----------------------------------------------------

    def create_workspace(
        self,
        friendly_name: str,
        *,
        sid: str | None = None,
        event_callback_url: str | None = None,
        events_filter: str | None = None,
        multi_task_enabled: bool = True,
        prioritize_queue_order: str = "FIFO",
        template: str | None = None,
        sample_routing: bool = False,
    ) -> Workspace:
        """A workspace with TaskRouter's default activities and task channels; ``template="FIFO"`` (or
        ``sample_routing``) adds a queue for every worker and a workflow into it."""
        sid = sid or self.new_sid("WS")
        now = self.now()
        workspace = Workspace(
            sid=sid,
            friendly_name=friendly_name,
            date_created=now,
            date_updated=now,
            event_callback_url=event_callback_url,
            events_filter=events_filter,
            multi_task_enabled=multi_task_enabled,
            prioritize_queue_order=prioritize_queue_order,
        )
        self.workspaces[sid] = workspace
        for name, available in DEFAULT_ACTIVITIES:
            activity = self.create_activity(sid, name, available, sid=_derived_sid("WA", sid, name), quiet=True)
            if name == "Offline":
                workspace.default_activity_sid = workspace.timeout_activity_sid = activity.sid
        for name, unique_name in DEFAULT_CHANNELS:
            self.create_task_channel(sid, name, unique_name, sid=_derived_sid("TC", sid, unique_name), quiet=True)
        if template == "FIFO" or sample_routing:
            # The seeding helpers' SIDs: derived from the workspace's, as the fake has always made them.
            queue_sid = "WQ" + sid[2:] if sample_routing else _derived_sid("WQ", sid, "queue")
            workflow_sid = "WW" + sid[2:] if sample_routing else _derived_sid("WW", sid, "workflow")
            self.create_task_queue(sid, "Sample Queue", sid=queue_sid, quiet=True)
            configuration = json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": queue_sid}}})
            self.create_workflow(sid, "Default Fifo Workflow", configuration, sid=workflow_sid, quiet=True)
        self.record("workspace.created", "workspace", sid, f"Workspace {friendly_name} created", workspace_sid=sid)
        return workspace

    def workspace(self, sid: str) -> Workspace:
        try:
            return self.workspaces[sid]
        except KeyError:
            raise not_found("Workspace") from None

    def delete_workspace(self, sid: str) -> None:
        self.workspace(sid)
        for table in (
            self.activities,
            self.task_channels,
            self.task_queues,
            self.workflows,
            self.workers,
            self.worker_channels,
            self.tasks,
        ):
            for key in [k for k, v in table.items() if v.workspace_sid == sid]:
                del table[key]
        for key in [k for k, r in self.reservations.items() if r.workspace_sid == sid]:
            self._forget_reservation(key)
        del self.workspaces[sid]

    # --- activities, channels, queues, workflows ---------------------------------------------

    def create_activity(
        self, workspace_sid: str, friendly_name: str, available: bool, *, sid: str | None = None, quiet: bool = False
    ) -> Activity:
        now = self.now()
        activity = Activity(
            sid=sid or self.new_sid("WA"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            available=available,
            date_created=now,
            date_updated=now,
        )
        self.activities[activity.sid] = activity
        if not quiet:
            self.record(
                "activity.created", "activity", activity.sid, f"Activity {friendly_name} created", **_of(activity)
            )
        return activity

    def activity(self, workspace_sid: str, sid: str) -> Activity:
        activity = self.activities.get(sid)
        if activity is None or activity.workspace_sid != workspace_sid:
            raise not_found("Activity")
        return activity

    def check_activity(self, workspace_sid: str, sid: str, name: str) -> Activity:
        """An activity named in a request: 400 (not 404) if it is not this workspace's."""
        activity = self.activities.get(sid)
        if activity is None or activity.workspace_sid != workspace_sid:
            raise invalid(f"{name} {sid} is not an Activity of workspace {workspace_sid}")
        return activity

    def delete_activity(self, workspace_sid: str, sid: str) -> None:
        activity = self.activity(workspace_sid, sid)
        workspace = self.workspaces[workspace_sid]
        if sid in (workspace.default_activity_sid, workspace.timeout_activity_sid):
            raise invalid(f"Activity {sid} is the workspace's default or timeout activity and cannot be deleted")
        if any(w.activity_sid == sid for w in self.workers.values()):
            raise invalid(f"Activity {sid} is in use by workers and cannot be deleted")
        del self.activities[sid]
        self.record("activity.deleted", "activity", sid, f"Activity {activity.friendly_name} deleted", **_of(activity))

    def create_task_channel(
        self,
        workspace_sid: str,
        friendly_name: str,
        unique_name: str,
        *,
        channel_optimized_routing: bool | None = None,
        sid: str | None = None,
        quiet: bool = False,
    ) -> TaskChannel:
        if any(c.workspace_sid == workspace_sid and c.unique_name == unique_name for c in self.task_channels.values()):
            raise invalid(f"A TaskChannel with UniqueName {unique_name!r} already exists")
        now = self.now()
        channel = TaskChannel(
            sid=sid or self.new_sid("TC"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            unique_name=unique_name,
            channel_optimized_routing=channel_optimized_routing,
            date_created=now,
            date_updated=now,
        )
        self.task_channels[channel.sid] = channel
        for worker in self._workers_of(workspace_sid):
            self._add_worker_channel(worker, channel)
        if not quiet:
            self.record("task-channel.created", "task_channel", channel.sid, f"TaskChannel {unique_name} created")
        return channel

    def task_channel(self, workspace_sid: str, sid_or_name: str) -> TaskChannel:
        """A task channel by SID or unique name (the API takes either)."""
        for channel in self.task_channels.values():
            if channel.workspace_sid == workspace_sid and sid_or_name in (channel.sid, channel.unique_name):
                return channel
        raise not_found("TaskChannel")

    def delete_task_channel(self, workspace_sid: str, sid: str) -> None:
        channel = self.task_channel(workspace_sid, sid)
        if any(t.task_channel_sid == channel.sid and t.date_closed is None for t in self.tasks.values()):
            raise invalid(f"TaskChannel {channel.sid} has open tasks and cannot be deleted")
        del self.task_channels[channel.sid]
        for key in [k for k, c in self.worker_channels.items() if c.task_channel_sid == channel.sid]:
            del self.worker_channels[key]
        self.record("task-channel.deleted", "task_channel", channel.sid, f"TaskChannel {channel.unique_name} deleted")

    def create_task_queue(
        self,
        workspace_sid: str,
        friendly_name: str,
        *,
        target_workers: str | None = None,
        max_reserved_workers: int = 1,
        task_order: str = "FIFO",
        reservation_activity_sid: str | None = None,
        assignment_activity_sid: str | None = None,
        sid: str | None = None,
        quiet: bool = False,
    ) -> TaskQueue:
        target_workers = target_workers or "1==1"
        now = self.now()
        queue = TaskQueue(
            sid=sid or self.new_sid("WQ"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            target_workers=target_workers,
            matcher=_parse(target_workers, "TargetWorkers"),
            max_reserved_workers=max_reserved_workers,
            task_order=task_order,
            reservation_activity_sid=reservation_activity_sid,
            assignment_activity_sid=assignment_activity_sid,
            date_created=now,
            date_updated=now,
        )
        self.task_queues[queue.sid] = queue
        if not quiet:
            self.record("task-queue.created", "task_queue", queue.sid, f"TaskQueue {friendly_name} created")
        return queue

    def task_queue(self, workspace_sid: str, sid: str) -> TaskQueue:
        queue = self.task_queues.get(sid)
        if queue is None or queue.workspace_sid != workspace_sid:
            raise not_found("TaskQueue")
        return queue

    def update_task_queue(self, queue: TaskQueue, changes: Mapping[str, Any]) -> None:
        if "target_workers" in changes:
            queue.matcher = _parse(changes["target_workers"], "TargetWorkers")
            self.record(
                "task-queue.expression.updated", "task_queue", queue.sid, f"TaskQueue {queue.friendly_name} updated"
            )
        for name, value in changes.items():
            setattr(queue, name, value)
        queue.date_updated = self.now()

    def delete_task_queue(self, workspace_sid: str, sid: str) -> None:
        queue = self.task_queue(workspace_sid, sid)
        if any(t.task_queue_sid == sid and t.date_closed is None for t in self.tasks.values()):
            raise invalid(f"TaskQueue {sid} has open tasks and cannot be deleted")
        if any(sid in w.configuration for w in self.workflows.values() if w.workspace_sid == workspace_sid):
            raise invalid(f"TaskQueue {sid} is used by a workflow and cannot be deleted")
        del self.task_queues[sid]
        self.record("task-queue.deleted", "task_queue", sid, f"TaskQueue {queue.friendly_name} deleted")

    def plan(self, workspace_sid: str, configuration: str) -> RoutingPlan:
        def exists(sid: str) -> bool:
            queue = self.task_queues.get(sid)
            return queue is not None and queue.workspace_sid == workspace_sid

        try:
            return parse_plan(configuration, exists)
        except ConfigurationError as exc:
            raise invalid(f"Invalid Configuration: {exc}") from None

    def create_workflow(
        self,
        workspace_sid: str,
        friendly_name: str,
        configuration: str,
        *,
        assignment_callback_url: str | None = None,
        fallback_assignment_callback_url: str | None = None,
        task_reservation_timeout: int = 120,
        sid: str | None = None,
        quiet: bool = False,
    ) -> Workflow:
        now = self.now()
        workflow = Workflow(
            sid=sid or self.new_sid("WW"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            configuration=configuration,
            plan=self.plan(workspace_sid, configuration),
            assignment_callback_url=assignment_callback_url,
            fallback_assignment_callback_url=fallback_assignment_callback_url,
            task_reservation_timeout=task_reservation_timeout,
            date_created=now,
            date_updated=now,
        )
        self.workflows[workflow.sid] = workflow
        if not quiet:
            self.record("workflow.created", "workflow", workflow.sid, f"Workflow {friendly_name} created")
        return workflow

    def workflow(self, workspace_sid: str, sid: str) -> Workflow:
        workflow = self.workflows.get(sid)
        if workflow is None or workflow.workspace_sid != workspace_sid:
            raise not_found("Workflow")
        return workflow

    def delete_workflow(self, workspace_sid: str, sid: str) -> None:
        workflow = self.workflow(workspace_sid, sid)
        if any(t.workflow_sid == sid and t.date_closed is None for t in self.tasks.values()):
            raise invalid(f"Workflow {sid} has open tasks and cannot be deleted")
        del self.workflows[sid]
        self.record("workflow.deleted", "workflow", sid, f"Workflow {workflow.friendly_name} deleted")

    # --- workers ----------------------------------------------------------------------------

    def create_worker(
        self,
        workspace_sid: str,
        friendly_name: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        activity_sid: str | None = None,
        sid: str | None = None,
    ) -> Worker:
        workspace = self.workspace(workspace_sid)
        if any(w.workspace_sid == workspace_sid and w.friendly_name == friendly_name for w in self.workers.values()):
            raise invalid(f"A Worker with FriendlyName {friendly_name!r} already exists in this workspace")
        if activity_sid is not None:
            self.check_activity(workspace_sid, activity_sid, "ActivitySid")
        now = self.now()
        worker = Worker(
            sid=sid or self.new_sid("WK"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            attributes=dict(attributes or {}),
            activity_sid=activity_sid or workspace.default_activity_sid,
            date_created=now,
            date_updated=now,
            date_status_changed=now,
            order=self._next_order(),
        )
        self.workers[worker.sid] = worker
        for channel in self.task_channels.values():
            if channel.workspace_sid == workspace_sid:
                self._add_worker_channel(worker, channel)
        self.record(
            "worker.created", "worker", worker.sid, f"Worker {friendly_name} created", **self._about_worker(worker)
        )
        return worker

    def worker(self, workspace_sid: str, sid: str) -> Worker:
        worker = self.workers.get(sid)
        if worker is None or worker.workspace_sid != workspace_sid:
            raise not_found("Worker")
        return worker

    def _add_worker_channel(self, worker: Worker, channel: TaskChannel) -> None:
        sid = _derived_sid("WC", worker.sid, channel.sid)
        now = self.now()
        self.worker_channels[sid] = WorkerChannel(
            sid=sid,
            workspace_sid=worker.workspace_sid,
            worker_sid=worker.sid,
            task_channel_sid=channel.sid,
            date_created=now,
            date_updated=now,
        )

    def worker_channel(self, worker: Worker, sid_or_name: str) -> WorkerChannel:
        for channel in self.worker_channels.values():
            if channel.worker_sid != worker.sid:
                continue
            task_channel = self.task_channels[channel.task_channel_sid]
            if sid_or_name in (channel.sid, task_channel.unique_name, task_channel.sid):
                return channel
        raise not_found("WorkerChannel")

    def worker_channels_of(self, worker: Worker) -> list[WorkerChannel]:
        return [c for c in self.worker_channels.values() if c.worker_sid == worker.sid]

    def update_worker_channel(self, channel: WorkerChannel, capacity: int | None, available: bool | None) -> None:
        worker = self.workers[channel.worker_sid]
        if capacity is not None:
            channel.configured_capacity = capacity
            self.record(
                "worker.capacity.update", "worker", worker.sid, "Worker capacity updated", **self._about_worker(worker)
            )
        if available is not None:
            channel.available = available
            self.record(
                "worker.channel.availability.update",
                "worker",
                worker.sid,
                "Worker channel availability updated",
                **self._about_worker(worker),
            )
        channel.date_updated = self.now()
        self.route(worker.workspace_sid)

    def assigned_tasks(self, channel: WorkerChannel) -> int:
        """The worker's tasks on this channel that hold capacity (reserved, assigned or wrapping)."""
        return len(
            {
                r.task_sid
                for r in self.reservations.values()
                if r.worker_sid == channel.worker_sid
                and r.status in _HOLDING
                and self.tasks[r.task_sid].task_channel_sid == channel.task_channel_sid
            }
        )

    def is_available(self, worker: Worker) -> bool:
        return self.activities[worker.activity_sid].available

    def set_activity(
        self, worker: Worker, activity_sid: str, *, reject_pending: bool = False, event: bool = True
    ) -> None:
        """Move a worker to an activity; an available one may get it a task at once."""
        if activity_sid == worker.activity_sid:
            return
        worker.activity_sid = activity_sid
        worker.date_status_changed = worker.date_updated = self.now()
        worker.version += 1
        if event:
            self.record(
                "worker.activity.update",
                "worker",
                worker.sid,
                f"Worker {worker.friendly_name} updated to {self.activities[activity_sid].friendly_name} Activity",
                **self._about_worker(worker),
            )
        if reject_pending and not self.activities[activity_sid].available:
            for reservation in self._reservations_of_worker(worker.sid, S.PENDING):
                self._change(reservation, S.REJECTED)

    def update_worker(
        self,
        worker: Worker,
        *,
        friendly_name: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        activity_sid: str | None = None,
        reject_pending: bool = False,
    ) -> None:
        if activity_sid is not None:
            self.check_activity(worker.workspace_sid, activity_sid, "ActivitySid")
        if friendly_name is not None:
            worker.friendly_name = friendly_name
        if attributes is not None:
            worker.attributes = dict(attributes)
            self.record(
                "worker.attributes.update",
                "worker",
                worker.sid,
                "Worker attributes updated",
                **self._about_worker(worker),
            )
        if friendly_name is not None or attributes is not None:
            worker.version += 1
            worker.date_updated = self.now()
        if activity_sid is not None:
            self.set_activity(worker, activity_sid, reject_pending=reject_pending)
        self.route(worker.workspace_sid)

    def delete_worker(self, worker: Worker) -> None:
        for reservation in self._reservations_of_worker(worker.sid, S.PENDING):
            self._change(reservation, S.CANCELED)
        for key in [k for k, c in self.worker_channels.items() if c.worker_sid == worker.sid]:
            del self.worker_channels[key]
        del self.workers[worker.sid]
        self.record(
            "worker.deleted",
            "worker",
            worker.sid,
            f"Worker {worker.friendly_name} deleted",
            **self._about_worker(worker),
        )
        self.route(worker.workspace_sid)

    def _workers_of(self, workspace_sid: str) -> list[Worker]:
        return [w for w in self.workers.values() if w.workspace_sid == workspace_sid]

    def _reservations_of_worker(self, worker_sid: str, status: ReservationStatus) -> list[FakeReservation]:
        return [r for r in self.reservations.values() if r.worker_sid == worker_sid and r.status is status]

    # --- tasks ---------------------------------------------------------------------------------

    def create_task(
        self,
        workspace_sid: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        workflow_sid: str | None = None,
        priority: int | None = None,
        timeout: int | None = None,
        task_channel: str | None = None,
        routing_target: str | None = None,
        ignore_capacity: bool = False,
        virtual_start_time: datetime | None = None,
    ) -> Task:
        """A task routed through its workflow (ASSIGNMENT): the first matching filter, else the default filter."""
        workflows = [w for w in self.workflows.values() if w.workspace_sid == workspace_sid]
        if workflow_sid is not None:
            workflow = self.workflows.get(workflow_sid)
            if workflow is None or workflow.workspace_sid != workspace_sid:
                raise invalid(f"WorkflowSid {workflow_sid} is not a Workflow of this workspace")
        elif len(workflows) == 1:
            workflow = workflows[0]
        else:
            raise invalid("WorkflowSid is required: the workspace has no workflow or more than one")
        channel_sid = self._channel_for(workspace_sid, task_channel)
        now = self.now()
        task = Task(
            sid=self.new_sid("WT"),
            workspace_sid=workspace_sid,
            attributes=dict(attributes or {}),
            workflow_sid=workflow.sid,
            task_queue_sid="",
            task_channel_sid=channel_sid,
            date_created=now,
            date_updated=now,
            priority=priority or 0,
            timeout=timeout or 86400,
            routing_target=routing_target,
            ignore_capacity=ignore_capacity,
            virtual_start_time=virtual_start_time,
            order=self._next_order(),
        )
        self.tasks[task.sid] = task
        self.record("task.created", "task", task.sid, "Task created", **self._about_task(task))
        self._enter_workflow(task, workflow, explicit_priority=priority is not None)
        self.route(workspace_sid)
        return task

    def _channel_for(self, workspace_sid: str, task_channel: str | None) -> str:
        try:
            return self.task_channel(workspace_sid, task_channel or "default").sid
        except FakeAPIError:
            raise invalid(f"TaskChannel {task_channel!r} is not a TaskChannel of this workspace") from None

    def _enter_workflow(self, task: Task, workflow: Workflow, *, explicit_priority: bool) -> None:
        """The first filter whose expression matches, else the default filter; no match and no default cancels."""
        self.record("workflow.entered", "task", task.sid, "Task entered workflow", **self._about_task(task))
        now = self.now()
        for index, routing_filter in enumerate(workflow.plan.filters):
            if routing_filter.expression.matches(filter_document(task, now)):
                task.filter_index = index
                self._enter_target(task, workflow, 0, explicit_priority=explicit_priority)
                return
        task.filter_index = None
        if workflow.plan.default_queue_sid is None:
            self._close(task, "canceled", "No filter matched and the workflow has no default_filter")
            return
        self._enter_queue(task, workflow.plan.default_queue_sid, deadline=None)

    def _target(self, task: Task) -> RoutingTarget | None:
        if task.filter_index is None:
            return None
        workflow = self.workflows.get(task.workflow_sid)
        if workflow is None or task.filter_index >= len(workflow.plan.filters):
            return None
        targets = workflow.plan.filters[task.filter_index].targets
        return targets[task.target_index] if task.target_index < len(targets) else None

    def _enter_target(self, task: Task, workflow: Workflow, index: int, *, explicit_priority: bool = False) -> None:
        assert task.filter_index is not None
        routing_filter = workflow.plan.filters[task.filter_index]
        target = routing_filter.targets[index]
        task.target_index = index
        if target.priority is not None and not explicit_priority:
            task.priority = target.priority
        # ASSIGNMENT (task-evaluation): a step's timeout counts from the task's creation, cumulatively.
        elapsed = sum(t.timeout or 0 for t in routing_filter.targets[: index + 1])
        deadline = None if target.timeout is None else task.date_created + timedelta(seconds=elapsed)
        self.record(
            "workflow.target-matched",
            "task",
            task.sid,
            f"Task matched filter {routing_filter.friendly_name!r}, target {index}",
            **self._about_task(task),
        )
        self._enter_queue(task, target.queue_sid or task.task_queue_sid, deadline=deadline)

    def _enter_queue(self, task: Task, queue_sid: str, *, deadline: datetime | None) -> None:
        moved = bool(task.task_queue_sid) and task.task_queue_sid != queue_sid
        task.task_queue_sid = queue_sid
        task.task_queue_entered_date = self.now()
        task.step_deadline = deadline
        self.record(
            "task-queue.moved" if moved else "task-queue.entered",
            "task",
            task.sid,
            f"Task entered TaskQueue {self.task_queues[queue_sid].friendly_name}",
            **self._about_task(task),
        )

    def task(self, workspace_sid: str, sid: str) -> Task:
        task = self.tasks.get(sid)
        if task is None or task.workspace_sid != workspace_sid:
            raise not_found("Task")
        return task

    def update_task(
        self,
        task: Task,
        *,
        attributes: Mapping[str, Any] | None = None,
        assignment_status: str | None = None,
        reason: str | None = None,
        priority: int | None = None,
        task_channel: str | None = None,
        virtual_start_time: datetime | None = None,
    ) -> None:
        """LIFECYCLE: cancel only before assignment, wrap up an assigned task, complete an assigned or wrapping one."""
        if assignment_status is not None:
            self._check_task_transition(task, assignment_status)
        if task_channel is not None:
            task.task_channel_sid = self._channel_for(task.workspace_sid, task_channel)
        if attributes is not None:
            task.attributes = dict(attributes)
        if priority is not None:
            task.priority = priority
        if virtual_start_time is not None:
            task.virtual_start_time = virtual_start_time
        task.version += 1
        task.date_updated = self.now()
        if attributes is not None or priority is not None or task_channel is not None:
            self.record("task.updated", "task", task.sid, "Task updated", **self._about_task(task))
        if assignment_status == "canceled":
            for reservation in self._reservations_of_task(task.sid, S.PENDING):
                self._change(reservation, S.CANCELED, cascade=False)
            self._close(task, "canceled", reason or "Task canceled")
        elif assignment_status == "wrapping":
            for reservation in self._reservations_of_task(task.sid, S.ACCEPTED):
                self._change(reservation, S.WRAPPING, cascade=False)
            self._task_status(task, "wrapping", reason)
        elif assignment_status == "completed":
            for reservation in self._reservations_of_task(task.sid, S.ACCEPTED, S.WRAPPING):
                self._change(reservation, S.COMPLETED, cascade=False)
            self._close(task, "completed", reason or "Task completed")
        self.route(task.workspace_sid)

    def _check_task_transition(self, task: Task, target: str) -> None:
        allowed = {
            "canceled": ("pending", "reserved"),
            "wrapping": ("assigned",),
            "completed": ("assigned", "wrapping"),
        }.get(target)
        if allowed is None:
            raise invalid(f"AssignmentStatus {target!r} cannot be set: use canceled, wrapping or completed")
        if task.assignment_status not in allowed:
            raise invalid(
                f"Task {task.sid} not in expected state [{', '.join(allowed)}] and cannot be updated to "
                f"[{target}]; it is {task.assignment_status}"
            )

    def delete_task(self, task: Task) -> None:
        for reservation in self._reservations_of_task(task.sid, S.PENDING):
            self._change(reservation, S.CANCELED, cascade=False)
        self._forget_task(task)
        self.record("task.deleted", "task", task.sid, "Task deleted", **self._about_task(task))
        self.route(task.workspace_sid)

    def _forget_task(self, task: Task) -> None:
        del self.tasks[task.sid]
        for key in [k for k, r in self.reservations.items() if r.task_sid == task.sid]:
            self._forget_reservation(key)

    def _forget_reservation(self, sid: str) -> None:
        del self.reservations[sid]
        self._order.pop(sid, None)
        self.reservation_expiry.pop(sid, None)
        self.reservation_queue.pop(sid, None)

    def _task_status(self, task: Task, status: str, reason: str | None = None) -> None:
        if task.assignment_status == status:
            return
        task.assignment_status = status
        task.version += 1
        task.date_updated = self.now()
        if reason is not None:
            task.reason = reason
        if status == "wrapping":
            self.record("task.wrapup", "task", task.sid, "Task wrapping up", **self._about_task(task))

    def _close(self, task: Task, status: str, reason: str) -> None:
        self._task_status(task, status, reason)
        task.reason = reason
        task.date_closed = self.now()
        task.step_deadline = None
        kind = "task.canceled" if status == "canceled" else "task.completed"
        self.record(kind, "task", task.sid, f"Task {status}: {reason}", **self._about_task(task))

    def _reservations_of_task(self, task_sid: str, *statuses: ReservationStatus) -> list[FakeReservation]:
        return [r for r in self.reservations.values() if r.task_sid == task_sid and r.status in statuses]

    # --- seeding (the helpers tests have always used) -------------------------------------------

    def add_workspace(self, sid: str | None = None) -> str:
        sid = check_sid(sid, "WS", "sid") if sid is not None else self.new_sid("WS")
        if sid not in self.workspaces:
            with self.seeding():
                self.create_workspace("Fake TaskRouter workspace", sid=sid, sample_routing=True)
        return sid

    def add_activity(
        self, workspace_sid: str | None, friendly_name: str | None, available: bool, sid: str | None
    ) -> str:
        workspace_sid = self.workspace_or_default(workspace_sid)
        sid = check_sid(sid, "WA", "sid") if sid is not None else self.new_sid("WA")
        known = self.activities.get(sid)
        self._check_owner("activity", sid, known.workspace_sid if known else None, workspace_sid)
        if known is None:
            with self.seeding():
                self.create_activity(
                    workspace_sid, friendly_name or f"Activity {len(self.activities) + 1}", available, sid=sid
                )
        return sid

    def workspace_or_default(self, workspace_sid: str | None) -> str:
        if workspace_sid is not None:
            return self.add_workspace(workspace_sid)
        return next(iter(self.workspaces)) if self.workspaces else self.add_workspace()

    def add_task(
        self,
        workspace_sid: str | None,
        sid: str | None,
        attributes: Mapping[str, Any] | None = None,
        priority: int | None = None,
    ) -> str:
        """A task in the workspace's sample queue, pending; it is routed when routing next runs."""
        workspace_sid = self.workspace_or_default(workspace_sid)
        sid = check_sid(sid, "WT", "sid") if sid is not None else self.new_sid("WT")
        known = self.tasks.get(sid)
        self._check_owner("task", sid, known.workspace_sid if known else None, workspace_sid)
        if known is None:
            now = self.now()
            queue_sid = "WQ" + workspace_sid[2:]
            known = Task(
                sid=sid,
                workspace_sid=workspace_sid,
                attributes={},
                workflow_sid="WW" + workspace_sid[2:],
                task_queue_sid=queue_sid,
                task_channel_sid=_derived_sid("TC", workspace_sid, "default"),
                date_created=now,
                date_updated=now,
                task_queue_entered_date=now,
                order=self._next_order(),
            )
            self.tasks[sid] = known
        if attributes is not None:
            known.attributes = dict(attributes)
        if priority is not None:
            known.priority = priority
        return sid

    def add_worker(
        self,
        workspace_sid: str | None,
        friendly_name: str | None,
        sid: str | None,
        attributes: Mapping[str, Any] | None = None,
        activity_sid: str | None = None,
    ) -> str:
        workspace_sid = self.workspace_or_default(workspace_sid)
        sid = check_sid(sid, "WK", "sid") if sid is not None else self.new_sid("WK")
        known = self.workers.get(sid)
        self._check_owner("worker", sid, known.workspace_sid if known else None, workspace_sid)
        with self.seeding():
            if known is None:
                known = self.create_worker(
                    workspace_sid,
                    friendly_name or f"Worker {len(self.workers) + 1}",
                    attributes=attributes,
                    activity_sid=activity_sid,
                    sid=sid,
                )
            else:
                if friendly_name is not None:
                    known.friendly_name = friendly_name
                if attributes is not None:
                    known.attributes = dict(attributes)
                if activity_sid is not None:
                    self.set_activity(known, activity_sid)
                    self.route(workspace_sid)
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
        with self.seeding():
            reservation = self._reserve(self.tasks[task_sid], self.workers[worker_sid], sid=sid, status=status)
        task = self.tasks[task_sid]
        if status is S.ACCEPTED:
            self._task_status(task, "assigned")
        elif status is S.WRAPPING:
            self._task_status(task, "wrapping")
        elif status is S.COMPLETED:
            self._task_status(task, "completed")
        return reservation

    def set_status(self, sid: str, status: ReservationStatus, *, quiet: bool = True) -> FakeReservation:
        """Change a status as TaskRouter itself would (a timeout, a cancel), with no transition check."""
        if not quiet:
            return self._change(self.reservations[sid], status)
        with self.seeding():
            return self._change(self.reservations[sid], status)

    @staticmethod
    def _check_owner(kind: str, sid: str, known_workspace: str | None, workspace_sid: str) -> None:
        if known_workspace is not None and known_workspace != workspace_sid:
            raise ValueError(f"{kind} {sid} belongs to workspace {known_workspace}, not {workspace_sid}")

    # --- reservations: what the API does --------------------------------------------------------

    def find_parent(self, workspace_sid: str, segment: str, parent_sid: str) -> None:
        """404 unless the workspace exists and holds this task (``Tasks``) or worker (``Workers``)."""
        parent: Task | Worker | None = (
            self.tasks.get(parent_sid) if segment == "Tasks" else self.workers.get(parent_sid)
        )
        if workspace_sid not in self.workspaces or parent is None or parent.workspace_sid != workspace_sid:
            raise FakeAPIError(404, NOT_FOUND, "The requested resource was not found")

    def find(self, workspace_sid: str, segment: str, parent_sid: str, sid: str) -> FakeReservation:
        self.find_parent(workspace_sid, segment, parent_sid)
        reservation = self.reservations.get(sid)
        if reservation is None or _parent(reservation, segment) != parent_sid:
            raise FakeAPIError(404, NOT_FOUND, "The requested resource was not found")
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
            raise invalid("Set exactly one of ReservationStatus and Instruction")
        if target is not None:
            self._check_transition(reservation, target)
            return self._change(reservation, target, worker_activity_sid=params.worker_activity_sid)
        assert instruction is not None
        if instruction not in REQUIRED_FIELDS or (instruction == "supervise" and segment != "Tasks"):
            raise invalid(f"Instruction {instruction!r} is not valid here")
        missing = [name for name in REQUIRED_FIELDS[instruction] if getattr(params, name) is None]
        if missing:
            names = ", ".join(wire_name(name) for name in missing)
            raise invalid(f"The {instruction} instruction requires {names}")
        if instruction == "supervise":
            self._check_state(reservation, S.ACCEPTED, instruction)
            return self._save(reservation, instruction=instruction)
        self._check_state(reservation, S.PENDING, instruction)
        accepts = instruction in ("conference", "dequeue") or bool(params.call_accept or params.redirect_accept)
        if not accepts:
            return self._save(reservation, instruction=instruction)
        return self._change(reservation, S.ACCEPTED, instruction=instruction)

    def _check_transition(self, reservation: FakeReservation, target: ReservationStatus) -> None:
        if target not in TRANSITIONS.get(reservation.status, frozenset()):
            expected = ", ".join(s.value for s, allowed in TRANSITIONS.items() if target in allowed)
            if not expected:  # nothing moves to this status (pending): no empty brackets
                raise invalid(
                    f"Reservation {reservation.sid} not in expected state (no status moves to "
                    f"{target.value}) and cannot be updated to [{target.value}]; it is {reservation.status.value}"
                )
            raise invalid(
                f"Reservation {reservation.sid} not in expected state [{expected}] and cannot be updated to "
                f"[{target.value}]; it is {reservation.status.value}"
            )

    @staticmethod
    def _check_state(reservation: FakeReservation, expected: ReservationStatus, instruction: str) -> None:
        if reservation.status is not expected:
            raise invalid(
                f"Reservation {reservation.sid} not in expected state [{expected.value}] for the {instruction} "
                f"instruction; it is {reservation.status.value}"
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

    def _change(
        self,
        reservation: FakeReservation,
        status: ReservationStatus,
        *,
        worker_activity_sid: str | None = None,
        cascade: bool = True,
        instruction: str | None = None,
    ) -> FakeReservation:
        """A reservation's new status and what follows from it for its task, its worker and the task's other
        reservations (LIFECYCLE; MULTI: the first to accept gets the task, the others are rescinded)."""
        if worker_activity_sid is not None:
            self.check_activity(reservation.workspace_sid, worker_activity_sid, "WorkerActivitySid")
        saved = self._save(reservation, status=status, instruction=instruction)
        if status is not S.PENDING:
            self.reservation_expiry.pop(saved.sid, None)
        task = self.tasks.get(saved.task_sid)
        worker = self.workers.get(saved.worker_sid)
        if task is None or not cascade:
            self._record_reservation(saved)
            return saved
        if status is S.ACCEPTED:
            self._task_status(task, "assigned")
            self._record_reservation(saved)
            for other in self._reservations_of_task(task.sid, S.PENDING):
                self._change(other, S.RESCINDED, cascade=False)
            queue = self.task_queues.get(self.reservation_queue.get(saved.sid, task.task_queue_sid))
            if worker is not None and queue is not None and queue.assignment_activity_sid:
                self.set_activity(worker, queue.assignment_activity_sid)
        elif status is S.WRAPPING:
            self._record_reservation(saved)
            self._task_status(task, "wrapping")
        elif status is S.COMPLETED:
            self._record_reservation(saved)
            self._close(task, "completed", "Reservation completed")
        elif status in (S.REJECTED, S.TIMEOUT, S.CANCELED):
            task.declined_by.add(saved.worker_sid)
            # LIFECYCLE: back to pending only when all of the task's reservations ended without acceptance.
            if task.assignment_status == "reserved" and not self._reservations_of_task(task.sid, S.PENDING):
                self._task_status(task, "pending")
            self._record_reservation(saved)
            if worker is not None:
                if status is S.TIMEOUT:
                    self.set_activity(worker, self.workspaces[task.workspace_sid].timeout_activity_sid)
                elif worker_activity_sid is not None:
                    self.set_activity(worker, worker_activity_sid)
        else:
            self._record_reservation(saved)
        self.route(task.workspace_sid)
        return saved

    def _record_reservation(self, reservation: FakeReservation) -> None:
        task = self.tasks.get(reservation.task_sid)
        worker = self.workers.get(reservation.worker_sid)
        data: dict[str, Any] = {"reservation_sid": reservation.sid}
        if task is not None:
            data.update(self._about_task(task))
        if worker is not None:
            data.update(self._about_worker(worker))
        self.record(
            _EVENT_RESERVATION[reservation.status],
            "reservation",
            reservation.sid,
            f"Reservation {reservation.sid} of task {reservation.task_sid}: {reservation.status.value}",
            **data,
        )

    def _reserve(
        self,
        task: Task,
        worker: Worker,
        *,
        sid: str | None = None,
        status: ReservationStatus = S.PENDING,
        queue: TaskQueue | None = None,
    ) -> FakeReservation:
        now = self.now()
        reservation = FakeReservation(
            sid=sid or self.new_sid("WR"),
            workspace_sid=task.workspace_sid,
            task_sid=task.sid,
            worker_sid=worker.sid,
            worker_name=worker.friendly_name,
            status=status,
            date_created=now,
            date_updated=now,
        )
        self._order[reservation.sid] = len(self._order)
        self.reservations[reservation.sid] = reservation
        queue = queue or self.task_queues.get(task.task_queue_sid)
        if queue is not None:
            self.reservation_queue[reservation.sid] = queue.sid
        if status is S.PENDING:
            workflow = self.workflows.get(task.workflow_sid)
            timeout = workflow.task_reservation_timeout if workflow is not None else 120
            self.reservation_expiry[reservation.sid] = now + timedelta(seconds=timeout)
            if task.assignment_status == "pending":
                self._task_status(task, "reserved")
        worker.last_reserved = now
        self._record_reservation(reservation)
        if not self._quiet:
            self.new_reservations.append(reservation.sid)
        if queue is not None and queue.reservation_activity_sid and status is S.PENDING:
            self.set_activity(worker, queue.reservation_activity_sid)
        return reservation

    def _of_parent(self, segment: str, parent_sid: str) -> Iterator[FakeReservation]:
        for reservation in self.reservations.values():
            if _parent(reservation, segment) == parent_sid:
                yield reservation

    # --- routing ----------------------------------------------------------------------------------

    def _eligible(self, task: Task, queue: TaskQueue, view: _RoutingView) -> list[Worker]:
        """Workers the queue may reserve for the task: in an available activity, matching the queue's
        ``target_workers`` and the step's ``expression``, with capacity left on the task's channel, not
        already reserved for it and not having declined it; the longest idle first."""
        now = self.now()
        target = self._target(task)
        already = view.reserved.get(task.sid, set())
        eligible = []
        for worker in view.workers:
            if worker.sid in already or worker.sid in task.declined_by or not self.is_available(worker):
                continue
            if not queue.matcher.matches(worker_document(worker)):
                continue
            if (
                target is not None
                and target.expression is not None
                and not target.expression.matches(target_document(worker, task, now))
            ):
                continue
            if not task.ignore_capacity and not view.has_capacity(worker, task):
                continue
            eligible.append(worker)
        eligible.sort(key=lambda w: (w.last_reserved or w.date_status_changed, w.order))
        return eligible

    def route(self, workspace_sid: str) -> None:
        """Offer waiting tasks to eligible workers: higher priority first, then by each queue's task order."""
        if workspace_sid not in self.workspaces:
            return
        workers = [w for w in self._workers_of(workspace_sid) if self.is_available(w)]
        if not workers:
            return  # nobody to offer anything to: the common case of a big seeded fake, kept cheap
        waiting = [
            t
            for t in self.tasks.values()
            if t.workspace_sid == workspace_sid
            and t.assignment_status in ("pending", "reserved")
            and t.task_queue_sid in self.task_queues
        ]
        if not waiting:
            return
        waiting.sort(key=self._queue_position)
        view = _RoutingView.build(self, workspace_sid, workers)
        for task in waiting:
            queue = self.task_queues[task.task_queue_sid]
            room = queue.max_reserved_workers - len(view.reserved.get(task.sid, ()))
            if room <= 0:
                continue
            for worker in self._eligible(task, queue, view)[:room]:
                self._reserve(task, worker, queue=queue)
                view.add(task, worker.sid)

    def _queue_position(self, task: Task) -> tuple[int, float, int]:
        queue = self.task_queues[task.task_queue_sid]
        entered = (task.virtual_start_time or task.task_queue_entered_date or task.date_created).timestamp()
        order = -entered if queue.task_order == "LIFO" else entered
        return (-task.priority, order, task.order)

    # --- the clock ----------------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """When the next timer fires: a reservation timeout, a step timeout, a task's TTL, a closed task's deletion."""
        moments: list[datetime] = list(self.reservation_expiry.values())
        for task in self.tasks.values():
            if task.date_closed is not None:
                moments.append(task.date_closed + CLOSED_TASK_LIFETIME)
                continue
            if task.step_deadline is not None and task.assignment_status in ("pending", "reserved"):
                moments.append(task.step_deadline)
            if task.assignment_status in ("pending", "reserved"):
                moments.append(task.date_created + timedelta(seconds=task.timeout))
        return min(moments, default=None)

    def fire_due(self) -> None:
        """Fire every timer due at ``now()``."""
        now = self.now()
        for sid, expiry in sorted(self.reservation_expiry.items(), key=lambda item: item[1]):
            reservation = self.reservations.get(sid)
            if expiry <= now and reservation is not None and reservation.status is S.PENDING:
                self._change(reservation, S.TIMEOUT)
        for task in list(self.tasks.values()):
            if task.sid not in self.tasks:
                continue
            if task.date_closed is not None:
                if task.date_closed + CLOSED_TASK_LIFETIME <= now:
                    self._forget_task(task)
                    self.record("task.system-deleted", "task", task.sid, "Task deleted", **self._about_task(task))
                continue
            if task.assignment_status not in ("pending", "reserved"):
                continue
            if task.date_created + timedelta(seconds=task.timeout) <= now:
                for reservation in self._reservations_of_task(task.sid, S.PENDING):
                    self._change(reservation, S.CANCELED, cascade=False)
                self._close(task, "canceled", "Task TTL Exceeded")
            elif task.step_deadline is not None and task.step_deadline <= now:
                self._step_timeout(task)
        for workspace_sid in list(self.workspaces):
            self.route(workspace_sid)

    def _step_timeout(self, task: Task) -> None:
        """ASSIGNMENT: past a step's timeout the task moves to the next step; past the last, the workflow
        times out and the task is canceled (with its pending reservations)."""
        workflow = self.workflows[task.workflow_sid]
        assert task.filter_index is not None
        targets = workflow.plan.filters[task.filter_index].targets
        self.record("task-queue.timeout", "task", task.sid, "Task timed out of its TaskQueue", **self._about_task(task))
        if task.target_index + 1 < len(targets):
            self._enter_target(task, workflow, task.target_index + 1)
            return
        self.record("workflow.timeout", "task", task.sid, "Task timed out of its workflow", **self._about_task(task))
        for reservation in self._reservations_of_task(task.sid, S.PENDING):
            self._change(reservation, S.CANCELED, cascade=False)
        self._close(task, "canceled", "Workflow Timeout")

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``, firing each timer at its own moment, in order."""
        # Each timer fires at its own moment, even when advance is itself part of an operation (a request).
        outer = self._in_moment
        self._in_moment, self._moment = False, None
        try:
            end = self.now() + timedelta(seconds=seconds)
            while (due := self.next_due()) is not None and due <= end:
                self.offset += max(due - self.now(), timedelta(0))
                with self.moment():
                    self.fire_due()
            self.offset += max(end - self.now(), timedelta(0))
            with self.moment():
                self.fire_due()
        finally:
            self._in_moment, self._moment = outer, None

    # --- events --------------------------------------------------------------------------------------

    def record(self, event_type: str, resource_type: str, resource_sid: str, description: str, **data: Any) -> None:
        """Record an event for the Events resource and queue it for the event callback."""
        workspace_sid = data.get("workspace_sid") or self._workspace_of(resource_type, resource_sid)
        if workspace_sid is None:
            return
        self._event_count += 1
        collection = {
            "workspace": "",
            "activity": "Activities",
            "task": "Tasks",
            "task_channel": "TaskChannels",
            "task_queue": "TaskQueues",
            "worker": "Workers",
            "workflow": "Workflows",
        }.get(resource_type)
        workspace_url = f"{self.base_url}/v1/Workspaces/{workspace_sid}"
        if resource_type == "reservation":
            resource_url = f"{workspace_url}/Tasks/{data.get('task_sid')}/Reservations/{resource_sid}"
        elif collection:
            resource_url = f"{workspace_url}/{collection}/{resource_sid}"
        else:
            resource_url = workspace_url
        data.setdefault("workspace_sid", workspace_sid)
        event = Event(
            sid=f"EV{self._event_count:032x}",
            workspace_sid=workspace_sid,
            event_type=event_type,
            resource_type=resource_type,
            resource_sid=resource_sid,
            resource_url=resource_url,
            description=description,
            date=self.now(),
            data=data,
        )
        self.events.append(event)
        if not self._quiet:
            self.outbox.append(event)

    def _workspace_of(self, resource_type: str, sid: str) -> str | None:
        for table in (self.task_channels, self.task_queues, self.workflows, self.activities):
            record = table.get(sid)
            if record is not None:
                return record.workspace_sid
        return None

    def _about_task(self, task: Task) -> dict[str, Any]:
        queue = self.task_queues.get(task.task_queue_sid)
        workflow = self.workflows.get(task.workflow_sid)
        channel = self.task_channels.get(task.task_channel_sid)
        return {
            "workspace_sid": task.workspace_sid,
            "task_sid": task.sid,
            "task_attributes": task.attributes,
            "task_age": max(0, int((self.now() - task.date_created).total_seconds())),
            "task_priority": task.priority,
            "task_assignment_status": task.assignment_status,
            "task_queue_sid": task.task_queue_sid or None,
            "task_queue_name": queue.friendly_name if queue else None,
            "workflow_sid": task.workflow_sid,
            "workflow_name": workflow.friendly_name if workflow else None,
            "task_channel_sid": task.task_channel_sid,
            "task_channel_unique_name": channel.unique_name if channel else None,
            "task_canceled_reason": task.reason if task.assignment_status == "canceled" else None,
            "task_completed_reason": task.reason if task.assignment_status == "completed" else None,
        }

    def _about_worker(self, worker: Worker) -> dict[str, Any]:
        activity = self.activities.get(worker.activity_sid)
        return {
            "workspace_sid": worker.workspace_sid,
            "worker_sid": worker.sid,
            "worker_name": worker.friendly_name,
            "worker_attributes": worker.attributes,
            "worker_activity_sid": worker.activity_sid,
            "worker_activity_name": activity.friendly_name if activity else None,
        }

    # --- lists ------------------------------------------------------------------------------------------

    def workers_matching(self, workspace_sid: str, expression: str) -> Iterable[Worker]:
        matcher = _parse(expression, "TargetWorkersExpression")
        return [w for w in self._workers_of(workspace_sid) if matcher.matches(worker_document(w))]

    def tasks_matching(self, workspace_sid: str, expression: str) -> Iterable[Task]:
        matcher = _parse(expression, "EvaluateTaskAttributes")
        now = self.now()
        return [
            t
            for t in self.tasks.values()
            if t.workspace_sid == workspace_sid and matcher.matches(filter_document(t, now))
        ]


@attrs.define
class _RoutingView:
    """What one routing pass needs, computed once: who is available, who holds which tasks on which channel."""

    workers: list[Worker]
    multi_task: bool
    #: Per task: the workers with a pending reservation for it.
    reserved: dict[str, set[str]]
    #: Per (worker, task channel): the tasks it holds (reserved, assigned or wrapping).
    held: dict[tuple[str, str], set[str]]
    #: Per worker: its channels by task channel SID.
    channels: dict[str, dict[str, WorkerChannel]]

    @classmethod
    def build(cls, store: FakeStore, workspace_sid: str, workers: list[Worker]) -> _RoutingView:
        reserved: dict[str, set[str]] = {}
        held: dict[tuple[str, str], set[str]] = {}
        for r in store.reservations.values():
            if r.workspace_sid != workspace_sid or r.status not in _HOLDING:
                continue
            if r.status is S.PENDING:
                reserved.setdefault(r.task_sid, set()).add(r.worker_sid)
            task = store.tasks.get(r.task_sid)
            if task is not None:
                held.setdefault((r.worker_sid, task.task_channel_sid), set()).add(r.task_sid)
        channels: dict[str, dict[str, WorkerChannel]] = {}
        for channel in store.worker_channels.values():
            if channel.workspace_sid == workspace_sid:
                channels.setdefault(channel.worker_sid, {})[channel.task_channel_sid] = channel
        return cls(workers, store.workspaces[workspace_sid].multi_task_enabled, reserved, held, channels)

    def has_capacity(self, worker: Worker, task: Task) -> bool:
        if not self.multi_task:
            # A single-tasking workspace: one task at a time across every channel.
            return not any(self.held.get((worker.sid, c), ()) for c in self.channels.get(worker.sid, {}))
        channel = self.channels.get(worker.sid, {}).get(task.task_channel_sid)
        return (
            channel is not None
            and channel.available
            and len(self.held.get((worker.sid, task.task_channel_sid), ())) < channel.configured_capacity
        )

    def add(self, task: Task, worker_sid: str) -> None:
        self.reserved.setdefault(task.sid, set()).add(worker_sid)
        self.held.setdefault((worker_sid, task.task_channel_sid), set()).add(task.sid)


def _parse(source: str, name: str) -> Any:
    try:
        return parse_expression(source)
    except ExpressionError as exc:
        raise invalid(f"Invalid {name}: {exc.problem} at position {exc.position} of {source!r}") from None


def _of(activity: Activity) -> dict[str, Any]:
    return {
        "workspace_sid": activity.workspace_sid,
        "activity_sid": activity.sid,
        "activity_name": activity.friendly_name,
        "activity_available": activity.available,
    }


def _parent(reservation: FakeReservation, segment: str) -> str:
    return reservation.task_sid if segment == "Tasks" else reservation.worker_sid


def _passes(reservation: FakeReservation, query: ListQuery) -> bool:
    return (query.status is None or reservation.status is query.status) and (
        query.worker_sid is None or reservation.worker_sid == query.worker_sid
    )
