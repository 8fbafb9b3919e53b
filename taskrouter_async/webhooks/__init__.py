"""TaskRouter's side of a reservation's life: signed assignment and event callbacks, and the answers to them.

```python
from taskrouter_async.webhooks import AssignmentCallback, conference, verify_request

params = verify_request(auth_token, public_url, raw_body, request_headers.get("X-Twilio-Signature"))
callback = AssignmentCallback.from_form(params)
answer = conference(from_="+15550100", post_work_activity_sid="WA…").to_json()  # the JSON response
```

FastAPI and Starlette apps use the dependencies in ``taskrouter_async.webhooks.fastapi``
(imported on its own, so this package does not need them).
"""

from .._errors import WebhookError, WebhookPayloadError, WebhookPayloadTooLargeError, WebhookSignatureError
from ._callbacks import RESERVATION_EVENT_STATUS, AssignmentCallback, EventCallback, EventType, ReservationEvent
from ._instructions import (
    INSTRUCTION_KEYS,
    AssignmentInstruction,
    accept,
    call,
    conference,
    dequeue,
    redirect,
    reject,
)
from ._signature import (
    DEFAULT_MAX_BODY_SIZE,
    SIGNATURE_HEADER,
    FormParams,
    compute_signature,
    parse_form,
    validate_body_signature,
    validate_signature,
    verify_request,
)

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "INSTRUCTION_KEYS",
    "RESERVATION_EVENT_STATUS",
    "SIGNATURE_HEADER",
    "AssignmentCallback",
    "AssignmentInstruction",
    "EventCallback",
    "EventType",
    "FormParams",
    "ReservationEvent",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookPayloadTooLargeError",
    "WebhookSignatureError",
    "accept",
    "call",
    "compute_signature",
    "conference",
    "dequeue",
    "parse_form",
    "redirect",
    "reject",
    "validate_body_signature",
    "validate_signature",
    "verify_request",
]
