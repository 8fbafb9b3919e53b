"""Credentials stay secret and stay home: repr, logs, exception text, foreign URLs, plain http."""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import respx

from taskrouter_async import (
    APIResponseValidationError,
    APIStatusError,
    AsyncTaskRouter,
    TaskReservationUpdate,
    TaskRouterError,
    ValidationError,
    _retry,
)
from taskrouter_async.testing import FakeTaskRouter

from .helpers import reservation_json
from .loopback import Conn, LoopbackServer, Request
from .sids import ACCOUNT_SID, AUTH_TOKEN, RESERVATION_SID, TASK_SID, WORKSPACE_SID

pytestmark = pytest.mark.anyio

API_KEY = "SK" + "9" * 32
API_SECRET = "api-s3cret-ZYXWVUTSRQPONMLKJIHGFEDCBA"
SECRETS = [
    AUTH_TOKEN,
    API_SECRET,
    base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode(),
    base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode(),
]
LIST_PATH = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}/Reservations"
BASE = "https://taskrouter.twilio.com"


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.002)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_repr_and_str_hide_credentials() -> None:
    for client in (
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN),
        AsyncTaskRouter(ACCOUNT_SID, api_key=API_KEY, api_secret=API_SECRET),
    ):
        for obj in (client, client.with_options(max_retries=0), client._pipeline.settings, client.task_reservations):
            assert_no_secret(repr(obj) + str(obj))


def assert_not_even_in_part(secret: str, exc: BaseException) -> None:
    """No 8-character run of ``secret`` in the exception's text, repr or traceback."""
    text = str(exc) + repr(exc) + "".join(traceback.format_exception(exc))
    assert not [secret[i : i + 8] for i in range(len(secret) - 7) if secret[i : i + 8] in text]


LONG_SECRET = "a-very-long-auth-token-" + "x" * 80  # longer than any shortened repr


@pytest.mark.parametrize(
    ("arguments", "environment", "named", "secret"),
    [
        ({"account_sid": AUTH_TOKEN, "auth_token": ACCOUNT_SID}, {}, "account_sid", AUTH_TOKEN),
        ({"account_sid": LONG_SECRET, "auth_token": ACCOUNT_SID}, {}, "account_sid", LONG_SECRET),
        ({"account_sid": ACCOUNT_SID, "api_key": API_SECRET, "api_secret": API_KEY}, {}, "api_key", API_SECRET),
        ({"api_key": AUTH_TOKEN, "api_secret": AUTH_TOKEN}, {}, "api_key", AUTH_TOKEN),
        (
            {"account_sid": None, "auth_token": None},
            {"TWILIO_ACCOUNT_SID": AUTH_TOKEN, "TWILIO_AUTH_TOKEN": ACCOUNT_SID},
            "TWILIO_ACCOUNT_SID",
            AUTH_TOKEN,
        ),
        (
            {"account_sid": None, "auth_token": None},
            {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_API_KEY": API_SECRET, "TWILIO_API_SECRET": API_KEY},
            "TWILIO_API_KEY",
            API_SECRET,
        ),
    ],
    ids=["swapped", "swapped-long", "api-key-swapped", "api-key-is-token", "env-account-sid", "env-api-key"],
)
def test_a_secret_in_a_sid_position_is_never_echoed(
    make_client: Callable[..., AsyncTaskRouter],
    monkeypatch: pytest.MonkeyPatch,
    arguments: dict[str, str | None],
    environment: dict[str, str],
    named: str,
    secret: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        make_client(**arguments)
    message = str(caught.value)
    assert message.startswith(f"{named} ")
    assert "SID (" in message  # says what shape was expected
    assert "not shown" in message
    assert_not_even_in_part(secret, caught.value)


@pytest.mark.parametrize(
    "options",
    [{"account_sid": AUTH_TOKEN}, {"api_key": API_SECRET, "api_secret": API_KEY}],
    ids=["account_sid", "api_key"],
)
def test_the_fake_does_not_echo_a_secret_in_a_sid_position_either(options: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="not shown") as caught:
        FakeTaskRouter(**options)
    assert_not_even_in_part(next(iter(options.values())), caught.value)


@pytest.mark.parametrize("base_url", ["ftp://user:pw-s3cr3t-value@example.com", "user:pw-s3cr3t-value@example.com"])
def test_a_base_url_with_credentials_is_refused_without_echoing_them(
    make_client: Callable[..., AsyncTaskRouter], base_url: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_client(base_url=base_url)
    assert_not_even_in_part("pw-s3cr3t-value", caught.value)


def _mixed_server() -> LoopbackServer:
    """Answers in turn: 503, a reset, 429, 200, an HTML 404 and a stall, so every log path runs."""
    script = ["503", "reset", "429", "200", "404", "stall"]

    async def handler(request: Request, conn: Conn) -> None:
        step = script[(len(server.requests) - 1) % len(script)]
        if step == "reset":
            conn.reset()
        elif step == "stall":
            await conn.stall(5)
        elif step == "404":
            await conn.respond(404, "<html><body>Not here</body></html>", content_type="text/html")
        elif step == "429":
            await conn.respond(429, json.dumps({"code": 20429, "message": "slow"}), headers=[("Retry-After", "0")])
        elif step == "503":
            await conn.respond(503, "")
        else:
            body = reservation_json(status="accepted")
            await conn.respond(200, json.dumps(body), headers=[("ETag", '"v2"')])

    server = LoopbackServer(handler, lifetime=60)
    return server


@pytest.mark.parametrize("auth", ["token", "api_key"])
async def test_no_credentials_in_logs_or_exceptions(auth: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root: httpx, httpcore and ours all propagate here
    errors: list[BaseException] = []
    credentials: dict[str, Any] = (
        {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
        if auth == "token"
        else {"api_key": API_KEY, "api_secret": API_SECRET, "account_sid": ACCOUNT_SID}
    )
    with _mixed_server() as server, anyio.fail_after(20):
        # The httpx engine, whose httpcore logs (asserted below) show every header line it sends.
        async with AsyncTaskRouter(
            base_url=server.url, timeout=0.3, max_retries=3, engine="httpx", **credentials
        ) as client:
            reservations = client.task_reservations
            accept = TaskReservationUpdate(reservation_status="accepted")
            for _ in range(4):
                for call in (
                    reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID),
                    reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, accept),
                    reservations.update(WORKSPACE_SID, TASK_SID, RESERVATION_SID, accept, etag='"v1"'),
                ):
                    try:
                        await call
                    except TaskRouterError as exc:
                        errors.append(exc)
    assert errors, "the script produces errors"
    assert {"httpcore.connection", "httpcore.http11", "taskrouter_async"} <= {r.name for r in caplog.records}
    for record in caplog.records:
        assert_no_secret(record.getMessage())
        assert_no_secret(repr(record.args) + repr(record.__dict__))
    assert_no_secret(caplog.text)
    for exc in errors:
        assert_no_secret(str(exc) + repr(exc) + "".join(traceback.format_exception(exc)))
        assert_no_secret(repr(vars(exc)))
        assert_no_secret(repr(exc.request) + repr(exc.request.headers))  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [400, 401, 500])
async def test_an_error_page_echoing_the_request_does_not_leak_it(status: int) -> None:
    async def echo_headers(request: Request, conn: Conn) -> None:
        headers = "\n".join(f"{name}: {value}" for name, value in request.headers.items())
        password = base64.b64decode(request.headers["authorization"].split()[1]).decode().partition(":")[2]
        message = json.dumps({"code": 20001, "message": f"bad request; you sent {headers} (password {password})"})
        await conn.respond(status, message)

    with LoopbackServer(echo_headers, lifetime=30) as server, anyio.fail_after(10):
        for credentials in ({"auth_token": AUTH_TOKEN}, {"api_key": API_KEY, "api_secret": API_SECRET}):
            client = AsyncTaskRouter(ACCOUNT_SID, base_url=server.url, max_retries=0, **credentials)
            async with client:
                with pytest.raises(APIStatusError) as caught:
                    await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
            assert "Basic [redacted]" in str(caught.value)
            assert_no_secret(str(caught.value) + caught.value.response.text)


@pytest.mark.parametrize(
    "next_page_url",
    [
        "https://evil.example.com" + LIST_PATH + "?PageToken=PT1",
        "//evil.example.com" + LIST_PATH,
        "http://taskrouter.twilio.com" + LIST_PATH + "?PageToken=PT1",
        "https://taskrouter.twilio.com:8443" + LIST_PATH + "?PageToken=PT1",
        "https://taskrouter.twilio.com.evil.example.com" + LIST_PATH,
        "https://user:pass@taskrouter.twilio.com" + LIST_PATH,
        "https://evil.example.com\\@taskrouter.twilio.com" + LIST_PATH,
        "http://[::1",
        "javascript:alert(1)",
        LIST_PATH,  # the page itself: a loop, not a next page
    ],
)
async def test_foreign_next_page_url_raises_and_sends_nothing(api: respx.MockRouter, next_page_url: str) -> None:
    page = {"meta": {"key": "reservations", "next_page_url": next_page_url}, "reservations": []}
    route = api.get(LIST_PATH).mock(return_value=httpx.Response(200, json=page))
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        with pytest.raises(APIResponseValidationError, match="next_page_url"):
            async for _ in client.task_reservations.list(WORKSPACE_SID, TASK_SID):
                pass
    assert route.call_count == 1
    assert len(api.calls) == 1


PAGE_2_QUERY = "PageSize=2&Page=1&PageToken=PT1"


@pytest.mark.parametrize(
    ("options", "page_origin", "configured"),
    [
        ({"region": "ie1"}, "https://taskrouter.twilio.com", "https://taskrouter.ie1.twilio.com"),
        ({"region": "ie1"}, "https://taskrouter.dublin.ie1.twilio.com", "https://taskrouter.ie1.twilio.com"),
        (
            {"region": "au1", "edge": "sydney"},
            "https://taskrouter.au1.twilio.com",
            "https://taskrouter.sydney.au1.twilio.com",
        ),
        ({"edge": "dublin"}, "https://TaskRouter.twilio.com:443", "https://taskrouter.dublin.us1.twilio.com"),
        (
            {"base_url": "https://proxy.example.com/twilio"},
            "https://taskrouter.twilio.com",
            "https://proxy.example.com/twilio",
        ),
        ({"base_url": "https://proxy.example.com"}, "https://taskrouter.ie1.twilio.com", "https://proxy.example.com"),
        ({}, "https://taskrouter.ie1.twilio.com", BASE),
    ],
    ids=["region", "edge-and-region", "sydney", "edge-only", "proxy-with-prefix", "proxy", "default"],
)
async def test_a_next_page_url_on_a_twilio_host_is_requested_on_the_configured_host(
    make_client: Callable[..., AsyncTaskRouter], options: dict[str, str], page_origin: str, configured: str
) -> None:
    """Like the official SDK's Client.get_hostname: path and query kept, host (and credentials) ours."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        next_url = f"{page_origin}{LIST_PATH}?{PAGE_2_QUERY}" if len(sent) == 1 else None
        return httpx.Response(
            200, json={"meta": {"key": "reservations", "next_page_url": next_url}, "reservations": []}
        )

    with respx.mock() as router:  # a request to any other host fails the test
        router.get(url__startswith=configured + LIST_PATH).mock(side_effect=answer)
        async with make_client(engine="httpx", **options) as client:
            assert client.base_url == configured
            pages = [page async for page in client.task_reservations.pages(WORKSPACE_SID, TASK_SID)]
    page_2 = f"{configured}{LIST_PATH}?{PAGE_2_QUERY}"
    assert [str(request.url) for request in sent] == [configured + LIST_PATH, page_2]
    assert pages[0].next_page_url == page_2  # what pages(page_url=...) resumes from
    assert sent[1].headers["Authorization"] == sent[0].headers["Authorization"]


async def test_a_page_url_on_a_twilio_host_resumes_on_the_configured_host(
    make_client: Callable[..., AsyncTaskRouter],
) -> None:
    regional = "https://taskrouter.ie1.twilio.com"
    with respx.mock() as router:
        route = router.get(url__startswith=regional + LIST_PATH).respond(
            200, json={"meta": {"key": "reservations", "next_page_url": None}, "reservations": []}
        )
        async with make_client(region="ie1", engine="httpx") as client:
            page_url = f"{BASE}{LIST_PATH}?{PAGE_2_QUERY}"
            assert [p async for p in client.task_reservations.pages(WORKSPACE_SID, TASK_SID, page_url=page_url)]
    assert str(route.calls.last.request.url) == f"{regional}{LIST_PATH}?{PAGE_2_QUERY}"


@pytest.mark.parametrize(
    "next_page_url",
    [
        "https://evil.example.com" + LIST_PATH,
        "https://api.twilio.com" + LIST_PATH,
        "https://evil.twilio.com" + LIST_PATH,
        "https://xtaskrouter.twilio.com" + LIST_PATH,
        "https://taskrouter.a.b.ie1.twilio.com" + LIST_PATH,
        "https://taskrouter.twilio.com.evil.example.com" + LIST_PATH,
        "https://taskrouter.ie1.twilio.com.evil.example.com" + LIST_PATH,
        "https://taskrouter.twilio.com:8443" + LIST_PATH,
        "http://taskrouter.twilio.com" + LIST_PATH,
        "http://taskrouter.ie1.twilio.com" + LIST_PATH,
        "https://user:pass@taskrouter.twilio.com" + LIST_PATH,
        "https://taskrouter_ie1.twilio.com" + LIST_PATH,
    ],
)
@pytest.mark.parametrize(
    "options", [{"region": "ie1"}, {"base_url": "https://proxy.example.com"}], ids=["region", "proxy"]
)
async def test_every_other_foreign_next_page_url_is_still_refused(
    make_client: Callable[..., AsyncTaskRouter], options: dict[str, str], next_page_url: str
) -> None:
    page = {"meta": {"key": "reservations", "next_page_url": next_page_url}, "reservations": []}
    with respx.mock() as router:
        route = router.get().respond(200, json=page)
        async with make_client(engine="httpx", **options) as client:
            with pytest.raises(APIResponseValidationError, match="next_page_url is unsafe"):
                async for _ in client.task_reservations.pages(WORKSPACE_SID, TASK_SID):
                    pass
    assert route.call_count == 1


@pytest.mark.usefixtures("engine")
async def test_a_proxy_gets_page_2_of_a_twilio_paged_list_on_real_sockets(
    make_client: Callable[..., AsyncTaskRouter],
) -> None:
    """A proxy in front of Twilio passes Twilio's bodies on unchanged: their page URLs name Twilio's host."""

    async def proxy(request: Request, conn: Conn) -> None:
        next_url = f"{BASE}{LIST_PATH}?{PAGE_2_QUERY}" if len(server.requests) == 1 else None
        page = {"meta": {"key": "reservations", "next_page_url": next_url}, "reservations": []}
        await conn.respond(200, json.dumps(page))

    with LoopbackServer(proxy, lifetime=30) as server, anyio.fail_after(10):
        async with make_client(base_url=server.url + "/twilio") as client:
            pages = [page async for page in client.task_reservations.pages(WORKSPACE_SID, TASK_SID)]
    assert len(pages) == 2
    assert [request.target for request in server.requests] == [
        "/twilio" + LIST_PATH,
        f"/twilio{LIST_PATH}?{PAGE_2_QUERY}",
    ]
    assert all(request.headers["authorization"].startswith("Basic ") for request in server.requests)


async def test_relative_next_page_url_on_the_same_origin_is_followed(api: respx.MockRouter) -> None:
    first = {"meta": {"key": "reservations", "next_page_url": LIST_PATH + "?PageToken=PT1"}, "reservations": []}
    last = {"meta": {"key": "reservations", "next_page_url": None}, "reservations": []}
    route = api.get(LIST_PATH).mock(side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=last)])
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        pages = [p async for p in client.task_reservations.pages(WORKSPACE_SID, TASK_SID)]
    assert len(pages) == 2
    assert str(route.calls[1].request.url) == BASE + LIST_PATH + "?PageToken=PT1"


async def test_foreign_next_page_url_on_real_sockets_reaches_nobody() -> None:
    async def foreign(request: Request, conn: Conn) -> None:
        await conn.respond(200, "{}")

    with LoopbackServer(foreign, lifetime=30) as elsewhere:

        async def home(request: Request, conn: Conn) -> None:
            next_url = elsewhere.url + LIST_PATH + "?PageToken=PT1"
            page = {"meta": {"key": "reservations", "next_page_url": next_url}, "reservations": []}
            await conn.respond(200, json.dumps(page))

        with LoopbackServer(home, lifetime=30) as server, anyio.fail_after(10):
            async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url) as client:
                with pytest.raises(APIResponseValidationError):
                    async for _ in client.task_reservations.pages(WORKSPACE_SID, TASK_SID):
                        pass
            assert len(server.requests) == 1
        assert elsewhere.requests == []
        assert elsewhere.accepted == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(status: int) -> None:
    async def foreign(request: Request, conn: Conn) -> None:
        await conn.respond(200, "{}")

    with LoopbackServer(foreign, lifetime=30) as elsewhere:

        async def redirect(request: Request, conn: Conn) -> None:
            await conn.respond(status, "", headers=[("Location", elsewhere.url + request.target)])

        with LoopbackServer(redirect, lifetime=30) as server, anyio.fail_after(10):
            async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=server.url) as client:
                with pytest.raises(APIStatusError) as caught:
                    await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, RESERVATION_SID)
        assert caught.value.status_code == status
        assert elsewhere.accepted == 0


async def test_page_url_on_another_origin_is_refused_before_any_request(api: respx.MockRouter) -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        for url in ("https://evil.example.com" + LIST_PATH, "http://taskrouter.twilio.com" + LIST_PATH):
            with pytest.raises(ValidationError, match="refusing to send credentials"):
                client.task_reservations.pages(WORKSPACE_SID, TASK_SID, page_url=url)
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("https://example.com", True),
        ("https://proxy.internal:8443/twilio", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.0.0.2", True),
        ("http://localhost:9000", True),
        ("http://[::1]:9000", True),
        ("http://example.com", False),
        ("http://10.0.0.1", False),
        ("http://taskrouter.twilio.com", False),
        ("ftp://example.com", False),
        ("https://user:pw@example.com", False),
        ("example.com", False),
    ],
)
def test_https_is_required_for_non_loopback_hosts(base_url: str, allowed: bool) -> None:
    if allowed:
        assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=base_url).base_url == base_url
    else:
        with pytest.raises(ValidationError):
            AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url=base_url)


def test_plain_http_only_when_explicitly_allowed() -> None:
    client = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url="http://example.com", allow_insecure_http=True)
    assert client.base_url == "http://example.com"


@pytest.mark.parametrize(
    "bad_sid", ["WR../../Accounts", "WR" + "e" * 31 + "/", "WR" + "e" * 32 + "?x=1", "WR" + "E" * 32 + "%2F", ""]
)
async def test_path_segments_are_validated_sids(api: respx.MockRouter, bad_sid: str) -> None:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN) as client:
        with pytest.raises(ValidationError):
            await client.task_reservations.fetch(WORKSPACE_SID, TASK_SID, bad_sid)
        with pytest.raises(ValidationError):
            await client.worker_reservations.fetch(WORKSPACE_SID, bad_sid, RESERVATION_SID)
    assert len(api.calls) == 0
