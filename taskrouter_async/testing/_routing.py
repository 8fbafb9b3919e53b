"""Workflow configurations read into routing plans, and the documents expressions are evaluated against.

Pure functions: ``_state.FakeStore`` decides when to route and changes the records.
Sources: https://www.twilio.com/docs/taskrouter/workflow-configuration (the document's structure),
https://www.twilio.com/docs/taskrouter/lifecycle-task-workflows-and-assignment (first matching
filter, steps with timeouts, the default filter), https://www.twilio.com/docs/taskrouter/time-of-day-routing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ._expressions import Expression, ExpressionError, parse_expression
from ._records import RoutingFilter, RoutingPlan, RoutingTarget, Task, Worker

__all__ = ["ConfigurationError", "filter_document", "parse_plan", "target_document", "worker_document"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ConfigurationError(ValueError):
    """A workflow configuration TaskRouter would refuse, and why."""


def parse_plan(configuration: str, queue_exists: Callable[[str], bool]) -> RoutingPlan:
    """Read a workflow's ``Configuration`` JSON into a plan; every queue must exist and every expression parse."""
    try:
        document = json.loads(configuration)
    except ValueError:
        raise ConfigurationError("Configuration is not valid JSON") from None
    routing = document.get("task_routing") if isinstance(document, dict) else None
    if not isinstance(routing, dict):
        raise ConfigurationError("Configuration must be a JSON object with a 'task_routing' object")
    filters_json = routing.get("filters", [])
    if not isinstance(filters_json, list):
        raise ConfigurationError("task_routing.filters must be a list")
    filters = tuple(_parse_filter(item, n, queue_exists) for n, item in enumerate(filters_json))
    default = routing.get("default_filter")
    default_queue = None
    if default is not None:
        if not isinstance(default, dict) or not isinstance(default.get("queue"), str):
            raise ConfigurationError("task_routing.default_filter must be an object with a 'queue'")
        default_queue = _queue(default["queue"], "task_routing.default_filter.queue", queue_exists)
    return RoutingPlan(filters=filters, default_queue_sid=default_queue)


def _parse_filter(item: Any, index: int, queue_exists: Callable[[str], bool]) -> RoutingFilter:
    where = f"task_routing.filters[{index}]"
    if not isinstance(item, dict):
        raise ConfigurationError(f"{where} must be an object")
    expression = _expression(item.get("expression", "1==1"), f"{where}.expression")
    targets_json = item.get("targets")
    if not isinstance(targets_json, list) or not targets_json:
        raise ConfigurationError(f"{where}.targets must be a non-empty list")
    targets = []
    for n, target in enumerate(targets_json):
        here = f"{where}.targets[{n}]"
        if not isinstance(target, dict):
            raise ConfigurationError(f"{here} must be an object")
        queue = target.get("queue")
        if queue is None and n == 0:
            raise ConfigurationError(f"{here}.queue is required in a filter's first target")
        targets.append(
            RoutingTarget(
                queue_sid=None if queue is None else _queue(queue, f"{here}.queue", queue_exists),
                priority=_integer(target.get("priority"), f"{here}.priority"),
                timeout=_integer(target.get("timeout"), f"{here}.timeout"),
                expression=None if "expression" not in target else _expression(target["expression"], here),
            )
        )
    return RoutingFilter(
        friendly_name=str(item.get("filter_friendly_name", "")), expression=expression, targets=tuple(targets)
    )


def _queue(value: Any, where: str, queue_exists: Callable[[str], bool]) -> str:
    if not isinstance(value, str) or not queue_exists(value):
        raise ConfigurationError(f"{where}: {value!r} is not a TaskQueue of this workspace")
    return value


def _integer(value: Any, where: str) -> int | None:
    """Timeouts and priorities: an integer, or a string of one (the docs' template quotes them)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ConfigurationError(f"{where} must be an integer, got {value!r}")


def _expression(value: Any, where: str) -> Expression:
    if not isinstance(value, str):
        raise ConfigurationError(f"{where} must be a string")
    try:
        return parse_expression(value)
    except ExpressionError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _time_of_day(now: datetime) -> dict[str, Any]:
    """``taskrouter.*``: the time-of-day keys, in UTC."""
    return {
        "currentTime": now.hour * 100 + now.minute,
        "currentHour": f"{now.hour:02d}",
        "currentMin": now.minute,
        "dayOfWeek": _DAYS[now.weekday()],
    }


def filter_document(task: Task, now: datetime) -> dict[str, Any]:
    """What a workflow filter expression sees: the task's attributes (also as ``task.*``) and ``taskrouter.*``."""
    return {"task": task.attributes, "taskrouter": _time_of_day(now), **task.attributes}


def worker_document(worker: Worker) -> Mapping[str, Any]:
    """What a queue's ``target_workers`` and the Workers list's ``TargetWorkersExpression`` see."""
    return {"worker": {**worker.attributes, "sid": worker.sid}, **worker.attributes}


def target_document(worker: Worker, task: Task, now: datetime) -> dict[str, Any]:
    """What a target's ``expression`` sees: ``worker.*`` and ``task.*`` (bare keys are the worker's)."""
    return {
        **worker.attributes,
        "worker": {**worker.attributes, "sid": worker.sid},
        "task": task.attributes,
        "taskrouter": _time_of_day(now),
    }
