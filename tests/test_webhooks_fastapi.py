"""The FastAPI dependencies: 403 for a missing or forged signature, 413/400 for bad bodies, never a 500.

No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at
runtime, and they name a dependency local to ``make_app``.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from starlette.exceptions import HTTPException

from taskrouter_async.webhooks import AssignmentCallback, EventCallback, accept, compute_signature
from taskrouter_async.webhooks.fastapi import TwilioWebhook

from .sids import AUTH_TOKEN
from .test_webhooks_callbacks import ASSIGNMENT, EVENT

pytestmark = pytest.mark.anyio

APP_URL = "http://app.test"


def make_app(webhook: TwilioWebhook, seen: list[Any]) -> FastAPI:
    app = FastAPI()

    @app.post("/taskrouter/assignment")
    async def assignment(callback: Annotated[AssignmentCallback, Depends(webhook.assignment)]) -> dict[str, Any]:
        seen.append(callback)
        return accept().to_json()

    @app.post("/taskrouter/events", status_code=204)
    async def events(event: Annotated[EventCallback, Depends(webhook.event)]) -> None:
        seen.append(event)

    @app.post("/{path:path}")
    async def anything(params: Annotated[list[tuple[str, str]], Depends(webhook.params)]) -> dict[str, Any]:
        seen.append(params)
        return {"params": len(params)}

    return app


@pytest.fixture
def seen() -> list[Any]:
    return []


async def _client(webhook: TwilioWebhook, seen: list[Any], base_url: str = APP_URL) -> httpx.AsyncClient:
    app = make_app(webhook, seen)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base_url)


@pytest.fixture
async def app(seen: list[Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(TwilioWebhook(AUTH_TOKEN), seen) as http:
        yield http


def signed(url: str, form: dict[str, str] | list[tuple[str, str]], token: str = AUTH_TOKEN) -> dict[str, Any]:
    """Request arguments for a form POST signed as Twilio would sign it for ``url``."""
    pairs = list(form.items()) if isinstance(form, dict) else form
    return {
        "content": urlencode(pairs).encode(),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": compute_signature(token, url, pairs),
        },
    }


async def test_a_signed_assignment_callback_reaches_the_handler(app: httpx.AsyncClient, seen: list[Any]) -> None:
    response = await app.post("/taskrouter/assignment", **signed(f"{APP_URL}/taskrouter/assignment", ASSIGNMENT))
    assert response.status_code == 200
    assert response.json() == {"instruction": "accept"}
    assert response.headers["content-type"] == "application/json"
    assert seen == [AssignmentCallback.from_form(ASSIGNMENT)]


async def test_a_signed_event_callback_reaches_the_handler(app: httpx.AsyncClient, seen: list[Any]) -> None:
    response = await app.post("/taskrouter/events", **signed(f"{APP_URL}/taskrouter/events", EVENT))
    assert response.status_code == 204
    assert seen == [EventCallback.from_form(EVENT)]


async def test_the_handler_can_read_the_body_again(seen: list[Any]) -> None:
    """A handler that also reads the raw body (to log or archive the callback) gets the bytes that were signed."""
    webhook = TwilioWebhook(AUTH_TOKEN)
    app = FastAPI()

    @app.post("/taskrouter/assignment")
    async def assignment(
        request: Request, callback: Annotated[AssignmentCallback, Depends(webhook.assignment)]
    ) -> dict[str, Any]:
        seen.append((await request.body(), callback.task_sid))
        return accept().to_json()

    arguments = signed(f"{APP_URL}/taskrouter/assignment", ASSIGNMENT)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=APP_URL) as http:
        response = await http.post("/taskrouter/assignment", **arguments)
    assert response.status_code == 200
    assert seen == [(arguments["content"], ASSIGNMENT["TaskSid"])]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        {"X-Twilio-Signature": compute_signature("another-token", f"{APP_URL}/taskrouter/assignment", ASSIGNMENT)},
        {"X-Twilio-Signature": compute_signature(AUTH_TOKEN, f"{APP_URL}/taskrouter/other", ASSIGNMENT)},
        {"X-Twilio-Signature": compute_signature(AUTH_TOKEN, f"{APP_URL}/taskrouter/assignment", {"TaskSid": "x"})},
    ],
    ids=["missing", "empty", "forged", "other token", "other url", "other params"],
)
async def test_a_missing_or_forged_signature_is_403(
    app: httpx.AsyncClient, seen: list[Any], headers: dict[str, str]
) -> None:
    response = await app.post(
        "/taskrouter/assignment",
        content=urlencode(ASSIGNMENT).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
    )
    assert response.status_code == 403
    assert AUTH_TOKEN not in response.text
    assert seen == []


async def test_a_missing_signature_is_refused_before_the_body_is_read(app: httpx.AsyncClient) -> None:
    response = await app.post("/taskrouter/assignment", content=b"\xff" * 10)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({k: v for k, v in ASSIGNMENT.items() if k != "TaskSid"}, "TaskSid"),
        ({**ASSIGNMENT, "TaskAge": "old"}, "TaskAge"),
        ({**ASSIGNMENT, "TaskAttributes": "{broken"}, "TaskAttributes"),
        ({**ASSIGNMENT, "WorkerAttributes": "[" * 50_000}, "WorkerAttributes"),
        ({**ASSIGNMENT, "WorkerSid": "WK"}, "WorkerSid"),
        ([*ASSIGNMENT.items(), ("TaskSid", "WT")], "TaskSid"),
    ],
    ids=["missing", "wrong type", "invalid json", "deep json", "bad sid", "repeated"],
)
async def test_a_signed_but_malformed_body_is_400(
    app: httpx.AsyncClient, seen: list[Any], form: dict[str, str] | list[tuple[str, str]], field: str
) -> None:
    response = await app.post("/taskrouter/assignment", **signed(f"{APP_URL}/taskrouter/assignment", form))
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert seen == []


async def test_a_body_that_is_not_form_data_is_400(app: httpx.AsyncClient) -> None:
    headers = {"X-Twilio-Signature": compute_signature(AUTH_TOKEN, f"{APP_URL}/taskrouter/assignment")}
    response = await app.post("/taskrouter/assignment", content=b"TaskSid=%ff%fe", headers=headers)
    assert response.status_code == 400


async def test_a_huge_body_is_413_whether_its_length_is_declared_or_not(seen: list[Any]) -> None:
    webhook = TwilioWebhook(AUTH_TOKEN, max_body_size=10_000)
    async with await _client(webhook, seen) as http:
        declared = await http.post("/taskrouter/assignment", content=b"A" * 10_001, headers={"X-Twilio-Signature": "x"})
    assert declared.status_code == 413

    # Chunked, with no Content-Length: read chunk by chunk and refused once past the limit.
    chunks_read = 0

    async def receive() -> dict[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"A" * 1000, "more_body": True}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/taskrouter/assignment",
        "raw_path": b"/taskrouter/assignment",
        "query_string": b"",
        "headers": [(b"host", b"app.test"), (b"x-twilio-signature", b"x"), (b"transfer-encoding", b"chunked")],
        "scheme": "http",
        "server": ("app.test", 80),
    }
    with pytest.raises(HTTPException) as raised:
        await webhook.params(Request(scope, receive))
    assert raised.value.status_code == 413
    assert chunks_read == 11


async def test_behind_a_proxy_the_public_url_is_what_was_signed(seen: list[Any]) -> None:
    public = "https://hooks.example.com/crm/taskrouter/assignment?tenant=7"
    async with await _client(TwilioWebhook(AUTH_TOKEN, public_url="https://hooks.example.com/crm/"), seen) as http:
        ok = await http.post("/taskrouter/assignment?tenant=7", **signed(public, ASSIGNMENT))
        internal = await http.post(
            "/taskrouter/assignment?tenant=7", **signed(f"{APP_URL}/taskrouter/assignment?tenant=7", ASSIGNMENT)
        )
    assert ok.status_code == 200
    assert internal.status_code == 403


async def test_the_public_url_can_be_a_function_of_the_request(seen: list[Any]) -> None:
    def public_url(request: Request) -> str:
        return "https://hooks.example.com" + request.url.path.removeprefix("/internal")

    webhook = TwilioWebhook(AUTH_TOKEN, public_url=public_url)
    async with await _client(webhook, seen) as http:
        response = await http.post(
            "/internal/taskrouter/events", **signed("https://hooks.example.com/taskrouter/events", EVENT)
        )
    assert response.status_code == 200
    assert seen == [list(EVENT.items())]


async def test_the_path_is_signed_as_sent_with_its_escapes(app: httpx.AsyncClient) -> None:
    url = f"{APP_URL}/hooks/caf%C3%A9%20au%20lait/?a=%2B1&b=%20"
    response = await app.post("/hooks/caf%C3%A9%20au%20lait/?a=%2B1&b=%20", **signed(url, {"X": "1"}))
    assert response.status_code == 200


async def test_the_port_in_the_host_header_may_be_signed_or_not(seen: list[Any]) -> None:
    async with await _client(TwilioWebhook(AUTH_TOKEN), seen, base_url="https://app.test:443") as http:
        without_port = await http.post("/x", **signed("https://app.test/x", {"A": "1"}))
        with_port = await http.post("/x", **signed("https://app.test:443/x", {"A": "1"}))
    assert (without_port.status_code, with_port.status_code) == (200, 200)


async def test_a_hostile_host_header_is_403_not_500(app: httpx.AsyncClient) -> None:
    form = signed(f"{APP_URL}/taskrouter/assignment", ASSIGNMENT)
    for host in ("app.test:99999", "[::1", "app.test:port", ""):
        response = await app.post(
            "/taskrouter/assignment", content=form["content"], headers={**form["headers"], "Host": host}
        )
        assert response.status_code == 403, host


async def test_the_auth_token_defaults_to_the_environment(seen: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    async with await _client(TwilioWebhook(), seen) as http:
        unconfigured = await http.post("/taskrouter/events", **signed(f"{APP_URL}/taskrouter/events", EVENT))
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        configured = await http.post("/taskrouter/events", **signed(f"{APP_URL}/taskrouter/events", EVENT))
    assert unconfigured.status_code == 500
    assert unconfigured.json() == {
        "detail": "TaskRouter callbacks cannot be checked: no Twilio auth token is configured"
    }
    assert configured.status_code == 204


def test_the_token_is_not_in_the_repr() -> None:
    assert AUTH_TOKEN not in repr(TwilioWebhook(AUTH_TOKEN, public_url="https://hooks.example.com"))
