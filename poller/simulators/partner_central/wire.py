"""awsJson 1.0 wire helpers for the Partner Central simulator: the service model, errors, timestamps, shape projection."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import uuid
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape

from poller.core.timefmt import parse_iso
from poller.simulators.server import Response

SERVICE = "partnercentral-selling"
TARGET_PREFIX = "AWSPartnerCentralSelling."
CONTENT_TYPE = "application/x-amz-json-1.0"
CATALOGS = ("AWS", "Sandbox")
# §7.2 of the reference: these share the one read budget (10 req/s per partner account).
READ_OPERATIONS = frozenset({"GetOpportunity", "GetAwsOpportunitySummary", "ListOpportunities", "ListSolutions",
                             "GetEngagementInvitation", "ListEngagementInvitations"})


@functools.cache
def service_model(service: str = SERVICE) -> ServiceModel:
    """botocore's own model, loaded once: the simulator validates and shapes against what the client was built from."""
    return botocore.session.get_session().get_service_model(service)


def shape(name: str, service: str = SERVICE) -> Shape:
    return service_model(service).shape_for(name)


class ServiceError(Exception):
    """An error answer: `{"__type": code, "Message": ...}` plus any modeled extras, with its HTTP status."""

    def __init__(self, code: str, message: str, *, status: int = 400, **extra: Any):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def response(self) -> Response:
        return json_response(self.status, {"__type": self.code, "Message": self.message, **self.extra})


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


def validation_error(errors: list[dict[str, str]]) -> ServiceError:
    first = errors[0]
    return ServiceError("ValidationException", f"{first['FieldName']}: {first['Message']}",
                        Reason="REQUEST_VALIDATION_FAILED", ErrorList=errors)


def json_response(status: int, payload: Any) -> Response:
    # botocore reads ResponseMetadata.RequestId from this header; the real service always sends one.
    return Response(status=status, body=json.dumps(payload).encode(),
                    headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())})


def wire_time(moment: dt.datetime) -> str:
    """The service's own timestamp form: UTC, milliseconds, Z (e.g. 2025-12-15T23:36:17.505Z)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_datetime(value: Any) -> dt.datetime:
    """A datetime, an ISO 8601 string or epoch seconds → aware UTC datetime truncated to the wire's milliseconds."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        moment = moment.astimezone(dt.UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str):
        moment = _parse_text(value)
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_request_time(value: Any) -> dt.datetime:
    """A request timestamp at full precision (a filter bound must not be rounded, or inclusivity shifts)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        return _parse_text(value)
    raise ValueError(f"not a timestamp: {value!r}")


def _parse_text(text: str) -> dt.datetime:
    # fromisoformat is C-fast and reads the wire's own forms; parse_iso covers the rest (nanoseconds, odd fractions).
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return parse_iso(text)
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def project(value: Any, of: Shape) -> Any:
    """Copy `value` keeping only what shape `of` defines (recursively), nulls dropped, timestamps in wire form.

    This is how a full record becomes a list summary, and it also makes every answer a fresh copy of the state.
    """
    kind = of.type_name
    if kind == "structure" and isinstance(value, dict):
        members = of.members
        return {key: project(item, members[key]) for key, item in value.items()
                if item is not None and key in members}
    if kind == "list" and isinstance(value, list):
        return [project(item, of.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: project(item, of.value) for key, item in value.items()}
    if kind == "timestamp" and not isinstance(value, str):
        return wire_time(to_datetime(value))
    return value


def normalize_times(value: Any, of: Shape) -> Any:
    """A deep copy of `value` with every timestamp the shape knows about in wire form (other members kept as they are)."""
    kind = of.type_name
    if kind == "structure" and isinstance(value, dict):
        members = of.members
        return {key: normalize_times(item, members[key]) if key in members else copy.deepcopy(item)
                for key, item in value.items()}
    if kind == "list" and isinstance(value, list):
        return [normalize_times(item, of.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: normalize_times(item, of.value) for key, item in value.items()}
    if kind == "timestamp" and value is not None:
        return wire_time(to_datetime(value))
    return value


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> None:
    """Merge `changes` into `base` in place: dicts merge, lists and scalars replace, None deletes the key."""
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(base.get(key), dict):
                base[key] = {}
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
