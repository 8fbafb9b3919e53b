"""Shared fixtures: every async test runs on asyncio and on trio; no test reaches a real host."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import respx

from taskrouter_async import AsyncTaskRouter

from .sids import ACCOUNT_SID, AUTH_TOKEN
from .spec_check import spec_conformance  # noqa: F401 (autouse: every API request must conform to the spec)

BASE_URL = "https://taskrouter.twilio.com"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real credentials or region must never leak into a test."""
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "TWILIO_REGION",
        "TWILIO_EDGE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """respx routes for the TaskRouter host; any request that matches no route fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[AsyncTaskRouter]:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=0) as c:
        yield c


@pytest.fixture
def make_client() -> Callable[..., AsyncTaskRouter]:
    """Builds the client under test (the test credentials, no retries, any other argument passed on).

    One place, so that tests using it can later run on every HTTP engine through a fixture param.
    """

    def make(**options: Any) -> AsyncTaskRouter:
        return AsyncTaskRouter(**{"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "max_retries": 0, **options})

    return make
