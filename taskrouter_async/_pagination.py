"""Iterating a list: pages fetched one request at a time, items across pages, and loop detection."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import httpx

from ._models import Page

__all__ = ["RECENT_PAGES", "ItemIterator", "PageHistory", "PageIterator"]

R = TypeVar("R")

#: Page URLs each list iteration remembers exactly (see ``PageHistory``).
RECENT_PAGES = 64


class PageHistory:
    """The page URLs of one iteration over a list, to catch a ``next_page_url`` that leads back.

    Memory is bounded whatever the list's length. The last ``RECENT_PAGES`` URLs are kept, so a
    loop through that many pages or fewer (page 1 -> 2 -> 1) is caught before any page is
    requested twice. A longer loop is caught by Brent's cycle detection: one saved URL, compared
    with every new one and moved forward to the newest whenever the steps since it reach a power
    of two, so any loop is found after at most about twice its length of extra pages.
    """

    def __init__(self, first_url: str) -> None:
        self._recent: deque[str] = deque([first_url], maxlen=RECENT_PAGES)
        self._saved = first_url
        self._steps = 0
        self._power = 1

    def seen(self, url: str) -> bool:
        """Whether ``url`` is a page this iteration already requested; if not, it is remembered."""
        if url == self._saved or url in self._recent:
            return True
        self._recent.append(url)
        self._steps += 1
        if self._steps == self._power:
            self._saved, self._steps, self._power = url, 0, self._power * 2
        return False


class PageIterator(AsyncIterator[Page[R]]):
    """The pages of a list, fetched one request at a time as they are asked for.

    An iterator object rather than an async generator: it holds nothing between pages but the
    URL history that stops a loop, so breaking out of ``async for`` early needs no cleanup on
    asyncio or trio.
    """

    def __init__(self, fetch_page: Callable[[str, PageHistory], Awaitable[Page[R]]], first_url: str) -> None:
        self._fetch_page = fetch_page
        first_url = str(httpx.URL(first_url))  # the form later page URLs are compared in
        self._next_url: str | None = first_url
        self._history = PageHistory(first_url)

    async def __anext__(self) -> Page[R]:
        if self._next_url is None:
            raise StopAsyncIteration
        page = await self._fetch_page(self._next_url, self._history)
        self._next_url = page.next_page_url
        return page

    async def aclose(self) -> None:
        """Stop: later iteration yields nothing (for ``contextlib.aclosing``)."""
        self._next_url = None


class ItemIterator(AsyncIterator[R]):
    """The records of a list, across pages, up to ``limit``; holds one page at a time."""

    def __init__(self, pages: PageIterator[R], limit: int | None) -> None:
        self._pages = pages
        self._remaining = limit
        self._items: Iterator[R] = iter(())

    async def __anext__(self) -> R:
        if self._remaining == 0:
            raise StopAsyncIteration
        item = next(self._items, None)
        while item is None:
            self._items = iter((await self._pages.__anext__()).items)
            item = next(self._items, None)
        if self._remaining is not None:
            self._remaining -= 1
        return item

    async def aclose(self) -> None:
        """Stop: later iteration yields nothing (for ``contextlib.aclosing``)."""
        self._remaining = 0
        await self._pages.aclose()
