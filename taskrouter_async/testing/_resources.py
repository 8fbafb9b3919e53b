"""The emulator's REST surface beyond reservations: every TaskRouter v1 resource, its JSON and its errors.

``handle`` routes a request to one of the handlers below, each of which reads the form or the
query (refusing names the operation does not have), calls ``FakeStore`` and renders the JSON
with exactly the properties of the resource's schema in Twilio's OpenAPI description.
Statistics are computed from the emulator's state and its recorded events: shaped like
TaskRouter's, but only as accurate as the emulator (see docs/emulator.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs

from .._converter import format_timestamp
from ._records import Activity, Event, Task, TaskChannel, TaskQueue, Worker, WorkerChannel, Workflow, Workspace
from ._state import FakeAPIError, FakeStore, invalid, not_found

__all__ = ["Answer", "handle"]

_SID = r"[A-Z]{2}[0-9a-fA-F]{32}"
_MAX_PAGE_SIZE = 1000
_TASK_STATUSES = ("pending", "reserved", "assigned", "canceled", "completed", "wrapping")


@attrs.frozen
class Answer:
    """What a handler answers: status, JSON body (``None`` for 204) and headers."""

    status: int
    body: dict[str, Any] | None
    headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Request:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes
    if_match: str | None
    content_type: str


class _Params:
    """A form or a query string, read field by field; names the operation does not have are refused."""

    def __init__(self, pairs: Sequence[tuple[str, str]], allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        unknown = sorted({name for name, _ in pairs if name not in allowed})
        if unknown:
            raise invalid(f"Unknown parameter: {', '.join(unknown)}")
        self.values: dict[str, list[str]] = {}
        for name, value in pairs:
            self.values.setdefault(name, []).append(value)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str, *, required: bool = False, max_length: int | None = None) -> str | None:
        values = self.values.get(name)
        if not values:
            if required:
                raise invalid(f"Missing required parameter {name} in the post body")
            return None
        value = values[-1]
        if max_length is not None and len(value) > max_length:
            raise invalid(f"{name} must be at most {max_length} characters long")
        return value

    def all(self, name: str) -> list[str]:
        return [v for value in self.values.get(name, []) for v in value.split(",") if v]

    def integer(self, name: str, *, low: int | None = None, high: int | None = None) -> int | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            raise invalid(f"{name} must be an integer, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid(f"{name} must be between {low} and {high}, got {value}")
        return value

    def boolean(self, name: str) -> bool | None:
        text = self.text(name)
        if text is None:
            return None
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise invalid(f"{name} must be true or false, got {text!r}")

    def json_object(self, name: str) -> dict[str, Any] | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise invalid(f"{name} must be a JSON object: the value is not valid JSON") from None
        if not isinstance(value, dict):
            raise invalid(f"{name} must be a JSON object")
        return value

    def sid(self, name: str, prefix: str) -> str | None:
        text = self.text(name)
        if text is not None and not re.fullmatch(prefix + r"[0-9a-fA-F]{32}", text):
            raise invalid(f"{name} must be a {prefix} SID, got {text!r}")
        return text

    def date(self, name: str) -> datetime | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise invalid(f"{name} must be an ISO 8601 date and time, got {text!r}") from None
        if value.tzinfo is None:
            raise invalid(f"{name} must carry a time zone, got {text!r}")
        return value

    def choice(self, name: str, choices: Sequence[str]) -> str | None:
        text = self.text(name)
        if text is not None and text not in choices:
            raise invalid(f"{name} must be one of {', '.join(choices)}, got {text!r}")
        return text


_PAGING = ("PageSize", "Page", "PageToken")


class _Context:
    """One request being answered: the store, the fake's URLs, and the request itself."""

    def __init__(self, store: FakeStore, account_sid: str, base_url: str, request: Request) -> None:
        self.store = store
        self.account_sid = account_sid
        self.base_url = base_url
        self.request = request

    def query(self, *allowed: str) -> _Params:
        return _Params(self.request.query, allowed)

    def form(self, *allowed: str) -> _Params:
        try:
            pairs = parse_qsl(self.request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise invalid("the body is not UTF-8 form data") from None
        return _Params(pairs, allowed)

    def check_etag(self, etag: str, what: str) -> None:
        if_match = self.request.if_match
        tags = [] if if_match is None else [t.strip() for t in if_match.split(",")]
        if if_match is not None and "*" not in tags and etag not in tags:
            raise FakeAPIError(412, 20412, f"{what} was modified: its ETag is {etag}, not {if_match}")

    def ws_url(self, workspace_sid: str) -> str:
        return f"{self.base_url}/v1/Workspaces/{workspace_sid}"

    # --- paging ---------------------------------------------------------------------------

    def page(self, key: str, items: Sequence[Any], render: Callable[[Any], dict[str, Any]], params: _Params) -> Answer:
        size = params.integer("PageSize", low=1, high=_MAX_PAGE_SIZE) or 50
        number = params.integer("Page", low=0) or 0
        token = params.text("PageToken")
        sids = [getattr(item, "sid", None) for item in items]
        if token is None:
            start = number * size
        elif token[:2] == "PA" and token[2:] in sids:
            start = sids.index(token[2:]) + 1
        else:
            raise invalid(f"Invalid PageToken: {token!r}")
        chunk = items[start : start + size]
        filters = [(k, v) for k, v in self.request.query if k not in _PAGING]

        def url(page: int, page_token: str | None) -> str:
            extra = [("PageToken", page_token)] if page_token else []
            query = urlencode([*filters, ("PageSize", str(size)), ("Page", str(page)), *extra])
            return f"{self.base_url}{self.request.path}?{query}"

        has_next = start + size < len(items)
        return Answer(
            200,
            {
                key: [render(item) for item in chunk],
                "meta": {
                    "first_page_url": url(0, None),
                    "key": key,
                    "next_page_url": url(number + 1, f"PA{chunk[-1].sid}") if has_next and chunk else None,
                    "page": number,
                    "page_size": size,
                    "previous_page_url": url(number - 1, None) if number > 0 else None,
                    "url": url(number, token),
                },
            },
        )

    # --- JSON of each resource ---------------------------------------------------------------

    def workspace_json(self, ws: Workspace) -> dict[str, Any]:
        url = self.ws_url(ws.sid)
        default = self.store.activities.get(ws.default_activity_sid)
        timeout = self.store.activities.get(ws.timeout_activity_sid)
        return {
            "account_sid": self.account_sid,
            "date_created": _ts(ws.date_created),
            "date_updated": _ts(ws.date_updated),
            "default_activity_name": default.friendly_name if default else None,
            "default_activity_sid": ws.default_activity_sid or None,
            "event_callback_url": ws.event_callback_url,
            "events_filter": ws.events_filter,
            "friendly_name": ws.friendly_name,
            "multi_task_enabled": ws.multi_task_enabled,
            "sid": ws.sid,
            "timeout_activity_name": timeout.friendly_name if timeout else None,
            "timeout_activity_sid": ws.timeout_activity_sid or None,
            "prioritize_queue_order": ws.prioritize_queue_order,
            "url": url,
            "links": {
                "activities": f"{url}/Activities",
                "cumulative_statistics": f"{url}/CumulativeStatistics",
                "events": f"{url}/Events",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "statistics": f"{url}/Statistics",
                "task_channels": f"{url}/TaskChannels",
                "task_queues": f"{url}/TaskQueues",
                "tasks": f"{url}/Tasks",
                "workers": f"{url}/Workers",
                "workflows": f"{url}/Workflows",
            },
        }

    def activity_json(self, activity: Activity) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "available": activity.available,
            "date_created": _ts(activity.date_created),
            "date_updated": _ts(activity.date_updated),
            "friendly_name": activity.friendly_name,
            "sid": activity.sid,
            "workspace_sid": activity.workspace_sid,
            "url": f"{self.ws_url(activity.workspace_sid)}/Activities/{activity.sid}",
            "links": {"workspace": self.ws_url(activity.workspace_sid)},
        }

    def task_channel_json(self, channel: TaskChannel) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "date_created": _ts(channel.date_created),
            "date_updated": _ts(channel.date_updated),
            "friendly_name": channel.friendly_name,
            "sid": channel.sid,
            "unique_name": channel.unique_name,
            "workspace_sid": channel.workspace_sid,
            "channel_optimized_routing": channel.channel_optimized_routing,
            "url": f"{self.ws_url(channel.workspace_sid)}/TaskChannels/{channel.sid}",
            "links": {"workspace": self.ws_url(channel.workspace_sid)},
        }

    def task_queue_json(self, queue: TaskQueue) -> dict[str, Any]:
        ws_url = self.ws_url(queue.workspace_sid)
        url = f"{ws_url}/TaskQueues/{queue.sid}"
        activities = self.store.activities
        reservation = activities.get(queue.reservation_activity_sid or "")
        assignment = activities.get(queue.assignment_activity_sid or "")
        return {
            "account_sid": self.account_sid,
            "assignment_activity_sid": queue.assignment_activity_sid,
            "assignment_activity_name": assignment.friendly_name if assignment else None,
            "date_created": _ts(queue.date_created),
            "date_updated": _ts(queue.date_updated),
            "friendly_name": queue.friendly_name,
            "max_reserved_workers": queue.max_reserved_workers,
            "reservation_activity_sid": queue.reservation_activity_sid,
            "reservation_activity_name": reservation.friendly_name if reservation else None,
            "sid": queue.sid,
            "target_workers": queue.target_workers,
            "task_order": queue.task_order,
            "url": url,
            "workspace_sid": queue.workspace_sid,
            "links": _links(
                assignment_activity=_link(ws_url, "Activities", queue.assignment_activity_sid),
                bulk_real_time_statistics=f"{ws_url}/TaskQueues/RealTimeStatistics",
                cumulative_statistics=f"{url}/CumulativeStatistics",
                list_statistics=f"{ws_url}/TaskQueues/Statistics",
                real_time_statistics=f"{url}/RealTimeStatistics",
                reservation_activity=_link(ws_url, "Activities", queue.reservation_activity_sid),
                statistics=f"{url}/Statistics",
                workspace=ws_url,
            ),
        }

    def workflow_json(self, workflow: Workflow) -> dict[str, Any]:
        url = f"{self.ws_url(workflow.workspace_sid)}/Workflows/{workflow.sid}"
        return {
            "account_sid": self.account_sid,
            "assignment_callback_url": workflow.assignment_callback_url,
            "configuration": workflow.configuration,
            "date_created": _ts(workflow.date_created),
            "date_updated": _ts(workflow.date_updated),
            "document_content_type": "application/json",
            "fallback_assignment_callback_url": workflow.fallback_assignment_callback_url,
            "friendly_name": workflow.friendly_name,
            "sid": workflow.sid,
            "task_reservation_timeout": workflow.task_reservation_timeout,
            "workspace_sid": workflow.workspace_sid,
            "url": url,
            "links": {
                "cumulative_statistics": f"{url}/CumulativeStatistics",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "statistics": f"{url}/Statistics",
            },
        }

    def worker_json(self, worker: Worker) -> dict[str, Any]:
        ws_url = self.ws_url(worker.workspace_sid)
        url = f"{ws_url}/Workers/{worker.sid}"
        activity = self.store.activities.get(worker.activity_sid)
        return {
            "account_sid": self.account_sid,
            "activity_name": activity.friendly_name if activity else None,
            "activity_sid": worker.activity_sid,
            "attributes": json.dumps(worker.attributes),
            "available": bool(activity and activity.available),
            "date_created": _ts(worker.date_created),
            "date_status_changed": _ts(worker.date_status_changed),
            "date_updated": _ts(worker.date_updated),
            "friendly_name": worker.friendly_name,
            "sid": worker.sid,
            "workspace_sid": worker.workspace_sid,
            "url": url,
            "links": {
                "activity": f"{ws_url}/Activities/{worker.activity_sid}",
                "channels": f"{url}/Channels",
                "cumulative_statistics": f"{ws_url}/Workers/CumulativeStatistics",
                "real_time_statistics": f"{ws_url}/Workers/RealTimeStatistics",
                "reservations": f"{url}/Reservations",
                "statistics": f"{ws_url}/Workers/Statistics",
                "worker_channels": f"{url}/Channels",
                "worker_statistics": f"{url}/Statistics",
                "workspace": ws_url,
            },
        }

    def worker_channel_json(self, channel: WorkerChannel) -> dict[str, Any]:
        assigned = self.store.assigned_tasks(channel)
        capacity = channel.configured_capacity
        task_channel = self.store.task_channels.get(channel.task_channel_sid)
        free = 0 if not channel.available or capacity == 0 else max(0, capacity - assigned) * 100 // capacity
        return {
            "account_sid": self.account_sid,
            "assigned_tasks": assigned,
            "available": channel.available,
            "available_capacity_percentage": free,
            "configured_capacity": capacity,
            "date_created": _ts(channel.date_created),
            "date_updated": _ts(channel.date_updated),
            "sid": channel.sid,
            "task_channel_sid": channel.task_channel_sid,
            "task_channel_unique_name": task_channel.unique_name if task_channel else None,
            "worker_sid": channel.worker_sid,
            "workspace_sid": channel.workspace_sid,
            "url": f"{self.ws_url(channel.workspace_sid)}/Workers/{channel.worker_sid}/Channels/{channel.sid}",
        }

    def task_json(self, task: Task) -> dict[str, Any]:
        ws_url = self.ws_url(task.workspace_sid)
        url = f"{ws_url}/Tasks/{task.sid}"
        queue = self.store.task_queues.get(task.task_queue_sid)
        workflow = self.store.workflows.get(task.workflow_sid)
        channel = self.store.task_channels.get(task.task_channel_sid)
        return {
            "account_sid": self.account_sid,
            "age": max(0, int((self.store.now() - task.date_created).total_seconds())),
            "assignment_status": task.assignment_status,
            "attributes": json.dumps(task.attributes),
            "addons": "{}",
            "date_created": _ts(task.date_created),
            "date_updated": _ts(task.date_updated),
            "task_queue_entered_date": _ts(task.task_queue_entered_date),
            "priority": task.priority,
            "reason": task.reason,
            "sid": task.sid,
            "task_queue_sid": task.task_queue_sid or None,
            "task_queue_friendly_name": queue.friendly_name if queue else None,
            "task_channel_sid": task.task_channel_sid,
            "task_channel_unique_name": channel.unique_name if channel else None,
            "timeout": task.timeout,
            "workflow_sid": task.workflow_sid or None,
            "workflow_friendly_name": workflow.friendly_name if workflow else None,
            "workspace_sid": task.workspace_sid,
            "url": url,
            "links": _links(
                reservations=f"{url}/Reservations",
                task_queue=_link(ws_url, "TaskQueues", task.task_queue_sid or None),
                workflow=_link(ws_url, "Workflows", task.workflow_sid or None),
                workspace=ws_url,
            ),
            "virtual_start_time": _ts(task.virtual_start_time or task.date_created),
            "ignore_capacity": task.ignore_capacity,
            "routing_target": task.routing_target,
        }

    def event_json(self, event: Event) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "actor_sid": event.actor_sid,
            "actor_type": event.actor_type,
            "actor_url": None,
            "description": event.description,
            "event_data": {k: v for k, v in event.data.items() if v is not None},
            "event_date": _ts(event.date),
            "event_date_ms": int(event.date.timestamp() * 1000),
            "event_type": event.event_type,
            "resource_sid": event.resource_sid,
            "resource_type": event.resource_type,
            "resource_url": event.resource_url,
            "sid": event.sid,
            "source": "twilio",
            "source_ip_address": None,
            "url": f"{self.ws_url(event.workspace_sid)}/Events/{event.sid}",
            "workspace_sid": event.workspace_sid,
        }


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _link(ws_url: str, collection: str, sid: str | None) -> str | None:
    return None if sid is None else f"{ws_url}/{collection}/{sid}"


def _links(**links: str | None) -> dict[str, str]:
    """A ``links`` object: a link to nothing (no assignment activity, say) is left out, as TaskRouter does."""
    return {name: url for name, url in links.items() if url is not None}


# --- handlers --------------------------------------------------------------------------------

Handler = Callable[[_Context, dict[str, str]], Answer]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def _route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile(
        "/v1/"
        + pattern.replace("{ws}", f"Workspaces/(?P<ws>{_SID})")
        .replace("{sid}", f"(?P<sid>{_SID})")
        .replace("{parent}", f"(?P<parent>{_SID})")
        # A channel is named by its SID or by its task channel's unique name.
        .replace("{channel}", r"(?P<sid>[A-Za-z0-9_.-]+)")
    )

    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, regex, handler))
        return handler

    return register


def handle(store: FakeStore, account_sid: str, base_url: str, request: Request) -> Answer:
    """Answer one request, or raise ``FakeAPIError``."""
    matched_path = False
    for method, regex, handler in _ROUTES:
        match = regex.fullmatch(request.path)
        if match is None:
            continue
        matched_path = True
        if method == request.method:
            context = _Context(store, account_sid, base_url, request)
            if match.groupdict().get("ws"):
                store.workspace(match["ws"])
            return handler(context, match.groupdict())
    if matched_path:
        raise FakeAPIError(405, 20004, "Method not allowed")
    raise FakeAPIError(404, 20404, f"The requested resource {request.path} was not found")


def _created(body: dict[str, Any]) -> Answer:
    return Answer(201, body)


def _ok(body: dict[str, Any], etag: str | None = None) -> Answer:
    return Answer(200, body, (("etag", etag),) if etag else ())


_NO_CONTENT = Answer(204, None)


# Workspaces


@_route("GET", "Workspaces")
def _list_workspaces(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("FriendlyName", *_PAGING)
    name = q.text("FriendlyName")
    items = [w for w in c.store.workspaces.values() if name is None or w.friendly_name == name]
    return c.page("workspaces", items, c.workspace_json, q)


@_route("POST", "Workspaces")
def _create_workspace(c: _Context, p: dict[str, str]) -> Answer:
    f = c.form(
        "FriendlyName", "EventCallbackUrl", "EventsFilter", "MultiTaskEnabled", "Template", "PrioritizeQueueOrder"
    )
    workspace = c.store.create_workspace(
        f.text("FriendlyName", required=True, max_length=64) or "",
        event_callback_url=f.text("EventCallbackUrl"),
        events_filter=f.text("EventsFilter"),
        multi_task_enabled=f.boolean("MultiTaskEnabled") is not False,
        template=f.choice("Template", ("FIFO", "NONE")),
        prioritize_queue_order=f.choice("PrioritizeQueueOrder", ("LIFO", "FIFO")) or "FIFO",
    )
    return _created(c.workspace_json(workspace))


@_route("GET", "Workspaces/{sid}")
def _fetch_workspace(c: _Context, p: dict[str, str]) -> Answer:
    c.query()
    return _ok(c.workspace_json(c.store.workspace(p["sid"])))


@_route("POST", "Workspaces/{sid}")
def _update_workspace(c: _Context, p: dict[str, str]) -> Answer:
    workspace = c.store.workspace(p["sid"])
    f = c.form(
        "DefaultActivitySid",
        "EventCallbackUrl",
        "EventsFilter",
        "FriendlyName",
        "MultiTaskEnabled",
        "TimeoutActivitySid",
        "PrioritizeQueueOrder",
    )
    for name, field in (("DefaultActivitySid", "default_activity_sid"), ("TimeoutActivitySid", "timeout_activity_sid")):
        sid = f.sid(name, "WA")
        if sid is not None:
            c.store.check_activity(workspace.sid, sid, name)
            setattr(workspace, field, sid)
    if "EventCallbackUrl" in f:
        workspace.event_callback_url = f.text("EventCallbackUrl") or None
    if "EventsFilter" in f:
        workspace.events_filter = f.text("EventsFilter") or None
    workspace.friendly_name = f.text("FriendlyName", max_length=64) or workspace.friendly_name
    multi = f.boolean("MultiTaskEnabled")
    if multi is not None:
        workspace.multi_task_enabled = multi
    workspace.prioritize_queue_order = (
        f.choice("PrioritizeQueueOrder", ("LIFO", "FIFO")) or workspace.prioritize_queue_order
    )
    workspace.date_updated = c.store.now()
    c.store.record("workspace.updated", "workspace", workspace.sid, "Workspace updated", workspace_sid=workspace.sid)
    return _ok(c.workspace_json(workspace))


@_route("DELETE", "Workspaces/{sid}")
def _delete_workspace(c: _Context, p: dict[str, str]) -> Answer:
    c.store.delete_workspace(p["sid"])
    return _NO_CONTENT


# Activities


@_route("GET", "{ws}/Activities")
def _list_activities(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("FriendlyName", "Available", *_PAGING)
    name, available = q.text("FriendlyName"), q.boolean("Available")
    items = [
        a
        for a in c.store.activities.values()
        if a.workspace_sid == p["ws"]
        and (name is None or a.friendly_name == name)
        and (available is None or a.available is available)
    ]
    return c.page("activities", items, c.activity_json, q)


@_route("POST", "{ws}/Activities")
def _create_activity(c: _Context, p: dict[str, str]) -> Answer:
    f = c.form("FriendlyName", "Available")
    name = f.text("FriendlyName", required=True, max_length=64) or ""
    if any(a.workspace_sid == p["ws"] and a.friendly_name == name for a in c.store.activities.values()):
        raise invalid(f"An Activity with FriendlyName {name!r} already exists")
    return _created(c.activity_json(c.store.create_activity(p["ws"], name, f.boolean("Available") is True)))


@_route("GET", "{ws}/Activities/{sid}")
def _fetch_activity(c: _Context, p: dict[str, str]) -> Answer:
    return _ok(c.activity_json(c.store.activity(p["ws"], p["sid"])))


@_route("POST", "{ws}/Activities/{sid}")
def _update_activity(c: _Context, p: dict[str, str]) -> Answer:
    activity = c.store.activity(p["ws"], p["sid"])
    f = c.form("FriendlyName")
    activity.friendly_name = f.text("FriendlyName", max_length=64) or activity.friendly_name
    activity.date_updated = c.store.now()
    c.store.record("activity.updated", "activity", activity.sid, "Activity updated", workspace_sid=p["ws"])
    return _ok(c.activity_json(activity))


@_route("DELETE", "{ws}/Activities/{sid}")
def _delete_activity(c: _Context, p: dict[str, str]) -> Answer:
    c.store.delete_activity(p["ws"], p["sid"])
    return _NO_CONTENT


# Task channels


@_route("GET", "{ws}/TaskChannels")
def _list_task_channels(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_PAGING)
    items = [t for t in c.store.task_channels.values() if t.workspace_sid == p["ws"]]
    return c.page("channels", items, c.task_channel_json, q)


@_route("POST", "{ws}/TaskChannels")
def _create_task_channel(c: _Context, p: dict[str, str]) -> Answer:
    f = c.form("FriendlyName", "UniqueName", "ChannelOptimizedRouting")
    channel = c.store.create_task_channel(
        p["ws"],
        f.text("FriendlyName", required=True, max_length=64) or "",
        f.text("UniqueName", required=True, max_length=64) or "",
        channel_optimized_routing=f.boolean("ChannelOptimizedRouting"),
    )
    return _created(c.task_channel_json(channel))


@_route("GET", "{ws}/TaskChannels/{channel}")
def _fetch_task_channel(c: _Context, p: dict[str, str]) -> Answer:
    return _ok(c.task_channel_json(c.store.task_channel(p["ws"], p["sid"])))


@_route("POST", "{ws}/TaskChannels/{channel}")
def _update_task_channel(c: _Context, p: dict[str, str]) -> Answer:
    channel = c.store.task_channel(p["ws"], p["sid"])
    f = c.form("FriendlyName", "ChannelOptimizedRouting")
    channel.friendly_name = f.text("FriendlyName", max_length=64) or channel.friendly_name
    optimized = f.boolean("ChannelOptimizedRouting")
    if optimized is not None:
        channel.channel_optimized_routing = optimized
    channel.date_updated = c.store.now()
    return _ok(c.task_channel_json(channel))


@_route("DELETE", "{ws}/TaskChannels/{channel}")
def _delete_task_channel(c: _Context, p: dict[str, str]) -> Answer:
    c.store.delete_task_channel(p["ws"], p["sid"])
    return _NO_CONTENT


# Task queues


def _queue_fields(c: _Context, f: _Params) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "FriendlyName" in f:
        fields["friendly_name"] = f.text("FriendlyName", max_length=64)
    if "TargetWorkers" in f:
        fields["target_workers"] = f.text("TargetWorkers")
    max_reserved = f.integer("MaxReservedWorkers", low=1, high=50)
    if max_reserved is not None:
        fields["max_reserved_workers"] = max_reserved
    order = f.choice("TaskOrder", ("FIFO", "LIFO"))
    if order is not None:
        fields["task_order"] = order
    for name, field in (
        ("ReservationActivitySid", "reservation_activity_sid"),
        ("AssignmentActivitySid", "assignment_activity_sid"),
    ):
        sid = f.sid(name, "WA")
        if sid is not None:
            c.store.check_activity(c.request.path.split("/")[3], sid, name)
            fields[field] = sid
    return fields


@_route("GET", "{ws}/TaskQueues")
def _list_task_queues(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("FriendlyName", "EvaluateWorkerAttributes", "WorkerSid", "Ordering", *_PAGING)
    name = q.text("FriendlyName")
    items = [t for t in c.store.task_queues.values() if t.workspace_sid == p["ws"]]
    if name is not None:
        items = [t for t in items if t.friendly_name == name]
    attributes = q.json_object("EvaluateWorkerAttributes")
    if attributes is not None:
        items = [t for t in items if t.matcher.matches(attributes)]
    worker_sid = q.sid("WorkerSid", "WK")
    if worker_sid is not None:
        worker = c.store.worker(p["ws"], worker_sid)
        items = [t for t in items if t.matcher.matches({**worker.attributes, "worker": worker.attributes})]
    ordering = q.choice("Ordering", ("DateUpdated:asc", "DateUpdated:desc", "FriendlyName:asc", "FriendlyName:desc"))
    if ordering is not None:
        field, direction = ordering.split(":")
        items.sort(key=lambda t: t.date_updated if field == "DateUpdated" else t.friendly_name)
        if direction == "desc":
            items.reverse()
    return c.page("task_queues", items, c.task_queue_json, q)


@_route("POST", "{ws}/TaskQueues")
def _create_task_queue(c: _Context, p: dict[str, str]) -> Answer:
    f = c.form(
        "FriendlyName",
        "TargetWorkers",
        "MaxReservedWorkers",
        "TaskOrder",
        "ReservationActivitySid",
        "AssignmentActivitySid",
    )
    f.text("FriendlyName", required=True)
    fields = _queue_fields(c, f)
    queue = c.store.create_task_queue(p["ws"], fields.pop("friendly_name"), **fields)
    return _created(c.task_queue_json(queue))


@_route("GET", "{ws}/TaskQueues/{sid}")
def _fetch_task_queue(c: _Context, p: dict[str, str]) -> Answer:
    return _ok(c.task_queue_json(c.store.task_queue(p["ws"], p["sid"])))


@_route("POST", "{ws}/TaskQueues/{sid}")
def _update_task_queue(c: _Context, p: dict[str, str]) -> Answer:
    queue = c.store.task_queue(p["ws"], p["sid"])
    f = c.form(
        "FriendlyName",
        "TargetWorkers",
        "ReservationActivitySid",
        "AssignmentActivitySid",
        "MaxReservedWorkers",
        "TaskOrder",
    )
    c.store.update_task_queue(queue, _queue_fields(c, f))
    c.store.route(p["ws"])
    return _ok(c.task_queue_json(queue))


@_route("DELETE", "{ws}/TaskQueues/{sid}")
def _delete_task_queue(c: _Context, p: dict[str, str]) -> Answer:
    c.store.delete_task_queue(p["ws"], p["sid"])
    return _NO_CONTENT


# Workflows


@_route("GET", "{ws}/Workflows")
def _list_workflows(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("FriendlyName", *_PAGING)
    name = q.text("FriendlyName")
    items = [
        w
        for w in c.store.workflows.values()
        if w.workspace_sid == p["ws"] and (name is None or w.friendly_name == name)
    ]
    return c.page("workflows", items, c.workflow_json, q)


@_route("POST", "{ws}/Workflows")
def _create_workflow(c: _Context, p: dict[str, str]) -> Answer:
    f = c.form(
        "FriendlyName",
        "Configuration",
        "AssignmentCallbackUrl",
        "FallbackAssignmentCallbackUrl",
        "TaskReservationTimeout",
    )
    workflow = c.store.create_workflow(
        p["ws"],
        f.text("FriendlyName", required=True, max_length=64) or "",
        f.text("Configuration", required=True) or "",
        assignment_callback_url=f.text("AssignmentCallbackUrl"),
        fallback_assignment_callback_url=f.text("FallbackAssignmentCallbackUrl"),
        task_reservation_timeout=f.integer("TaskReservationTimeout", low=1, high=86400) or 120,
    )
    return _created(c.workflow_json(workflow))


@_route("GET", "{ws}/Workflows/{sid}")
def _fetch_workflow(c: _Context, p: dict[str, str]) -> Answer:
    return _ok(c.workflow_json(c.store.workflow(p["ws"], p["sid"])))


@_route("POST", "{ws}/Workflows/{sid}")
def _update_workflow(c: _Context, p: dict[str, str]) -> Answer:
    workflow = c.store.workflow(p["ws"], p["sid"])
    f = c.form(
        "FriendlyName",
        "AssignmentCallbackUrl",
        "FallbackAssignmentCallbackUrl",
        "Configuration",
        "TaskReservationTimeout",
        "ReEvaluateTasks",
    )
    configuration = f.text("Configuration")
    if configuration is not None:
        workflow.plan = c.store.plan(p["ws"], configuration)
        workflow.configuration = configuration
    workflow.friendly_name = f.text("FriendlyName", max_length=64) or workflow.friendly_name
    if "AssignmentCallbackUrl" in f:
        workflow.assignment_callback_url = f.text("AssignmentCallbackUrl") or None
    if "FallbackAssignmentCallbackUrl" in f:
        workflow.fallback_assignment_callback_url = f.text("FallbackAssignmentCallbackUrl") or None
    timeout = f.integer("TaskReservationTimeout", low=1, high=86400)
    if timeout is not None:
        workflow.task_reservation_timeout = timeout
    f.boolean("ReEvaluateTasks")
    workflow.date_updated = c.store.now()
    c.store.record("workflow.updated", "workflow", workflow.sid, "Workflow updated", workspace_sid=p["ws"])
    return _ok(c.workflow_json(workflow))


@_route("DELETE", "{ws}/Workflows/{sid}")
def _delete_workflow(c: _Context, p: dict[str, str]) -> Answer:
    c.store.delete_workflow(p["ws"], p["sid"])
    return _NO_CONTENT


# Workers


@_route("GET", "{ws}/Workers")
def _list_workers(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(
        "ActivityName",
        "ActivitySid",
        "Available",
        "FriendlyName",
        "TargetWorkersExpression",
        "TaskQueueName",
        "TaskQueueSid",
        "Ordering",
        *_PAGING,
    )
    expression = q.text("TargetWorkersExpression")
    items = list(
        c.store.workers_matching(p["ws"], expression)
        if expression is not None
        else (w for w in c.store.workers.values() if w.workspace_sid == p["ws"])
    )
    activity_name, activity_sid = q.text("ActivityName"), q.sid("ActivitySid", "WA")
    available, name = q.boolean("Available"), q.text("FriendlyName")
    queue_name, queue_sid = q.text("TaskQueueName"), q.sid("TaskQueueSid", "WQ")
    activities = c.store.activities

    def keep(worker: Worker) -> bool:
        activity = activities[worker.activity_sid]
        if activity_name is not None and activity.friendly_name != activity_name:
            return False
        if activity_sid is not None and worker.activity_sid != activity_sid:
            return False
        if available is not None and activity.available is not available:
            return False
        return name is None or worker.friendly_name == name

    items = [w for w in items if keep(w)]
    queues = [
        t
        for t in c.store.task_queues.values()
        if t.workspace_sid == p["ws"]
        and (queue_sid is None or t.sid == queue_sid)
        and (queue_name is None or t.friendly_name == queue_name)
    ]
    if queue_sid is not None or queue_name is not None:
        items = [w for w in items if any(t.matcher.matches({**w.attributes, "worker": w.attributes}) for t in queues)]
    ordering = q.choice("Ordering", ("DateCreated:asc", "DateCreated:desc"))
    if ordering == "DateCreated:desc":
        items.reverse()
    return c.page("workers", items, c.worker_json, q)


@_route("POST", "{ws}/Workers")
def _create_worker(c: _Context, p: dict[str, str]) -> Answer:
    f = c.form("FriendlyName", "ActivitySid", "Attributes")
    worker = c.store.create_worker(
        p["ws"],
        f.text("FriendlyName", required=True, max_length=64) or "",
        attributes=f.json_object("Attributes"),
        activity_sid=f.sid("ActivitySid", "WA"),
    )
    c.store.route(p["ws"])
    return Answer(201, c.worker_json(worker), (("etag", worker.etag),))


@_route("GET", "{ws}/Workers/{sid}")
def _fetch_worker(c: _Context, p: dict[str, str]) -> Answer:
    worker = c.store.worker(p["ws"], p["sid"])
    return _ok(c.worker_json(worker), worker.etag)


@_route("POST", "{ws}/Workers/{sid}")
def _update_worker(c: _Context, p: dict[str, str]) -> Answer:
    worker = c.store.worker(p["ws"], p["sid"])
    c.check_etag(worker.etag, f"Worker {worker.sid}")
    f = c.form("ActivitySid", "Attributes", "FriendlyName", "RejectPendingReservations")
    c.store.update_worker(
        worker,
        friendly_name=f.text("FriendlyName", max_length=64),
        attributes=f.json_object("Attributes"),
        activity_sid=f.sid("ActivitySid", "WA"),
        reject_pending=f.boolean("RejectPendingReservations") is True,
    )
    return _ok(c.worker_json(worker), worker.etag)


@_route("DELETE", "{ws}/Workers/{sid}")
def _delete_worker(c: _Context, p: dict[str, str]) -> Answer:
    worker = c.store.worker(p["ws"], p["sid"])
    c.check_etag(worker.etag, f"Worker {worker.sid}")
    c.store.delete_worker(worker)
    return _NO_CONTENT


@_route("GET", "{ws}/Workers/{parent}/Channels")
def _list_worker_channels(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_PAGING)
    worker = c.store.worker(p["ws"], p["parent"])
    return c.page("channels", c.store.worker_channels_of(worker), c.worker_channel_json, q)


@_route("GET", "{ws}/Workers/{parent}/Channels/{channel}")
def _fetch_worker_channel(c: _Context, p: dict[str, str]) -> Answer:
    worker = c.store.worker(p["ws"], p["parent"])
    return _ok(c.worker_channel_json(c.store.worker_channel(worker, p["sid"])))


@_route("POST", "{ws}/Workers/{parent}/Channels/{channel}")
def _update_worker_channel(c: _Context, p: dict[str, str]) -> Answer:
    worker = c.store.worker(p["ws"], p["parent"])
    channel = c.store.worker_channel(worker, p["sid"])
    f = c.form("Capacity", "Available")
    c.store.update_worker_channel(channel, f.integer("Capacity", low=0, high=50), f.boolean("Available"))
    return _ok(c.worker_channel_json(channel))


# Tasks


@_route("GET", "{ws}/Tasks")
def _list_tasks(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(
        "Priority",
        "AssignmentStatus",
        "WorkflowSid",
        "WorkflowName",
        "TaskQueueSid",
        "TaskQueueName",
        "EvaluateTaskAttributes",
        "RoutingTarget",
        "Ordering",
        "HasAddons",
        *_PAGING,
    )
    expression = q.text("EvaluateTaskAttributes")
    items = list(
        c.store.tasks_matching(p["ws"], expression)
        if expression is not None
        else (t for t in c.store.tasks.values() if t.workspace_sid == p["ws"])
    )
    statuses = q.all("AssignmentStatus")
    for status in statuses:
        if status not in _TASK_STATUSES:
            raise invalid(f"AssignmentStatus must be one of {', '.join(_TASK_STATUSES)}, got {status!r}")
    priority = q.integer("Priority")
    workflow_sid, workflow_name = q.sid("WorkflowSid", "WW"), q.text("WorkflowName")
    queue_sid, queue_name = q.sid("TaskQueueSid", "WQ"), q.text("TaskQueueName")
    routing_target = q.text("RoutingTarget")
    q.boolean("HasAddons")
    store = c.store

    def keep(task: Task) -> bool:
        workflow = store.workflows.get(task.workflow_sid)
        queue = store.task_queues.get(task.task_queue_sid)
        return (
            (not statuses or task.assignment_status in statuses)
            and (priority is None or task.priority == priority)
            and (workflow_sid is None or task.workflow_sid == workflow_sid)
            and (workflow_name is None or (workflow is not None and workflow.friendly_name == workflow_name))
            and (queue_sid is None or task.task_queue_sid == queue_sid)
            and (queue_name is None or (queue is not None and queue.friendly_name == queue_name))
            and (routing_target is None or task.routing_target == routing_target)
        )

    items = [t for t in items if keep(t)]
    ordering = q.choice("Ordering", ("DateCreated:asc", "DateCreated:desc", "Priority:asc", "Priority:desc"))
    if ordering is not None:
        field, direction = ordering.split(":")
        items.sort(key=lambda t: (t.date_created, t.order) if field == "DateCreated" else (t.priority, t.order))
        if direction == "desc":
            items.reverse()
    return c.page("tasks", items, c.task_json, q)


@_route("POST", "{ws}/Tasks")
def _create_task(c: _Context, p: dict[str, str]) -> Answer:
    f = c.form(
        "Timeout",
        "Priority",
        "TaskChannel",
        "WorkflowSid",
        "Attributes",
        "VirtualStartTime",
        "RoutingTarget",
        "IgnoreCapacity",
        "TaskQueueSid",
    )
    task = c.store.create_task(
        p["ws"],
        attributes=f.json_object("Attributes"),
        workflow_sid=f.sid("WorkflowSid", "WW"),
        priority=f.integer("Priority", low=0, high=2**31 - 1),
        timeout=f.integer("Timeout", low=1, high=2 * 365 * 86400),
        task_channel=f.text("TaskChannel"),
        routing_target=f.text("RoutingTarget"),
        ignore_capacity=f.boolean("IgnoreCapacity") is True,
        virtual_start_time=f.date("VirtualStartTime"),
    )
    f.sid("TaskQueueSid", "WQ")
    return Answer(201, c.task_json(task), (("etag", task.etag),))


@_route("GET", "{ws}/Tasks/{sid}")
def _fetch_task(c: _Context, p: dict[str, str]) -> Answer:
    task = c.store.task(p["ws"], p["sid"])
    return _ok(c.task_json(task), task.etag)


@_route("POST", "{ws}/Tasks/{sid}")
def _update_task(c: _Context, p: dict[str, str]) -> Answer:
    task = c.store.task(p["ws"], p["sid"])
    c.check_etag(task.etag, f"Task {task.sid}")
    f = c.form("Attributes", "AssignmentStatus", "Reason", "Priority", "TaskChannel", "VirtualStartTime")
    c.store.update_task(
        task,
        attributes=f.json_object("Attributes"),
        assignment_status=f.choice("AssignmentStatus", _TASK_STATUSES),
        reason=f.text("Reason"),
        priority=f.integer("Priority", low=0, high=2**31 - 1),
        task_channel=f.text("TaskChannel"),
        virtual_start_time=f.date("VirtualStartTime"),
    )
    return _ok(c.task_json(task), task.etag)


@_route("DELETE", "{ws}/Tasks/{sid}")
def _delete_task(c: _Context, p: dict[str, str]) -> Answer:
    task = c.store.task(p["ws"], p["sid"])
    c.check_etag(task.etag, f"Task {task.sid}")
    c.store.delete_task(task)
    return _NO_CONTENT


# Events


@_route("GET", "{ws}/Events")
def _list_events(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(
        "EndDate",
        "EventType",
        "Minutes",
        "ReservationSid",
        "StartDate",
        "TaskQueueSid",
        "TaskSid",
        "WorkerSid",
        "WorkflowSid",
        "TaskChannel",
        "Sid",
        *_PAGING,
    )
    start, end = _window(c, q, default_minutes=None)
    wanted = {
        "reservation_sid": q.sid("ReservationSid", "WR"),
        "task_queue_sid": q.sid("TaskQueueSid", "WQ"),
        "task_sid": q.sid("TaskSid", "WT"),
        "worker_sid": q.sid("WorkerSid", "WK"),
        "workflow_sid": q.sid("WorkflowSid", "WW"),
    }
    event_type, sid, channel = q.text("EventType"), q.text("Sid"), q.text("TaskChannel")
    items = [
        e
        for e in c.store.events
        if e.workspace_sid == p["ws"]
        and (start is None or e.date >= start)
        and (end is None or e.date <= end)
        and (event_type is None or e.event_type == event_type)
        and (sid is None or e.sid == sid)
        and (channel is None or channel in (e.data.get("task_channel_sid"), e.data.get("task_channel_unique_name")))
        and all(value is None or e.data.get(key) == value for key, value in wanted.items())
    ]
    return c.page("events", items, c.event_json, q)


@_route("GET", "{ws}/Events/{sid}")
def _fetch_event(c: _Context, p: dict[str, str]) -> Answer:
    for event in c.store.events:
        if event.sid == p["sid"] and event.workspace_sid == p["ws"]:
            return _ok(c.event_json(event))
    raise not_found("Event")


# Statistics


def _window(c: _Context, q: _Params, *, default_minutes: int | None = 15) -> tuple[datetime | None, datetime | None]:
    minutes = q.integer("Minutes", low=1) if "Minutes" in q else None
    start, end = q.date("StartDate"), q.date("EndDate")
    now = c.store.now()
    if minutes is not None:
        return now - timedelta(minutes=minutes), now
    if start is None and end is None and default_minutes is not None:
        return now - timedelta(minutes=default_minutes), now
    return start, end


_STATS_QUERY = ("EndDate", "Minutes", "StartDate", "TaskChannel", "SplitByWaitTime")


def _durations() -> dict[str, int]:
    return {"avg": 0, "min": 0, "max": 0, "total": 0}


def _cumulative(
    c: _Context, q: _Params, keep: Callable[[Event], bool], keys: Sequence[str], **identity: str
) -> dict[str, Any]:
    start, end = _window(c, q)
    assert start is not None
    assert end is not None
    events = [e for e in c.store.events if start <= e.date <= end and keep(e)]
    counts: dict[str, int] = {}
    for event in events:
        counts[event.event_type] = counts.get(event.event_type, 0) + 1
    values: dict[str, Any] = {
        "account_sid": c.account_sid,
        "avg_task_acceptance_time": 0,
        "start_time": _ts(start),
        "end_time": _ts(end),
        "split_by_wait_time": None,
        "wait_duration_until_accepted": _durations(),
        "wait_duration_until_canceled": _durations(),
        "wait_duration_in_queue_until_accepted": _durations(),
        "activity_durations": [],
        "tasks_created": counts.get("task.created", 0),
        "tasks_entered": counts.get("task-queue.entered", 0),
        "tasks_canceled": counts.get("task.canceled", 0),
        "tasks_completed": counts.get("task.completed", 0),
        "tasks_deleted": counts.get("task.deleted", 0) + counts.get("task.system-deleted", 0),
        "tasks_moved": counts.get("task-queue.moved", 0),
        "tasks_timed_out_in_workflow": counts.get("workflow.timeout", 0),
        **{
            f"reservations_{name}": counts.get(f"reservation.{event}", 0)
            for name, event in (
                ("created", "created"),
                ("accepted", "accepted"),
                ("rejected", "rejected"),
                ("timed_out", "timeout"),
                ("canceled", "canceled"),
                ("rescinded", "rescinded"),
            )
        },
        **identity,
    }
    return {key: values[key] for key in keys}


def _realtime(
    c: _Context, tasks: Iterable[Task], workers: Iterable[Worker] | None, keys: Sequence[str], **identity: Any
) -> dict[str, Any]:
    tasks = list(tasks)
    now = c.store.now()
    by_status = {status: 0 for status in _TASK_STATUSES if status not in ("canceled", "completed")}
    by_priority: dict[str, int] = {}
    waiting = []
    for task in tasks:
        if task.assignment_status in by_status:
            by_status[task.assignment_status] += 1
            by_priority[str(task.priority)] = by_priority.get(str(task.priority), 0) + 1
        if task.assignment_status in ("pending", "reserved"):
            waiting.append(task)
    oldest = min(waiting, key=lambda t: t.date_created, default=None)
    activity_statistics = []
    worker_list = list(workers or [])
    workspace_sid = identity["workspace_sid"]
    for activity in c.store.activities.values():
        if activity.workspace_sid == workspace_sid:
            count = sum(1 for w in worker_list if w.activity_sid == activity.sid)
            activity_statistics.append({"sid": activity.sid, "friendly_name": activity.friendly_name, "workers": count})
    age = 0 if oldest is None else int((now - oldest.date_created).total_seconds())
    values: dict[str, Any] = {
        "account_sid": c.account_sid,
        "activity_statistics": activity_statistics,
        "longest_task_waiting_age": age,
        "longest_task_waiting_sid": None if oldest is None else oldest.sid,
        "longest_relative_task_age_in_queue": age,
        "longest_relative_task_sid_in_queue": None if oldest is None else oldest.sid,
        "tasks_by_priority": by_priority,
        "tasks_by_status": by_status,
        "total_tasks": sum(by_status.values()),
        "total_workers": len(worker_list),
        "total_available_workers": sum(1 for w in worker_list if c.store.is_available(w)),
        "total_eligible_workers": len(worker_list),
        **identity,
    }
    return {key: values[key] for key in keys}


_RESERVATION_KEYS = tuple(
    f"reservations_{name}" for name in ("created", "accepted", "rejected", "timed_out", "canceled", "rescinded")
)
_WS_CUMULATIVE = (
    "account_sid", "avg_task_acceptance_time", "start_time", "end_time", *_RESERVATION_KEYS, "split_by_wait_time",
    "wait_duration_until_accepted", "wait_duration_until_canceled", "tasks_canceled", "tasks_completed",
    "tasks_created", "tasks_deleted", "tasks_moved", "tasks_timed_out_in_workflow", "workspace_sid", "url",
)  # fmt: skip
_WS_REALTIME = (
    "account_sid", "activity_statistics", "longest_task_waiting_age", "longest_task_waiting_sid",
    "tasks_by_priority", "tasks_by_status", "total_tasks", "total_workers", "workspace_sid", "url",
)  # fmt: skip
_WF_CUMULATIVE = (
    "account_sid", "avg_task_acceptance_time", "start_time", "end_time", *_RESERVATION_KEYS, "split_by_wait_time",
    "wait_duration_until_accepted", "wait_duration_until_canceled", "tasks_canceled", "tasks_completed",
    "tasks_entered", "tasks_deleted", "tasks_moved", "tasks_timed_out_in_workflow", "workflow_sid",
    "workspace_sid", "url",
)  # fmt: skip
_WF_REALTIME = (
    "account_sid", "longest_task_waiting_age", "longest_task_waiting_sid", "tasks_by_priority", "tasks_by_status",
    "total_tasks", "workflow_sid", "workspace_sid", "url",
)  # fmt: skip
_TQ_CUMULATIVE = (
    "account_sid", "avg_task_acceptance_time", "start_time", "end_time", *_RESERVATION_KEYS, "split_by_wait_time",
    "task_queue_sid", "wait_duration_until_accepted", "wait_duration_until_canceled",
    "wait_duration_in_queue_until_accepted", "tasks_canceled", "tasks_completed", "tasks_deleted", "tasks_entered",
    "tasks_moved", "workspace_sid", "url",
)  # fmt: skip
_TQ_REALTIME = (
    "account_sid", "activity_statistics", "longest_task_waiting_age", "longest_task_waiting_sid",
    "longest_relative_task_age_in_queue", "longest_relative_task_sid_in_queue", "task_queue_sid",
    "tasks_by_priority", "tasks_by_status", "total_available_workers", "total_eligible_workers", "total_tasks",
    "workspace_sid", "url",
)  # fmt: skip
_WK_CUMULATIVE = (
    "account_sid", "start_time", "end_time", "activity_durations", *_RESERVATION_KEYS, "workspace_sid", "url",
)  # fmt: skip
_WK_REALTIME = ("account_sid", "activity_statistics", "total_workers", "workspace_sid", "url")


def _in_workspace(ws: str) -> Callable[[Event], bool]:
    return lambda e: e.workspace_sid == ws


def _ws_tasks(c: _Context, ws: str) -> list[Task]:
    return [t for t in c.store.tasks.values() if t.workspace_sid == ws]


def _ws_workers(c: _Context, ws: str) -> list[Worker]:
    return [w for w in c.store.workers.values() if w.workspace_sid == ws]


@_route("GET", "{ws}/CumulativeStatistics")
def _ws_cumulative(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_STATS_QUERY)
    url = f"{c.ws_url(p['ws'])}/CumulativeStatistics"
    return _ok(_cumulative(c, q, _in_workspace(p["ws"]), _WS_CUMULATIVE, workspace_sid=p["ws"], url=url))


@_route("GET", "{ws}/RealTimeStatistics")
def _ws_realtime(c: _Context, p: dict[str, str]) -> Answer:
    c.query("TaskChannel")
    url = f"{c.ws_url(p['ws'])}/RealTimeStatistics"
    return _ok(
        _realtime(c, _ws_tasks(c, p["ws"]), _ws_workers(c, p["ws"]), _WS_REALTIME, workspace_sid=p["ws"], url=url)
    )


@_route("GET", "{ws}/Statistics")
def _ws_statistics(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_STATS_QUERY)
    ws = p["ws"]
    keys_c = [k for k in _WS_CUMULATIVE if k not in ("account_sid", "workspace_sid", "url")]
    keys_r = [k for k in _WS_REALTIME if k not in ("account_sid", "workspace_sid", "url")]
    return _ok(
        {
            "realtime": _realtime(c, _ws_tasks(c, ws), _ws_workers(c, ws), keys_r, workspace_sid=ws),
            "cumulative": _cumulative(c, q, _in_workspace(ws), keys_c),
            "account_sid": c.account_sid,
            "workspace_sid": ws,
            "url": f"{c.ws_url(ws)}/Statistics",
        }
    )


def _of_workflow(ws: str, sid: str) -> Callable[[Event], bool]:
    return lambda e: e.workspace_sid == ws and e.data.get("workflow_sid") == sid


@_route("GET", "{ws}/Workflows/{sid}/CumulativeStatistics")
def _wf_cumulative(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_STATS_QUERY)
    c.store.workflow(p["ws"], p["sid"])
    url = f"{c.ws_url(p['ws'])}/Workflows/{p['sid']}/CumulativeStatistics"
    keep = _of_workflow(p["ws"], p["sid"])
    return _ok(_cumulative(c, q, keep, _WF_CUMULATIVE, workspace_sid=p["ws"], workflow_sid=p["sid"], url=url))


@_route("GET", "{ws}/Workflows/{sid}/RealTimeStatistics")
def _wf_realtime(c: _Context, p: dict[str, str]) -> Answer:
    c.query("TaskChannel")
    c.store.workflow(p["ws"], p["sid"])
    tasks = [t for t in _ws_tasks(c, p["ws"]) if t.workflow_sid == p["sid"]]
    url = f"{c.ws_url(p['ws'])}/Workflows/{p['sid']}/RealTimeStatistics"
    return _ok(_realtime(c, tasks, None, _WF_REALTIME, workspace_sid=p["ws"], workflow_sid=p["sid"], url=url))


@_route("GET", "{ws}/Workflows/{sid}/Statistics")
def _wf_statistics(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_STATS_QUERY)
    c.store.workflow(p["ws"], p["sid"])
    tasks = [t for t in _ws_tasks(c, p["ws"]) if t.workflow_sid == p["sid"]]
    keys_c = [k for k in _WF_CUMULATIVE if k not in ("account_sid", "workspace_sid", "url", "workflow_sid")]
    keys_r = [k for k in _WF_REALTIME if k not in ("account_sid", "workspace_sid", "url", "workflow_sid")]
    return _ok(
        {
            "account_sid": c.account_sid,
            "cumulative": _cumulative(c, q, _of_workflow(p["ws"], p["sid"]), keys_c),
            "realtime": _realtime(c, tasks, None, keys_r, workspace_sid=p["ws"]),
            "workflow_sid": p["sid"],
            "workspace_sid": p["ws"],
            "url": f"{c.ws_url(p['ws'])}/Workflows/{p['sid']}/Statistics",
        }
    )


def _queue_stats(c: _Context, q: _Params, queue: TaskQueue, *, with_url: bool) -> dict[str, Any]:
    ws = queue.workspace_sid
    tasks = [t for t in _ws_tasks(c, ws) if t.task_queue_sid == queue.sid]
    workers = [w for w in _ws_workers(c, ws) if queue.matcher.matches({**w.attributes, "worker": w.attributes})]
    keys_c = [k for k in _TQ_CUMULATIVE if k not in ("account_sid", "workspace_sid", "url", "task_queue_sid")]
    keys_r = [k for k in _TQ_REALTIME if k not in ("account_sid", "workspace_sid", "url", "task_queue_sid")]

    def keep(event: Event) -> bool:
        return event.workspace_sid == ws and event.data.get("task_queue_sid") == queue.sid

    body = {
        "account_sid": c.account_sid,
        "cumulative": _cumulative(c, q, keep, keys_c),
        "realtime": _realtime(c, tasks, workers, keys_r, workspace_sid=ws),
        "task_queue_sid": queue.sid,
        "workspace_sid": ws,
    }
    if with_url:
        body["url"] = f"{c.ws_url(ws)}/TaskQueues/{queue.sid}/Statistics"
    return body


@_route("GET", "{ws}/TaskQueues/Statistics")
def _tq_list_statistics(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("EndDate", "FriendlyName", "Minutes", "StartDate", "TaskChannel", "SplitByWaitTime", *_PAGING)
    name = q.text("FriendlyName")
    queues = [
        t
        for t in c.store.task_queues.values()
        if t.workspace_sid == p["ws"] and (name is None or t.friendly_name == name)
    ]
    return c.page("task_queues_statistics", queues, lambda t: _queue_stats(c, q, t, with_url=False), q)


@_route("POST", "{ws}/TaskQueues/RealTimeStatistics")
def _tq_bulk_realtime(c: _Context, p: dict[str, str]) -> Answer:
    try:
        document = json.loads(c.request.body or b"{}")
    except ValueError:
        raise invalid('The body must be JSON: {"TaskQueueSids": [...]}') from None
    sids = document.get("TaskQueueSids") if isinstance(document, dict) else None
    if not isinstance(sids, list) or not sids or len(sids) > 50:
        raise invalid("TaskQueueSids must be a list of 1 to 50 TaskQueue SIDs")
    data = []
    for sid in sids:
        queue = c.store.task_queue(p["ws"], str(sid))
        tasks = [t for t in _ws_tasks(c, p["ws"]) if t.task_queue_sid == queue.sid]
        workers = [
            w for w in _ws_workers(c, p["ws"]) if queue.matcher.matches({**w.attributes, "worker": w.attributes})
        ]
        keys = [k for k in _TQ_REALTIME if k not in ("account_sid", "url")]
        data.append(_realtime(c, tasks, workers, keys, workspace_sid=p["ws"], task_queue_sid=queue.sid))
    return _ok(
        {
            "account_sid": c.account_sid,
            "workspace_sid": p["ws"],
            "task_queue_data": data,
            "task_queue_response_count": len(data),
            "url": f"{c.ws_url(p['ws'])}/TaskQueues/RealTimeStatistics",
        }
    )


@_route("GET", "{ws}/TaskQueues/{sid}/CumulativeStatistics")
def _tq_cumulative(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_STATS_QUERY)
    queue = c.store.task_queue(p["ws"], p["sid"])
    url = f"{c.ws_url(p['ws'])}/TaskQueues/{queue.sid}/CumulativeStatistics"

    def keep(event: Event) -> bool:
        return event.workspace_sid == p["ws"] and event.data.get("task_queue_sid") == queue.sid

    return _ok(_cumulative(c, q, keep, _TQ_CUMULATIVE, workspace_sid=p["ws"], task_queue_sid=queue.sid, url=url))


@_route("GET", "{ws}/TaskQueues/{sid}/RealTimeStatistics")
def _tq_realtime(c: _Context, p: dict[str, str]) -> Answer:
    c.query("TaskChannel")
    queue = c.store.task_queue(p["ws"], p["sid"])
    tasks = [t for t in _ws_tasks(c, p["ws"]) if t.task_queue_sid == queue.sid]
    workers = [w for w in _ws_workers(c, p["ws"]) if queue.matcher.matches({**w.attributes, "worker": w.attributes})]
    url = f"{c.ws_url(p['ws'])}/TaskQueues/{queue.sid}/RealTimeStatistics"
    return _ok(_realtime(c, tasks, workers, _TQ_REALTIME, workspace_sid=p["ws"], task_queue_sid=queue.sid, url=url))


@_route("GET", "{ws}/TaskQueues/{sid}/Statistics")
def _tq_statistics(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query(*_STATS_QUERY)
    return _ok(_queue_stats(c, q, c.store.task_queue(p["ws"], p["sid"]), with_url=True))


@_route("GET", "{ws}/Workers/Statistics")
def _wk_statistics(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("Minutes", "StartDate", "EndDate", "TaskQueueSid", "TaskQueueName", "FriendlyName", "TaskChannel")
    keys_c = [k for k in _WK_CUMULATIVE if k not in ("account_sid", "workspace_sid", "url")]
    keys_r = [k for k in _WK_REALTIME if k not in ("account_sid", "workspace_sid", "url")]
    ws = p["ws"]
    return _ok(
        {
            "realtime": _realtime(c, [], _ws_workers(c, ws), keys_r, workspace_sid=ws),
            "cumulative": _cumulative(c, q, _in_workspace(ws), keys_c),
            "account_sid": c.account_sid,
            "workspace_sid": ws,
            "url": f"{c.ws_url(ws)}/Workers/Statistics",
        }
    )


@_route("GET", "{ws}/Workers/CumulativeStatistics")
def _wk_cumulative(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("EndDate", "Minutes", "StartDate", "TaskChannel")
    url = f"{c.ws_url(p['ws'])}/Workers/CumulativeStatistics"
    return _ok(_cumulative(c, q, _in_workspace(p["ws"]), _WK_CUMULATIVE, workspace_sid=p["ws"], url=url))


@_route("GET", "{ws}/Workers/RealTimeStatistics")
def _wk_realtime(c: _Context, p: dict[str, str]) -> Answer:
    c.query("TaskChannel")
    url = f"{c.ws_url(p['ws'])}/Workers/RealTimeStatistics"
    return _ok(_realtime(c, [], _ws_workers(c, p["ws"]), _WK_REALTIME, workspace_sid=p["ws"], url=url))


@_route("GET", "{ws}/Workers/{parent}/Statistics")
def _wk_instance_statistics(c: _Context, p: dict[str, str]) -> Answer:
    q = c.query("Minutes", "StartDate", "EndDate", "TaskChannel")
    worker = c.store.worker(p["ws"], p["parent"])
    keys_c = [k for k in _WK_CUMULATIVE if k not in ("account_sid", "workspace_sid", "url")]

    def keep(event: Event) -> bool:
        return event.workspace_sid == p["ws"] and event.data.get("worker_sid") == worker.sid

    return _ok(
        {
            "account_sid": c.account_sid,
            "cumulative": _cumulative(c, q, keep, keys_c),
            "worker_sid": worker.sid,
            "workspace_sid": p["ws"],
            "url": f"{c.ws_url(p['ws'])}/Workers/{worker.sid}/Statistics",
        }
    )
