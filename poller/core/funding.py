"""Funding (Partner Central Benefits): applications and allocations normalized, and the events they yield."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from poller.core.aws_values import canonical
from poller.core.errors import MalformedRecord
from poller.core.events import make_event
from poller.core.model import Event
from poller.core.notes.wording import when
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso, parse_iso
from poller.core.wire import strings, text, timestamp

# Decisions a seller acts on (BenefitApplicationStatus); IN_REVIEW, PENDING_SUBMISSION, CANCELED notify nobody.
DECISIONS = {"approved", "actionrequired", "rejected"}
_OPPORTUNITY_ARN = re.compile(r":catalog/[^/]+/opportunity/(O[0-9]{1,19})$")


@dataclass(frozen=True, slots=True, kw_only=True)
class BenefitApplication:
    """A benefit application: which benefit, its status, and the opportunities it is associated with."""

    application_id: str
    status: str
    name: str | None = None
    stage: str | None = None
    programs: tuple[str, ...] = ()
    opportunity_ids: tuple[str, ...] = ()
    updated_at: str | None = None  # AWS UpdatedAt
    status_reason: str | None = None  # GetBenefitApplication only: read for action-required and rejected

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenefitApplication:
        return cls(**{**data, "programs": tuple(data.get("programs") or ()),
                      "opportunity_ids": tuple(data.get("opportunity_ids") or ())})


@dataclass(frozen=True, slots=True, kw_only=True)
class BenefitAllocation:
    """What an approved application allocated (credits, cash, access) and when it expires."""

    allocation_id: str
    status: str
    application_id: str | None = None
    name: str | None = None
    expires_at: str | None = None
    fulfillment_types: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenefitAllocation:
        return cls(**{**data, "fulfillment_types": tuple(data.get("fulfillment_types") or ())})


def _required(item: Mapping[str, Any], rid_name: str) -> tuple[str, str]:
    rid = text(item.get("Id"))
    if rid is None:
        raise MalformedRecord(repr(item.get("Id")), f"{rid_name} without Id")
    status = text(item.get("Status"))
    if status is None:
        raise MalformedRecord(rid, f"{rid_name} without Status")
    return rid, status


def application_from(item: Mapping[str, Any], detail: Mapping[str, Any] | None = None) -> BenefitApplication:
    """A ListBenefitApplications summary (+ GetBenefitApplication, which wins where it has a value)."""
    merged = {**item, **{k: v for k, v in (detail or {}).items() if v not in (None, "", [])}}
    rid, status = _required(merged, "benefit application")
    arns = strings(merged, "AssociatedResources", rid)
    return BenefitApplication(
        application_id=rid, status=status, name=text(merged.get("Name")), stage=text(merged.get("Stage")),
        programs=strings(merged, "Programs", rid),
        opportunity_ids=tuple(sorted({m.group(1) for a in arns if (m := _OPPORTUNITY_ARN.search(a))})),
        updated_at=timestamp(merged.get("UpdatedAt"), rid, "UpdatedAt"),
        status_reason=text(merged.get("StatusReason")) or text(merged.get("StatusReasonCode")))


def allocation_from(item: Mapping[str, Any]) -> BenefitAllocation:
    rid, status = _required(item, "benefit allocation")
    return BenefitAllocation(allocation_id=rid, status=status, application_id=text(item.get("BenefitApplicationId")),
                             name=text(item.get("Name")), expires_at=timestamp(item.get("ExpiresAt"), rid, "ExpiresAt"),
                             fulfillment_types=strings(item, "FulfillmentTypes", rid))


def needs_reason(old: BenefitApplication | None, new: BenefitApplication) -> bool:
    """Whether the decision is worth a GetBenefitApplication read for AWS's reason (the list has none)."""
    status = canonical(new.status)
    return status in ("actionrequired", "rejected") and (old is None or canonical(old.status) != status)


def decision_events(old: BenefitApplication | None, new: BenefitApplication, deal_ids: Mapping[str, str | None],
                    now: dt.datetime, *, rules: RuleConfig) -> list[Event]:
    """A funding_decision on each associated opportunity when the status became approved, action required or
    rejected (a first-seen application is compared with none, like any record seen after the baseline)."""
    status = canonical(new.status)
    if status not in DECISIONS or (old is not None and canonical(old.status) == status):
        return []
    if "funding_decision" in rules.muted_kinds:
        return []
    priority = "MEDIUM" if status == "rejected" else None
    return [make_event("funding_decision", oid, value=[new.application_id, status], version=new.updated_at or "",
                       occurred_at=new.updated_at or iso(now), rules=rules, priority=priority, deal_id=deal_ids.get(oid),
                       facts=(("status", new.status), ("benefit", new.name), ("programs", ", ".join(new.programs)),
                              ("reason", new.status_reason), ("application", new.application_id)))
            for oid in new.opportunity_ids]


def expiring(allocations: Iterable[tuple[BenefitAllocation, BenefitApplication | None, bool]], now: dt.datetime,
             deal_ids: Mapping[str, str | None], *, rules: RuleConfig) -> list[Event]:
    """funding_expiring for each ACTIVE allocation of an opportunity's application within `funding_expiry_hours` of
    its ExpiresAt. `bool`: the allocation was already inside its window when the benefits baseline recorded it
    (then it stays silent, as everything the baseline found)."""
    if "funding_expiring" in rules.muted_kinds:
        return []
    window = dt.timedelta(hours=rules.funding_expiry_hours)
    due: list[Event] = []
    for allocation, application, silent in allocations:
        if canonical(allocation.status) != "active" or application is None or not allocation.expires_at or silent:
            continue
        expires = parse_iso(allocation.expires_at)
        if not expires - window <= now < expires:
            continue
        due.extend(make_event(
            "funding_expiring", oid, value=[allocation.allocation_id], version=allocation.expires_at,
            occurred_at=iso(expires - window), rules=rules, deal_id=deal_ids.get(oid),
            facts=(("allocation", allocation.name or allocation.allocation_id),
                   ("expires", f"on {when(allocation.expires_at)}"), ("benefit", application.name),
                   ("kinds", ", ".join(allocation.fulfillment_types))))
            for oid in application.opportunity_ids)
    return due


def inside_window(allocation: BenefitAllocation, now: dt.datetime, rules: RuleConfig) -> bool:
    """Whether the allocation's reminder window is already open (what the baseline records as silent)."""
    if not allocation.expires_at:
        return False
    return parse_iso(allocation.expires_at) - dt.timedelta(hours=rules.funding_expiry_hours) <= now
