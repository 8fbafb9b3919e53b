"""Hypothesis throws malformed bodies at the structuring layer and the whole resource path.

The only acceptable outcomes are a model or a typed error (ResponseShapeError in the converter,
a TaskRouterError from the client). A few hundred examples per test by default;
``nox -s fuzz`` sets TASKROUTER_FUZZ_EXAMPLES to run tens of thousands.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from taskrouter_async import (
    AsyncTaskRouter,
    PageMeta,
    ReservationStatus,
    TaskReservation,
    TaskReservationUpdate,
    TaskRouterError,
    WorkerReservation,
)
from taskrouter_async._converter import ResponseShapeError, structure_model, structure_page

from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKER_SID, WORKSPACE_SID

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("TASKROUTER_FUZZ_EXAMPLES", "250"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def valid_or(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly plausible values, sometimes anything at all."""
    return st.one_of(valid, valid, json_values)


def documents(fields: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """Objects with these fields: half of them well-formed, half with some values replaced by junk."""
    well_formed = st.fixed_dictionaries(
        {k: v for k, v in fields.items() if k in required},
        optional={k: v for k, v in fields.items() if k not in required},
    )
    fuzzy = st.fixed_dictionaries({}, optional={k: valid_or(v) for k, v in fields.items()})
    return well_formed | fuzzy


sid_text = st.text("ACWRKSTX0123456789abcdef", min_size=0, max_size=36)
timestamps = st.datetimes().map(lambda d: d.isoformat() + "Z") | st.text(max_size=30)
reservations = documents(
    {
        "sid": st.just(RESERVATION_SID) | sid_text,
        "account_sid": sid_text,
        "task_sid": sid_text,
        "worker_sid": sid_text,
        "workspace_sid": sid_text,
        "worker_name": st.text(max_size=20),
        "date_created": timestamps,
        "date_updated": timestamps,
        "reservation_status": st.sampled_from([s.value for s in ReservationStatus]) | st.text(max_size=12),
        "url": st.text(max_size=40),
        "links": st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3),
        "etag": json_values,
        "unknown_key": json_values,
    }
)
page_urls = st.none() | st.sampled_from(
    [
        f"/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}/Reservations?PageToken=PT2",
        "https://evil.example.com/v1/x",
        "http://[::1",
        "",
        "//evil.example.com/x",
    ]
)
metas = documents(
    {
        "key": st.sampled_from(["reservations", "reservations", "meta", "workers", ""]),
        "next_page_url": page_urls,
        "previous_page_url": page_urls,
        "first_page_url": page_urls,
        "url": page_urls,
        "page": st.integers(),
        "page_size": st.integers(),
    },
    required=("key",),
)
pages = documents(
    {"meta": metas, "reservations": st.lists(reservations, max_size=4), "workers": json_values},
    required=("meta", "reservations"),
)


def _encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    pages.map(_encoded),
    reservations.map(_encoded),
    json_values.map(_encoded),
    st.tuples(pages.map(_encoded), st.integers(0, 200)).map(lambda t: t[0][: t[1]]),  # truncated
    st.binary(max_size=64),
    st.sampled_from([b"", b"null", b"[" * 5000, b"<html>oops</html>", b'{"meta": {"key": "reservations"}']),
)
statuses = st.sampled_from([200, 200, 200, 201, 204, 301, 302, 400, 401, 404, 409, 412, 418, 429, 500, 503, 599])
header_lists = st.lists(
    st.tuples(
        st.sampled_from(["Content-Type", "ETag", "Retry-After", "Content-Encoding", "Location"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    ),
    max_size=3,
)


@FUZZ
@given(data=st.one_of(reservations, json_values), etag=st.none() | st.text(max_size=10))
def test_structure_reservation_returns_a_model_or_a_shape_error(data: object, etag: str | None) -> None:
    try:
        reservation = structure_model(data, TaskReservation, etag)
    except ResponseShapeError:
        return  # the other allowed outcome
    assert isinstance(reservation, TaskReservation)
    assert reservation.etag == etag
    assert reservation.sid is None or isinstance(reservation.sid, str)
    assert reservation.date_created is None or reservation.date_created.tzinfo is not None


@FUZZ
@given(data=st.one_of(pages, json_values))
def test_structure_page_returns_models_or_a_shape_error(data: object) -> None:
    try:
        items, meta = structure_page(data, WorkerReservation)
    except ResponseShapeError:
        return  # the other allowed outcome
    assert isinstance(meta, PageMeta)
    assert all(isinstance(item, WorkerReservation) for item in items)


@FUZZ
@given(body=bodies, status=statuses, headers=header_lists, call=st.sampled_from(["fetch", "update", "list"]))
@example(body=b"{}", status=301, headers=[("Location", "A:0")], call="fetch")  # found by nox -s fuzz
@pytest.mark.anyio
async def test_the_resource_path_only_raises_typed_errors(
    body: bytes, status: int, headers: list[tuple[str, str]], call: str
) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(respond))
    async with http, AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=0, http_client=http) as client:
        try:
            if call == "fetch":
                await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
            elif call == "update":
                params = TaskReservationUpdate(reservation_status="accepted")
                await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, params, etag='"1"')
            else:
                async for _ in client.worker_reservations.list(WORKSPACE_SID, WORKER_SID, limit=20):
                    pass
        except TaskRouterError:
            pass  # the allowed failure; anything else fails the test
