"""Is a request one the TaskRouter spec allows? openapi-core's verdict plus the wire rules it cannot express.

The autouse fixture ``spec_conformance`` records every httpx request a test sends to a
``/v1/Workspaces...`` path and fails the test at teardown if any of them breaks the spec. A
test that sends a non-conforming request on purpose opts out with
``@pytest.mark.nonconforming_requests``.

Requests are caught where httpx hands them on: ``AsyncClient.send``/``Client.send`` and the
``handle_(async_)request`` of every httpx transport class, including classes defined later (a
test's own transport). So respx, MockTransport, ASGITransport, real loopback servers and a
client that calls its transport directly are all seen. The hooks are installed once per
process and record only while a test's recorder is active.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs
import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = [
    "API_PATH",
    "MARKER",
    "SPEC_PATH",
    "SPEC_SERVER",
    "RequestRecorder",
    "SentRequest",
    "check_request",
    "described_range",
    "form_schema",
    "install_hooks",
    "json_problems",
    "openapi",
    "resolve",
    "sid_prefix",
    "spec",
    "spec_conformance",
]

SPEC_PATH = Path(__file__).parent / "spec" / "twilio_taskrouter_v1.json"
#: Requests are checked against this server whatever host a test used (127.0.0.1, a region, a fake).
SPEC_SERVER = "https://taskrouter.twilio.com"
API_PATH = "/v1/Workspaces"
#: Where the API part of a path starts: ``/v1/Workspaces`` itself (list, create) or below it.
_API_PATH = re.compile(re.escape(API_PATH) + "(?=/|$)")
MARKER = "nonconforming_requests"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
#: The keys of the JSON bodies the spec leaves without properties, as Twilio's docs give them.
DOCUMENTED_JSON_BODIES = {"CreateTaskQueueBulkRealTimeStatistics": {"TaskQueueSids": "WQ"}}

_PLAIN_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_SID_PATTERN = re.compile(r"\^([A-Z]{2})\[0-9a-fA-F\]\{32\}\$")
_DESCRIBED_RANGE = re.compile(r"from `(-?\d+)` to `(-?\d+)`")


@functools.cache
def spec() -> dict[str, Any]:
    """The repository's copy of the spec (never ``../shared``)."""
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec())


def resolve(node: Mapping[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` followed (the spec only uses ``#/components/...`` refs)."""
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return dict(node)


def sid_prefix(schema: Mapping[str, Any]) -> str | None:
    """The two-letter prefix of a SID-typed schema (``pattern: ^XX[0-9a-fA-F]{32}$``), else None."""
    match = _SID_PATTERN.fullmatch(schema.get("pattern", ""))
    return match.group(1) if match else None


def described_range(schema: Mapping[str, Any]) -> tuple[int, int] | None:
    """A range the spec states only in prose ("from `2` to `250`"), else None."""
    match = _DESCRIBED_RANGE.search(schema.get("description", ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


@functools.cache
def _routes() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each spec path template as a regex whose named groups are its path parameters."""
    routes = []
    for template in spec()["paths"]:
        pattern = re.sub(r"\\\{([A-Za-z]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        routes.append((re.compile(pattern), template))
    return tuple(routes)


def _route(path: str) -> tuple[str, dict[str, str]] | None:
    """The template a concrete path matches, and its path parameter values; a literal segment wins over a
    parameter (``/TaskQueues/Statistics`` is not the queue ``Statistics``), as in openapi-core."""
    matches = [(template, match.groupdict()) for regex, template in _routes() if (match := regex.fullmatch(path))]
    return min(matches, key=lambda found: len(found[1]), default=None)


def operation(method: str, path: str) -> dict[str, Any] | None:
    """The spec's operation for ``method`` on a concrete ``path``, or None if it has none."""
    route = _route(path)
    if route is None:
        return None
    op: dict[str, Any] | None = spec()["paths"][route[0]].get(method.lower())
    return op


def form_schema(op: Mapping[str, Any]) -> dict[str, Any]:
    """The form schema of an operation's request body."""
    return resolve(op["requestBody"]["content"][FORM]["schema"])


@attrs.frozen
class SentRequest:
    """What a test sent: enough to check it after the fact. ``body`` is None for an unread stream."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    @classmethod
    def from_httpx(cls, request: httpx.Request) -> SentRequest:
        try:
            body: bytes | None = request.content
        except httpx.RequestNotRead:
            body = None
        return cls(request.method, str(request.url), tuple(request.headers.multi_items()), body)

    @property
    def api_path(self) -> str | None:
        """The ``/v1/Workspaces...`` part of the path (after any proxy prefix), or None if it has none."""
        path = httpx.URL(self.url).path
        match = _API_PATH.search(path)
        return None if match is None else path[match.start() :]


@attrs.define
class _SpecRequest:
    """The request as openapi-core's Request protocol wants it, on the spec's own server."""

    method: str
    path: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None
    host_url: str = SPEC_SERVER


def check_request(sent: SentRequest) -> list[str]:
    """Every way ``sent`` breaks the spec; empty if it conforms.

    Path parameters are checked here against their spec schemas. The rest of the request, with
    path SIDs swapped for valid stand-ins and only the headers the spec can judge, goes to the
    cached ``_check`` (openapi-core plus the strict wire rules): similar requests cost it once.
    """
    route = None if sent.api_path is None else _route(sent.api_path)
    method = sent.method.lower()
    if route is None or method not in spec()["paths"][route[0]]:
        return list(_check(sent))  # openapi-core names the problem: no such path or operation
    template, values = route
    problems, stand_ins = [], dict(values)
    for name, validator, prefix in _path_parameters(template, method):
        problems += [f"path parameter {name}: {error.message}" for error in validator.iter_errors(values[name])]
        if prefix is not None:
            stand_ins[name] = prefix + "0" * 32
    canonical = attrs.evolve(sent, url=SPEC_SERVER + template.format(**stand_ins) + _query_suffix(sent.url))
    return problems + list(_check(_without_volatile_headers(canonical)))


@functools.cache
def _path_parameters(template: str, method: str) -> tuple[tuple[str, OAS30Validator, str | None], ...]:
    """Each path parameter of an operation: its name, a validator of its schema, its SID prefix."""
    parameters = spec()["paths"][template][method].get("parameters", ())
    schemas = {p["name"]: resolve(p["schema"]) for p in parameters if p["in"] == "path"}
    return tuple((name, OAS30Validator(schema), sid_prefix(schema)) for name, schema in schemas.items())


def _query_suffix(url: str) -> str:
    query = httpx.URL(url).query.decode("ascii")
    return f"?{query}" if query else ""


def _without_volatile_headers(sent: SentRequest) -> SentRequest:
    """Only what the spec can judge in a header: the credentials' scheme and If-Match's presence."""
    headers = []
    for name, value in sent.headers:
        if name.lower() == "authorization":
            value = value.split(" ", 1)[0] + " eDp5"
        elif name.lower() == "if-match":
            value = '"etag"'
        elif name.lower() not in ("content-type",):
            continue
        headers.append((name, value))
    return attrs.evolve(sent, headers=tuple(headers))


@functools.lru_cache(maxsize=4096)
def _check(sent: SentRequest) -> tuple[str, ...]:
    """Cached: ``check_request`` hands this its request with the path SIDs (checked apart) swapped for
    stand-ins and only the headers that matter, so a run of similar requests costs openapi-core once."""
    return tuple(_problems(sent))


def _problems(sent: SentRequest) -> list[str]:
    path = sent.api_path
    if path is None:
        return [f"{sent.url} is not a {API_PATH}... path"]
    raw_query = httpx.URL(sent.url).query.decode("ascii")
    try:
        query = parse_qsl(raw_query, keep_blank_values=True, strict_parsing=bool(raw_query))
    except ValueError as exc:
        return [f"malformed query string {raw_query!r}: {exc}"]
    headers = Headers(list(sent.headers))
    content_type = headers.get("Content-Type", "")
    problems = _openapi_problems(
        _SpecRequest(
            method=sent.method.lower(),
            path=path,
            parameters=RequestParameters(query=ImmutableMultiDict(query), header=headers),
            content_type=content_type,
            body=sent.body,
        )
    )
    op = operation(sent.method, path)
    if op is None:
        return problems
    problems += _query_problems(op, query)
    if "requestBody" in op:
        expected = FORM if FORM in op["requestBody"]["content"] else JSON
        if content_type.split(";")[0].strip().lower() != expected:
            problems.append(f"Content-Type is {content_type!r}, not {expected}")
        if sent.body is None:
            problems.append("the body is an unread stream; it cannot be checked")
        elif expected == FORM:
            problems += form_problems(form_schema(op), sent.body)
        else:
            problems += json_problems(DOCUMENTED_JSON_BODIES.get(op["operationId"], {}), sent.body)
    elif sent.body:
        problems.append(f"{sent.method} {path} takes no body, got {sent.body[:80]!r}")
    return problems


def _openapi_problems(request: _SpecRequest) -> list[str]:
    problems = []
    for error in openapi().iter_request_errors(request):
        text = f"{type(error).__name__}: {error}"
        cause = error.__cause__
        if cause is not None:
            details = [str(e.message) for e in getattr(cause, "schema_errors", ())] or [repr(cause)]
            text += " (" + "; ".join(details) + ")"
        problems.append(text)
    return problems


def _query_problems(op: Mapping[str, Any], query: list[tuple[str, str]]) -> list[str]:
    declared = {p["name"]: resolve(p.get("schema", {})) for p in op.get("parameters", ()) if p["in"] == "query"}
    problems = []
    for name, count in Counter(name for name, _ in query).items():
        if name not in declared:
            problems.append(f"query parameter {name!r} is not declared for this operation")
        elif count > 1 and declared[name].get("type") != "array":
            problems.append(f"query parameter {name!r} is given {count} times")
    for name, value in query:
        if declared.get(name, {}).get("type") == "integer" and not _PLAIN_INTEGER.fullmatch(value):
            problems.append(f"query parameter {name}={value!r} is not a plain decimal integer")
    return problems


def form_problems(schema: Mapping[str, Any], body: bytes) -> list[str]:
    """What the schema cannot say about a form body: only known keys, each once unless an array,
    arrays as repeated keys, booleans exactly ``true``/``false``, integers plain decimal."""
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        return [f"the body is not an ASCII urlencoded form ({exc}): {body[:80]!r}"]
    properties = schema["properties"]
    problems = []
    for key, count in Counter(key for key, _ in pairs).items():
        if key.endswith("[]") and key[:-2] in properties:
            problems.append(f"array field {key[:-2]!r} is sent in bracket form {key!r}, not as repeated keys")
        elif key not in properties:
            problems.append(f"unknown form field {key!r}")
        elif count > 1 and resolve(properties[key]).get("type") != "array":
            problems.append(f"form field {key!r} is not an array but is given {count} times")
    for key, value in pairs:
        kind = resolve(properties[key]).get("type") if key in properties else None
        if kind == "boolean" and value not in ("true", "false"):
            problems.append(f"boolean field {key}={value!r} is not exactly 'true' or 'false'")
        elif kind == "integer" and not _PLAIN_INTEGER.fullmatch(value):
            problems.append(f"integer field {key}={value!r} is not a plain decimal integer")
        elif kind == "array" and "," in value:
            problems.append(f"array field {key}={value!r} looks comma-joined; send one key per item")
    return problems


def json_problems(documented: Mapping[str, str], body: bytes) -> list[str]:
    """A JSON body the spec leaves open, against its documented keys: an object of lists of SIDs with
    each key's prefix, sent compact (at most 50 SIDs, as Twilio's docs say)."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        return [f"the body is not JSON ({exc}): {body[:80]!r}"]
    if not isinstance(value, dict):
        return [f"the JSON body is not an object: {body[:80]!r}"]
    problems = [f"unknown JSON body key {key!r}" for key in value if key not in documented]
    for key, prefix in documented.items():
        sids = value.get(key)
        if sids is None:
            continue
        pattern = re.compile(prefix + "[0-9a-fA-F]{32}")
        if not isinstance(sids, list) or not 1 <= len(sids) <= 50:
            problems.append(f"JSON body key {key!r} must be a list of 1 to 50 SIDs, got {sids!r}")
        elif not all(isinstance(sid, str) and pattern.fullmatch(sid) for sid in sids):
            problems.append(f"JSON body key {key!r} holds a value that is not a {prefix} SID: {sids!r}")
    if body != json.dumps(value, separators=(",", ":")).encode():
        problems.append("the JSON body is not compact")
    return problems


class RequestRecorder:
    """The requests sent to the API during one test, checked when the test ends."""

    def __init__(self) -> None:
        self.sent: list[SentRequest] = []
        # The same request object may pass several hooks (client, then transport): record it once.
        self._seen: dict[int, httpx.Request] = {}

    def record(self, request: httpx.Request) -> None:
        if self._seen.get(id(request)) is request:
            return
        self._seen[id(request)] = request
        sent = SentRequest.from_httpx(request)
        if sent.api_path is not None:
            self.sent.append(sent)

    def problems(self) -> list[str]:
        """One line per problem, naming the request it is in."""
        return [f"{sent.method} {sent.url}: {problem}" for sent in self.sent for problem in check_request(sent)]

    def clear(self) -> None:
        self.sent.clear()


#: The running test's recorder, while there is one.
_active: list[RequestRecorder] = []


def _record(request: httpx.Request) -> None:
    if _active:
        _active[-1].record(request)


def _recording(method: Any) -> Any:
    """``method`` (a send or handle_request) recording its request once it is done with it, success or
    not: by then an ``auth=`` flow has added its Authorization header."""
    if getattr(method, "_records_requests", False):
        return method
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def recording_async(self: Any, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, request, *args, **kwargs)
            finally:
                _record(request)

        wrapper: Any = recording_async
    else:

        @functools.wraps(method)
        def recording(self: Any, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, request, *args, **kwargs)
            finally:
                _record(request)

        wrapper = recording
    wrapper._records_requests = True
    return wrapper


_TRANSPORT_METHODS = {httpx.AsyncBaseTransport: "handle_async_request", httpx.BaseTransport: "handle_request"}


def _hook_transport(cls: type) -> None:
    for base, name in _TRANSPORT_METHODS.items():
        if issubclass(cls, base) and name in vars(cls):
            setattr(cls, name, _recording(vars(cls)[name]))


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _hook_subclasses_of(base: type) -> None:
    """Give ``base`` an ``__init_subclass__`` that hooks transports defined from now on (a test's own)."""

    def init_subclass(cls: Any, /, **kwargs: Any) -> None:
        super(base, cls).__init_subclass__(**kwargs)  # type: ignore[arg-type]
        _hook_transport(cls)

    setattr(base, "__init_subclass__", classmethod(init_subclass))  # noqa: B010 (mypy forbids the plain assignment)


def _recording_exchange(method: Any) -> Any:
    """An engine's ``exchange`` recording the request it sends, as an httpx.Request (engines that build none)."""

    @functools.wraps(method)
    async def exchange(self: Any, verb: str, url: str, headers: Any, body: bytes | None, *timeouts: Any) -> Any:
        try:
            return await method(self, verb, url, headers, body, *timeouts)
        finally:
            _record(httpx.Request(verb, url, headers=headers, content=body))

    return exchange


def _engines_without_httpx_objects() -> list[type]:
    """The engines whose requests never pass an httpx client or transport (the httpx engine's do)."""
    from taskrouter_async._engines.httpcore_engine import HttpcoreEngine

    engines: list[type] = [HttpcoreEngine]
    try:
        from taskrouter_async._engines.aiohttp_engine import AiohttpEngine

        engines.append(AiohttpEngine)
    except ImportError:  # the aiohttp extra is not installed
        pass
    try:
        from taskrouter_async._engines.pyreqwest_engine import PyreqwestEngine

        engines.append(PyreqwestEngine)
    except ImportError:  # the pyreqwest extra is not installed (or Python < 3.11)
        pass
    return engines


@functools.cache
def install_hooks() -> None:
    """Once per process: every request that reaches an engine, httpx client or transport goes to ``_record``."""
    for engine in _engines_without_httpx_objects():
        engine.exchange = _recording_exchange(engine.exchange)  # type: ignore[attr-defined]
    for client in (httpx.AsyncClient, httpx.Client):
        client.send = _recording(client.send)  # type: ignore[method-assign]
    for base in _TRANSPORT_METHODS:
        for cls in _subclasses(base):
            _hook_transport(cls)
        _hook_subclasses_of(base)


@pytest.fixture(autouse=True)
def spec_conformance(request: pytest.FixtureRequest) -> Iterator[RequestRecorder]:
    """Record every API request the test sends through httpx; fail the test if one breaks the spec."""
    install_hooks()
    recorder = RequestRecorder()
    _active.append(recorder)
    try:
        yield recorder
    finally:
        _active.remove(recorder)
    if request.node.get_closest_marker(MARKER) is None:
        problems = recorder.problems()
        if problems:
            pytest.fail(
                f"{len(problems)} request(s) break the TaskRouter spec "
                f"(mark the test @pytest.mark.{MARKER} if that is deliberate):\n  " + "\n  ".join(problems),
                pytrace=False,
            )
