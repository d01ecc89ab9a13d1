"""boto3 Partner Central outputs → normalized Snapshot / Invitation values (absent, null, "" and [] are alike)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from poller.core.errors import IncompleteRecord, MalformedRecord
from poller.core.model import AwsView, Invitation, Snapshot
from poller.core.signals_wire import enrichment, quality, recommendations, software_revenue
from poller.core.wire import date_text, items, obj, people, spend, strings, text, timestamp, unreadable


def _program_categories(insights: Mapping[str, Any], rid: str) -> tuple[str, ...]:
    by_source = obj(insights, "AwsProductsSpendInsightsBySource", rid)
    found: set[str] = set()
    for source in ("AWS", "Partner"):
        block = obj(by_source, source, rid)
        found.update(t for t in map(text, obj(block, "TotalAmountByCategory", rid)) if t)
        for product in items(block, "AwsProducts", rid):
            if not isinstance(product, Mapping):
                raise MalformedRecord(rid, f"AwsProducts holds a {type(product).__name__}, not an object")
            found.update(strings(product, "Categories", rid))
    return tuple(sorted(found))


def aws_view_from(summary: Mapping[str, Any] | None, rid: str) -> AwsView | None:
    """Normalize GetAwsOpportunitySummary alone (the sweep re-reads only it); None means "no AWS view yet"."""
    if not summary:
        return None
    if not isinstance(summary, Mapping):
        raise MalformedRecord(rid, f"AWS summary is a {type(summary).__name__}, not an object")
    life = obj(summary, "LifeCycle", rid)
    insights = obj(summary, "Insights", rid)
    related = obj(summary, "RelatedEntityIds", rid)
    quality_score, quality_trend = quality(insights, rid)
    view = AwsView(
        origin=text(summary.get("Origin")),
        involvement_type=text(summary.get("InvolvementType")),
        visibility=text(summary.get("Visibility")),
        involvement_type_change_reason=text(summary.get("InvolvementTypeChangeReason")),
        stage=text(life.get("Stage")),
        next_steps=text(life.get("NextSteps")),
        closed_lost_reason=text(life.get("ClosedLostReason")),
        target_close_date=date_text(life.get("TargetCloseDate")),
        team=people(summary, "OpportunityTeam", rid),
        contacts=people(obj(summary, "Customer", rid), "Contacts", rid),
        engagement_score=text(insights.get("EngagementScore")),
        next_best_actions=text(insights.get("NextBestActions")),
        products=strings(related, "AwsProducts", rid),
        solutions=strings(related, "Solutions", rid),
        program_categories=_program_categories(insights, rid),
        expected_spend=spend(obj(summary, "Project", rid), rid),
        quality_score=quality_score,
        quality_trend=quality_trend,
        recommendations=recommendations(insights, rid),
        cosell_motion=text(summary.get("CosellMotion")),
        cosell_motion_reason=text(summary.get("CosellMotionReason")),
        software_revenue=software_revenue(summary, rid),
    )
    # A body with only Catalog/RelatedOpportunityId is AWS saying "no view yet" (DESIGN §10).
    return None if view == AwsView() else replace(view, signals_known=True)


def snapshot_from(opportunity: dict[str, Any], aws_summary: dict[str, Any] | None, *, catalog: str) -> Snapshot:
    """Normalize GetOpportunity (+ GetAwsOpportunitySummary); raises MalformedRecord for broken structure."""
    rid = text(opportunity.get("Id"))
    if rid is None:
        raise MalformedRecord(repr(opportunity.get("Id")), "missing Id")
    last_modified = timestamp(opportunity.get("LastModifiedDate"), rid, "LastModifiedDate")
    if last_modified is None:
        raise MalformedRecord(rid, "missing LastModifiedDate")
    life = obj(opportunity, "LifeCycle", rid)
    if text(life.get("Stage")) is None and text(life.get("ReviewStatus")) is None:
        # Every review event and the sweep read this block; storing it empty would blank the review status and
        # make its return look like a fresh transition. ReviewStatus alone may be absent (AWS referrals).
        raise IncompleteRecord(rid, "LifeCycle has neither Stage nor ReviewStatus; the last known values are kept")
    project = obj(opportunity, "Project", rid)
    account = obj(obj(opportunity, "Customer", rid), "Account", rid)
    related = obj(opportunity, "RelatedEntityIdentifiers", rid)
    return Snapshot(
        opportunity_id=rid,
        catalog=catalog,
        last_modified=last_modified,
        created=timestamp(opportunity.get("CreatedDate"), rid, "CreatedDate"),
        deal_id=text(opportunity.get("PartnerOpportunityIdentifier")),
        title=text(project.get("Title")),
        customer_name=text(account.get("CompanyName")),
        opportunity_type=text(opportunity.get("OpportunityType")),
        stage=text(life.get("Stage")),
        review_status=text(life.get("ReviewStatus")),
        review_comments=text(life.get("ReviewComments")),
        review_status_reason=text(life.get("ReviewStatusReason")),
        next_steps=text(life.get("NextSteps")),
        closed_lost_reason=text(life.get("ClosedLostReason")),
        target_close_date=date_text(life.get("TargetCloseDate")),
        expected_spend=spend(project, rid),
        partner_products=strings(related, "AwsProducts", rid),
        partner_solutions=strings(related, "Solutions", rid),
        aws=aws_view_from(aws_summary, rid),
    )


def invitation_from(summary: dict[str, Any], detail: dict[str, Any] | None, *, catalog: str) -> Invitation:
    """Normalize a ListEngagementInvitations summary (+ GetEngagementInvitation, which wins where it has a value)."""
    merged = {**summary, **{k: v for k, v in (detail or {}).items() if v not in (None, "", [])}}
    rid = text(merged.get("Id"))
    if rid is None:
        raise MalformedRecord(repr(merged.get("Id")), "invitation without Id")
    status = text(merged.get("Status"))
    if status is None:
        raise MalformedRecord(rid, "invitation without Status")
    payload_union = obj(merged, "Payload", rid)
    # Payload is a union: OpportunityInvitation (AWS referrals) or LeadInvitation; read whichever is there.
    payload = obj(payload_union, "OpportunityInvitation", rid) or obj(payload_union, "LeadInvitation", rid)
    customer = obj(payload, "Customer", rid)
    project = obj(payload, "Project", rid)
    return Invitation(
        invitation_id=rid,
        catalog=catalog,
        status=status,
        invitation_date=timestamp(merged.get("InvitationDate"), rid, "InvitationDate"),
        expiration_date=timestamp(merged.get("ExpirationDate"), rid, "ExpirationDate"),
        engagement_title=text(merged.get("EngagementTitle")),
        sender_company=text(merged.get("SenderCompanyName")),
        customer_name=text(customer.get("CompanyName")),
        industry=text(customer.get("Industry")),
        website=text(customer.get("WebsiteUrl")),
        country=text(customer.get("CountryCode")),
        project_title=text(project.get("Title")),
        business_problem=text(project.get("BusinessProblem")),
        target_completion_date=date_text(project.get("TargetCompletionDate")),
        expected_spend=spend(project, rid),
        sender_contacts=people(payload, "SenderContacts", rid),
        invitation_message=text(merged.get("InvitationMessage")),
        **enrichment(merged, rid),
    )


def listed_version(item: dict[str, Any]) -> tuple[str, str]:
    """A ListOpportunities summary → (Id, canonical LastModifiedDate), the pair the cursor and dedupe work on."""
    broken = unreadable(item)
    if broken is not None:
        raise MalformedRecord(broken.name, broken.reason)
    rid = text(item.get("Id"))
    if rid is None:
        raise MalformedRecord(repr(item.get("Id")), "missing Id")
    last_modified = timestamp(item.get("LastModifiedDate"), rid, "LastModifiedDate")
    if last_modified is None:
        raise MalformedRecord(rid, "missing LastModifiedDate")
    return rid, last_modified


def reread_id(item: dict[str, Any]) -> str | None:
    """The id a listing item can be read again by (GetOpportunity), even when the item itself was unreadable."""
    broken = unreadable(item)
    return broken.record_id if broken is not None else text(item.get("Id"))
