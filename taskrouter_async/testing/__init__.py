"""Test helpers: an in-process TaskRouter emulator (the whole v1 API, routing, lifecycle, events, a clock).

```python
from taskrouter_async import TaskReservationUpdate
from taskrouter_async.testing import FakeTaskRouter

fake = FakeTaskRouter()
reservation = fake.add_reservation(worker_name="Alice")
async with fake.connect() as client:
    await client.task_reservations.update(
        reservation.workspace_sid, reservation.task_sid, reservation.sid, TaskReservationUpdate.accept()
    )
assert fake.reservation(reservation.sid).status == "accepted"
```

It also calls your application back as TaskRouter does: ``fake.set_callbacks(assignment_url=...,
event_url=..., app=your_asgi_app)``, then ``await fake.reserve(...)`` sends a signed assignment
callback and applies the instruction in the answer; every change of status sends an event callback.
``fake.callbacks`` records what was sent and answered.

Workspaces, queues, workflows, workers and tasks created over the REST API (or with
``fake.load_workspace``) are routed as TaskRouter routes them; ``await fake.advance(seconds)``
fires timeouts. docs/emulator.md says what it models and what it does not.
"""

from ._app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_BASE_URL, FakeTaskRouter, RecordedRequest
from ._callbacks import CallbackDelivery
from ._limits import PUBLIC_LIMITS, FakeRateLimits
from ._state import FakeReservation

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_BASE_URL",
    "PUBLIC_LIMITS",
    "CallbackDelivery",
    "FakeRateLimits",
    "FakeReservation",
    "FakeTaskRouter",
    "RecordedRequest",
]
