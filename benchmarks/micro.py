"""Per-call microbenchmarks: update params to a form body, and a reservation's JSON to a model.

taskrouter_async's converter against what the official SDK does for the same step.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from .server import reservation_json

NUMBER = 20_000
REPEATS = 5


def _per_call_us(function: Callable[[], object]) -> float:
    return min(timeit.repeat(function, number=NUMBER, repeat=REPEATS)) / NUMBER * 1e6


def cases() -> list[tuple[str, str, Callable[[], object]]]:
    from twilio.rest.taskrouter.v1.workspace.task.reservation import ReservationContext, ReservationInstance

    from taskrouter_async import ReservationStatus, TaskReservation, TaskReservationUpdate
    from taskrouter_async._converter import encode_form, structure_model

    simple = TaskReservationUpdate(reservation_status="accepted")
    rich = TaskReservationUpdate(
        reservation_status=ReservationStatus.ACCEPTED,
        instruction="conference",
        status_callback="https://example.com/callback",
        status_callback_event=("initiated", "ringing", "answered", "completed"),
        early_media=True,
        timeout=30,
        from_="+15017122661",
        to="+15558675310",
    )

    class CapturingVersion:
        """Stands in for the SDK's HTTP layer: form-encodes the data it is given, sends nothing."""

        async def update_with_response_info_async(self, **request: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
            urlencode(request["data"], doseq=True).encode()
            return {}, 200, {}

    context = ReservationContext(CapturingVersion(), "WS" + "b" * 32, "WT" + "c" * 32, "WR" + "e" * 32)  # type: ignore[arg-type]

    def sdk_encode(**params: Any) -> Callable[[], object]:
        """The SDK's update_async up to the wire (its form dict, filtering, encoding) and an empty instance."""

        def call() -> object:
            coroutine = context.update_async(**params)
            try:
                coroutine.send(None)
            except StopIteration as done:
                return done.value
            raise AssertionError("the capturing version does not suspend")

        return call

    sdk_encode_simple = sdk_encode(reservation_status="accepted")
    sdk_encode_rich = sdk_encode(
        reservation_status="accepted",
        instruction="conference",
        status_callback="https://example.com/callback",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        early_media=True,
        timeout=30,
        from_="+15017122661",
        to="+15558675310",
    )

    body = json.dumps(reservation_json("https://taskrouter.twilio.com", 1)).encode()
    sdk_version: Any = type("Version", (), {"domain": None})()

    def sdk_decode() -> object:
        payload = json.loads(body)
        return ReservationInstance(sdk_version, payload, "WS" + "b" * 32, "WT" + "c" * 32, payload["sid"])

    return [
        # The SDK rows include building an empty ReservationInstance, which is part of its update call.
        ("encode: 1 field", "taskrouter_async", lambda: encode_form(simple)),
        ("encode: 1 field", "twilio SDK", sdk_encode_simple),
        ("encode: 8 fields, one a list", "taskrouter_async", lambda: encode_form(rich)),
        ("encode: 8 fields, one a list", "twilio SDK", sdk_encode_rich),
        (
            "decode: JSON bytes to model",
            "taskrouter_async",
            lambda: structure_model(json.loads(body), TaskReservation),
        ),
        ("decode: JSON bytes to model", "twilio SDK", sdk_decode),
    ]


def table() -> str:
    lines = ["| step | client | µs per call |", "|---|---|---:|"]
    for step, client, function in cases():
        lines.append(f"| {step} | {client} | {_per_call_us(function):.1f} |")
    return "\n".join(lines)
