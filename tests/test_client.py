"""Client configuration: credentials, hosts, ownership of the connection pool, repr."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
import respx

from taskrouter_async import AsyncTaskRouter, ValidationError

from .helpers import TASK, reservation_json
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

API_KEY = "SK" + "9" * 32
API_SECRET = "api-secret-value-42"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def sent_authorization(client: AsyncTaskRouter, api: respx.MockRouter) -> str:
    route = api.get(TASK.path()).respond(200, json=reservation_json())
    await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
    return str(route.calls.last.request.headers["Authorization"])


async def test_account_sid_and_token_are_sent_as_basic_auth(api: respx.MockRouter) -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        assert await sent_authorization(client, api) == basic(ACCOUNT_SID, AUTH_TOKEN)


async def test_api_key_and_secret_are_sent_as_basic_auth(api: respx.MockRouter) -> None:
    async with AsyncTaskRouter(api_key=API_KEY, api_secret=API_SECRET) as client:
        assert await sent_authorization(client, api) == basic(API_KEY, API_SECRET)


async def test_credentials_come_from_the_environment(api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    async with AsyncTaskRouter() as client:
        assert await sent_authorization(client, api) == basic(ACCOUNT_SID, AUTH_TOKEN)


async def test_api_key_from_the_environment_wins_over_the_auth_token(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_API_KEY", API_KEY)
    monkeypatch.setenv("TWILIO_API_SECRET", API_SECRET)
    async with AsyncTaskRouter() as client:
        assert await sent_authorization(client, api) == basic(API_KEY, API_SECRET)


async def test_explicit_credentials_ignore_the_environment(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_API_KEY", API_KEY)
    monkeypatch.setenv("TWILIO_API_SECRET", API_SECRET)
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        assert await sent_authorization(client, api) == basic(ACCOUNT_SID, AUTH_TOKEN)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no credentials"),
        ({"account_sid": ACCOUNT_SID}, "no credentials"),
        ({"account_sid": "ACnothex", "auth_token": AUTH_TOKEN}, "account_sid must be an Account SID"),
        ({"api_key": API_KEY}, "api_key and api_secret go together"),
        ({"api_key": "SKshort", "api_secret": API_SECRET}, "api_key must be an API Key SID"),
        ({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "timeout": 0}, "timeout must be"),
        ({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "max_retries": -1}, "max_retries must be"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AsyncTaskRouter(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (-5, "timeout must be a positive number of seconds such as 10.0, or an httpx.Timeout"),
        (0, "timeout must be a positive number of seconds"),
        (float("nan"), "timeout must be a positive number of seconds"),
        (float("inf"), r"httpx.Timeout\(None\) for no limit"),
        ("30", "got '30'"),
        (True, "got True"),
        (httpx.Timeout(-5), "the connect timeout must be a positive number of seconds, or None for no limit, got -5"),
        (httpx.Timeout(5, read=0), "the read timeout must be a positive number of seconds, .* got 0"),
        (httpx.Timeout(5, pool=float("nan")), "the pool timeout must be"),
        (httpx.Timeout(5, write=float("-inf")), "the write timeout must be"),
    ],
)
def test_bad_timeouts_are_refused_with_a_clear_message(
    make_client: Callable[..., AsyncTaskRouter], timeout: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        make_client(timeout=timeout)
    with pytest.raises(ValidationError, match=message):
        make_client().with_options(timeout=timeout)  # type: ignore[arg-type]


def test_no_limit_and_partial_timeouts_are_accepted(make_client: Callable[..., AsyncTaskRouter]) -> None:
    assert make_client(timeout=httpx.Timeout(None)).timeout == httpx.Timeout(None)
    assert make_client(timeout=httpx.Timeout(5, read=None)).timeout.read is None
    assert make_client(timeout=2).timeout == httpx.Timeout(2.0)


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "60", None])
def test_a_bad_max_retry_after_is_refused(make_client: Callable[..., AsyncTaskRouter], value: object) -> None:
    with pytest.raises(ValidationError, match="max_retry_after must be a number of seconds, 0 or more"):
        make_client(max_retry_after=value)
    if value is not None:  # None keeps the client's setting in with_options
        with pytest.raises(ValidationError, match="max_retry_after must be"):
            make_client().with_options(max_retry_after=value)  # type: ignore[arg-type]


def test_a_configuration_error_does_not_echo_the_token() -> None:
    with pytest.raises(ValidationError) as caught:
        AsyncTaskRouter("not-a-sid", AUTH_TOKEN)
    assert AUTH_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("region", "edge", "host"),
    [
        (None, None, "https://taskrouter.twilio.com"),
        ("ie1", None, "https://taskrouter.ie1.twilio.com"),
        ("au1", "sydney", "https://taskrouter.sydney.au1.twilio.com"),
        (None, "dublin", "https://taskrouter.dublin.us1.twilio.com"),
    ],
)
def test_region_and_edge_build_the_host(region: str | None, edge: str | None, host: str) -> None:
    assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, region=region, edge=edge).base_url == host


def test_region_and_edge_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN).base_url == "https://taskrouter.dublin.ie1.twilio.com"


async def test_requests_go_to_the_regional_host() -> None:
    with respx.mock(base_url="https://taskrouter.dublin.ie1.twilio.com") as router:
        route = router.get(TASK.path()).respond(200, json=reservation_json())
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, region="ie1", edge="dublin", engine="httpx") as client:
            await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
        assert route.called


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "IE1!"}, "region and edge must be lowercase host labels"),
        ({"base_url": "ftp://example.com"}, "absolute http"),
        ({"base_url": "https://example.com/?a=1"}, "must not carry a query"),
        ({"base_url": "https://user:pw@example.com"}, "must not carry"),
        ({"base_url": "http://proxy.example.com"}, "plain http to a non-loopback host"),
        ({"base_url": "https://example.com", "region": "ie1"}, "not both"),
    ],
)
def test_bad_hosts_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("https://proxy.example.com/twilio/", "https://proxy.example.com/twilio"),
    ],
)
def test_base_url_overrides_the_host(base_url: str, expected: str) -> None:
    assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=base_url).base_url == expected


def test_plain_http_to_another_host_needs_an_explicit_opt_in() -> None:
    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url="http://proxy.internal", allow_insecure_http=True)
    assert client.base_url == "http://proxy.internal"


async def test_a_path_prefix_in_base_url_is_kept() -> None:
    with respx.mock(base_url="https://proxy.example.com/twilio") as router:
        route = router.get(TASK.path()).respond(200, json=reservation_json())
        async with AsyncTaskRouter(
            ACCOUNT_SID, AUTH_TOKEN, base_url="https://proxy.example.com/twilio/", engine="httpx"
        ) as client:
            await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
        assert route.called


async def test_a_shared_http_client_is_used_and_not_closed(api: respx.MockRouter) -> None:
    route = api.get(TASK.path()).respond(200, json=reservation_json())
    async with httpx.AsyncClient() as shared:
        async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, http_client=shared) as client:
            await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
        assert not shared.is_closed
        assert route.call_count == 1


async def test_the_own_http_client_is_closed() -> None:
    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN)
    async with client:
        pass
    assert client.is_closed


async def test_with_options_shares_the_pool_and_keeps_it_open() -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        view = client.with_options(timeout=2.5, max_retries=5)
        assert (view.max_retries, view.timeout.read) == (5, 2.5)
        assert (client.max_retries, client.timeout.read) == (2, 30.0)
        assert view._pipeline.engine is client._pipeline.engine
        await view.aclose()
        assert not client.is_closed


def test_repr_shows_no_credentials() -> None:
    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN)
    text = repr(client) + str(client) + repr(client._pipeline.settings)
    assert AUTH_TOKEN not in text
    assert base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode() not in text
    assert text.startswith("AsyncTaskRouter(base_url='https://taskrouter.twilio.com'")
