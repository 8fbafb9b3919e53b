"""Shared fixtures: every async test runs on asyncio and on trio; no test reaches a real host."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import respx

from taskrouter_async import AsyncTaskRouter, _client
from taskrouter_async._engines import ENGINES, pyreqwest_usable

from .ratelimit_support import recording_server  # noqa: F401 (a recording server for the rate-limit tests)
from .redis_server import redis_server  # noqa: F401 (a real redis-server for the rate-limit tests)
from .sids import ACCOUNT_SID, AUTH_TOKEN
from .spec_check import spec_conformance  # noqa: F401 (autouse: every API request must conform to the spec)

BASE_URL = "https://taskrouter.twilio.com"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: Engines that run on asyncio only: their trio combinations are dropped, not skipped.
ASYNCIO_ONLY = {"aiohttp", "pyreqwest"}
#: For tests of the pyreqwest engine itself.
PYREQWEST = pytest.mark.skipif(
    not pyreqwest_usable(), reason="the pyreqwest engine needs CPython >= 3.11 and the pyreqwest extra"
)


@pytest.fixture(params=[pytest.param(name, marks=[PYREQWEST] if name == "pyreqwest" else []) for name in ENGINES])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on every HTTP engine: clients built without ``engine=`` use this one.

    Only for tests against real servers on 127.0.0.1: respx and httpx mocks see the httpx engine only.
    """
    monkeypatch.setattr(_client, "DEFAULT_ENGINE", request.param)
    return str(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The aiohttp and pyreqwest engines run on asyncio only: drop their trio combinations instead of skipping them."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        chosen = params.params if params is not None else {}
        (drop if chosen.get("engine") in ASYNCIO_ONLY and chosen.get("anyio_backend") == "trio" else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _no_twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real credentials, region, base URL, log level or proxies must never leak into a test."""
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY",
        "TWILIO_API_SECRET",
        "TWILIO_REGION",
        "TWILIO_EDGE",
        "TWILIO_TASKROUTER_BASE_URL",
        "TASKROUTER_LOG",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """respx routes for the TaskRouter host; any request that matches no route fails the test.

    respx intercepts the httpx engine only, so clients built without ``engine=`` in a test that uses
    this fixture get the httpx engine instead of ``"auto"``.
    """
    monkeypatch.setattr(_client, "DEFAULT_ENGINE", "httpx")
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[AsyncTaskRouter]:
    """A client for respx routes (``api``): the httpx engine, the only one respx intercepts."""
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=0, engine="httpx") as c:
        yield c


@pytest.fixture
def make_client() -> Callable[..., AsyncTaskRouter]:
    """Builds the client under test (the test credentials, no retries, any other argument passed on).

    Without ``engine=`` it uses the default engine, which the ``engine`` fixture switches: a test
    against a real server on 127.0.0.1 that also asks for ``engine`` runs on every engine.
    """

    def make(**options: Any) -> AsyncTaskRouter:
        return AsyncTaskRouter(**{"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "max_retries": 0, **options})

    return make
