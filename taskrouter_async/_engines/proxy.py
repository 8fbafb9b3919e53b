"""The proxy the environment names for a URL, read exactly as httpx reads it (``trust_env=True``).

Every engine the library builds gets its proxy from here, once per client. httpx has no public
function for this (its ``get_environment_proxies`` and ``URLPattern`` are private), so its rules
are restated below; a test holds the two to the same answers. In short: ``HTTPS_PROXY``,
``HTTP_PROXY`` and ``ALL_PROXY`` (a value without ``://`` means ``http://``), and ``NO_PROXY``
as curl reads it, the most specific pattern winning.
"""

from __future__ import annotations

import ipaddress
import re

import httpx

from .._errors import ValidationError

__all__ = ["environment_proxy"]

#: The proxy schemes the engines can use.
_PROXY_SCHEMES = ("http", "https")


def environment_proxy(url: str) -> str | None:
    """The proxy URL for requests to ``url``, or ``None`` for a direct connection.

    A proxy the engines cannot use (another scheme, not a URL) is a ``ValidationError``; its value
    is never shown, as it may carry a password.
    """
    import urllib.request  # heavy to import (email, http.client): only once a client is made

    target = httpx.URL(url)
    # getproxies() also reads the system's settings on macOS and Windows, as httpx does.
    settings = urllib.request.getproxies()
    routes: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        value = settings.get(scheme)
        if value:
            routes[f"{scheme}://"] = value if "://" in value else f"http://{value}"
    for entry in (host.strip() for host in settings.get("no", "").split(",")):
        if entry == "*":
            return None
        if entry:
            routes[_no_proxy_pattern(entry)] = None
    # Most specific first; a stable sort keeps the order above between equals, as httpx's does.
    for pattern in sorted(map(_Pattern, routes), key=_Pattern.priority):
        if pattern.matches(target):
            proxy = routes[pattern.text]
            return None if proxy is None else _checked(proxy, pattern.text)
    return None


def _no_proxy_pattern(entry: str) -> str:
    """A NO_PROXY entry as httpx turns it into a pattern (``example.com`` covers its subdomains too)."""
    if "://" in entry:
        return entry
    if _is_ip(entry, ipaddress.IPv4Address) or entry.lower() == "localhost":
        return f"all://{entry}"
    if _is_ip(entry, ipaddress.IPv6Address):
        return f"all://[{entry}]"
    return f"all://*{entry}"


def _is_ip(entry: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(entry.split("/")[0])
    except ValueError:
        return False
    return True


def _checked(proxy: str, key: str) -> str:
    variable = "ALL_PROXY" if key == "all://" else f"{key.removesuffix('://').upper()}_PROXY"
    try:
        scheme = httpx.URL(proxy).scheme
    except httpx.InvalidURL:
        raise ValidationError(f"{variable} from the environment is not a URL (its value is not shown)") from None
    if scheme not in _PROXY_SCHEMES:
        raise ValidationError(
            f"{variable} from the environment names a {scheme!r} proxy; the client can use http:// and "
            "https:// proxies (or pass trust_env=False to ignore the proxy variables)"
        )
    return proxy


class _Pattern:
    """One route: a scheme (``all`` for any), a host (``*`` prefixes for domains) and a port."""

    def __init__(self, text: str) -> None:
        url = httpx.URL(text)
        self.text = text
        self.scheme = "" if url.scheme == "all" else url.scheme
        self.host = "" if url.host == "*" else url.host
        self.port = url.port
        self.host_regex: re.Pattern[str] | None = None
        if self.host.startswith("*."):  # "*.example.com": subdomains only
            self.host_regex = re.compile(f"^.+\\.{re.escape(self.host[2:])}$")
        elif self.host.startswith("*"):  # "*example.com": the domain and its subdomains
            self.host_regex = re.compile(f"^(.+\\.)?{re.escape(self.host[1:])}$")
        elif self.host:
            self.host_regex = re.compile(f"^{re.escape(self.host)}$")

    def priority(self) -> tuple[int, int, int]:
        """With a port first, then the longer host, then the longer scheme."""
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))

    def matches(self, url: httpx.URL) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.host_regex is not None and not self.host_regex.match(url.host):
            return False
        return self.port is None or self.port == url.port
