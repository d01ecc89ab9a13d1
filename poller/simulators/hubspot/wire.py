"""HubSpot's wire conventions for the simulator: error bodies, timestamps, query parameters and JSON responses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from poller.simulators.server import Request, Response

# The category HubSpot puts in an error body for each status the simulator can answer.
CATEGORY_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    409: "CONFLICT",
    423: "LOCKED",
    477: "MIGRATION_IN_PROGRESS",
}


class ApiError(Exception):
    """Raised by a route to answer with HubSpot's error body; nothing the route did before raising is kept."""

    def __init__(self, status: int, message: str, category: str | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.body = error_body(status, message, category, **extra)


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(status: int, message: str, category: str | None = None, **extra: Any) -> dict[str, Any]:
    """HubSpot's error shape: status, message, correlationId, category, then any context/errors/subCategory."""
    default = "INTERNAL_ERROR" if status >= 500 else CATEGORY_BY_STATUS.get(status, "VALIDATION_ERROR")
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": correlation_id(),
                            "category": category or default}
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def rate_limit_body(policy: str = "TEN_SECONDLY_ROLLING") -> dict[str, Any]:
    """The 429 body, as HubSpot sends it for the ten-second and the daily policy."""
    daily = policy == "DAILY"
    message = "You have reached your daily limit." if daily else "You have reached your ten_secondly_rolling limit."
    group = "publicapi:hapikey-api-calls-daily:1234567" if daily else "publicapi:hapikey-api-calls-ten-secondly:1234567"
    return {"status": "error", "message": message, "errorType": "RATE_LIMIT", "correlationId": correlation_id(),
            "policyName": policy, "groupName": group}


def json_response(status: int, payload: Any) -> Response:
    return Response.json(status, payload, content_type="application/json;charset=utf-8")


def iso_ms(seconds: float) -> str:
    """Epoch seconds → HubSpot's timestamp text (UTC, milliseconds, Z); the SDK parses it with dateutil."""
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_epoch_ms(value: str) -> float | None:
    """A timestamp property value (epoch ms or ISO 8601) → epoch ms; None when it is neither."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp() * 1000


def query_list(request: Request, name: str) -> list[str]:
    """A list parameter sent either repeated (the SDK's `multi` format) or comma-separated."""
    return [item for raw in request.query.get(name, []) for item in raw.split(",") if item]


def query_one(request: Request, name: str, default: str | None = None) -> str | None:
    values = request.query.get(name)
    return values[0] if values else default


def query_bool(request: Request, name: str) -> bool:
    # urllib3 encodes Python's False as "False", so compare case-insensitively.
    return (query_one(request, name, "false") or "false").lower() == "true"


def query_int(request: Request, name: str, default: int) -> int:
    raw = query_one(request, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid input JSON on line 1: {name} must be an integer, got '{raw}'") from None


def offset_after(raw: str | None) -> int:
    """Paging cursors are plain offsets here; HubSpot's are opaque strings, so clients never parse them."""
    if not raw:
        return 0
    try:
        return max(0, int(raw))
    except ValueError:
        raise ApiError(400, f"Invalid paging cursor '{raw}'") from None


def batch_envelope(results: list[Any], errors: list[dict[str, Any]], started: float, now: float) -> dict[str, Any]:
    """The BatchResponse shape; the errors fields appear only when there are errors (the …WithErrors model)."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": iso_ms(started),
                            "completedAt": iso_ms(now)}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body


def body_json(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        raise ApiError(400, "Invalid input JSON: the request body is not valid JSON") from None
