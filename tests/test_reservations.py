"""The six operations, through the one implementation, for task and worker reservations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone

import httpx
import pytest
import respx

from taskrouter_async import (
    APIResponseValidationError,
    AsyncTaskRouter,
    ReservationStatus,
    TaskReservation,
    TaskReservationUpdate,
    ValidationError,
    WorkerReservation,
)
from taskrouter_async._converter import unstructure_model
from taskrouter_async._pagination import RECENT_PAGES, PageHistory

from .helpers import BASE_URL, TASK, WORKER, Kind, page_json, reservation_json, reservation_sids
from .sids import RESERVATION_SID, WORKER_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[TASK, WORKER], ids=["task", "worker"])
def kind(request: pytest.FixtureRequest) -> Kind:
    kind: Kind = request.param
    return kind


def expected_model(kind: Kind) -> type[TaskReservation | WorkerReservation]:
    return TaskReservation if kind is TASK else WorkerReservation


# --- fetch ---------------------------------------------------------------------------------


async def test_fetch_returns_the_typed_reservation(kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = api.get(kind.path()).respond(200, json=reservation_json(status="accepted"), headers={"ETag": '"7"'})
    reservation = await kind.resource(client).fetch(WORKSPACE_SID, kind.parent_sid, RESERVATION_SID)
    assert type(reservation) is expected_model(kind)
    assert reservation.sid == RESERVATION_SID
    assert reservation.reservation_status is ReservationStatus.ACCEPTED
    assert reservation.date_created == datetime(2014, 5, 14, 10, 50, 2, tzinfo=timezone.utc)
    assert reservation.worker_name == "Doug"
    assert reservation.links is not None
    assert reservation.links["workspace"] == f"{BASE_URL}/v1/Workspaces/{WORKSPACE_SID}"
    assert reservation.etag == '"7"'
    request = route.calls.last.request
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("taskrouter-async/")


@pytest.mark.parametrize("header", ["ETag", "Etag", "etag"])
async def test_etag_header_is_read_case_insensitively(
    header: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    api.get(TASK.path()).respond(200, json=reservation_json(), headers={header: "abc"})
    reservation = await client.task_reservations.fetch(WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID)
    assert reservation.etag == "abc"


async def test_etag_is_none_when_absent(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    api.get(TASK.path()).respond(200, json=reservation_json())
    reservation = await client.task_reservations.fetch(WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID)
    assert reservation.etag is None


async def test_unknown_keys_are_ignored_and_unknown_statuses_kept(
    client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    api.get(TASK.path()).respond(200, json=reservation_json(status="escalated", brand_new_field={"x": 1}))
    reservation = await client.task_reservations.fetch(WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID)
    assert reservation.reservation_status == "escalated"
    assert not isinstance(reservation.reservation_status, ReservationStatus)


OPTIONAL_FIELDS = ["worker_name", "url", "links"]
IDENTITY_FIELDS = [
    "sid",
    "account_sid",
    "workspace_sid",
    "task_sid",
    "worker_sid",
    "reservation_status",
    "date_created",
    "date_updated",
]


@pytest.mark.parametrize("absent", ["null", "missing"])
async def test_optional_fields_may_be_null_or_missing(
    absent: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    body = reservation_json()
    for name in OPTIONAL_FIELDS:
        if absent == "null":
            body[name] = None
        else:
            del body[name]
    api.get(TASK.path()).respond(200, json=body)
    reservation = await client.task_reservations.fetch(WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID)
    assert (reservation.worker_name, reservation.url, reservation.links) == (None, None, None)
    assert reservation.sid == RESERVATION_SID


@pytest.mark.parametrize("absent", ["null", "missing"])
@pytest.mark.parametrize("name", IDENTITY_FIELDS)
async def test_a_reservation_without_its_identity_is_a_response_error(
    name: str, absent: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    body = reservation_json()
    if absent == "null":
        body[name] = None
    else:
        del body[name]
    api.get(TASK.path()).respond(200, json=body)
    with pytest.raises(APIResponseValidationError, match=name):
        await client.task_reservations.fetch(WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID)


@pytest.mark.parametrize("name", IDENTITY_FIELDS)
async def test_a_list_record_without_its_identity_is_a_response_error(
    name: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    page = page_json(TASK.path(None), reservation_sids(2), page=0, page_size=2, next_token=None)
    page["reservations"][1][name] = None
    api.get(TASK.path(None)).respond(200, json=page)
    with pytest.raises(APIResponseValidationError, match=f"reservation 1.*{name}"):
        [r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid)]


@pytest.mark.parametrize(
    "sent",
    ["2014-05-15T18:03:42+02:00", "2014-05-15T10:33:42-05:30", "2014-05-15T16:03:42+00:00", "2014-05-15T16:03:42"],
)
async def test_dates_with_offsets_are_converted_to_utc(
    sent: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    api.get(TASK.path()).respond(200, json=reservation_json(date_updated=sent))
    reservation = await client.task_reservations.fetch(WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID)
    assert reservation.date_updated == datetime(2014, 5, 15, 16, 3, 42, tzinfo=timezone.utc)
    assert reservation.date_updated.tzinfo is timezone.utc  # not merely the same instant: UTC fields
    assert (reservation.date_updated.hour, reservation.date_updated.minute) == (16, 3)
    assert unstructure_model(reservation)["date_updated"] == "2014-05-15T16:03:42Z"  # what the CLI prints


# --- update --------------------------------------------------------------------------------


async def test_update_posts_the_form_and_returns_the_reservation(
    kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    route = api.post(kind.path()).respond(200, json=reservation_json(status="accepted"), headers={"ETag": '"8"'})
    params = kind.update_class(reservation_status="accepted")
    reservation = await kind.resource(client).update(WORKSPACE_SID, kind.parent_sid, RESERVATION_SID, params)
    assert type(reservation) is expected_model(kind)
    assert reservation.reservation_status is ReservationStatus.ACCEPTED
    assert reservation.etag == '"8"'
    request = route.calls.last.request
    assert request.content == b"ReservationStatus=accepted"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "If-Match" not in request.headers


async def test_update_with_etag_sends_if_match(kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = api.post(kind.path()).respond(200, json=reservation_json())
    params = kind.update_class(reservation_status="rejected")
    await kind.resource(client).update(WORKSPACE_SID, kind.parent_sid, RESERVATION_SID, params, etag='W/"42"')
    assert route.calls.last.request.headers["If-Match"] == 'W/"42"'


@pytest.mark.parametrize("params", [{}, {"status_callback_event": []}], ids=["nothing", "empty-list"])
async def test_an_update_that_sets_nothing_is_refused_before_io(
    kind: Kind, params: dict[str, object], client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    resource = kind.resource(client)
    empty = kind.update_class(**params)
    with pytest.raises(ValidationError, match=r"sets no field, so the update would change nothing"):
        await resource.update(WORKSPACE_SID, kind.parent_sid, RESERVATION_SID, empty)
    with pytest.raises(ValidationError, match="sets no field"):
        resource.encode(empty)
    results = await resource.update_all([(WORKSPACE_SID, kind.parent_sid, RESERVATION_SID, empty)])
    assert isinstance(results[0].error, ValidationError)
    assert "sets no field" in str(results[0].error)
    assert not api.calls


async def test_update_refuses_the_other_kinds_params(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    params = TaskReservationUpdate(supervisor_mode="barge")
    with pytest.raises(ValidationError, match="expected WorkerReservationUpdate"):
        await client.worker_reservations.update(
            WORKSPACE_SID,
            WORKER_SID,
            RESERVATION_SID,
            params,  # type: ignore[arg-type]
        )
    assert not api.calls


@pytest.mark.parametrize("etag", ["", "a\r\nX-Evil: 1", 42, '"é"', '"1\udc80"', '"1"\x00', '\t"1"', '"1" '])
async def test_update_refuses_a_malformed_etag(etag: object, client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    with pytest.raises(ValidationError, match="etag"):
        await client.task_reservations.update(
            WORKSPACE_SID,
            TASK.parent_sid,
            RESERVATION_SID,
            TaskReservationUpdate.accept(),
            etag=etag,  # type: ignore[arg-type]
        )
    assert not api.calls


# --- list and pages ------------------------------------------------------------------------


def mock_pages(api: respx.MockRouter, kind: Kind, sids: list[str], page_size: int) -> respx.Route:
    """Serve ``sids`` in pages of ``page_size``; page N+1 is reached only through the PageToken."""
    path = kind.path(None)
    chunks = [sids[i : i + page_size] for i in range(0, len(sids), page_size)] or [[]]
    pages = [
        page_json(path, chunk, page=n, page_size=page_size, next_token=f"T{n + 1}" if n + 1 < len(chunks) else None)
        for n, chunk in enumerate(chunks)
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("PageToken")
        return httpx.Response(200, json=pages[0 if token is None else int(token[1:])])

    return api.get(path).mock(side_effect=answer)


async def test_list_follows_next_page_url_across_pages(
    kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    sids = reservation_sids(7)
    route = mock_pages(api, kind, sids, page_size=3)
    found = [r.sid async for r in kind.resource(client).list(WORKSPACE_SID, kind.parent_sid, page_size=3)]
    assert found == sids
    assert route.call_count == 3
    urls = [str(call.request.url) for call in route.calls]
    assert urls[0] == f"{BASE_URL}{kind.path(None)}?PageSize=3"
    assert urls[1].endswith("PageSize=3&Page=1&PageToken=T1")
    assert urls[2].endswith("PageSize=3&Page=2&PageToken=T2")


async def test_list_stops_at_limit_without_fetching_more_pages(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = mock_pages(api, TASK, reservation_sids(10), page_size=3)
    found = [r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid, page_size=3, limit=4)]
    assert len(found) == 4
    assert route.call_count == 2


async def test_list_with_limit_zero_sends_nothing(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    assert [r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid, limit=0)] == []
    assert not api.calls


async def test_breaking_out_of_list_early_stops_requests(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = mock_pages(api, TASK, reservation_sids(9), page_size=3)
    async for reservation in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid, page_size=3):
        assert reservation.sid == reservation_sids(1)[0]
        break
    assert route.call_count == 1


async def test_an_empty_list_yields_nothing(kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    mock_pages(api, kind, [], page_size=50)
    assert [r async for r in kind.resource(client).list(WORKSPACE_SID, kind.parent_sid)] == []


async def test_filters_are_sent_only_when_set(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = mock_pages(api, TASK, reservation_sids(1), page_size=50)
    reservations = client.task_reservations
    [r async for r in reservations.list(WORKSPACE_SID, TASK.parent_sid)]
    [
        r
        async for r in reservations.list(
            WORKSPACE_SID, TASK.parent_sid, reservation_status=ReservationStatus.PENDING, worker_sid=WORKER_SID
        )
    ]
    assert route.calls[0].request.url.query == b""
    assert route.calls[1].request.url.query == f"ReservationStatus=pending&WorkerSid={WORKER_SID}".encode()


async def test_worker_reservations_take_a_status_filter(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = mock_pages(api, WORKER, reservation_sids(1), page_size=50)
    [r async for r in client.worker_reservations.list(WORKSPACE_SID, WORKER_SID, reservation_status="wrapping")]
    assert route.calls[0].request.url.query == b"ReservationStatus=wrapping"


async def test_pages_expose_items_meta_and_resume(kind: Kind, client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    sids = reservation_sids(5)
    mock_pages(api, kind, sids, page_size=2)
    resource = kind.resource(client)
    first = await anext(resource.pages(WORKSPACE_SID, kind.parent_sid, page_size=2))
    assert [r.sid for r in first.items] == sids[:2]
    assert first.meta.key == "reservations"
    assert first.meta.page == 0
    assert first.next_page_url is not None
    resumed = [page async for page in resource.pages(WORKSPACE_SID, kind.parent_sid, page_url=first.next_page_url)]
    assert [r.sid for page in resumed for r in page.items] == sids[2:]
    assert resumed[-1].next_page_url is None


async def test_records_are_read_under_meta_key(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    api.get(TASK.path(None)).respond(
        200, json={"meta": {"key": "items", "next_page_url": None}, "items": [reservation_json()]}
    )
    found = [r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid)]
    assert [r.sid for r in found] == [RESERVATION_SID]


async def test_a_relative_next_page_url_stays_on_the_base_url(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    path = TASK.path(None)
    first = page_json(path, reservation_sids(1), page=0, page_size=1, next_token=None)
    first["meta"]["next_page_url"] = f"{path}?PageSize=1&PageToken=X"
    last = page_json(path, [], page=1, page_size=1, next_token=None)
    route = api.get(path).mock(side_effect=[respx.MockResponse(200, json=first), respx.MockResponse(200, json=last)])
    assert len([r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid)]) == 1
    assert str(route.calls[1].request.url) == f"{BASE_URL}{path}?PageSize=1&PageToken=X"


# --- loops of pages and the last page ---------------------------------------------------------


def serve_page_graph(
    api: respx.MockRouter, next_of: Callable[[int], int | None], *, relative: bool = False
) -> respx.Route:
    """Serve pages 0, 1, 2, ... of one list; page ``n`` links to page ``next_of(n)`` (0 is the bare list URL)."""
    path = TASK.path(None)
    requests = 0

    def url_of(page: int) -> str:
        local = path if page == 0 else f"{path}?PageToken=P{page}"
        return local if relative else BASE_URL + local

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal requests
        requests += 1
        assert requests <= 2000, "the client is looping through pages"
        token = request.url.params.get("PageToken")
        page = 0 if token is None else int(token[1:])
        following = next_of(page)
        meta = {"key": "reservations", "next_page_url": None if following is None else url_of(following)}
        return httpx.Response(200, json={"meta": meta, "reservations": [reservation_json(f"WR{page:032x}")]})

    return api.get(path).mock(side_effect=answer)


async def collect_sids(reservations: AsyncIterator[TaskReservation], into: list[str | None]) -> None:
    async for reservation in reservations:
        into.append(reservation.sid)


@pytest.mark.parametrize(
    ("links", "pages_read"),
    [
        ({0: 0}, 1),  # a page pointing at itself
        ({0: 1, 1: 0}, 2),  # page 1 -> page 2 -> page 1
        ({0: 1, 1: 2, 2: 1}, 3),
        ({**{n: n + 1 for n in range(63)}, 63: 0}, 64),  # as long a loop as is remembered exactly
    ],
    ids=["self", "back-and-forth", "tail", "window"],
)
@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
async def test_pages_that_lead_back_end_in_an_error_before_any_page_is_read_twice(
    links: dict[int, int], pages_read: int, relative: bool, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    route = serve_page_graph(api, links.get, relative=relative)
    seen: list[str | None] = []
    with pytest.raises(APIResponseValidationError, match="points back at a page this list already read"):
        await collect_sids(client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid), seen)
    assert route.call_count == pages_read
    assert len(set(seen)) == len(seen) == pages_read - 1  # the page that leads back is the error


async def test_a_loop_longer_than_the_remembered_pages_is_caught_too(
    client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    start, length = 5, 150  # pages 0..4, then 5 -> 6 -> ... -> 154 -> 5
    route = serve_page_graph(api, lambda n: n + 1 if n + 1 < start + length else start)
    with pytest.raises(APIResponseValidationError, match="already read"):
        async for _ in client.task_reservations.pages(WORKSPACE_SID, TASK.parent_sid):
            pass
    assert start + length < route.call_count <= 2 * (start + length) + length  # Brent's bound


async def test_a_long_list_without_loops_is_read_to_the_end(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = serve_page_graph(api, lambda n: n + 1 if n < 299 else None)
    assert len([r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid)]) == 300
    assert route.call_count == 300


async def test_a_new_iteration_may_read_the_same_pages_again(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = serve_page_graph(api, lambda n: n + 1 if n < 2 else None)
    for _ in range(2):
        assert len([r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid)]) == 3
    assert route.call_count == 6


@pytest.mark.parametrize("last", [None, ""], ids=["null", "empty"])
async def test_an_empty_next_page_url_ends_the_list_like_null(
    last: str | None, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    path = TASK.path(None)
    page = page_json(path, reservation_sids(2), page=0, page_size=2, next_token=None)
    page["meta"]["next_page_url"] = last
    route = api.get(path).respond(200, json=page)
    pages = [p async for p in client.task_reservations.pages(WORKSPACE_SID, TASK.parent_sid)]
    assert [r.sid for r in pages[0].items] == reservation_sids(2)
    assert pages[0].next_page_url is None
    assert route.call_count == 1


@pytest.mark.parametrize(("mu", "length"), [(0, 1), (0, 2), (3, 64), (0, 65), (10, 200), (1000, 3), (7, 5000)])
def test_page_history_finds_every_loop_in_bounded_memory(mu: int, length: int) -> None:
    """URL i leads to i + 1 until ``mu + length``, which leads back to ``mu``."""
    history = PageHistory("u0")
    step = 0
    position = 0
    while True:
        step += 1
        position = position + 1 if position + 1 < mu + length else mu
        if history.seen(f"u{position}"):
            break
        assert step <= 2 * max(mu + 1, length) + length, "Brent's bound"
        assert len(history._recent) <= RECENT_PAGES
    if length <= RECENT_PAGES:
        assert step == mu + length  # the first repeat itself
    else:
        assert mu + length <= step <= 2 * max(mu + 1, length) + length


def test_page_history_has_no_false_alarms() -> None:
    history = PageHistory("u0")
    assert not any(history.seen(f"u{i}") for i in range(1, 20_000))
    assert len(history._recent) == RECENT_PAGES


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example.com/v1/Workspaces/x",
        "http://taskrouter.twilio.com/v1/Workspaces/x",
        "https://taskrouter.twilio.com:8443/v1/Workspaces/x",
        "//evil.example.com/v1/Workspaces/x",
    ],
)
async def test_a_foreign_next_page_url_is_refused_and_not_requested(
    next_url: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    path = TASK.path(None)
    first = page_json(path, reservation_sids(1), page=0, page_size=1, next_token=None)
    first["meta"]["next_page_url"] = next_url
    route = api.get(path).respond(200, json=first)
    pages = client.task_reservations.pages(WORKSPACE_SID, TASK.parent_sid)
    with pytest.raises(APIResponseValidationError, match="refusing to send credentials"):
        await anext(pages)
    assert route.call_count == 1
    assert len(api.calls) == 1


# --- input checks: all before any I/O ------------------------------------------------------


@pytest.mark.parametrize("page_size", [0, 1001, -5, True, 2.5, "50"])
async def test_page_size_out_of_range_is_refused(
    page_size: object, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    with pytest.raises(ValidationError, match="page_size"):
        client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid, page_size=page_size)  # type: ignore[arg-type]
    assert not api.calls


async def test_page_size_bounds_are_accepted(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = mock_pages(api, TASK, [], page_size=1)
    for size in (1, 1000):
        [r async for r in client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid, page_size=size)]
    assert [c.request.url.params["PageSize"] for c in route.calls] == ["1", "1000"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reservation_status": "maybe"}, "is not a valid ReservationStatus"),
        ({"worker_sid": "WKxyz"}, "worker_sid must be a Worker SID"),
        ({"worker_sid": "WT" + "c" * 32}, "worker_sid must be a Worker SID"),
        ({"limit": -1}, "limit"),
    ],
)
async def test_bad_list_arguments_are_refused(
    kwargs: dict[str, object], message: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    with pytest.raises(ValidationError, match=message):
        client.task_reservations.list(WORKSPACE_SID, TASK.parent_sid, **kwargs)  # type: ignore[arg-type]
    assert not api.calls


async def test_worker_reservations_refuse_the_worker_filter(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    """Their ``worker_sid`` is the parent: given by position and by name, it is given twice."""
    with pytest.raises(TypeError, match="multiple values for argument 'worker_sid'"):
        client.worker_reservations.list(WORKSPACE_SID, WORKER_SID, worker_sid=WORKER_SID)  # type: ignore[misc]
    assert not api.calls


@pytest.mark.parametrize(
    ("page_url", "message"),
    [
        ("https://evil.example.com/v1/x", "refusing to send credentials"),
        (f"{BASE_URL}/v1/Workspaces/{WORKSPACE_SID}/Tasks/WT{'0' * 32}/Reservations", "is not a page of"),
        (f"{BASE_URL}{TASK.path(None)}?PageToken=\udc80", "refusing to send credentials to an invalid URL"),
        ("https://\udc80.example.com/v1/x", "refusing to send credentials to an invalid URL"),
    ],
)
async def test_pages_refuse_a_foreign_page_url(
    page_url: str, message: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    with pytest.raises(ValidationError, match=message):
        client.task_reservations.pages(WORKSPACE_SID, TASK.parent_sid, page_url=page_url)
    assert not api.calls


async def test_page_url_goes_alone(client: AsyncTaskRouter) -> None:
    with pytest.raises(ValidationError, match="pass it alone"):
        client.task_reservations.pages(
            WORKSPACE_SID, TASK.parent_sid, page_size=5, page_url=f"{BASE_URL}{TASK.path(None)}?PageToken=x"
        )


@pytest.mark.parametrize(
    ("position", "value", "message"),
    [
        (0, "WS123", "workspace_sid must be a Workspace SID"),
        (0, "WT" + "b" * 32, "workspace_sid must be a Workspace SID"),
        (1, "WK" + "c" * 32, "task_sid must be a Task SID"),
        (2, "WR" + "g" * 32, "reservation_sid must be a Reservation SID"),
        (2, "WR" + "e" * 32 + "/../../x", "reservation_sid must be a Reservation SID"),
        (2, None, "reservation_sid must be a Reservation SID"),
    ],
)
async def test_malformed_sids_are_refused_before_io(
    position: int, value: object, message: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    args: list[object] = [WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID]
    args[position] = value
    with pytest.raises(ValidationError, match=message):
        await client.task_reservations.fetch(*args)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=message):
        await client.task_reservations.update(*args, TaskReservationUpdate())  # type: ignore[arg-type]
    assert not api.calls


async def test_worker_parent_must_be_a_worker_sid(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    with pytest.raises(ValidationError, match="worker_sid must be a Worker SID"):
        await client.worker_reservations.fetch(WORKSPACE_SID, TASK.parent_sid, RESERVATION_SID)
    assert not api.calls


async def test_an_unsafe_next_page_url_error_keeps_a_readable_response(
    client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    path = TASK.path(None)
    first = page_json(path, reservation_sids(1), page=0, page_size=1, next_token=None)
    first["meta"]["next_page_url"] = "https://evil.example.com/v1/Workspaces/x"
    api.get(path).respond(200, json=first)
    with pytest.raises(APIResponseValidationError, match="next_page_url is unsafe") as caught:
        await anext(client.task_reservations.pages(WORKSPACE_SID, TASK.parent_sid))
    assert caught.value.response.json() == first
