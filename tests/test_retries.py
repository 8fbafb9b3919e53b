"""The retry layer: which failures are retried for which call, Retry-After, backoff, attempts."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from taskrouter_async import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncTaskRouter,
    BadRequestError,
    InternalServerError,
    RateLimitError,
    TaskReservationUpdate,
    ValidationError,
    _retry,
)
from taskrouter_async._errors import status_error_class

from .helpers import reservation_json
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

PATH = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations/{RESERVATION_SID}"
LIST_PATH = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations"
RESERVATION = reservation_json(status="accepted")
ACCEPT = TaskReservationUpdate(reservation_status="accepted")

# The calls the rules distinguish: a GET, an update without etag, an update with one.
FETCH, UPDATE, UPDATE_ETAG = "fetch", "update", "update+etag"
CALLS = (FETCH, UPDATE, UPDATE_ETAG)

# failure -> the calls that retry it. The spec: GET retries 429, 5xx and transport failures;
# an update retries 429 and failures before sending, and 5xx/read failures only with If-Match.
RULES: list[tuple[int | type[httpx.TransportError], set[str]]] = [
    (400, set()),
    (401, set()),
    (403, set()),
    (404, set()),
    (409, set()),
    (412, set()),
    (429, {FETCH, UPDATE, UPDATE_ETAG}),
    (500, {FETCH, UPDATE_ETAG}),
    (502, {FETCH, UPDATE_ETAG}),
    (503, {FETCH, UPDATE_ETAG}),
    (504, {FETCH, UPDATE_ETAG}),
    (501, set()),
    (httpx.ConnectError, {FETCH, UPDATE, UPDATE_ETAG}),
    (httpx.ConnectTimeout, {FETCH, UPDATE, UPDATE_ETAG}),
    (httpx.PoolTimeout, {FETCH, UPDATE, UPDATE_ETAG}),
    (httpx.ReadTimeout, {FETCH, UPDATE_ETAG}),
    (httpx.WriteTimeout, {FETCH, UPDATE_ETAG}),
    (httpx.ReadError, {FETCH, UPDATE_ETAG}),
    (httpx.WriteError, {FETCH, UPDATE_ETAG}),
    (httpx.RemoteProtocolError, {FETCH, UPDATE_ETAG}),
]


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.002)


def _rule_id(value: object) -> str:
    if isinstance(value, set):
        return "retried-by-" + "-".join(sorted(value)) if value else "never-retried"
    return getattr(value, "__name__", str(value))


def _effect(failure: int | type[httpx.TransportError]) -> httpx.Response | type[httpx.TransportError]:
    if isinstance(failure, int):
        return httpx.Response(failure, json={"code": 20000 + failure, "message": "nope", "status": failure})
    return failure


def _expected_error(failure: int | type[httpx.TransportError]) -> type[APIError]:
    if isinstance(failure, int):
        return status_error_class(failure)
    return APITimeoutError if issubclass(failure, httpx.TimeoutException) else APIConnectionError


async def _call(client: AsyncTaskRouter, call: str) -> object:
    reservations = client.task_reservations
    if call == FETCH:
        return await reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    etag = '"v1"' if call == UPDATE_ETAG else None
    return await reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, ACCEPT, etag=etag)


def _route(api: respx.MockRouter, call: str) -> respx.Route:
    return api.route(method="GET" if call == FETCH else "POST", path=PATH)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(("failure", "retried_for"), RULES, ids=_rule_id)
async def test_persistent_failure(
    api: respx.MockRouter, call: str, failure: int | type[httpx.TransportError], retried_for: set[str]
) -> None:
    route = _route(api, call).mock(side_effect=[_effect(failure)] * 5)
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=2) as client:
        with pytest.raises(_expected_error(failure)) as caught:
            await _call(client, call)

    attempts = 3 if call in retried_for else 1
    assert route.call_count == attempts
    assert caught.value.attempts == attempts
    assert ("(after 3 attempts)" in str(caught.value)) == (attempts == 3)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(("failure", "retried_for"), RULES, ids=_rule_id)
async def test_one_failure_then_success(
    api: respx.MockRouter, call: str, failure: int | type[httpx.TransportError], retried_for: set[str]
) -> None:
    route = _route(api, call).mock(side_effect=[_effect(failure), httpx.Response(200, json=RESERVATION)])
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=2) as client:
        if call in retried_for:
            assert await _call(client, call) is not None
            assert route.call_count == 2
        else:
            with pytest.raises(_expected_error(failure)):
                await _call(client, call)
            assert route.call_count == 1


async def test_list_retries_a_failed_page(api: respx.MockRouter) -> None:
    next_url = f"https://taskrouter.twilio.com{LIST_PATH}?PageSize=1&PageToken=PT1"
    first = {"meta": {"key": "reservations", "next_page_url": next_url}, "reservations": [RESERVATION]}
    last = {"meta": {"key": "reservations", "next_page_url": None}, "reservations": [RESERVATION]}
    effects = [httpx.Response(200, json=first), httpx.ReadError, httpx.Response(503), httpx.Response(200, json=last)]
    route = api.get(LIST_PATH).mock(side_effect=effects)
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=2) as client:
        items = [r async for r in client.task_reservations.list(WORKSPACE_SID, TASK_SID)]
    assert len(items) == 2
    assert route.call_count == 4


async def test_max_retries_zero_makes_one_attempt(api: respx.MockRouter) -> None:
    route = api.get(PATH).mock(return_value=httpx.Response(503))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await _call(client, FETCH)
    assert route.call_count == 1
    assert caught.value.attempts == 1
    assert "attempts" not in str(caught.value)


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize("call", CALLS)
async def test_retry_after_seconds_is_waited(
    api: respx.MockRouter, call: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="taskrouter_async")
    limited = httpx.Response(429, headers={"Retry-After": "0.05"}, json={"code": 20429, "message": "slow down"})
    route = _route(api, call).mock(side_effect=[limited, httpx.Response(200, json=RESERVATION)])
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        await _call(client, call)
    assert route.call_count == 2
    assert "retrying in 0.05s" in caplog.text


async def test_retry_after_http_date_is_honoured(api: respx.MockRouter) -> None:
    past = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=5), usegmt=True)
    limited = httpx.Response(429, headers={"Retry-After": past})
    route = api.get(PATH).mock(side_effect=[limited, limited, limited])
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=2) as client:
        with pytest.raises(RateLimitError) as caught:
            await _call(client, FETCH)
    assert route.call_count == 3
    assert caught.value.retry_after == 0.0
    assert caught.value.attempts == 3


async def test_retry_after_over_the_cap_raises_at_once(api: respx.MockRouter) -> None:
    route = api.get(PATH).mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=5) as client:
        with pytest.raises(RateLimitError) as caught:
            await _call(client, FETCH)
        assert route.call_count == 1
        assert caught.value.retry_after == 120.0
        assert caught.value.attempts == 1

        with pytest.raises(RateLimitError):
            await _call(client.with_options(max_retry_after=0.01), FETCH)
        assert route.call_count == 2


async def test_retry_after_on_503_is_honoured_for_get_only(api: respx.MockRouter) -> None:
    unavailable = httpx.Response(503, headers={"Retry-After": "0"})
    get = api.get(PATH).mock(side_effect=[unavailable, httpx.Response(200, json=RESERVATION)])
    post = api.post(PATH).mock(side_effect=[unavailable, httpx.Response(200, json=RESERVATION)])
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        await _call(client, FETCH)
        with pytest.raises(InternalServerError):
            await _call(client, UPDATE)
    assert (get.call_count, post.call_count) == (2, 1)


NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("0.25", 0.25),
        ("Fri, 02 Jan 2026 03:04:35 GMT", 30.0),
        ("Fri, 02 Jan 2026 03:00:00 GMT", 0.0),
        ("Fri, 02 Jan 2026 03:04:15 -0000", 10.0),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("1e3", None),
        ("1_000", None),
        ("", None),
        ("soon", None),
        ("Fri, 99 Jan 2026 03:04:35 GMT", None),
    ],
)
def test_retry_after_parsing(value: str, seconds: float | None) -> None:
    assert _retry.retry_after(httpx.Headers({"Retry-After": value}), now=NOW) == seconds


def test_retry_after_absent() -> None:
    assert _retry.retry_after(httpx.Headers()) is None


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
def test_retry_after_never_raises(value: str) -> None:
    seconds = _retry.retry_after(httpx.Headers({"Retry-After": value}), now=NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


# --- backoff and the sent/not-sent rule -------------------------------------------------------


def test_backoff_is_capped_exponential_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.5)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 8.0)
    for retry_number, ceiling in [(0, 0.5), (1, 1.0), (3, 4.0), (4, 8.0), (10, 8.0), (100_000, 8.0)]:
        waits = [_retry.backoff(retry_number) for _ in range(200)]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 100, "full jitter: waits are spread, not fixed"
        assert max(waits) > ceiling / 2


@pytest.mark.parametrize(
    ("exc_type", "sent"),
    [
        (httpx.ConnectError, False),
        (httpx.ConnectTimeout, False),
        (httpx.PoolTimeout, False),
        (httpx.ReadTimeout, True),
        (httpx.WriteTimeout, True),
        (httpx.ReadError, True),
        (httpx.WriteError, True),
        (httpx.RemoteProtocolError, True),
    ],
)
def test_was_sent(exc_type: type[httpx.TransportError], sent: bool) -> None:
    assert _retry.was_sent(exc_type("boom")) is sent


# --- logging, options, defaults ---------------------------------------------------------------


async def test_every_attempt_is_logged_at_debug(api: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="taskrouter_async")
    api.get(PATH).mock(side_effect=[httpx.Response(500), httpx.ConnectError, httpx.Response(200, json=RESERVATION)])
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        await _call(client, FETCH)
    mine = [r for r in caplog.records if r.name == "taskrouter_async"]
    assert [r.levelno for r in mine] == [logging.DEBUG] * 3
    assert "(attempt 1)" in mine[0].getMessage()
    assert "ConnectError" in mine[1].getMessage()
    assert "-> 200 (attempt 3)" in mine[2].getMessage()


async def test_with_options_is_a_view_sharing_the_pool(api: respx.MockRouter) -> None:
    route = api.get(PATH).mock(return_value=httpx.Response(502))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=3) as client:
        view = client.with_options(max_retries=0, timeout=1.5)
        assert view._pipeline.engine is client._pipeline.engine
        assert (view.max_retries, view.timeout) == (0, httpx.Timeout(1.5))
        assert (client.max_retries, client.timeout) == (3, DEFAULT_TIMEOUT)
        with pytest.raises(InternalServerError):
            await _call(view, FETCH)
        assert route.call_count == 1
        with pytest.raises(InternalServerError):
            await _call(client, FETCH)
        assert route.call_count == 5
        await view.aclose()
        assert not client.is_closed
    assert client.is_closed


async def test_per_call_timeout_reaches_the_request(api: respx.MockRouter) -> None:
    route = api.get(PATH).mock(return_value=httpx.Response(200, json=RESERVATION))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        await _call(client, FETCH)
        await _call(client.with_options(timeout=httpx.Timeout(2.0, connect=0.5)), FETCH)
    first, second = (call.request.extensions["timeout"] for call in route.calls)
    assert first == {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert second == {"connect": 0.5, "read": 2.0, "write": 2.0, "pool": 2.0}


@pytest.mark.parametrize(
    "options", [{"max_retries": -1}, {"max_retries": 1.5}, {"max_retries": True}, {"timeout": 0}, {"timeout": "5"}]
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN)
    with pytest.raises(ValidationError):
        client.with_options(**options)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, **options)  # type: ignore[arg-type]


async def test_defaults() -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, engine="httpx") as client:  # the httpcore pools' settings
        assert client.timeout == httpx.Timeout(30.0, connect=5.0)
        assert client.max_retries == 2
        engine: Any = client._pipeline.engine
        assert all(pool._retries == 0 for pool in engine._pools), "the engine never retries on its own"
        assert sum(pool._max_connections for pool in engine._pools) == DEFAULT_LIMITS.max_connections


async def test_bad_request_is_never_retried_even_with_retries_left(api: respx.MockRouter) -> None:
    route = api.post(PATH).mock(return_value=httpx.Response(400, json={"code": 20001, "message": "bad"}))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=10) as client:
        with pytest.raises(BadRequestError) as caught:
            await _call(client, UPDATE_ETAG)
    assert route.call_count == 1
    assert caught.value.code == 20001
