"""All 61 operations of TaskRouter v1, called in process through the public client.

Each operation is called with every argument it takes (path SIDs, a params object with every field
set, every query keyword), answered with each of the spec's example responses (204 for a delete), and
checked three ways: the request is what the spec allows (the autouse ``spec_conformance`` fixture,
asked here explicitly too), it carries exactly the arguments given, and the example parses into the
operation's model and back (``to_dict``) unchanged. Then what is special to some operations: the JSON
body of bulk queue statistics, If-Match and ETag on tasks and workers, the retry rules of creates and
deletes, JSON-text fields, and validation before any request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import attrs
import httpx
import pytest
import respx

from taskrouter_async import (
    APIError,
    AsyncTaskRouter,
    JsonObject,
    NotFoundError,
    TaskChannelCreate,
    TaskCreate,
    TaskReservationUpdate,
    TaskUpdate,
    ValidationError,
    WorkerCreate,
    WorkerUpdate,
    WorkflowCreate,
    _retry,
)
from taskrouter_async._converter import structure_model, structure_page, wire_name

from .sids import ACCOUNT_SID, AUTH_TOKEN, TASK_SID, WORKER_SID, WORKSPACE_SID
from .spec_check import RequestRecorder
from .spec_values import (
    OPERATION_IDS,
    example_answers,
    full_params,
    library_operations,
    path_values,
    query_value,
    spec_operations,
)

pytestmark = pytest.mark.anyio

QUEUE_SIDS = ["WQ" + "0" * 32, "WQ" + "f" * 32]
#: Each operation with its first example answer (through the client); the others are parsed apart.
CASES = [(operation_id, next(iter(example_answers(operation_id)))) for operation_id in OPERATION_IDS]
OTHER_EXAMPLES = [
    (operation_id, name) for operation_id in OPERATION_IDS for name in list(example_answers(operation_id))[1:]
]
ETAG = 'W/"7"'


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.002)


def concrete_path(operation_id: str) -> str:
    operation = library_operations()[operation_id].operation
    return operation.path.format(*path_values(operation))


def arguments(operation_id: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Everything an operation takes: path SIDs, its params or JSON body, every query keyword."""
    operation = library_operations()[operation_id].operation
    args: tuple[Any, ...] = path_values(operation)
    if operation.params is not None:
        args += (full_params(operation_id),)
    if operation.json_body:
        args += (QUEUE_SIDS,)
    keywords = {param.name: query_value(operation_id, param) for param in operation.query}
    if operation.lists:
        keywords["page_size"] = 50
    return args, keywords


async def call(client: AsyncTaskRouter, operation_id: str, *args: Any, **keywords: Any) -> Any:
    """Call an operation by its public name; a list is read to the end."""
    entry = library_operations()[operation_id]
    method = getattr(getattr(client, entry.attribute), entry.operation.name)
    if entry.operation.lists:
        return [item async for item in method(*args, **keywords)]
    return await method(*args, **keywords)


def expected_query(operation_id: str, keywords: dict[str, Any]) -> set[str]:
    operation = library_operations()[operation_id].operation
    wire = {param.name: param.wire for param in operation.query} | {"page_size": "PageSize"}
    return {wire[name] for name in keywords}


@pytest.mark.parametrize(("operation_id", "example"), CASES, ids=[f"{op}-{name}" for op, name in CASES])
async def test_every_operation_with_every_argument_conforms_and_parses_its_example(
    operation_id: str,
    example: str,
    client: AsyncTaskRouter,
    api: respx.MockRouter,
    spec_conformance: RequestRecorder,
) -> None:
    entry = library_operations()[operation_id]
    operation = entry.operation
    status, answer = example_answers(operation_id)[example]
    route = api.route(method=operation.method, path=concrete_path(operation_id)).respond(
        status, json=answer, headers={"ETag": ETAG}
    )
    args, keywords = arguments(operation_id)

    result = await call(client, operation_id, *args, **keywords)

    assert len(spec_conformance.sent) == 1
    assert spec_conformance.problems() == []
    assert route.call_count == 1
    request = route.calls.last.request
    assert (request.method, request.url.path) == (operation.method, concrete_path(operation_id))
    assert {key for key, _ in request.url.params.multi_items()} == expected_query(operation_id, keywords)
    if operation.params is not None:
        sent_keys = {key for key, _ in parse_qsl(request.content.decode("ascii"))}
        assert sent_keys == {wire_name(field.name) for field in attrs.fields(operation.params)}
    elif operation.json_body:
        assert json.loads(request.content) == {"TaskQueueSids": QUEUE_SIDS}
    else:
        assert request.content == b""

    if operation.model is None:
        assert result is None
        return
    records = answer[answer["meta"]["key"]] if operation.lists else [answer]
    items = result if operation.lists else [result]
    assert len(items) == len(records)
    for item, record in zip(items, records, strict=True):
        assert isinstance(item, operation.model)
        data = {key: value for key, value in item.to_dict().items() if key != "etag"}
        assert data == record, "the example parses into the model and back unchanged"
        if "etag" in attrs.fields_dict(operation.model) and not operation.lists:
            assert item.etag == ETAG
        _assert_typed_where_the_spec_types(item, record)


def _assert_typed_where_the_spec_types(item: Any, record: dict[str, Any]) -> None:
    """Integers are ints, date-times aware datetimes, open shapes mappings: never the raw JSON text."""
    for field in attrs.fields(type(item)):
        value, raw = getattr(item, field.name), record.get(field.name)
        if raw is None or field.name in ("extra", "etag"):
            continue
        if isinstance(value, datetime):
            assert value.utcoffset() is not None
            assert value.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        elif isinstance(raw, bool):
            assert value is raw
        elif isinstance(raw, int):
            assert type(value) is int
        elif isinstance(value, JsonObject):
            assert value.text == raw


@pytest.mark.parametrize(("operation_id", "example"), OTHER_EXAMPLES, ids=[f"{op}-{n}" for op, n in OTHER_EXAMPLES])
def test_every_other_example_parses_into_the_model_and_back(operation_id: str, example: str) -> None:
    operation = library_operations()[operation_id].operation
    assert operation.model is not None
    _, answer = example_answers(operation_id)[example]
    if operation.lists:
        items, meta = structure_page(answer, operation.model)
        assert meta.key == answer["meta"]["key"]
        records = answer[meta.key]
    else:
        items, records = [structure_model(answer, operation.model)], [answer]
    assert [{k: v for k, v in item.to_dict().items() if k != "etag"} for item in items] == records


def test_the_cases_cover_all_61_operations() -> None:
    assert len({operation_id for operation_id, _ in CASES}) == len(CASES) == 61
    with_examples = {op for op, name in CASES if name != "204"}
    assert len(with_examples) == 54
    assert len(CASES) - 7 + len(OTHER_EXAMPLES) == sum(len(example_answers(op)) for op in with_examples)
    deletes = {op for op, name in CASES if name == "204"}
    assert deletes == {op for op in OPERATION_IDS if spec_operations()[op][0] == "delete"}


async def test_raw_responses_carry_status_and_headers(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    status, answer = example_answers("CreateTask")["create"]
    api.post(f"/v1/Workspaces/{WORKSPACE_SID}/Tasks").respond(status, json=answer, headers={"ETag": ETAG})
    raw = await client.tasks.with_raw_response.create(WORKSPACE_SID, TaskCreate(priority=1))
    assert raw.status_code == 201
    assert raw.headers["etag"] == ETAG
    assert raw.parse().etag == ETAG


# --- the JSON body of bulk queue statistics ------------------------------------------------------

BULK_PATH = f"/v1/Workspaces/{WORKSPACE_SID}/TaskQueues/RealTimeStatistics"


async def test_bulk_real_time_statistics_sends_compact_json(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    _, answer = example_answers("CreateTaskQueueBulkRealTimeStatistics")["create"]
    route = api.post(BULK_PATH).respond(200, json=answer)
    statistics = await client.task_queues.bulk_real_time_statistics(WORKSPACE_SID, iter(QUEUE_SIDS))
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == b'{"TaskQueueSids":["%s","%s"]}' % (QUEUE_SIDS[0].encode(), QUEUE_SIDS[1].encode())
    assert statistics.task_queue_response_count == 100
    assert statistics.task_queue_data is not None
    assert statistics.task_queue_data[0]["tasks_by_status"]["pending"] == 0


@pytest.mark.parametrize(
    ("sids", "message"),
    [
        ([], "1 to 50"),
        (["WQ" + "0" * 32] * 51, "1 to 50"),
        ([QUEUE_SIDS[0], "WA" + "0" * 32], r"task_queue_sids\[1\]"),
        ("WQ" + "0" * 32, "list of SIDs"),
    ],
    ids=["empty", "51", "wrong-prefix", "a-string"],
)
async def test_bulk_real_time_statistics_refuses_bad_sids_before_io(
    sids: Any, message: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    with pytest.raises(ValidationError, match=message):
        await client.task_queues.bulk_real_time_statistics(WORKSPACE_SID, sids)
    assert not api.calls


# --- If-Match and ETag on tasks and workers ------------------------------------------------------

TASK_PATH = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}"
WORKER_PATH = f"/v1/Workspaces/{WORKSPACE_SID}/Workers/{WORKER_SID}"
ENTITIES = {
    "tasks": (TASK_PATH, TASK_SID, "FetchTask", TaskUpdate(priority=5)),
    "workers": (WORKER_PATH, WORKER_SID, "FetchWorker", WorkerUpdate(friendly_name="Alice")),
}


@pytest.mark.parametrize("attribute", list(ENTITIES))
async def test_etag_is_read_from_the_header_and_sent_back_as_if_match(
    attribute: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    path, sid, fetch_id, update = ENTITIES[attribute]
    _, answer = example_answers(fetch_id)["fetch"]
    api.get(path).respond(200, json=answer, headers={"ETag": ETAG})
    updated = api.post(path).respond(200, json=answer, headers={"ETag": 'W/"8"'})
    deleted = api.delete(path).respond(204)
    resource = getattr(client, attribute)

    current = await resource.fetch(WORKSPACE_SID, sid)
    assert current.etag == ETAG
    after = await resource.update(WORKSPACE_SID, sid, update, etag=current.etag)
    assert after.etag == 'W/"8"'
    await resource.update(WORKSPACE_SID, sid, update)
    await resource.delete(WORKSPACE_SID, sid, etag=after.etag)
    await resource.delete(WORKSPACE_SID, sid)

    assert [call.request.headers.get("If-Match") for call in updated.calls] == [ETAG, None]
    assert [call.request.headers.get("If-Match") for call in deleted.calls] == ['W/"8"', None]


@pytest.mark.parametrize("attribute", list(ENTITIES))
async def test_a_model_without_an_etag_header_has_none(
    attribute: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    path, sid, fetch_id, _ = ENTITIES[attribute]
    api.get(path).respond(200, json=example_answers(fetch_id)["fetch"][1])
    assert (await getattr(client, attribute).fetch(WORKSPACE_SID, sid)).etag is None


@pytest.mark.parametrize("etag", ["", "two\nlines", "café", 3])
async def test_a_bad_etag_is_refused_before_io(etag: Any, client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    with pytest.raises(ValidationError, match="etag"):
        await client.tasks.delete(WORKSPACE_SID, TASK_SID, etag=etag)
    with pytest.raises(ValidationError, match="etag"):
        await client.workers.update(WORKSPACE_SID, WORKER_SID, WorkerUpdate(friendly_name="x"), etag=etag)
    assert not api.calls


# --- retries of creates and deletes --------------------------------------------------------------

CREATE_PATH = f"/v1/Workspaces/{WORKSPACE_SID}/Tasks"


@pytest.fixture
async def retrying() -> Any:
    async with AsyncTaskRouter(ACCOUNT_SID, AUTH_TOKEN, max_retries=2, engine="httpx") as client:
        yield client


def _created() -> httpx.Response:
    return httpx.Response(201, json=example_answers("CreateTask")["create"][1])


@pytest.mark.parametrize(
    ("failure", "attempts"),
    [
        (httpx.Response(429, headers={"Retry-After": "0"}), 2),
        (httpx.ConnectError("refused"), 2),
        (httpx.ConnectTimeout("slow"), 2),
        (httpx.Response(500), 1),
        (httpx.Response(503), 1),
        (httpx.ReadTimeout("lost"), 1),
        (httpx.RemoteProtocolError("closed"), 1),
    ],
    ids=["429", "connect-error", "connect-timeout", "500", "503", "read-timeout", "closed-after-send"],
)
async def test_a_create_is_retried_only_on_429_and_when_unsent(
    failure: httpx.Response | Exception, attempts: int, retrying: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    """A repeat of a create that reached the server could create twice."""
    route = api.post(CREATE_PATH).mock(side_effect=[failure, _created()])
    if attempts == 2:
        task = await retrying.tasks.create(WORKSPACE_SID, TaskCreate(priority=1))
        assert task.sid == example_answers("CreateTask")["create"][1]["sid"]
    else:
        with pytest.raises(APIError):
            await retrying.tasks.create(WORKSPACE_SID, TaskCreate(priority=1))
    assert route.call_count == attempts


@pytest.mark.parametrize("failure", [httpx.Response(500), httpx.Response(503), httpx.ReadTimeout("lost")])
async def test_a_delete_is_retried_on_server_errors_and_lost_answers(
    failure: httpx.Response | Exception, retrying: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    route = api.delete(TASK_PATH).mock(side_effect=[failure, httpx.Response(204)])
    await retrying.tasks.delete(WORKSPACE_SID, TASK_SID)
    assert route.call_count == 2


async def test_a_retried_delete_answered_404_says_an_earlier_attempt_may_have_deleted_it(
    retrying: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    not_found = {"code": 20404, "message": "The requested resource was not found", "status": 404}
    route = api.delete(TASK_PATH).mock(side_effect=[httpx.Response(502), httpx.Response(404, json=not_found)])
    with pytest.raises(NotFoundError, match="an earlier attempt of this DELETE may have deleted it") as caught:
        await retrying.tasks.delete(WORKSPACE_SID, TASK_SID)
    assert caught.value.status_code == 404
    assert route.call_count == 2


@pytest.mark.parametrize("retried", [False, True], ids=["first-attempt", "with-if-match"])
async def test_a_404_says_nothing_of_earlier_attempts_when_there_was_none_to_blame(
    retried: bool, retrying: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    """On a first attempt the resource was not there; with If-Match, a repeat of a delete that went
    through would be a 412 or 404 of its own, so the hint would mislead."""
    answers = [httpx.Response(502), httpx.Response(404)] if retried else [httpx.Response(404)]
    api.delete(TASK_PATH).mock(side_effect=answers)
    with pytest.raises(NotFoundError) as caught:
        await retrying.tasks.delete(WORKSPACE_SID, TASK_SID, etag=ETAG if retried else None)
    assert "earlier attempt" not in str(caught.value)


# --- bulk updates of tasks and workers --------------------------------------------------------------


async def test_update_all_cancels_tasks_with_per_item_results(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    _, answer = example_answers("UpdateTask")["update"]
    sids = ["WT" + f"{n:032x}" for n in range(4)]
    for sid in sids[:3]:
        api.post(f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{sid}").respond(200, json=answer)
    api.post(f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{sids[3]}").respond(404, json={"code": 20404, "status": 404})
    cancel = TaskUpdate(assignment_status="canceled", reason="duplicate")
    results = await client.tasks.update_all([(WORKSPACE_SID, sid, cancel, ETAG) for sid in sids], concurrency=2)
    assert [result.index for result in results] == [0, 1, 2, 3]
    assert [result.error is None for result in results] == [True, True, True, False]
    assert isinstance(results[3].error, NotFoundError)
    assert all(call.request.headers["If-Match"] == ETAG for call in api.calls)


async def test_update_all_sets_workers_offline(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    _, answer = example_answers("UpdateWorker")["update"]
    route = api.post(url__regex=rf"/v1/Workspaces/{WORKSPACE_SID}/Workers/WK[0-9a-f]{{32}}").respond(200, json=answer)
    offline = WorkerUpdate(activity_sid="WA" + "0" * 32)
    items = [(WORKSPACE_SID, "WK" + f"{n:032x}", offline) for n in range(20)]
    results = await client.workers.update_all(items, concurrency=5)
    assert all(result.error is None for result in results)
    assert route.call_count == 20


# --- JSON-text fields ---------------------------------------------------------------------------


async def test_a_dict_is_sent_as_compact_json(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = api.post(CREATE_PATH).mock(return_value=_created())
    await client.tasks.create(WORKSPACE_SID, TaskCreate(attributes={"skills": ["en", "es"], "note": "café"}))
    (attributes,) = (
        value for key, value in parse_qsl(route.calls.last.request.content.decode()) if key == "Attributes"
    )
    assert attributes == '{"skills":["en","es"],"note":"café"}'


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: TaskCreate(attributes="{not json"), "attributes"),
        (lambda: TaskUpdate(attributes={"n": float("nan")}), "attributes"),
        (lambda: WorkerUpdate(attributes=42), "attributes"),
        (lambda: WorkflowCreate(friendly_name="w", configuration="[1,"), "configuration"),
    ],
    ids=["bad-text", "nan", "not-a-dict", "bad-configuration"],
)
def test_json_text_that_is_not_json_is_refused(make: Callable[[], object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        make()


async def test_json_text_strings_are_sent_as_given(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    route = api.post(CREATE_PATH).mock(return_value=_created())
    await client.tasks.create(WORKSPACE_SID, TaskCreate(attributes='{ "a" : 1 }'))
    assert dict(parse_qsl(route.calls.last.request.content.decode()))["Attributes"] == '{ "a" : 1 }'


async def test_an_answer_with_non_json_text_keeps_it_with_an_empty_parsed_view(
    client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    """Twilio's own workflow example has a configuration that is not JSON: kept, never an error."""
    _, workflow = example_answers("FetchWorkflow")["fetch"]
    _, task = example_answers("FetchTask")["fetch"]
    workflow_sid, task_sid = workflow["sid"], task["sid"]
    api.get(f"/v1/Workspaces/{WORKSPACE_SID}/Workflows/{workflow_sid}").respond(200, json=workflow)
    api.get(f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{task_sid}").respond(200, json={**task, "attributes": "plain words"})
    fetched_workflow = await client.workflows.fetch(WORKSPACE_SID, workflow_sid)
    fetched_task = await client.tasks.fetch(WORKSPACE_SID, task_sid)
    assert fetched_workflow.configuration is not None
    assert fetched_workflow.configuration.text == workflow["configuration"]
    assert fetched_task.attributes is not None
    assert fetched_task.attributes.text == "plain words"
    assert dict(fetched_task.attributes) == {}


async def test_json_text_in_an_answer_reads_as_a_mapping(client: AsyncTaskRouter, api: respx.MockRouter) -> None:
    _, task = example_answers("FetchTask")["fetch"]
    api.get(f"/v1/Workspaces/{WORKSPACE_SID}/Tasks/{TASK_SID}").respond(
        200, json={**task, "attributes": '{"skills":["en"],"level":3}'}
    )
    fetched = await client.tasks.fetch(WORKSPACE_SID, TASK_SID)
    assert fetched.attributes is not None
    assert fetched.attributes["skills"] == ["en"]
    assert dict(fetched.attributes) == {"skills": ["en"], "level": 3}


# --- validation before any request ---------------------------------------------------------------

NAIVE = datetime(2024, 5, 14, 10, 50, 2)


@pytest.mark.parametrize(
    ("call_", "field"),
    [
        (lambda c: c.tasks.fetch("WX" + "0" * 32, TASK_SID), "workspace_sid"),
        (lambda c: c.tasks.fetch(WORKSPACE_SID, "WK" + "0" * 32), "task_sid"),
        (lambda c: c.worker_channels.fetch(WORKSPACE_SID, WORKER_SID, ""), "worker_channel_sid"),
        (lambda c: c.task_queues.statistics(WORKSPACE_SID, "WQ123"), "task_queue_sid"),
        (lambda c: c.tasks.list(WORKSPACE_SID, priority=-1), "priority"),
        (lambda c: c.tasks.list(WORKSPACE_SID, assignment_status=["pending", "lost"]), "assignment_status"),
        (lambda c: c.task_reservations.list(WORKSPACE_SID, TASK_SID, reservation_status="x"), "reservation_status"),
        (lambda c: c.tasks.list(WORKSPACE_SID, has_addons="yes"), "has_addons"),
        (lambda c: c.workers.list(WORKSPACE_SID, available="1"), "available"),
        (lambda c: c.workers.list(WORKSPACE_SID, page_size=1001), "page_size"),
        (lambda c: c.workspaces.cumulative_statistics(WORKSPACE_SID, start_date=NAIVE), "start_date"),
        (lambda c: c.workspaces.statistics(WORKSPACE_SID, minutes=0), "minutes"),
        (lambda c: c.events.list(WORKSPACE_SID, task_sid="WT"), "task_sid"),
        (lambda c: c.tasks.update(WORKSPACE_SID, TASK_SID, TaskUpdate()), "TaskUpdate"),
        (lambda c: c.tasks.update(WORKSPACE_SID, TASK_SID, WorkerUpdate(friendly_name="x")), "TaskUpdate"),
        (lambda c: c.workspaces.create(TaskCreate(priority=1)), "WorkspaceCreate"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_bad_arguments_are_refused_naming_the_field_before_any_request(
    call_: Callable[[AsyncTaskRouter], Any], field: str, client: AsyncTaskRouter, api: respx.MockRouter
) -> None:
    with pytest.raises(ValidationError, match=field):
        await _drained(call_(client))
    assert not api.calls


async def _drained(result: Any) -> None:
    """Await a coroutine, or read an iterator to the end (a list checks its arguments when called)."""
    if hasattr(result, "__aiter__"):
        async for _ in result:
            pass
    else:
        await result


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: TaskCreate(timeout=0), "timeout"),
        (lambda: TaskCreate(timeout=1209601), "timeout"),
        (lambda: TaskCreate(priority=True), "priority"),
        (lambda: TaskCreate(workflow_sid="WQ" + "0" * 32), "workflow_sid"),
        (lambda: TaskCreate(virtual_start_time=NAIVE), "virtual_start_time"),
        (lambda: TaskCreate(ignore_capacity="yes"), "ignore_capacity"),
        (lambda: TaskUpdate(assignment_status="done"), "assignment_status"),
        (lambda: TaskReservationUpdate(beep="loud"), "beep"),
        (
            lambda: WorkflowCreate(friendly_name="w", configuration={}, assignment_callback_url="x"),
            "assignment_callback_url",
        ),
        (lambda: WorkerCreate(friendly_name=None), "friendly_name is required"),
        (lambda: WorkflowCreate(friendly_name="w", configuration=None), "configuration is required"),
        (lambda: WorkerCreate.from_api_dict({"ActivitySid": "WA" + "0" * 32}), "FriendlyName"),
        (lambda: TaskChannelCreate.from_api_dict({"FriendlyName": "Voice"}), "UniqueName"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_params_are_refused_naming_the_field(make: Callable[[], object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        make()


def test_a_create_without_a_field_the_spec_requires_cannot_be_built() -> None:
    """The spec's ``required`` fields of a create have no default: a Twilio 400 becomes a TypeError where the
    params are written (tests/typing/operations_bad.py wants it a mypy error too)."""
    with pytest.raises(TypeError, match="friendly_name"):
        WorkerCreate()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unique_name"):
        TaskChannelCreate(friendly_name="Voice")  # type: ignore[call-arg]
    assert WorkerCreate(friendly_name="Alice").to_api_dict() == {"FriendlyName": "Alice"}
