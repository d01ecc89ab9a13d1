"""The Partner Central simulator's stored records and how its list operations filter, sort and page them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from poller.simulators.partner_central.wire import ServiceError, parse_request_time, to_datetime

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(slots=True)
class StoredOpportunity:
    """One opportunity: the GetOpportunity record (wire timestamps), its AWS summary, and parsed sort keys."""

    catalog: str
    record: dict[str, Any]
    summary: dict[str, Any] | None = None
    malformed: bool = False
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # operation → fields answered verbatim
    verbatim: dict[str, dict[str, Any]] = field(default_factory=dict)  # operation → the whole answer, as is
    modified: dt.datetime = _EPOCH
    created: dt.datetime = _EPOCH

    def refresh(self) -> None:
        # Parsed once per change, so filtering and sorting 100k records never re-parses strings.
        self.catalog = self.record["Catalog"]
        self.modified = to_datetime(self.record["LastModifiedDate"])
        self.created = to_datetime(self.record["CreatedDate"])


@dataclass(slots=True)
class StoredInvitation:
    catalog: str
    record: dict[str, Any]
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # operation → fields answered verbatim
    verbatim: dict[str, dict[str, Any]] = field(default_factory=dict)  # operation → the whole answer, as is
    invited: dt.datetime = field(default=_EPOCH)

    def refresh(self) -> None:
        self.catalog = self.record["Catalog"]
        self.invited = to_datetime(self.record["InvitationDate"])


def _nested(record: dict[str, Any], *path: str) -> Any:
    for key in path:
        record = record.get(key) if isinstance(record, dict) else None  # type: ignore[assignment]
    return record


def _within(moment: dt.datetime, bounds: dict[str, Any] | None, after: str, before: str) -> bool:
    """Both bounds are inclusive ("on or after"), compared as datetimes at full request precision."""
    if not bounds:
        return True
    if after in bounds and moment < parse_request_time(bounds[after]):
        return False
    return not (before in bounds and moment > parse_request_time(bounds[before]))


_OPPORTUNITY_SORT_KEYS = {
    "LastModifiedDate": lambda o: o.modified,
    "CreatedDate": lambda o: o.created,
    "Identifier": lambda o: o.record["Id"],
    "CustomerCompanyName": lambda o: _nested(o.record, "Customer", "Account", "CompanyName") or "",
    "TargetCloseDate": lambda o: _nested(o.record, "LifeCycle", "TargetCloseDate") or "",
}


def select_opportunities(stored: Iterable[StoredOpportunity], catalog: str, params: dict[str, Any]) -> list[str]:
    """Ids of the opportunities ListOpportunities would return for `params`, in answer order."""
    ids = set(params.get("Identifier") or ())
    stages = set(params.get("LifeCycleStage") or ())
    reviews = set(params.get("LifeCycleReviewStatus") or ())
    companies = set(params.get("CustomerCompanyName") or ())
    modified, created = params.get("LastModifiedDate"), params.get("CreatedDate")
    closing = params.get("TargetCloseDate") or {}
    chosen = []
    for opp in stored:
        record = opp.record
        if opp.catalog != catalog or (ids and record["Id"] not in ids):
            continue
        if stages and _nested(record, "LifeCycle", "Stage") not in stages:
            continue
        if reviews and _nested(record, "LifeCycle", "ReviewStatus") not in reviews:
            continue
        if companies and _nested(record, "Customer", "Account", "CompanyName") not in companies:
            continue
        if not (_within(opp.modified, modified, "AfterLastModifiedDate", "BeforeLastModifiedDate")
                and _within(opp.created, created, "AfterCreatedDate", "BeforeCreatedDate")):
            continue
        if closing:  # Date strings (YYYY-MM-DD) order correctly as text
            close = _nested(record, "LifeCycle", "TargetCloseDate")
            if close is None or not (closing.get("AfterTargetCloseDate", "") <= close
                                     <= closing.get("BeforeTargetCloseDate", "9999-12-31")):
                continue
        chosen.append(opp)
    sort = params.get("Sort") or {"SortBy": "LastModifiedDate", "SortOrder": "DESCENDING"}
    key = _OPPORTUNITY_SORT_KEYS[sort["SortBy"]]
    # Ties break on Id so that pages are stable from one listing to the next.
    chosen.sort(key=lambda o: (key(o), o.record["Id"]), reverse=sort["SortOrder"] == "DESCENDING")
    return [opp.record["Id"] for opp in chosen]


def select_invitations(stored: Iterable[StoredInvitation], catalog: str, params: dict[str, Any]) -> list[str]:
    """Ids of the invitations ListEngagementInvitations would return for `params`, newest first by default."""
    filters = {name: set(params[name]) for name in ("PayloadType", "Status", "SenderAwsAccountId") if params.get(name)}
    engagements = set(params.get("EngagementIdentifier") or ())
    chosen = [
        inv for inv in stored
        if inv.catalog == catalog and inv.record.get("ParticipantType") == params["ParticipantType"]
        and all(inv.record.get(name) in wanted for name, wanted in filters.items())
        and (not engagements or inv.record.get("EngagementId") in engagements)
    ]
    descending = (params.get("Sort") or {}).get("SortOrder", "DESCENDING") == "DESCENDING"
    chosen.sort(key=lambda inv: (inv.invited, inv.record["Id"]), reverse=descending)
    return [inv.record["Id"] for inv in chosen]


class Pager:
    """NextToken bookkeeping: the id list is computed once per listing and each page gets a fresh opaque token.

    botocore's paginator refuses a token it has seen before, and re-sorting 100k records per page would make a
    1000-page listing quadratic; keeping (ids, offset) under the token avoids both.
    """

    def __init__(self, limit: int = 10_000):
        self._pages: OrderedDict[str, tuple[str, list[str], int]] = OrderedDict()
        self._limit = limit  # oldest tokens are forgotten, so abandoned listings cannot grow memory forever

    def resume(self, operation: str, token: str) -> tuple[list[str], int]:
        try:
            owner, ids, offset = self._pages[token]
        except KeyError:
            raise ServiceError("ValidationException", "The NextToken is invalid or has expired",
                               Reason="REQUEST_VALIDATION_FAILED",
                               ErrorList=[{"FieldName": "NextToken", "Message": "invalid token",
                                           "Code": "INVALID_VALUE"}]) from None
        if owner != operation:
            raise ServiceError("ValidationException", f"The NextToken belongs to {owner}",
                               Reason="REQUEST_VALIDATION_FAILED")
        return ids, offset

    def page(self, operation: str, ids: list[str], offset: int, size: int) -> tuple[list[str], str | None]:
        """The ids for this page and the token for the next one (None on the last page)."""
        end = offset + size
        if end >= len(ids):
            return ids[offset:], None
        token = uuid.uuid4().hex
        self._pages[token] = (operation, ids, end)
        while len(self._pages) > self._limit:
            self._pages.popitem(last=False)
        return ids[offset:end], token
