"""An async, typed client for the whole Twilio TaskRouter v1 API (asyncio and trio)."""

from typing import TYPE_CHECKING, Any

from . import resources
from ._bulk import BulkItem, BulkProgress, BulkResult, BulkRun, BulkUpdate, WorkspaceBulkItem
from ._client import (
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncTaskRouter,
)
from ._enums import (
    Beep,
    CallStatus,
    ConferenceEvent,
    ConferenceRecord,
    ConferenceTrim,
    HttpMethod,
    JitterBufferSize,
    RecordingChannels,
    Region,
    ReservationStatus,
    SupervisorMode,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    RateLimitTimeoutError,
    TaskRouterError,
    ValidationError,
    WebhookError,
    WebhookPayloadError,
    WebhookPayloadTooLargeError,
    WebhookSignatureError,
)
from ._logging import setup_from_env as _setup_logging_from_env
from ._models import JsonObject, Page, PageMeta
from ._params import Params
from ._ratelimit import LearnedBudget, RateLimit, RateLimitStats
from ._raw_response import RawResponse
from ._version import __version__

if TYPE_CHECKING:  # at run time these load with their module on first use (see __getattr__ below)
    from .resources._reservation_layer import Reservations
    from .resources.activities import (
        Activities,
        ActivitiesWithRawResponse,
        Activity,
        ActivityCreate,
        ActivityUpdate,
    )
    from .resources.events import (
        Event,
        Events,
        EventsWithRawResponse,
    )
    from .resources.reservations import (
        Reservation,
        ReservationUpdate,
        TaskReservation,
        TaskReservations,
        TaskReservationsWithRawResponse,
        TaskReservationUpdate,
        WorkerReservation,
        WorkerReservations,
        WorkerReservationsWithRawResponse,
        WorkerReservationUpdate,
    )
    from .resources.task_channels import (
        TaskChannel,
        TaskChannelCreate,
        TaskChannels,
        TaskChannelsWithRawResponse,
        TaskChannelUpdate,
    )
    from .resources.task_queues import (
        TaskQueue,
        TaskQueueBulkRealTimeStatistics,
        TaskQueueCreate,
        TaskQueueCumulativeStatistics,
        TaskQueueRealTimeStatistics,
        TaskQueues,
        TaskQueuesStatistics,
        TaskQueueStatistics,
        TaskQueuesWithRawResponse,
        TaskQueueTaskOrder,
        TaskQueueUpdate,
    )
    from .resources.tasks import (
        Task,
        TaskCreate,
        Tasks,
        TaskStatus,
        TasksWithRawResponse,
        TaskUpdate,
    )
    from .resources.worker_channels import (
        WorkerChannel,
        WorkerChannels,
        WorkerChannelsWithRawResponse,
        WorkerChannelUpdate,
    )
    from .resources.workers import (
        Worker,
        WorkerCreate,
        WorkerInstanceStatistics,
        Workers,
        WorkersCumulativeStatistics,
        WorkersRealTimeStatistics,
        WorkerStatistics,
        WorkersWithRawResponse,
        WorkerUpdate,
    )
    from .resources.workflows import (
        Workflow,
        WorkflowCreate,
        WorkflowCumulativeStatistics,
        WorkflowRealTimeStatistics,
        Workflows,
        WorkflowStatistics,
        WorkflowsWithRawResponse,
        WorkflowUpdate,
    )
    from .resources.workspaces import (
        Workspace,
        WorkspaceCreate,
        WorkspaceCumulativeStatistics,
        WorkspaceQueueOrder,
        WorkspaceRealTimeStatistics,
        Workspaces,
        WorkspaceStatistics,
        WorkspacesWithRawResponse,
        WorkspaceUpdate,
    )

_setup_logging_from_env()

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Activities",
    "ActivitiesWithRawResponse",
    "Activity",
    "ActivityCreate",
    "ActivityUpdate",
    "AsyncTaskRouter",
    "AuthenticationError",
    "BadRequestError",
    "Beep",
    "BulkItem",
    "BulkProgress",
    "BulkResult",
    "BulkRun",
    "BulkUpdate",
    "CallStatus",
    "ClientClosedError",
    "ConferenceEvent",
    "ConferenceRecord",
    "ConferenceTrim",
    "ConflictError",
    "Event",
    "Events",
    "EventsWithRawResponse",
    "HttpMethod",
    "InternalServerError",
    "JitterBufferSize",
    "JsonObject",
    "LearnedBudget",
    "NotFoundError",
    "Page",
    "PageMeta",
    "Params",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimit",
    "RateLimitError",
    "RateLimitStats",
    "RateLimitTimeoutError",
    "RawResponse",
    "RecordingChannels",
    "Region",
    "Reservation",
    "ReservationStatus",
    "ReservationUpdate",
    "Reservations",
    "SupervisorMode",
    "Task",
    "TaskChannel",
    "TaskChannelCreate",
    "TaskChannelUpdate",
    "TaskChannels",
    "TaskChannelsWithRawResponse",
    "TaskCreate",
    "TaskQueue",
    "TaskQueueBulkRealTimeStatistics",
    "TaskQueueCreate",
    "TaskQueueCumulativeStatistics",
    "TaskQueueRealTimeStatistics",
    "TaskQueueStatistics",
    "TaskQueueTaskOrder",
    "TaskQueueUpdate",
    "TaskQueues",
    "TaskQueuesStatistics",
    "TaskQueuesWithRawResponse",
    "TaskReservation",
    "TaskReservationUpdate",
    "TaskReservations",
    "TaskReservationsWithRawResponse",
    "TaskRouterError",
    "TaskStatus",
    "TaskUpdate",
    "Tasks",
    "TasksWithRawResponse",
    "ValidationError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookPayloadTooLargeError",
    "WebhookSignatureError",
    "Worker",
    "WorkerChannel",
    "WorkerChannelUpdate",
    "WorkerChannels",
    "WorkerChannelsWithRawResponse",
    "WorkerCreate",
    "WorkerInstanceStatistics",
    "WorkerReservation",
    "WorkerReservationUpdate",
    "WorkerReservations",
    "WorkerReservationsWithRawResponse",
    "WorkerStatistics",
    "WorkerUpdate",
    "Workers",
    "WorkersCumulativeStatistics",
    "WorkersRealTimeStatistics",
    "WorkersWithRawResponse",
    "Workflow",
    "WorkflowCreate",
    "WorkflowCumulativeStatistics",
    "WorkflowRealTimeStatistics",
    "WorkflowStatistics",
    "WorkflowUpdate",
    "Workflows",
    "WorkflowsWithRawResponse",
    "Workspace",
    "WorkspaceBulkItem",
    "WorkspaceCreate",
    "WorkspaceCumulativeStatistics",
    "WorkspaceQueueOrder",
    "WorkspaceRealTimeStatistics",
    "WorkspaceStatistics",
    "WorkspaceUpdate",
    "Workspaces",
    "WorkspacesWithRawResponse",
    "__version__",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise take any misspelt name as Any

    def __getattr__(name: str) -> Any:
        """The resources' names load with their module on first use (see ``resources``)."""
        if name == "Reservations":
            from .resources._reservation_layer import Reservations

            return Reservations
        return getattr(resources, name)


def __dir__() -> list[str]:
    return sorted(__all__)
