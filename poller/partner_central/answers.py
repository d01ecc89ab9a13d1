"""Partner Central answers checked against botocore's model before botocore parses them, so one bad record is named.

botocore trusts the wire: a structure that arrives as a string raises AttributeError deep in its parser, and one
unreadable timestamp fails a whole listing page. A `before-parse` hook on the real client reads each answer
against the same model first. A record (a Get answer) that does not fit is refused with a message naming the
member; a listing item that does not fit is taken out of its page and set aside under `SET_ASIDE`, so the
other items parse and the caller can name it and read it again by id.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from botocore.model import OperationModel, Shape
from botocore.parsers import ResponseParserError

from poller.core.wire import text

LISTINGS = {"ListOpportunities": "OpportunitySummaries", "ListEngagementInvitations": "EngagementInvitationSummaries"}
READS = frozenset({"GetOpportunity", "GetAwsOpportunitySummary", "GetEngagementInvitation", *LISTINGS})
SET_ASIDE = "PollerUnreadableItems"  # key of the set-aside listing items in a parsed listing answer
NAME_CAP = 80  # a broken Id is named in logs and run rows, clipped


class UnreadableAnswer(ResponseParserError):
    """An answer that does not fit botocore's model: the same answer would come again, so it is not retried."""


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    shown = repr(value)  # repr escapes control characters and lone surrogates: safe in any log line
    return shown if len(shown) <= 40 else shown[:39] + "…"


def problem(value: Any, shape: Shape, path: str, parse_timestamp: Any) -> str | None:
    """The first way `value` does not fit `shape` (JSON types, unions, timestamps), or None; null is absent.

    Enums, patterns and lengths are not checked: AWS adds values, and a long text is still a text. A number where
    the model has a string is accepted too (it reads as its text).
    """
    if value is None:
        return None
    kind = shape.type_name
    name = path or "the answer"
    if kind == "structure":
        if not isinstance(value, dict):
            return f"{name} is {_kind(value)}, not an object"
        if shape.is_document_type:
            return None
        if shape.metadata.get("union"):  # botocore's rule: exactly one member set
            present = [k for k, v in value.items() if v is not None and k != "__type"]
            if len(present) != 1:
                return f"{name} sets {len(present)} members of a union, not one"
        members = _members(shape)
        for key, raw in value.items():  # what is there, not every member the model knows: most are absent
            known = members.get(key)
            if known is not None and raw is not None:
                member_name, member = known
                found = problem(raw, member, f"{path}.{member_name}" if path else member_name, parse_timestamp)
                if found:
                    return found
        return None
    if kind == "list":
        if not isinstance(value, list):
            return f"{name} is {_kind(value)}, not an array"
        for index, item in enumerate(value):
            found = problem(item, shape.member, f"{name}[{index}]", parse_timestamp)
            if found:
                return found
        return None
    if kind == "map":
        if not isinstance(value, dict):
            return f"{name} is {_kind(value)}, not an object"
        for key, item in value.items():
            found = problem(item, shape.value, f"{name}[{_shown(key)}]", parse_timestamp)  # a key is wire text
            if found:
                return found
        return None
    return _scalar_problem(value, kind, name, parse_timestamp)


_MEMBERS: dict[str, tuple[Shape, dict[str, tuple[str, Shape]]]] = {}


def _members(shape: Shape) -> dict[str, tuple[str, Shape]]:
    """JSON name → (member name, shape) of a structure, built once per shape (botocore keeps its shapes)."""
    cached = _MEMBERS.get(shape.name)
    if cached is None or cached[0] is not shape:
        members = {member.serialization.get("name", name): (name, member) for name, member in shape.members.items()}
        cached = _MEMBERS[shape.name] = (shape, members)
    return cached[1]


def _scalar_problem(value: Any, kind: str, name: str, parse_timestamp: Any) -> str | None:
    if kind == "timestamp":
        try:
            parse_timestamp(value)
        except (ValueError, TypeError, OverflowError, OSError):
            return f"{name} {_shown(value)} is not a timestamp"
        return None
    if kind == "string":  # most members: the fast path first
        fits = isinstance(value, str) or _is_number(value)
    elif kind in ("integer", "long"):
        fits = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("float", "double"):
        fits = _is_number(value)
    elif kind == "boolean":
        fits = isinstance(value, bool)
    elif kind == "blob":
        fits = isinstance(value, str) and _is_base64(value)
    else:
        fits = True
    return None if fits else f"{name} is {_kind(value)}, not a {kind}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _identity_problem(record: dict[str, Any], shape: Shape) -> str | None:
    """The record's own Id must be one the service could be asked about again (its model pattern)."""
    member = shape.members.get("Id")
    if member is None:
        return None
    value = record.get("Id")
    if value is None or value == "":
        return "missing Id"
    pattern = member.metadata.get("pattern")
    if pattern and not (isinstance(value, str) and re.fullmatch(pattern, value)):
        return f"Id {_shown(value)} does not match the {member.name} pattern"
    return None


def item_name(item: Any) -> str:
    """What to call a listing item in logs and run rows: its Id as text (cleaned, clipped), or a placeholder."""
    raw = item.get("Id") if isinstance(item, dict) else None
    name = text(raw) if isinstance(raw, str) else None
    if name is None:
        return "(an item without a readable Id)"
    return name if len(name) <= NAME_CAP else name[: NAME_CAP - 1] + "…"


class AnswerCheck:
    """The `before-parse` handler: refuse a broken record, set aside broken listing items."""

    def __init__(self, parse_timestamp: Any, *, listings: dict[str, str] | None = None,
                 reads: frozenset[str] | None = None):
        self.parse_timestamp = parse_timestamp
        self.listings = LISTINGS if listings is None else listings  # another service's (Benefits) read operations
        self.reads = READS if reads is None else reads

    def register(self, client: Any) -> None:
        client.meta.events.register(f"before-parse.{client.meta.service_model.service_id.hyphenize()}", self)

    def __call__(self, operation_model: OperationModel, response_dict: dict[str, Any],
                 customized_response_dict: dict[str, Any], **_: Any) -> None:
        operation = operation_model.name
        if operation not in self.reads or response_dict.get("status_code", 500) >= 300:
            return  # error answers have their own parser
        raw = response_dict.get("body") or b"{}"
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # bytes that are not UTF-8, nesting deeper than Python's stack
            raise UnreadableAnswer(f"the answer is not JSON ({type(exc).__name__})") from None
        if not isinstance(body, dict):
            raise UnreadableAnswer(f"the answer is {_kind(body)}, not an object")
        shape = operation_model.output_shape
        listing = self.listings.get(operation)
        if listing is None:
            found = problem(body, shape, "", self.parse_timestamp) or _identity_problem(body, shape)
            if found:
                raise UnreadableAnswer(found)
            return
        self._set_aside(body, shape, listing, response_dict, customized_response_dict)

    def _set_aside(self, body: dict[str, Any], shape: Shape, listing: str, response_dict: dict[str, Any],
                   customized_response_dict: dict[str, Any]) -> None:
        items = body.get(listing)
        found = problem({k: v for k, v in body.items() if k != listing}, shape, "", self.parse_timestamp)
        if found:  # e.g. NextToken: the page itself is broken, not one item
            raise UnreadableAnswer(found)
        if items is None:
            return
        if not isinstance(items, list):
            raise UnreadableAnswer(f"{listing} is {_kind(items)}, not an array")
        item_shape = shape.members[listing].member
        kept, unreadable = [], []
        for index, item in enumerate(items):
            if item is None:
                continue  # a null item is no item
            reason = (problem(item, item_shape, "", self.parse_timestamp)
                      or _identity_problem(item, item_shape))
            if reason is None:
                kept.append(item)
                continue
            readable_id = None if _identity_problem(item, item_shape) else item["Id"]
            unreadable.append({"Id": readable_id, "Name": item_name(item), "Reason": reason, "Position": index})
        if len(kept) != len(items):
            body[listing] = kept
            response_dict["body"] = json.dumps(body).encode()
        if unreadable:
            customized_response_dict[SET_ASIDE] = unreadable
