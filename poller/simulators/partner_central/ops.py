"""The Partner Central simulator's read operations: request parameters in, response payload out, from stored records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import Shape

from poller.simulators.partner_central.store import (
    Pager,
    StoredInvitation,
    StoredOpportunity,
    select_invitations,
    select_opportunities,
)
from poller.simulators.partner_central.wire import not_found, project, shape

_OPPORTUNITY = shape("GetOpportunityResponse")
_OPPORTUNITY_SUMMARY = shape("OpportunitySummary")
_AWS_SUMMARY = shape("GetAwsOpportunitySummaryResponse")
_INVITATION = shape("GetEngagementInvitationResponse")
_INVITATION_SUMMARY = shape("EngagementInvitationSummary")
DEFAULT_PAGE_SIZE = 20  # the documented ListOpportunities default


class ReadOperations:
    """Answers the five simulated operations over the simulator's own dicts; the caller holds the state lock."""

    def __init__(self, opportunities: dict[str, StoredOpportunity], invitations: dict[str, StoredInvitation]):
        self.opportunities = opportunities
        self.invitations = invitations
        self.pager = Pager()

    def by_name(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "ListOpportunities": self.list_opportunities,
            "GetOpportunity": self.get_opportunity,
            "GetAwsOpportunitySummary": self.get_aws_summary,
            "ListEngagementInvitations": self.list_invitations,
            "GetEngagementInvitation": self.get_invitation,
        }

    def list_opportunities(self, params: dict[str, Any]) -> dict[str, Any]:
        if token := params.get("NextToken"):
            ids, offset = self.pager.resume("ListOpportunities", token)
        else:
            ids, offset = select_opportunities(self.opportunities.values(), params["Catalog"], params), 0
        size = params.get("MaxResults", DEFAULT_PAGE_SIZE)
        page, next_token = self.pager.page("ListOpportunities", ids, offset, size)
        # An opportunity removed after the listing began is skipped, as a live service would.
        summaries = [_answer(self.opportunities[i], "ListOpportunities", _OPPORTUNITY_SUMMARY)
                     for i in page if i in self.opportunities]
        return {"OpportunitySummaries": summaries, **({"NextToken": next_token} if next_token else {})}

    def get_opportunity(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._visible(params["Identifier"], params["Catalog"])
        if "GetOpportunity" in stored.verbatim:
            return stored.verbatim["GetOpportunity"]
        record = project(stored.record, _OPPORTUNITY)
        if stored.malformed:
            for key in ("Id", "LastModifiedDate", "Customer"):
                record.pop(key, None)
            record["Project"] = {}
        return {**record, **stored.raw.get("GetOpportunity", {})}

    def get_aws_summary(self, params: dict[str, Any]) -> dict[str, Any]:
        opportunity_id = params["RelatedOpportunityIdentifier"]
        stored = self._visible(opportunity_id, params["Catalog"])
        if "GetAwsOpportunitySummary" in stored.verbatim:
            return stored.verbatim["GetAwsOpportunitySummary"]
        if stored.summary is None:  # not submitted to AWS yet: there is no AWS view (DESIGN §10)
            raise not_found(f"No AWS opportunity summary found for {opportunity_id}")
        return {**project({**stored.summary, "Catalog": stored.catalog, "RelatedOpportunityId": opportunity_id},
                          _AWS_SUMMARY), **stored.raw.get("GetAwsOpportunitySummary", {})}

    def list_invitations(self, params: dict[str, Any]) -> dict[str, Any]:
        if token := params.get("NextToken"):
            ids, offset = self.pager.resume("ListEngagementInvitations", token)
        else:
            ids, offset = select_invitations(self.invitations.values(), params["Catalog"], params), 0
        size = params.get("MaxResults", DEFAULT_PAGE_SIZE)
        page, next_token = self.pager.page("ListEngagementInvitations", ids, offset, size)
        summaries = [_answer(self.invitations[i], "ListEngagementInvitations", _INVITATION_SUMMARY)
                     for i in page if i in self.invitations]
        return {"EngagementInvitationSummaries": summaries, **({"NextToken": next_token} if next_token else {})}

    def get_invitation(self, params: dict[str, Any]) -> dict[str, Any]:
        identifier, catalog = params["Identifier"], params["Catalog"]
        for stored in self.invitations.values():
            if stored.catalog == catalog and identifier in (stored.record["Id"], stored.record.get("Arn")):
                return _answer(stored, "GetEngagementInvitation", _INVITATION)
        raise not_found(f"Engagement invitation {identifier} not found")

    def _visible(self, opportunity_id: str, catalog: str) -> StoredOpportunity:
        stored = self.opportunities.get(opportunity_id)
        if stored is None or stored.catalog != catalog:
            raise not_found(f"Opportunity {opportunity_id} not found in catalog {catalog}")
        return stored


def _answer(stored: StoredOpportunity | StoredInvitation, operation: str, of: Shape) -> dict[str, Any]:
    """The record as `operation` answers it: projected on its shape with any garbled fields, or verbatim."""
    if operation in stored.verbatim:
        return stored.verbatim[operation]
    return {**project(stored.record, of), **stored.raw.get(operation, {})}
