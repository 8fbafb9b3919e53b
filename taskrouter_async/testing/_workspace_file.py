"""A workspace description (``fake-server --workspace``, ``FakeTaskRouter.load_workspace``) turned into records.

The description is what a person writes by hand (YAML or JSON): resources refer to each other
by friendly name, and a workflow's configuration may name queues instead of giving their SIDs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._errors import ValidationError
from ._state import FakeAPIError, FakeStore

__all__ = ["load_workspace"]

_KEYS = {
    "": {"friendly_name", "event_callback_url", "events_filter", "activities", "task_channels", "task_queues",
         "workflows", "workers", "tasks", "default_activity", "timeout_activity"},
    "activities": {"friendly_name", "available"},
    "task_channels": {"friendly_name", "unique_name"},
    "task_queues": {"friendly_name", "target_workers", "max_reserved_workers", "task_order", "reservation_activity",
                    "assignment_activity"},
    "workflows": {"friendly_name", "configuration", "assignment_callback_url", "fallback_assignment_callback_url",
                  "task_reservation_timeout"},
    "workers": {"friendly_name", "activity", "attributes", "channels"},
    "tasks": {"attributes", "priority", "timeout", "workflow", "task_channel"},
}  # fmt: skip


def load_workspace(store: FakeStore, description: Mapping[str, Any]) -> str:
    """Create the described workspace and everything in it; a mistake is a ``ValidationError`` naming where."""
    try:
        return _load(store, description)
    except FakeAPIError as exc:
        raise ValidationError(f"the workspace description is refused: {exc.message}") from None


def _check(item: Any, section: str, where: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ValidationError(f"{where} must be a mapping")
    unknown = sorted(set(item) - _KEYS[section])
    if unknown:
        raise ValidationError(
            f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_KEYS[section]))})"
        )
    return item


def _items(description: Mapping[str, Any], section: str) -> list[tuple[str, Mapping[str, Any]]]:
    items = description.get(section, [])
    if not isinstance(items, list):
        raise ValidationError(f"{section} must be a list")
    return [(f"{section}[{n}]", _check(item, section, f"{section}[{n}]")) for n, item in enumerate(items)]


def _name(item: Mapping[str, Any], where: str) -> str:
    name = item.get("friendly_name")
    if not isinstance(name, str) or not name:
        raise ValidationError(f"{where}.friendly_name must be a non-empty string")
    return name


def _load(store: FakeStore, description: Mapping[str, Any]) -> str:
    _check(description, "", "the workspace description")
    workspace = store.create_workspace(
        _name(description, "the workspace"),
        event_callback_url=description.get("event_callback_url"),
        events_filter=description.get("events_filter"),
    )
    ws = workspace.sid
    for where, item in _items(description, "activities"):
        store.create_activity(ws, _name(item, where), bool(item.get("available", False)))
    activities = {a.friendly_name: a.sid for a in store.activities.values() if a.workspace_sid == ws}

    def activity(name: Any, where: str) -> str | None:
        if name is None:
            return None
        if name not in activities:
            raise ValidationError(f"{where}: no activity named {name!r} (known: {', '.join(sorted(activities))})")
        return activities[name]

    workspace.default_activity_sid = activity(description.get("default_activity"), "default_activity") or (
        workspace.default_activity_sid
    )
    workspace.timeout_activity_sid = activity(description.get("timeout_activity"), "timeout_activity") or (
        workspace.timeout_activity_sid
    )
    for where, item in _items(description, "task_channels"):
        store.create_task_channel(ws, _name(item, where), str(item.get("unique_name") or _name(item, where).lower()))
    queues: dict[str, str] = {}
    for where, item in _items(description, "task_queues"):
        queue = store.create_task_queue(
            ws,
            _name(item, where),
            target_workers=item.get("target_workers"),
            max_reserved_workers=int(item.get("max_reserved_workers", 1)),
            task_order=str(item.get("task_order", "FIFO")),
            reservation_activity_sid=activity(item.get("reservation_activity"), f"{where}.reservation_activity"),
            assignment_activity_sid=activity(item.get("assignment_activity"), f"{where}.assignment_activity"),
        )
        queues[queue.friendly_name] = queue.sid
    workflows: dict[str, str] = {}
    for where, item in _items(description, "workflows"):
        configuration = item.get("configuration")
        if configuration is None:
            if len(queues) != 1:
                raise ValidationError(f"{where}.configuration is required unless there is exactly one task queue")
            configuration = {"task_routing": {"filters": [], "default_filter": {"queue": next(iter(queues))}}}
        text = configuration if isinstance(configuration, str) else json.dumps(_queue_sids(configuration, queues))
        workflow = store.create_workflow(
            ws,
            _name(item, where),
            text,
            assignment_callback_url=item.get("assignment_callback_url"),
            fallback_assignment_callback_url=item.get("fallback_assignment_callback_url"),
            task_reservation_timeout=int(item.get("task_reservation_timeout", 120)),
        )
        workflows[workflow.friendly_name] = workflow.sid
    for where, item in _items(description, "workers"):
        worker = store.create_worker(
            ws,
            _name(item, where),
            attributes=item.get("attributes") or {},
            activity_sid=activity(item.get("activity"), f"{where}.activity"),
        )
        for unique_name, capacity in (item.get("channels") or {}).items():
            store.update_worker_channel(store.worker_channel(worker, unique_name), int(capacity), None)
    for where, item in _items(description, "tasks"):
        workflow_name = item.get("workflow")
        if workflow_name is not None and workflow_name not in workflows:
            raise ValidationError(f"{where}.workflow: no workflow named {workflow_name!r}")
        store.create_task(
            ws,
            attributes=item.get("attributes") or {},
            workflow_sid=None if workflow_name is None else workflows[workflow_name],
            priority=item.get("priority"),
            timeout=item.get("timeout"),
            task_channel=item.get("task_channel"),
        )
    store.route(ws)
    return ws


def _queue_sids(value: Any, queues: Mapping[str, str]) -> Any:
    """A configuration with each ``"queue": "<name>"`` replaced by that queue's SID."""
    if isinstance(value, dict):
        return {
            k: (queues.get(v, v) if k == "queue" and isinstance(v, str) else _queue_sids(v, queues))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_queue_sids(v, queues) for v in value]
    return value
