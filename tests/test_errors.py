"""Every failure ends in a typed exception: status errors, transport errors, malformed responses."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import httpx
import pytest
import respx

from taskrouter_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncTaskRouter,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    TaskReservationUpdate,
    TaskRouterError,
)

from .helpers import TASK, page_json, reservation_json, reservation_sids
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (412, PreconditionFailedError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (405, APIStatusError),
    (302, APIStatusError),
]


def twilio_error(status: int) -> dict[str, object]:
    code = 20000 + status
    return {
        "code": code,
        "message": f"Twilio says {status}",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


async def fetch(client: AsyncTaskRouter) -> object:
    return await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)


async def update(client: AsyncTaskRouter) -> object:
    params = TaskReservationUpdate(reservation_status="accepted")
    return await client.task_reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, params)


async def first_list_item(client: AsyncTaskRouter) -> object:
    return await anext(client.task_reservations.list(WORKSPACE_SID, TASK_SID))


@pytest.mark.parametrize(("status", "error_class"), STATUS_CLASSES)
@pytest.mark.parametrize("operation", [fetch, update], ids=["fetch", "update"])
async def test_error_statuses_raise_their_class_with_twilio_fields(
    status: int, error_class: type[APIStatusError], operation: object, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    api.route(path=TASK.path()).respond(status, json=twilio_error(status))
    with pytest.raises(error_class) as caught:
        await operation(client)  # type: ignore[operator]
    error = caught.value
    assert type(error) is error_class
    assert (error.status_code, error.code, error.message) == (status, 20000 + status, f"Twilio says {status}")
    assert error.more_info == f"https://www.twilio.com/docs/errors/{20000 + status}"
    assert error.response.status_code == status
    assert error.response.json() == twilio_error(status)
    code = 20000 + status
    assert str(error) == f"HTTP {status}: Twilio says {status} (code {code}, https://www.twilio.com/docs/errors/{code})"


@pytest.mark.parametrize(
    ("status", "error_class"), [(404, NotFoundError), (429, RateLimitError), (503, InternalServerError)]
)
async def test_list_pages_raise_typed_errors_too(
    status: int, error_class: type[APIStatusError], client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    path = TASK.path(None)
    first = page_json(path, reservation_sids(1), page=0, page_size=1, next_token="T1")
    api.get(path).mock(side_effect=[httpx.Response(200, json=first), httpx.Response(status, json=twilio_error(status))])
    items = client.task_reservations.list(WORKSPACE_SID, TASK_SID, page_size=1)
    assert (await anext(items)).sid == reservation_sids(1)[0]
    with pytest.raises(error_class) as caught:
        await anext(items)
    assert caught.value.code == 20000 + status


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", None, "Not Found"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "Not Found: <html><body><h1>502"),
        (b'{"code": 20404, "message": "The requested', "application/json", 'Not Found: {"code": 20404'),
        (b"[1, 2]", "application/json", "Not Found"),
        (b'{"code": "x", "message": 5, "more_info": null}', "application/json", "Not Found"),
    ],
    ids=["empty", "html", "truncated-json", "json-list", "json-wrong-types"],
)
async def test_unusual_error_bodies_still_give_the_typed_error(
    body: bytes, content_type: str | None, message: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    api.get(TASK.path()).respond(404, content=body, headers=headers)
    with pytest.raises(NotFoundError) as caught:
        await fetch(client)
    assert caught.value.code is None
    assert caught.value.more_info is None
    assert caught.value.message.startswith(message)
    assert caught.value.response.content == body


async def test_rate_limit_error_carries_retry_after(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    api.get(TASK.path()).respond(429, json=twilio_error(429), headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as caught:
        await fetch(client)
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("exception", "error_class"),
    [
        (httpx.ConnectError("connection refused"), APIConnectionError),
        (httpx.ReadError("connection reset by peer"), APIConnectionError),
        (httpx.RemoteProtocolError("server disconnected"), APIConnectionError),
        (httpx.ConnectTimeout("timed out"), APITimeoutError),
        (httpx.ReadTimeout("timed out"), APITimeoutError),
        (httpx.PoolTimeout("timed out"), APITimeoutError),
    ],
)
@pytest.mark.parametrize("operation", [fetch, update, first_list_item], ids=["fetch", "update", "list"])
async def test_transport_failures_raise_connection_errors(
    exception: Exception,
    error_class: type[APIConnectionError],
    operation: object,
    client: AsyncTaskRouter,
    api: respx.MockRouter,
) -> None:
    api.route(path__startswith=TASK.path(None)).mock(side_effect=exception)
    with pytest.raises(error_class) as caught:
        await operation(client)  # type: ignore[operator]
    assert type(caught.value) is error_class
    assert type(exception).__name__ in str(caught.value)
    assert caught.value.request.url.path.startswith(TASK.path(None))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "not JSON"),
        (b"<html>oops</html>", "not JSON"),
        (b'{"sid": "WR', "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"sid": 5}', "expected str"),
        (b'{"date_created": "yesterday"}', "date_created"),
        (b'{"reservation_status": 3}', "reservation_status"),
        (b'{"links": ["a"]}', "links"),
    ],
)
async def test_malformed_reservations_raise_response_validation_errors(
    body: bytes, problem: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    api.get(TASK.path()).respond(200, content=body)
    with pytest.raises(APIResponseValidationError, match=problem) as caught:
        await fetch(client)
    assert caught.value.response.content == body
    assert caught.value.status_code == 200


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"reservations": []}, "'meta' is not a JSON object"),
        ({"meta": {"next_page_url": None}, "reservations": []}, "meta"),
        ({"meta": {"key": "reservations"}}, "'reservations' is not a list"),
        ({"meta": {"key": "reservations"}, "reservations": {"a": 1}}, "is not a list"),
        ({"meta": {"key": "reservations"}, "reservations": [1]}, "reservation 0 is not a JSON object"),
        ({"meta": {"key": "reservations", "page": "one"}, "reservations": []}, "page"),
        ({"meta": {"key": "reservations", "next_page_url": 7}, "reservations": []}, "next_page_url"),
    ],
)
async def test_malformed_pages_raise_response_validation_errors(
    payload: dict[str, object], problem: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    api.get(TASK.path(None)).respond(200, json=payload)
    with pytest.raises(APIResponseValidationError, match=problem):
        await first_list_item(client)


async def test_every_error_is_a_taskrouter_error(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    api.get(TASK.path()).respond(200, json=reservation_json(date_created=12))
    with pytest.raises(TaskRouterError):
        await fetch(client)


async def test_errors_do_not_show_credentials(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    api.get(TASK.path()).respond(401, json=twilio_error(401))
    with pytest.raises(AuthenticationError) as caught:
        await fetch(client)
    assert AUTH_TOKEN not in str(caught.value) + repr(caught.value)


TWILIO_401 = {
    "code": 20003,
    "detail": "Your AccountSid or AuthToken was incorrect.",
    "message": "Authenticate",
    "more_info": "https://www.twilio.com/docs/errors/20003",
    "status": 401,
}


async def test_twilio_detail_is_kept_on_the_error_and_in_its_text(
    make_client: Callable[..., AsyncTaskRouter], api: respx.MockRouter
) -> None:
    api.get(TASK.path()).respond(401, json=TWILIO_401)
    async with make_client() as client:
        with pytest.raises(AuthenticationError) as caught:
            await fetch(client)
    assert caught.value.detail == "Your AccountSid or AuthToken was incorrect."
    assert caught.value.details is None
    assert str(caught.value) == (
        "HTTP 401: Authenticate: Your AccountSid or AuthToken was incorrect. "
        "(code 20003, https://www.twilio.com/docs/errors/20003)"
    )


@pytest.mark.parametrize("operation", [fetch, update, first_list_item], ids=["fetch", "update", "list"])
async def test_twilio_details_are_kept_on_the_error_and_in_its_text(
    operation: Callable[[AsyncTaskRouter], Awaitable[object]],
    make_client: Callable[..., AsyncTaskRouter],
    api: respx.MockRouter,
) -> None:
    details = {"param": "Timeout", "problems": ["negative", "too big"]}
    api.route(path__startswith=TASK.path(None)).respond(400, json={**twilio_error(400), "details": details})
    async with make_client() as client:
        with pytest.raises(BadRequestError) as caught:
            await operation(client)
    assert caught.value.details == details
    assert caught.value.detail is None
    assert str(caught.value) == (
        "HTTP 400: Twilio says 400 (code 20400, https://www.twilio.com/docs/errors/20400, "
        'details {"param":"Timeout","problems":["negative","too big"]})'
    )


@pytest.mark.parametrize(
    ("extra", "detail", "details"),
    [
        ({"detail": 42, "details": None}, None, None),
        ({"detail": "", "details": []}, None, []),
        ({"detail": "Twilio says 429"}, "Twilio says 429", None),  # the same as the message: said once
    ],
)
async def test_odd_detail_values_are_tolerated(
    extra: dict[str, object],
    detail: str | None,
    details: object,
    make_client: Callable[..., AsyncTaskRouter],
    api: respx.MockRouter,
) -> None:
    api.get(TASK.path()).respond(429, json={**twilio_error(429), **extra})
    async with make_client() as client:
        with pytest.raises(RateLimitError) as caught:
            await fetch(client)
    assert (caught.value.detail, caught.value.details) == (detail, details)
    assert str(caught.value).count("Twilio says 429") == 1


async def test_long_details_are_cut_in_the_text_but_kept_whole(
    make_client: Callable[..., AsyncTaskRouter], api: respx.MockRouter
) -> None:
    details = {"list": list(range(1000))}
    api.get(TASK.path()).respond(500, json={**twilio_error(500), "details": details})
    async with make_client() as client:
        with pytest.raises(InternalServerError) as caught:
            await fetch(client)
    assert caught.value.details == details
    assert len(str(caught.value)) < 400
    assert "…" in str(caught.value)


async def test_detail_and_details_are_redacted_like_the_rest(
    make_client: Callable[..., AsyncTaskRouter], api: respx.MockRouter
) -> None:
    def echo_credentials(request: httpx.Request) -> httpx.Response:
        authorization = request.headers["Authorization"]
        password = base64.b64decode(authorization.split()[1]).decode().partition(":")[2]
        body = {
            **TWILIO_401,
            "detail": f"wrong password {password}",
            "details": {"authorization": authorization, "password": password},
        }
        return httpx.Response(401, json=body)

    api.get(TASK.path()).mock(side_effect=echo_credentials)
    async with make_client() as client:
        with pytest.raises(AuthenticationError) as caught:
            await fetch(client)
    token = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert caught.value.detail == "wrong password [redacted]"
    assert caught.value.details == {"authorization": "Basic [redacted]", "password": "[redacted]"}
    for text in (str(caught.value), repr(caught.value), repr(vars(caught.value))):
        assert AUTH_TOKEN not in text
        assert token not in text
    assert "wrong password [redacted]" in str(caught.value)


async def test_a_412_shows_the_if_match_sent_and_the_etag_the_api_has(
    client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    """Issue 18 item 5: both values in the text, so a dropped pair of quotes is plain to see."""
    api.post(TASK.path()).respond(412, json=twilio_error(412), headers={"ETag": '"2"'})
    with pytest.raises(PreconditionFailedError) as caught:
        await client.task_reservations.update(
            WORKSPACE_SID, TASK_SID, RESERVATION_SID, TaskReservationUpdate.accept(), etag="2"
        )
    assert (caught.value.if_match, caught.value.current_etag) == ("2", '"2"')
    assert str(caught.value).endswith('; If-Match sent: 2, the reservation\'s ETag now: "2"')


async def test_a_412_without_an_etag_says_to_fetch_for_it(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    api.post(TASK.path()).respond(412, json=twilio_error(412))
    with pytest.raises(PreconditionFailedError) as caught:
        await client.task_reservations.update(
            WORKSPACE_SID, TASK_SID, RESERVATION_SID, TaskReservationUpdate.accept(), etag='W/"1"'
        )
    assert (caught.value.if_match, caught.value.current_etag) == ('W/"1"', None)
    assert str(caught.value).endswith('; If-Match sent: W/"1" (fetch the reservation for its ETag now)')
