from __future__ import annotations

import pytest

import taskrouter_async

pytestmark = pytest.mark.anyio


async def test_package_imports() -> None:
    assert taskrouter_async.__version__
