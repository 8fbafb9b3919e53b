"""X-Twilio-Signature: Twilio's worked example, and a differential test against the official SDK.

The differential tests generate URLs (unicode, ports, query strings, trailing slashes) and form
parameters (unicode, repeated names, empty values), sign them the ways Twilio may have (the URL
as given, without its port, with it) or forge them, and require ``validate_signature`` to give
the verdict of twilio-python's ``RequestValidator`` on every case. 3,000 cases by default;
``nox -s signatures`` sets TASKROUTER_SIGNATURE_EXAMPLES to run 100,000.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from urllib.parse import quote, urlencode, urlparse

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator, add_port, remove_port

from taskrouter_async import TaskRouterError, ValidationError
from taskrouter_async.webhooks import (
    WebhookError,
    WebhookPayloadError,
    WebhookPayloadTooLargeError,
    WebhookSignatureError,
    compute_signature,
    parse_form,
    validate_body_signature,
    validate_signature,
    verify_request,
)

EXAMPLES = int(os.environ.get("TASKROUTER_SIGNATURE_EXAMPLES", "3000"))
#: Form cases get most of the budget; JSON-body cases the rest.
FORM_EXAMPLES = EXAMPLES * 4 // 5
BODY_EXAMPLES = EXAMPLES - FORM_EXAMPLES
CASES = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)

# The worked example of https://www.twilio.com/docs/usage/security#validating-requests.
DOC_TOKEN = "12345"
DOC_URL = "https://example.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
DOC_SIGNATURE = "L/OH5YylLD5NRKLltdqwSvS0BnU="


class MultiDict(dict[str, list[str]]):
    """Form parameters as the SDK reads a Flask/Werkzeug MultiDict: ``getall`` gives every value."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def sdk_params(pairs: list[tuple[str, str]]) -> MultiDict:
    grouped = MultiDict()
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


# --- what the generator draws from ----------------------------------------------------------------

# Unicode text without surrogates (the SDK cannot encode them) and without '\x00'.
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
hosts = st.sampled_from(
    ["example.com", "EXAMPLE.com", "api.example.com", "localhost", "127.0.0.1", "xn--bcher-kva.example", "a-b.c"]
)
# No port, the scheme's default, another one, or one written with leading zeros.
ports = st.one_of(
    st.just(""),
    st.sampled_from([":80", ":443", ":8080"]),
    st.integers(1, 65535).map(lambda port: f":{port}"),
    st.integers(1, 9999).map(lambda port: f":0{port}"),
)
segments = st.one_of(
    text.map(lambda segment: segment.replace("/", "").replace("?", "").replace("#", "")),  # raw unicode
    text.map(lambda segment: quote(segment, safe="")),  # percent-encoded
)
paths = st.tuples(st.lists(segments, max_size=4), st.booleans()).map(
    lambda drawn: "/" + "/".join(drawn[0]) + ("/" if drawn[1] and drawn[0] else "")
)
queries = st.one_of(
    st.just(""),
    st.just("?"),
    st.lists(st.tuples(text, text), max_size=3).map(lambda pairs: "?" + urlencode(pairs)),
    text.map(lambda raw: "?" + raw.replace("#", "")),
)
urls = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}{query}",
    st.sampled_from(["https", "http", "HTTPS"]),
    hosts,
    ports,
    paths,
    queries,
)
names = st.one_of(st.sampled_from(["TaskSid", "WorkerSid", "From", "to", "Digits", ""]), text)
params = st.lists(st.tuples(names, text), max_size=8).flatmap(
    # Sometimes repeat a name, sometimes with the same value.
    lambda pairs: st.one_of(
        st.just(pairs),
        st.just(pairs + pairs[:1]),
        st.tuples(text).map(lambda extra: [*pairs, (pairs[0][0], extra[0])] if pairs else pairs),
    )
)
tokens = st.one_of(st.just("fake-auth-token"), text.filter(bool))
SIGNERS = ("given url", "url without port", "url with port", "other params", "other url", "other token", "junk")


def signature_for(how: str, token: str, url: str, pairs: list[tuple[str, str]], junk: str) -> str:
    """A signature made the way ``how`` says, by the SDK (so the library under test signs nothing)."""
    sdk = RequestValidator(token)
    signers: dict[str, Callable[[], str]] = {
        "given url": lambda: sdk.compute_signature(url, sdk_params(pairs)),
        "url without port": lambda: sdk.compute_signature(remove_port(urlparse(url)), sdk_params(pairs)),
        "url with port": lambda: sdk.compute_signature(add_port(urlparse(url)), sdk_params(pairs)),
        "other params": lambda: sdk.compute_signature(url, sdk_params([*pairs, ("Extra", junk)])),
        "other url": lambda: sdk.compute_signature(url + "x", sdk_params(pairs)),
        "other token": lambda: RequestValidator(token + "x").compute_signature(url, sdk_params(pairs)),
        "junk": lambda: junk,
    }
    return signers[how]()


@pytest.mark.signatures
def test_form_signatures_agree_with_the_official_sdk() -> None:
    seen: Counter[str] = Counter()

    @settings(CASES, max_examples=FORM_EXAMPLES)
    @given(token=tokens, url=urls, pairs=params, how=st.sampled_from(SIGNERS), junk=text)
    @example(token=DOC_TOKEN, url=DOC_URL, pairs=list(DOC_PARAMS.items()), how="given url", junk="")
    @example(token="t", url="https://example.com:443/cb", pairs=[("A", "1")], how="url without port", junk="")
    @example(token="t", url="https://example.com/cb", pairs=[("A", "1")], how="url with port", junk="")
    @example(token="t", url="http://example.com:8080/cb/?", pairs=[("A", "")], how="url without port", junk="")
    @example(
        token="t", url="https://example.com/cb", pairs=[("A", "2"), ("A", "1"), ("A", "2")], how="given url", junk=""
    )
    def case(token: str, url: str, pairs: list[tuple[str, str]], how: str, junk: str) -> None:
        signature = signature_for(how, token, url, pairs, junk)
        expected = RequestValidator(token).validate(url, sdk_params(pairs), signature)
        assert validate_signature(token, url, pairs, signature) is expected
        assert compute_signature(token, url, pairs) == RequestValidator(token).compute_signature(url, sdk_params(pairs))
        seen["cases"] += 1
        seen["valid" if expected else "invalid"] += 1

    case()
    print(f"\nform signatures: {seen['cases']} cases agree with twilio.RequestValidator ({dict(seen)})")
    assert seen["cases"] >= FORM_EXAMPLES
    assert seen["valid"] > FORM_EXAMPLES // 5
    assert seen["invalid"] > FORM_EXAMPLES // 5


@pytest.mark.signatures
def test_json_body_signatures_agree_with_the_official_sdk() -> None:
    seen: Counter[str] = Counter()

    @settings(CASES, max_examples=BODY_EXAMPLES)
    @given(
        token=tokens,
        url=urls,
        body=st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
        digest=st.sampled_from(["right", "upper case", "other body"]),
        how=st.sampled_from(["given url", "url without port", "url with port", "other token", "junk"]),
        junk=text,
    )
    def case(token: str, url: str, body: str, digest: str, how: str, junk: str) -> None:
        body_hash = hashlib.sha256((body if digest != "other body" else body + "x").encode()).hexdigest()
        url = (
            url.split("?")[0]
            + "?"
            + urlencode([("bodySHA256", body_hash.upper() if digest == "upper case" else body_hash)])
        )
        signature = signature_for(how, token, url, [], junk)
        expected = RequestValidator(token).validate(url, body, signature)
        assert validate_body_signature(token, url, body.encode(), signature) is expected
        seen["cases"] += 1
        seen["valid" if expected else "invalid"] += 1

    case()
    print(f"\nbody signatures: {seen['cases']} cases agree with twilio.RequestValidator ({dict(seen)})")
    assert seen["cases"] >= BODY_EXAMPLES
    assert seen["valid"] > 0
    assert seen["invalid"] > 0


# --- documented rules and deliberate departures from the SDK --------------------------------------


def test_twilios_worked_example() -> None:
    assert compute_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert validate_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


def test_params_as_mapping_pairs_or_lists_sign_the_same() -> None:
    as_pairs = [("A", "2"), ("A", "1"), ("B", "")]
    expected = compute_signature("t", "https://x.example/cb", as_pairs)
    assert compute_signature("t", "https://x.example/cb", {"A": ["1", "2"], "B": ""}) == expected
    assert compute_signature("t", "https://x.example/cb", {"B": "", "A": ("2", "1", "1")}) == expected


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url, params, sig: ("https://example.com/myapp.php?foo=1&bar=3", params, sig),
        lambda url, params, sig: ("https://example.com/myapp.php/?foo=1&bar=2", params, sig),
        lambda url, params, sig: (url, {**params, "Digits": "1235"}, sig),
        lambda url, params, sig: (url, {**params, "Extra": ""}, sig),
        lambda url, params, sig: (url, {k: v for k, v in params.items() if k != "To"}, sig),
        lambda url, params, sig: (url, params, sig[:-2] + "A="),
        lambda url, params, sig: (url, params, sig.lower()),
        lambda url, params, sig: (url, params, ""),
        lambda url, params, sig: (url, params, "é" * 28),
    ],
    ids=["query", "trailing slash", "value", "added", "removed", "signature", "case", "empty", "non-ascii"],
)
def test_tampering_is_refused(tamper: Callable[[str, dict[str, str], str], tuple[str, dict[str, str], str]]) -> None:
    url, params, signature = tamper(DOC_URL, DOC_PARAMS, DOC_SIGNATURE)
    assert not validate_signature(DOC_TOKEN, url, params, signature)


def test_the_port_may_or_may_not_have_been_signed() -> None:
    signed_without = compute_signature("t", "https://example.com/cb", DOC_PARAMS)
    signed_with = compute_signature("t", "https://example.com:443/cb", DOC_PARAMS)
    for url in ("https://example.com/cb", "https://example.com:443/cb"):
        assert validate_signature("t", url, DOC_PARAMS, signed_without)
        assert validate_signature("t", url, DOC_PARAMS, signed_with)
    assert not validate_signature("t", "https://example.com:8443/cb", DOC_PARAMS, signed_with)


def test_credentials_in_the_url_are_not_signed() -> None:
    """Twilio drops user:password@ before signing (https://www.twilio.com/docs/usage/security#notes)."""
    signature = compute_signature("t", "https://example.com:8443/cb", DOC_PARAMS)
    assert validate_signature("t", "https://user:pass@example.com:8443/cb", DOC_PARAMS, signature)
    assert validate_signature(
        "t",
        "https://user:pass@example.com/cb",
        DOC_PARAMS,
        compute_signature("t", "https://example.com/cb", DOC_PARAMS),
    )


def test_an_ipv6_host_keeps_its_brackets() -> None:
    signature = compute_signature("t", "http://[::1]/cb", DOC_PARAMS)
    assert validate_signature("t", "http://[::1]:8080/cb", DOC_PARAMS, signature)


@pytest.mark.parametrize("url", ["https://example.com:99999/cb", "https://example.com:8o/cb", "http://[::1/cb"])
def test_an_unusable_url_is_simply_not_valid(url: str) -> None:
    signature = compute_signature("t", url, DOC_PARAMS)
    assert not validate_signature("t", url, DOC_PARAMS, signature)
    assert not validate_body_signature("t", url + "?bodySHA256=00", b"", signature)


def test_a_json_body_needs_its_hash_in_the_url() -> None:
    body = b'{"TaskSid": "WT1"}'
    url = "https://example.com/cb?bodySHA256=" + hashlib.sha256(body).hexdigest()
    signature = compute_signature("t", url)
    assert validate_body_signature("t", url, body, signature)
    assert validate_body_signature("t", url, body.decode(), signature)
    assert not validate_body_signature("t", url, body + b" ", signature)
    assert not validate_body_signature(
        "t", "https://example.com/cb", body, compute_signature("t", "https://example.com/cb")
    )
    assert not validate_body_signature(
        "t", "https://example.com/cb?bodySHA256=", body, compute_signature("t", "https://example.com/cb?bodySHA256=")
    )


def test_params_must_be_text() -> None:
    with pytest.raises(ValidationError):
        compute_signature("t", "https://example.com", [("A", 1)])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        compute_signature("t", "https://example.com", {"A": 1})  # type: ignore[arg-type]


# --- verify_request: the one-call check for any framework -----------------------------------------

BODY = urlencode(DOC_PARAMS).encode()


def test_verify_request_returns_the_form() -> None:
    assert verify_request(DOC_TOKEN, DOC_URL, BODY, DOC_SIGNATURE) == list(DOC_PARAMS.items())


@pytest.mark.parametrize(
    ("body", "signature", "error"),
    [
        (BODY, None, WebhookSignatureError),
        (BODY, "", WebhookSignatureError),
        (BODY, "forged", WebhookSignatureError),
        (BODY + b"&Digits=5", DOC_SIGNATURE, WebhookSignatureError),
        (b"\xff\xfe=1", DOC_SIGNATURE, WebhookPayloadError),
        (b"A=%ff", DOC_SIGNATURE, WebhookPayloadError),
        (b"&".join(b"k%d=v" % i for i in range(1001)), DOC_SIGNATURE, WebhookPayloadError),
        (b"A=" + b"x" * 2048, DOC_SIGNATURE, WebhookPayloadTooLargeError),
    ],
    ids=["missing", "empty", "forged", "tampered", "not utf-8", "bad escape", "too many fields", "too large"],
)
def test_verify_request_raises_typed_errors(body: bytes, signature: str | None, error: type[WebhookError]) -> None:
    with pytest.raises(error) as raised:
        verify_request(DOC_TOKEN, DOC_URL, body, signature, max_body_size=1024)
    assert isinstance(raised.value, TaskRouterError)
    assert DOC_TOKEN not in str(raised.value)


def test_parse_form_keeps_order_blanks_and_repeats() -> None:
    assert parse_form(b"B=2&A=&B=1&C") == [("B", "2"), ("A", ""), ("B", "1"), ("C", "")]
