"""Request validation for the Partner Central simulator: walk botocore's input shape as the real service would."""

from __future__ import annotations

import functools
import re
from typing import Any

from botocore.model import OperationModel, Shape

from poller.simulators.partner_central.wire import ServiceError, parse_request_time, validation_error
from poller.simulators.server import Request

# botocore checks required members, types and `min` on the client; it lets `max`, `pattern` and enums through
# (reference §9), so those are what a wrong caller actually sends and what the server must answer.
Error = dict[str, str]


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # the two tag patterns use Java's \p{L}; Python `re` cannot check them, so skip
        return None


def checked_params(request: Request, operation: OperationModel) -> dict[str, Any]:
    """The request's JSON body, checked against the operation's input shape as the real service would."""
    try:
        params = request.json()
    except ValueError:
        raise ServiceError("SerializationException", "the body is not JSON") from None
    errors = validate(params, operation.input_shape)
    if errors:
        raise validation_error(errors)
    return params


def validate(params: Any, of: Shape) -> list[Error]:
    """Every problem in `params` against input shape `of`, as ValidationException ErrorList entries."""
    errors: list[Error] = []
    _check(params, of, "", errors)
    return errors


def _error(errors: list[Error], field: str, code: str, message: str) -> None:
    errors.append({"FieldName": field or "body", "Message": message, "Code": code})


def _check(value: Any, of: Shape, field: str, errors: list[Error]) -> None:
    kind = of.type_name
    if kind == "structure":
        _check_structure(value, of, field, errors)
    elif kind == "list":
        if not isinstance(value, list):
            _error(errors, field, "INVALID_VALUE", "must be a list")
            return
        _check_range(len(value), of, field, errors, "length")
        for index, item in enumerate(value):
            _check(item, of.member, f"{field}[{index}]", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            _error(errors, field, "INVALID_VALUE", "must be an object")
            return
        _check_range(len(value), of, field, errors, "size")
        for key, item in value.items():
            _check(key, of.key, f"{field}.{key}", errors)
            _check(item, of.value, f"{field}.{key}", errors)
    elif kind == "string":
        _check_string(value, of, field, errors)
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            _error(errors, field, "INVALID_VALUE", "must be an integer")
            return
        _check_range(value, of, field, errors, "value")
    elif kind in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            _error(errors, field, "INVALID_VALUE", "must be a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            _error(errors, field, "INVALID_VALUE", "must be a boolean")
    elif kind == "timestamp":
        try:
            parse_request_time(value)
        except (ValueError, TypeError, OverflowError):
            _error(errors, field, "INVALID_STRING_FORMAT", f"{value!r} is not an ISO 8601 timestamp")


def _check_structure(value: Any, of: Shape, field: str, errors: list[Error]) -> None:
    if not isinstance(value, dict):
        _error(errors, field, "INVALID_VALUE", "must be an object")
        return
    prefix = f"{field}." if field else ""
    members = of.members
    for name in of.required_members:
        if value.get(name) is None:
            _error(errors, prefix + name, "REQUIRED_FIELD_MISSING", "is required")
    present = [name for name, item in value.items() if item is not None]
    if of.metadata.get("union") and len(present) != 1:
        _error(errors, field, "INVALID_VALUE", "a union must set exactly one member")
    for name in present:
        if name not in members:
            _error(errors, prefix + name, "INVALID_VALUE", "is not a member of " + of.name)
        else:
            _check(value[name], members[name], prefix + name, errors)


def _check_string(value: Any, of: Shape, field: str, errors: list[Error]) -> None:
    if not isinstance(value, str):
        _error(errors, field, "INVALID_VALUE", "must be a string")
        return
    enum = of.metadata.get("enum")
    if enum and value not in enum:
        _error(errors, field, "INVALID_ENUM_VALUE", f"{value!r} is not one of {', '.join(enum)}")
        return
    if not _check_range(len(value), of, field, errors, "length"):
        return
    pattern = of.metadata.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    if compiled is not None and compiled.fullmatch(value) is None:
        _error(errors, field, "INVALID_STRING_FORMAT", f"{value!r} does not match {pattern}")


def _check_range(number: int, of: Shape, field: str, errors: list[Error], what: str) -> bool:
    low, high = of.metadata.get("min"), of.metadata.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{'' if low is None else low}..{'' if high is None else high}"
        _error(errors, field, "VALUE_OUT_OF_RANGE", f"{what} {number} is outside {bounds}")
        return False
    return True
