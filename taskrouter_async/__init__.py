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
from ._ratelimit import RateLimit, RateLimitStats
from ._raw_response import RawResponse
from ._version import __version__

if TYPE_CHECKING:
    from .resources import *  # noqa: F403  every resource, model, params class and enum (resources.__all__)
    from .resources._reservation_layer import Reservations

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
    "HttpMethod",
    "InternalServerError",
    "JitterBufferSize",
    "JsonObject",
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
    "ReservationStatus",
    "Reservations",
    "SupervisorMode",
    "TaskRouterError",
    "ValidationError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookPayloadTooLargeError",
    "WebhookSignatureError",
    "WorkspaceBulkItem",
    "__version__",
]
__all__ += resources.__all__


def __getattr__(name: str) -> Any:
    """The resources' names load with their module on first use (see ``resources``)."""
    if name == "Reservations":
        from .resources._reservation_layer import Reservations

        return Reservations
    return getattr(resources, name)


def __dir__() -> list[str]:
    return sorted(__all__)
