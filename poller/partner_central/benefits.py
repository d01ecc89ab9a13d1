"""Partner Central Benefits adapter: a real boto3 `partnercentral-benefits` client, paced and retried like selling's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from poller.partner_central.answers import AnswerCheck
from poller.partner_central.client import PAGE_SIZE, PartnerCentral, parse_timestamp

SERVICE = "partnercentral-benefits"
LISTINGS = {"ListBenefitApplications": "BenefitApplicationSummaries",
            "ListBenefitAllocations": "BenefitAllocationSummaries"}
READS = frozenset({"GetBenefitApplication", *LISTINGS})
# Everything the funding signal calls (README's IAM policy; Partner Central's `partnercentral:` action prefix).
IAM_ACTIONS = ("partnercentral:ListBenefitApplications", "partnercentral:GetBenefitApplication",
               "partnercentral:ListBenefitAllocations")


def make_benefits_client(*, timeout: float) -> Any:
    """boto3 client; endpoint from boto3's own chain (AWS_ENDPOINT_URL_PARTNERCENTRAL_BENEFITS), botocore retries off."""
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=min(timeout, 10), read_timeout=timeout)
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return boto3.Session(botocore_session=core).client(SERVICE, region_name="us-east-1", config=config)


class PartnerCentralBenefits(PartnerCentral):
    """The Benefits reads the funding signal needs: the same pacing, retries, error mapping and answer checks."""

    def __init__(self, client: Any, **kwargs: Any):
        super().__init__(client, **kwargs)
        if hasattr(client, "meta"):
            AnswerCheck(parse_timestamp, listings=LISTINGS, reads=READS).register(client)

    def list_applications(self) -> Iterator[list[dict[str, Any]]]:
        """Pages of every benefit application of the catalog (the list has no time filter: a pass reads them all)."""
        yield from self._pages("ListBenefitApplications", "BenefitApplicationSummaries", {"MaxResults": PAGE_SIZE})

    def list_allocations(self) -> Iterator[list[dict[str, Any]]]:
        """Pages of the catalog's ACTIVE benefit allocations (the only ones that can still expire unused)."""
        yield from self._pages("ListBenefitAllocations", "BenefitAllocationSummaries",
                               {"MaxResults": PAGE_SIZE, "Status": ["ACTIVE"]})

    def get_application(self, application_id: str) -> dict[str, Any] | None:
        """The full application (StatusReason is only here), or None when it is gone."""
        return self._get("GetBenefitApplication", Identifier=application_id)
