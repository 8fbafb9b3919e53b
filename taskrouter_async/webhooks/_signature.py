"""``X-Twilio-Signature``: compute and check the signature TaskRouter puts on every callback.

The rules come from Twilio's "Validate Twilio requests" page
(https://www.twilio.com/docs/usage/security#validating-requests):

1. Take the full URL Twilio requested, scheme to query string, exactly as configured.
2. Sort the POST parameters by name ("Unix-style case-sensitive sorting order": code points).
3. Append each name and value to the URL, with no delimiters.
4. HMAC-SHA1 the result with the account's auth token as the key; base64-encode the digest.
5. Compare with the ``X-Twilio-Signature`` header.

The details that page leaves open are taken from the official SDK, twilio-python's
``twilio/request_validator.py`` (``RequestValidator``), which a differential test checks this
module against: a repeated name contributes each distinct value once, values sorted; the URL is
tried both without its port and with it (the default port if none is given), rebuilt with
``urllib.parse`` as the SDK does; a JSON body is covered by the ``bodySHA256`` query parameter.

Hand-written rather than imported from ``twilio``: that package is a large synchronous SDK to
pull in for one function, and its compare is a Python loop that returns early on a length
mismatch, where this one is ``hmac.compare_digest``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import ParseResult, parse_qs, parse_qsl, urlparse

from .._errors import ValidationError, WebhookPayloadError, WebhookPayloadTooLargeError, WebhookSignatureError

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "SIGNATURE_HEADER",
    "FormParams",
    "compute_signature",
    "parse_form",
    "validate_body_signature",
    "validate_signature",
    "verify_request",
]

SIGNATURE_HEADER = "X-Twilio-Signature"
#: The largest callback body read by default: TaskRouter's callbacks are a few KiB plus the
#: task's and the worker's attributes.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024
#: At most this many form fields per callback (``parse_qsl``'s guard against huge field counts).
MAX_FORM_FIELDS = 1000

#: POST parameters: a mapping of name to value (or to a list of values), or (name, value) pairs
#: such as ``urllib.parse.parse_qsl(body)`` or Starlette's ``form.multi_items()``.
FormParams = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


def compute_signature(auth_token: str, url: str, params: FormParams = ()) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a POST of ``params`` to exactly ``url``."""
    grouped = _group(params)
    # Each distinct value once, values sorted under their name: what twilio-python (and twilio-node) do.
    signed = url + "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))
    digest = hmac.new(auth_token.encode(), signed.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def validate_signature(auth_token: str, url: str, params: FormParams, signature: str) -> bool:
    """Whether ``signature`` is Twilio's for a form POST of ``params`` to ``url``.

    ``url`` is the public URL Twilio called (behind a proxy, not the one your server sees). It is
    tried without and with its port, because Twilio drops the port for some callbacks and keeps
    it for others (https://www.twilio.com/docs/usage/security#notes). A URL that cannot be
    parsed is not valid.
    """
    variants = _signed_urls(url)
    if variants is None:
        return False
    # Both compares always run, so the time taken does not say which variant matched.
    matches = [_same(compute_signature(auth_token, variant, params), signature) for variant in variants]
    return any(matches)


def validate_body_signature(auth_token: str, url: str, body: bytes | str, signature: str) -> bool:
    """Whether ``signature`` is Twilio's for a JSON (or other raw) ``body`` POSTed to ``url``.

    Twilio adds ``bodySHA256`` (the hex SHA-256 of the body) to the URL's query and signs the URL
    alone (https://www.twilio.com/docs/usage/webhooks/webhooks-security, "JSON request bodies").
    Without that query parameter the request is not valid.
    """
    parts = _parse(url)
    if parts is None:
        return False
    claimed = parse_qs(parts.query).get("bodySHA256")  # parse_qs, as the SDK reads it
    if not claimed:
        return False
    raw = body.encode() if isinstance(body, str) else body
    body_matches = _same(hashlib.sha256(raw).hexdigest(), claimed[0])
    signature_matches = validate_signature(auth_token, url, (), signature)
    return body_matches and signature_matches


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The (name, value) pairs of a form-encoded body, blank values kept; WebhookPayloadError if malformed."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError:
        raise WebhookPayloadError("the callback body is not UTF-8 form data") from None
    except ValueError as exc:  # more fields than MAX_FORM_FIELDS
        raise WebhookPayloadError(f"the callback body is not acceptable form data: {exc}") from None


def verify_request(
    auth_token: str,
    url: str,
    body: bytes,
    signature: str | None,
    *,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
) -> list[tuple[str, str]]:
    """Check a form-encoded callback and return its parameters, for any web framework.

    ``url`` is the public URL Twilio called, ``body`` the raw request body and ``signature`` the
    ``X-Twilio-Signature`` header (``None`` when absent). Raises ``WebhookSignatureError`` for a
    missing or wrong signature (answer 403), ``WebhookPayloadTooLargeError`` (413) or
    ``WebhookPayloadError`` (400) for a body that cannot be read.
    """
    if not signature:
        raise WebhookSignatureError(f"the request has no {SIGNATURE_HEADER} header")
    if len(body) > max_body_size:
        raise WebhookPayloadTooLargeError(f"the callback body is larger than {max_body_size} bytes")
    params = parse_form(body)
    if not validate_signature(auth_token, url, params, signature):
        raise WebhookSignatureError(f"the {SIGNATURE_HEADER} header does not match the request")
    return params


def _group(params: FormParams) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    if isinstance(params, Mapping):
        items: Iterable[tuple[object, object]] = (
            (name, value) for name, values in params.items() for value in _values(name, values)
        )
    else:
        items = params
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValidationError(f"form parameters must be strings, got {name!r}: {value!r}")
        grouped.setdefault(name, set()).add(value)
    return grouped


def _values(name: object, values: object) -> Iterable[object]:
    if isinstance(values, str):
        return (values,)
    if isinstance(values, Sequence):
        return values
    raise ValidationError(f"form parameter {name!r} must be a string or a list of strings, got {values!r}")


def _parse(url: str) -> ParseResult | None:
    try:
        return urlparse(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None


def _signed_urls(url: str) -> tuple[str, str] | None:
    """``url`` without its port and with it (the scheme's default if none), or None if unparseable.

    Built with ``urlparse``/``geturl`` like the SDK's ``remove_port``/``add_port``, so both sides
    normalise a URL the same way (an empty ``?`` is dropped, for one). Two deliberate departures,
    both outside what the SDK handles correctly: user:password@ is dropped, as Twilio drops it
    before signing (https://www.twilio.com/docs/usage/security#notes), and an IPv6 host keeps its
    brackets when the port is removed.
    """
    parts = _parse(url)
    if parts is None:
        return None
    try:
        port = parts.port or None  # like the SDK, a port of 0 counts as none
    except ValueError:  # not a number, or out of range
        return None
    host_and_port = parts.netloc.rpartition("@")[2]
    host = host_and_port if port is None else host_and_port[: host_and_port.rfind(":")]
    default_port = 443 if parts.scheme == "https" else 80
    without_port = parts._replace(netloc=host).geturl()
    with_port = parts._replace(netloc=host_and_port if port else f"{host}:{default_port}").geturl()
    return without_port, with_port


def _same(expected: str, given: str) -> bool:
    """Constant-time equality; ``given`` may hold any text a client sent."""
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "surrogatepass"))
