"""The emulator's records: one mutable attrs class per TaskRouter resource, plus a workflow's parsed routing.

Records hold data only; the rules that change them live in ``_state`` (lifecycle) and
``_routing`` (workflows, queues, timers). Everything is in UTC, in whole seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._expressions import Expression

__all__ = [
    "Activity",
    "Event",
    "RoutingFilter",
    "RoutingPlan",
    "RoutingTarget",
    "Task",
    "TaskChannel",
    "TaskQueue",
    "Worker",
    "WorkerChannel",
    "Workflow",
    "Workspace",
]


@attrs.define(kw_only=True)
class Workspace:
    sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    default_activity_sid: str = ""
    timeout_activity_sid: str = ""
    event_callback_url: str | None = None
    #: Comma-separated event types sent to ``event_callback_url``; ``None`` sends all of them.
    events_filter: str | None = None
    multi_task_enabled: bool = True
    prioritize_queue_order: str = "FIFO"


@attrs.define(kw_only=True)
class Activity:
    sid: str
    workspace_sid: str
    friendly_name: str
    available: bool
    date_created: datetime
    date_updated: datetime


@attrs.define(kw_only=True)
class TaskChannel:
    sid: str
    workspace_sid: str
    friendly_name: str
    unique_name: str
    date_created: datetime
    date_updated: datetime
    channel_optimized_routing: bool | None = None


@attrs.define(kw_only=True)
class TaskQueue:
    sid: str
    workspace_sid: str
    friendly_name: str
    target_workers: str
    #: ``target_workers`` parsed.
    matcher: Expression
    date_created: datetime
    date_updated: datetime
    max_reserved_workers: int = 1
    task_order: str = "FIFO"
    reservation_activity_sid: str | None = None
    assignment_activity_sid: str | None = None


@attrs.frozen(kw_only=True)
class RoutingTarget:
    """One step of a filter: a queue (``None``: the previous step's), priority and timeout overrides, a worker test."""

    queue_sid: str | None
    priority: int | None = None
    timeout: int | None = None
    expression: Expression | None = None


@attrs.frozen(kw_only=True)
class RoutingFilter:
    friendly_name: str
    expression: Expression
    targets: tuple[RoutingTarget, ...]


@attrs.frozen(kw_only=True)
class RoutingPlan:
    """A workflow's ``task_routing``: the filters in order, then the default queue (if any)."""

    filters: tuple[RoutingFilter, ...] = ()
    default_queue_sid: str | None = None


@attrs.define(kw_only=True)
class Workflow:
    sid: str
    workspace_sid: str
    friendly_name: str
    #: As given (kept verbatim, like TaskRouter).
    configuration: str
    plan: RoutingPlan
    date_created: datetime
    date_updated: datetime
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None
    task_reservation_timeout: int = 120


@attrs.define(kw_only=True)
class Worker:
    sid: str
    workspace_sid: str
    friendly_name: str
    attributes: dict[str, Any]
    activity_sid: str
    date_created: datetime
    date_updated: datetime
    date_status_changed: datetime
    #: Starts at 1 and grows with every change; the ETag is derived from it.
    version: int = 1
    #: When the worker was last reserved: the longest-idle worker is reserved first.
    last_reserved: datetime | None = None
    #: Creation order, the last tie-breaker.
    order: int = 0

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@attrs.define(kw_only=True)
class WorkerChannel:
    sid: str
    workspace_sid: str
    worker_sid: str
    task_channel_sid: str
    date_created: datetime
    date_updated: datetime
    configured_capacity: int = 1
    available: bool = True


@attrs.define(kw_only=True)
class Task:
    sid: str
    workspace_sid: str
    attributes: dict[str, Any]
    workflow_sid: str
    task_queue_sid: str
    task_channel_sid: str
    date_created: datetime
    date_updated: datetime
    assignment_status: str = "pending"
    priority: int = 0
    reason: str | None = None
    #: Time to live in seconds (TaskRouter's default: 24 hours).
    timeout: int = 86400
    task_queue_entered_date: datetime | None = None
    routing_target: str | None = None
    ignore_capacity: bool = False
    virtual_start_time: datetime | None = None
    version: int = 1
    #: Which filter of the workflow matched (``None``: the default filter) and which of its targets is current.
    filter_index: int | None = None
    target_index: int = 0
    #: When the current target's timeout moves the task on; ``None``: no timeout.
    step_deadline: datetime | None = None
    #: When the task reached ``completed`` or ``canceled`` (TaskRouter deletes it five minutes later).
    date_closed: datetime | None = None
    #: Workers that rejected or let a reservation for this task time out: not reserved for it again.
    declined_by: set[str] = attrs.field(factory=set)
    #: Seeded tasks are routed only once something routes them (a worker becomes available...).
    order: int = 0

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@attrs.define(kw_only=True)
class Event:
    sid: str
    workspace_sid: str
    event_type: str
    resource_type: str
    resource_sid: str
    resource_url: str
    description: str
    date: datetime
    #: The event's data, snake_case, as the Events resource serves it and event callbacks send it.
    data: dict[str, Any]
    actor_type: str = "system"
    actor_sid: str | None = None
