"""Configuration from the environment: the base URL and the library's log level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from taskrouter_async import AsyncTaskRouter, ValidationError
from taskrouter_async._logging import logger, setup_from_env

from .sids import ACCOUNT_SID, AUTH_TOKEN


def test_the_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_TASKROUTER_BASE_URL", "http://127.0.0.1:8080/")
    assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN).base_url == "http://127.0.0.1:8080"
    explicit = AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, base_url="https://proxy.example.com")
    assert explicit.base_url == "https://proxy.example.com"
    assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, region="ie1").base_url == "https://taskrouter.ie1.twilio.com"


def test_a_base_url_from_the_environment_is_checked_like_an_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_TASKROUTER_BASE_URL", "http://proxy.example.com")
    with pytest.raises(ValidationError, match="plain http"):
        AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN)
    assert AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, allow_insecure_http=True).base_url == "http://proxy.example.com"


@pytest.fixture
def restore_logger() -> Iterator[None]:
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.mark.usefixtures("restore_logger")
@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), ("INFO", logging.INFO)])
def test_taskrouter_log_turns_on_the_library_logger(monkeypatch: pytest.MonkeyPatch, value: str, level: int) -> None:
    monkeypatch.setenv("TASKROUTER_LOG", value)
    setup_from_env()
    setup_from_env()  # idempotent: one handler
    assert logger.level == level
    assert len(logger.handlers) == 1
    assert logging.getLogger().handlers == logging.getLogger().handlers  # the root logger is left alone


@pytest.mark.usefixtures("restore_logger")
def test_without_taskrouter_log_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKROUTER_LOG", "loud")
    before = list(logger.handlers)
    setup_from_env()
    assert logger.handlers == before
