"""The Benefits simulator speaks the real protocol to an unmodified boto3 client: paging, filters, errors."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from poller.simulators.benefits.records import opportunity_arn
from poller.simulators.benefits.simulator import BenefitsSimulator


@pytest.fixture
def client_and_sim(aws_env):
    with BenefitsSimulator() as sim:
        client = boto3.client("partnercentral-benefits", region_name="us-east-1", endpoint_url=sim.url,
                              config=Config(retries={"total_max_attempts": 1}))
        yield client, sim


def test_applications_page_with_botocores_paginator_and_filter_by_opportunity(client_and_sim):
    client, sim = client_and_sim
    ids = [sim.put_application({"Name": f"app {n}", "AssociatedResources": [opportunity_arn(f"O{1000 + n % 3}")],
                                "Status": "APPROVED" if n % 2 else "IN_REVIEW"}) for n in range(230)]
    pages = list(client.get_paginator("list_benefit_applications").paginate(Catalog="AWS",
                                                                            PaginationConfig={"PageSize": 100}))
    assert [len(p["BenefitApplicationSummaries"]) for p in pages] == [100, 100, 30]
    assert [a["Id"] for p in pages for a in p["BenefitApplicationSummaries"]] == ids  # oldest first, each once
    linked = client.list_benefit_applications(
        Catalog="AWS", MaxResults=100, Status=["APPROVED"],
        AssociatedResources=[{"ResourceType": "OPPORTUNITY", "ResourceIdentifier": "O1001"}])
    assert {a["Id"] for a in linked["BenefitApplicationSummaries"]} == {
        i for n, i in enumerate(ids) if n % 3 == 1 and n % 2}
    assert client.list_benefit_applications(Catalog="Sandbox")["BenefitApplicationSummaries"] == []


def test_detail_allocations_and_errors_as_the_service_answers_them(client_and_sim):
    client, sim = client_and_sim
    app_id = sim.put_application({"Name": "MAP", "Status": "ACTION_REQUIRED", "StatusReason": "Add the SOW"})
    sim.put_allocation({"Name": "credits", "BenefitApplicationId": app_id, "ExpiresAt": "2026-06-30T00:00:00Z"})
    sim.put_allocation({"Name": "used", "BenefitApplicationId": app_id, "Status": "FULFILLED"})
    assert client.get_benefit_application(Catalog="AWS", Identifier=app_id)["StatusReason"] == "Add the SOW"
    active = client.list_benefit_allocations(Catalog="AWS", Status=["ACTIVE"])["BenefitAllocationSummaries"]
    assert [(a["Name"], a["FulfillmentTypes"], a["ExpiresAt"].year) for a in active] == [("credits", ["CREDITS"], 2026)]
    with pytest.raises(ClientError) as missing:
        client.get_benefit_application(Catalog="AWS", Identifier="benappl-00000000099999")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as invalid:  # the model's pattern, checked by the service, not by botocore
        client.get_benefit_application(Catalog="AWS", Identifier="not-an-id")
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ParamValidationError):
        client.list_benefit_allocations(Catalog="AWS", MaxResults=0)
    sim.fail_next("ListBenefitApplications", "AccessDeniedException", message="not enrolled")
    with pytest.raises(ClientError) as denied:
        client.list_benefit_applications(Catalog="AWS")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert sim.operation_counts()["ListBenefitApplications"] == 1
