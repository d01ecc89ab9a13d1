"""Partner Central's EventBridge events → what each one names to read again: an opportunity, an invitation, the listing."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SOURCE = "aws.partnercentral-selling"
SCHEDULED = "Scheduled Event"  # a rule's schedule (`rate(5 minutes)`, source aws.events): a whole cycle
OPPORTUNITY_EVENTS = frozenset({"Opportunity Created", "Opportunity Updated", "Opportunity Accepted",
                                "Opportunity Rejected"})
INVITATION_EVENTS = frozenset({"Engagement Invitation Created", "Engagement Invitation Accepted",
                               "Engagement Invitation Rejected", "Engagement Invitation Expired"})
# They name an engagement only (eng-…): what changed is found by the listing (one read when nothing else changed).
ENGAGEMENT_EVENTS = frozenset({"Engagement Member Joined", "Engagement Member Added", "Engagement Created",
                               "Engagement Updated"})
SNAPSHOT_EVENTS = frozenset({"Resource Snapshot Created", "Engagement Resource Snapshot Created"})
DETAIL_TYPES = OPPORTUNITY_EVENTS | INVITATION_EVENTS | ENGAGEMENT_EVENTS | SNAPSHOT_EVENTS
OPPORTUNITY_ID = re.compile(r"O[0-9]{1,19}")  # botocore's OpportunityIdentifier
INVITATION_ID = re.compile(r"engi-[0-9a-z]{13}")  # botocore's EngagementInvitationIdentifier
LISTING = "*"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadRequest:
    """Read this again now: an opportunity (GetOpportunity + AWS summary), an invitation, or the listing."""

    subject_type: str  # opportunity | invitation | listing
    subject_id: str  # O…, engi-…, or "*" for the listing
    source: str  # who asked, for the log and the request row


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedEvent:
    """One event: the re-reads it asks for, or why it asks for none (`ignored`)."""

    detail_type: str
    event_id: str
    requests: tuple[ReadRequest, ...] = ()
    ignored: str | None = None
    unknown: bool = False  # a detail-type this job does not know (logged as a warning, then ignored)
    cycle: bool = False  # a scheduled event: run the whole cycle (the function then also does the polling)


def _get(mapping: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(name)
    return mapping


def _id(value: Any, pattern: re.Pattern[str]) -> str | None:
    """An id as the API takes it; an ARN's last segment (…/engagement-invitation/engi-…) counts."""
    if not isinstance(value, str):
        return None
    candidate = value.strip().rsplit("/", 1)[-1]
    return candidate if pattern.fullmatch(candidate) else None


def _clean(value: Any, cap: int = 80) -> str:
    text = "".join(ch for ch in str(value) if ch.isprintable())
    return text if len(text) <= cap else text[: cap - 1] + "…"


def parse_event(event: Any, *, catalog: str) -> ParsedEvent:
    """What one EventBridge event asks this job (reading `catalog`) to read again; never raises."""
    if not isinstance(event, Mapping):
        return ParsedEvent(detail_type="?", event_id="?", ignored="not an EventBridge event (not a JSON object)")
    detail_type, event_id = _clean(event.get("detail-type") or "?"), _clean(event.get("id") or "?")
    ignored = ParsedEvent(detail_type=detail_type, event_id=event_id)
    source = f"eventbridge: {detail_type} ({event_id})"
    if event.get("source") == "aws.events" and detail_type == SCHEDULED:
        return ParsedEvent(detail_type=detail_type, event_id=event_id, cycle=True)
    if event.get("source") != SOURCE:
        return _with(ignored, f"source {_clean(event.get('source'))!r} is not {SOURCE}")
    if detail_type not in DETAIL_TYPES:
        return ParsedEvent(detail_type=detail_type, event_id=event_id, unknown=True,
                           ignored=f"unknown detail-type {detail_type!r}")
    detail = event.get("detail")
    event_catalog = _get(detail, "catalog")
    if event_catalog is not None and event_catalog != catalog:
        return _with(ignored, f"catalog {_clean(event_catalog)!r}; this job reads {catalog}")
    if detail_type in OPPORTUNITY_EVENTS:
        opportunity = _get(detail, "opportunity")
        oid = _id(_get(opportunity, "identifier") or _get(opportunity, "id"), OPPORTUNITY_ID)
        if oid is None:
            return _with(ignored, "no opportunity identifier in detail.opportunity")
        return _request(ignored, "opportunity", oid, source)
    if detail_type in INVITATION_EVENTS:
        invitation = _get(detail, "engagementInvitation")
        participant = str(_get(invitation, "participantType") or "Receiver").strip().casefold()
        payload_type = str(_get(invitation, "payloadType") or "OpportunityInvitation").strip().casefold()
        if participant != "receiver" or payload_type != "opportunityinvitation":
            # What we sent AWS (a submission) comes back as Opportunity Updated; leads are not co-sell referrals.
            return _with(ignored, f"a {participant} {payload_type} invitation: this job reads received "
                                  "opportunity invitations only")
        iid = _id(_get(invitation, "id") or _get(invitation, "arn"), INVITATION_ID)
        if iid is None:
            return _with(ignored, "no invitation id in detail.engagementInvitation")
        return _request(ignored, "invitation", iid, source)
    if detail_type in SNAPSHOT_EVENTS:
        oid = _id(_get(detail, "resourceSnapshot", "resourceId"), OPPORTUNITY_ID)
        if oid is not None:
            return _request(ignored, "opportunity", oid, source)
    return _request(ignored, "listing", LISTING, source)


def _with(parsed: ParsedEvent, reason: str) -> ParsedEvent:
    return ParsedEvent(detail_type=parsed.detail_type, event_id=parsed.event_id, ignored=reason)


def _request(parsed: ParsedEvent, subject_type: str, subject_id: str, source: str) -> ParsedEvent:
    return ParsedEvent(detail_type=parsed.detail_type, event_id=parsed.event_id, requests=(
        ReadRequest(subject_type=subject_type, subject_id=subject_id, source=source),))


def unwrap(payload: Any) -> list[Any]:
    """The events in what a handler received: one event, a JSON array of them, or an SQS batch (`Records`, each
    `body` an event as JSON text) when a rule's target is a queue that feeds the function."""
    if isinstance(payload, list):
        return [event for item in payload for event in unwrap(item)]
    if isinstance(payload, Mapping) and isinstance(payload.get("Records"), list):
        events: list[Any] = []
        for record in payload["Records"]:
            body = _get(record, "body")
            try:
                events.append(json.loads(body) if isinstance(body, str) else body)
            except ValueError:
                events.append(None)  # parse_event names it: not an EventBridge event
        return events
    return [payload]
