"""The Partner Central simulator, driven by the real boto3 client over HTTP (no mocks, no sleeps)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from freezegun import freeze_time

from poller.simulators.partner_central.simulator import PartnerCentralSimulator

UTC = dt.UTC
WIRE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def sim(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with PartnerCentralSimulator() as simulator:
        yield simulator


def make_client(simulator: PartnerCentralSimulator):
    return boto3.client("partnercentral-selling", region_name="us-east-1", endpoint_url=simulator.url,
                        config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def client(sim):
    return make_client(sim)


def opportunity(number: int, **fields) -> dict:
    record = {
        "Id": f"O{number}",
        "Customer": {"Account": {"CompanyName": f"Company {number}", "Duns": "123456789",
                                 "Address": {"City": "Berlin", "StreetAddress": "Main St 1", "CountryCode": "DE"}},
                     "Contacts": [{"Email": "buyer@example.com"}]},
        "Project": {"Title": f"Project {number}", "DeliveryModels": ["SaaS or PaaS"]},
        "LifeCycle": {"Stage": "Prospect", "ReviewStatus": "Approved", "TargetCloseDate": "2026-01-31",
                      "NextStepsHistory": [{"Value": "kickoff", "Time": "2025-01-01T00:00:00Z"}]},
    }
    record.update(fields)
    return record


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def raw_call(simulator: PartnerCentralSimulator, operation: str, body: object) -> tuple[int, dict, dict]:
    """POST what botocore would refuse to send, to check the server's own validation."""
    parts = urlsplit(simulator.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("POST", "/", body=json.dumps(body),
                           headers={"X-Amz-Target": f"AWSPartnerCentralSelling.{operation}",
                                    "Content-Type": "application/x-amz-json-1.0"})
        response = connection.getresponse()
        return response.status, json.loads(response.read()), dict(response.getheaders())
    finally:
        connection.close()


def listed_ids(client, **params) -> list[str]:
    pages = client.get_paginator("list_opportunities").paginate(Catalog="AWS", **params)
    return [item["Id"] for page in pages for item in page["OpportunitySummaries"]]


# --- ListOpportunities

def test_paginator_walks_250_opportunities_with_a_distinct_token_per_page(sim, client):
    for number in range(1000, 1250):
        sim.put_opportunity(opportunity(number))
    pages = list(client.get_paginator("list_opportunities").paginate(
        Catalog="AWS", PaginationConfig={"PageSize": 100}))
    assert [len(page["OpportunitySummaries"]) for page in pages] == [100, 100, 50]
    assert "NextToken" not in pages[-1]
    tokens = [page["NextToken"] for page in pages[:-1]]
    assert len(set(tokens)) == 2
    ids = [item["Id"] for page in pages for item in page["OpportunitySummaries"]]
    assert sorted(ids) == [f"O{n}" for n in range(1000, 1250)]
    assert sim.operation_counts() == {"ListOpportunities": 3}


def test_default_page_size_is_20(sim, client):
    for number in range(1, 26):
        sim.put_opportunity(opportunity(number))
    first = client.list_opportunities(Catalog="AWS")
    assert len(first["OpportunitySummaries"]) == 20
    second = client.list_opportunities(Catalog="AWS", NextToken=first["NextToken"])
    assert len(second["OpportunitySummaries"]) == 5 and "NextToken" not in second


def test_a_listing_keeps_its_order_while_records_change(sim, client):
    for number in range(1, 5):
        sim.put_opportunity(opportunity(number, LastModifiedDate=f"2025-01-0{number}T00:00:00Z"))
    first = client.list_opportunities(Catalog="AWS", MaxResults=2)
    sim.update_opportunity("O1", {"Project": {"Title": "moved to the top"}})  # newest now, but the listing is fixed
    second = client.list_opportunities(Catalog="AWS", MaxResults=2, NextToken=first["NextToken"])
    assert [o["Id"] for o in first["OpportunitySummaries"] + second["OpportunitySummaries"]] == ["O4", "O3", "O2", "O1"]


def test_summaries_hold_only_summary_members(sim, client):
    sim.put_opportunity(opportunity(7))
    (summary,) = client.list_opportunities(Catalog="AWS")["OpportunitySummaries"]
    assert summary["Customer"] == {"Account": {"CompanyName": "Company 7",
                                               "Address": {"City": "Berlin", "CountryCode": "DE"}}}
    assert summary["Project"] == {"DeliveryModels": ["SaaS or PaaS"]}
    assert "NextStepsHistory" not in summary["LifeCycle"]
    assert summary["LifeCycle"]["Stage"] == "Prospect"
    assert summary["Catalog"] == "AWS" and isinstance(summary["LastModifiedDate"], dt.datetime)


def test_last_modified_filter_is_inclusive_on_both_ends(sim, client):
    for number, stamp in enumerate(["2025-03-01T10:00:00.000Z", "2025-03-01T11:00:00.500Z",
                                    "2025-03-01T12:00:00.000Z"], start=1):
        sim.put_opportunity(opportunity(number, LastModifiedDate=stamp))
    window = {"AfterLastModifiedDate": at("2025-03-01T11:00:00.500"),
              "BeforeLastModifiedDate": at("2025-03-01T12:00:00")}
    assert listed_ids(client, LastModifiedDate=window) == ["O3", "O2"]
    just_after = {"AfterLastModifiedDate": at("2025-03-01T11:00:00.500001")}
    assert listed_ids(client, LastModifiedDate=just_after) == ["O3"]
    as_text = {"AfterLastModifiedDate": "2025-03-01T10:00:00Z"}  # whole seconds, no fraction, on the wire
    assert listed_ids(client, LastModifiedDate=as_text) == ["O3", "O2", "O1"]


def test_sort_orders(sim, client):
    sim.put_opportunity(opportunity(2, LastModifiedDate="2025-01-02T00:00:00Z",
                                    Customer={"Account": {"CompanyName": "Zeta"}}))
    sim.put_opportunity(opportunity(1, LastModifiedDate="2025-01-03T00:00:00Z",
                                    Customer={"Account": {"CompanyName": "Alpha"}}))
    sim.put_opportunity(opportunity(3, LastModifiedDate="2025-01-01T00:00:00Z",
                                    Customer={"Account": {"CompanyName": "Mid"}}))
    assert listed_ids(client) == ["O1", "O2", "O3"]  # default: LastModifiedDate, newest first
    assert listed_ids(client, Sort={"SortBy": "LastModifiedDate", "SortOrder": "ASCENDING"}) == ["O3", "O2", "O1"]
    assert listed_ids(client, Sort={"SortBy": "Identifier", "SortOrder": "DESCENDING"}) == ["O3", "O2", "O1"]
    assert listed_ids(client, Sort={"SortBy": "CustomerCompanyName", "SortOrder": "ASCENDING"}) == ["O1", "O3", "O2"]


def test_identifier_stage_and_catalog_filters(sim, client):
    sim.put_opportunity(opportunity(1))
    sim.put_opportunity(opportunity(2, LifeCycle={"Stage": "Committed", "ReviewStatus": "In review"}))
    sim.put_opportunity(opportunity(3), catalog="Sandbox")
    assert listed_ids(client, Identifier=["O2", "O3"]) == ["O2"]
    assert listed_ids(client, LifeCycleStage=["Committed"]) == ["O2"]
    assert listed_ids(client, LifeCycleReviewStatus=["Approved"]) == ["O1"]
    sandbox = client.list_opportunities(Catalog="Sandbox")["OpportunitySummaries"]
    assert [o["Id"] for o in sandbox] == ["O3"]


# --- GetOpportunity and GetAwsOpportunitySummary

def test_get_opportunity_returns_the_full_record(sim, client):
    sim.put_opportunity(opportunity(42, Arn="arn:aws:partnercentral:us-east-1:1:catalog/AWS/opportunity/O42"))
    record = client.get_opportunity(Catalog="AWS", Identifier="O42")
    assert record["Project"]["Title"] == "Project 42"
    assert record["Customer"]["Contacts"] == [{"Email": "buyer@example.com"}]
    assert record["LifeCycle"]["NextStepsHistory"][0]["Time"] == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert record["RelatedEntityIdentifiers"] == {}
    assert record["ResponseMetadata"]["RequestId"]


def test_get_opportunity_unknown_or_other_catalog_is_not_found(sim, client):
    sim.put_opportunity(opportunity(5), catalog="Sandbox")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_opportunity(Catalog="AWS", Identifier="O5")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_opportunity(Catalog="AWS", Identifier="O999")
    sim.put_opportunity(opportunity(6))
    sim.remove_opportunity("O6")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_opportunity(Catalog="AWS", Identifier="O6")


def test_aws_summary_is_not_found_before_submission_then_filled(sim, client):
    sim.put_opportunity(opportunity(8))
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_aws_opportunity_summary(Catalog="AWS", RelatedOpportunityIdentifier="O8")
    sim.set_aws_summary("O8", {"Origin": "AWS Referral", "Insights": {"EngagementScore": "Medium"},
                               "OpportunityTeam": [{"Email": "pdm@amazon.com", "BusinessTitle": "PDM"}]})
    summary = client.get_aws_opportunity_summary(Catalog="AWS", RelatedOpportunityIdentifier="O8")
    assert summary["Catalog"] == "AWS" and summary["RelatedOpportunityId"] == "O8"
    assert summary["Insights"] == {"EngagementScore": "Medium"}
    assert summary["OpportunityTeam"][0]["BusinessTitle"] == "PDM"


# --- Python-side changes and the clock

def test_update_opportunity_moves_last_modified_strictly_forward_even_on_a_frozen_clock(sim, client):
    with freeze_time("2025-06-01T12:00:00Z"):
        sim.put_opportunity(opportunity(9))
        created = sim.opportunity("O9")["LastModifiedDate"]
        assert created == "2025-06-01T12:00:00.000Z"
        sim.update_opportunity("O9", {"LifeCycle": {"Stage": "Qualified", "NextStepsHistory": None},
                                      "Project": {"DeliveryModels": ["Resell"]}})
        sim.update_opportunity("O9", {"LifeCycle": {"NextSteps": "call"}})
    record = client.get_opportunity(Catalog="AWS", Identifier="O9")
    assert record["LastModifiedDate"] == dt.datetime(2025, 6, 1, 12, 0, 0, 2000, tzinfo=UTC)
    assert record["LifeCycle"]["Stage"] == "Qualified" and record["LifeCycle"]["NextSteps"] == "call"
    assert "NextStepsHistory" not in record["LifeCycle"]  # None deletes
    assert record["Project"] == {"Title": "Project 9", "DeliveryModels": ["Resell"]}  # lists replace, dicts merge
    with freeze_time("2025-06-02T08:00:00Z"):
        sim.update_opportunity("O9", {"LifeCycle": {"NextSteps": "later"}})
    assert sim.opportunity("O9")["LastModifiedDate"] == "2025-06-02T08:00:00.000Z"


def test_aws_summary_changes_do_not_move_last_modified_unless_touched(sim, client):
    sim.put_opportunity(opportunity(10, LastModifiedDate="2025-01-01T00:00:00Z"), {"Insights": {"EngagementScore": "Low"}})
    sim.update_aws_summary("O10", {"Insights": {"EngagementScore": "High"}})
    assert sim.opportunity("O10")["LastModifiedDate"] == "2025-01-01T00:00:00.000Z"
    summary = client.get_aws_opportunity_summary(Catalog="AWS", RelatedOpportunityIdentifier="O10")
    assert summary["Insights"]["EngagementScore"] == "High"
    sim.update_aws_summary("O10", {"Visibility": "Full"}, touch=True)
    assert sim.opportunity("O10")["LastModifiedDate"] > "2025-01-01T00:00:00.000Z"


def test_clock_can_be_injected(sim):
    simulator = PartnerCentralSimulator(clock=lambda: dt.datetime(2024, 2, 29, 9, 30, 0, 123456, tzinfo=UTC))
    simulator.put_opportunity(opportunity(11))
    assert simulator.opportunity("O11")["CreatedDate"] == "2024-02-29T09:30:00.123Z"


# --- invitations

def test_invitations_list_and_get(sim, client):
    with freeze_time("2025-02-08T20:48:55Z"):
        sim.put_invitation({"Id": "engi-aaaaaaaaaaaa1", "EngagementTitle": "Older",
                            "Payload": {"OpportunityInvitation": {"Project": {"Title": "Data lake"}}}})
    sim.put_invitation({"Id": "engi-aaaaaaaaaaaa2", "InvitationDate": "2025-03-01T00:00:00Z"})
    sim.put_invitation({"Id": "engi-aaaaaaaaaaaa3", "ParticipantType": "SENDER"})
    sim.set_invitation_status("engi-aaaaaaaaaaaa2", "ACCEPTED")
    listed = client.list_engagement_invitations(Catalog="AWS", ParticipantType="RECEIVER")
    summaries = listed["EngagementInvitationSummaries"]
    assert [s["Id"] for s in summaries] == ["engi-aaaaaaaaaaaa2", "engi-aaaaaaaaaaaa1"]  # newest first
    pending = client.list_engagement_invitations(Catalog="AWS", ParticipantType="RECEIVER", Status=["PENDING"],
                                                 PayloadType=["OpportunityInvitation"])
    (older,) = pending["EngagementInvitationSummaries"]
    assert older["SenderCompanyName"] == "AWS" and "Payload" not in older
    assert older["ExpirationDate"] - older["InvitationDate"] == dt.timedelta(days=15)
    full = client.get_engagement_invitation(Catalog="AWS", Identifier="engi-aaaaaaaaaaaa1")
    assert full["Payload"]["OpportunityInvitation"]["Project"]["Title"] == "Data lake"
    assert full["InvitationDate"] == dt.datetime(2025, 2, 8, 20, 48, 55, tzinfo=UTC)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_engagement_invitation(Catalog="AWS", Identifier="engi-zzzzzzzzzzzzz")


# --- validation

def test_out_of_range_and_pattern_violations_are_validation_errors(sim, client):
    with pytest.raises(client.exceptions.ValidationException) as too_big:
        client.list_opportunities(Catalog="AWS", MaxResults=500)
    assert too_big.value.response["Reason"] == "REQUEST_VALIDATION_FAILED"
    assert too_big.value.response["ErrorList"] == [
        {"FieldName": "MaxResults", "Message": "value 500 is outside 1..100", "Code": "VALUE_OUT_OF_RANGE"}]
    with pytest.raises(client.exceptions.ValidationException) as bad_id:
        client.get_opportunity(Catalog="AWS", Identifier="bad")
    assert bad_id.value.response["ErrorList"][0]["Code"] == "INVALID_STRING_FORMAT"
    with pytest.raises(client.exceptions.ValidationException) as bad_enum:
        client.list_opportunities(Catalog="AWS", LifeCycleStage=["Won"])
    assert bad_enum.value.response["ErrorList"][0] == {
        "FieldName": "LifeCycleStage[0]", "Code": "INVALID_ENUM_VALUE", "Message": bad_enum.value.response[
            "ErrorList"][0]["Message"]}
    with pytest.raises(client.exceptions.ValidationException):
        client.list_opportunities(Catalog="AWS", Identifier=[f"O{n}" for n in range(21)])
    with pytest.raises(client.exceptions.ValidationException):
        client.list_opportunities(Catalog="Production")


def test_server_rejects_what_botocore_would_not_send(sim):
    status, body, headers = raw_call(sim, "ListEngagementInvitations", {"Catalog": "AWS", "Surprise": 1})
    assert status == 400 and body["__type"] == "ValidationException"
    assert {(e["FieldName"], e["Code"]) for e in body["ErrorList"]} == {
        ("ParticipantType", "REQUIRED_FIELD_MISSING"), ("Surprise", "INVALID_VALUE")}
    _, body, _ = raw_call(sim, "ListOpportunities",
                          {"Catalog": "AWS", "LastModifiedDate": {"AfterLastModifiedDate": "yesterday"}})
    assert body["ErrorList"][0] == {"FieldName": "LastModifiedDate.AfterLastModifiedDate", "Code": "INVALID_STRING_FORMAT",
                                    "Message": "'yesterday' is not an ISO 8601 timestamp"}
    _, body, _ = raw_call(sim, "ListOpportunities", {"Catalog": "AWS", "NextToken": "forged"})
    assert body["__type"] == "ValidationException"


def test_wire_format_of_timestamps_and_headers(sim):
    sim.put_opportunity(opportunity(12, CreatedDate=dt.datetime(2025, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)))
    status, body, headers = raw_call(sim, "GetOpportunity", {"Catalog": "AWS", "Identifier": "O12"})
    assert status == 200 and headers["Content-Type"] == "application/x-amz-json-1.0"
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["x-amzn-RequestId"])
    assert body["CreatedDate"] == "2025-01-02T03:04:05.678Z"
    assert WIRE_TIME.fullmatch(body["LastModifiedDate"])


# --- faults

def test_fail_next_throttles_then_recovers(sim, client):
    sim.put_opportunity(opportunity(13))
    sim.fail_next("GetOpportunity", times=2)
    for _ in range(2):
        with pytest.raises(client.exceptions.ThrottlingException) as throttled:
            client.get_opportunity(Catalog="AWS", Identifier="O13")
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert throttled.value.response["Error"]["Message"] == "Rate exceeded"
    assert client.get_opportunity(Catalog="AWS", Identifier="O13")["Id"] == "O13"
    assert [call.status for call in sim.calls] == [400, 400, 200]


def test_fail_next_any_operation_with_internal_error(sim, client):
    sim.fail_next("*", "InternalServerException", message="boom")
    with pytest.raises(client.exceptions.InternalServerException) as failed:
        client.list_opportunities(Catalog="AWS")
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert client.list_opportunities(Catalog="AWS")["OpportunitySummaries"] == []


def test_fail_next_aimed_at_one_record_leaves_the_others(sim, client):
    for n in (16, 17):
        sim.put_opportunity(opportunity(n), {"Origin": "Partner Referral"})
    sim.fail_next("GetAwsOpportunitySummary", "AccessDeniedException", message="hidden", identifier="O17")
    assert client.get_aws_opportunity_summary(Catalog="AWS", RelatedOpportunityIdentifier="O16")["Origin"]
    with pytest.raises(client.exceptions.AccessDeniedException):
        client.get_aws_opportunity_summary(Catalog="AWS", RelatedOpportunityIdentifier="O17")
    assert client.get_aws_opportunity_summary(Catalog="AWS", RelatedOpportunityIdentifier="O17")["Origin"]


def test_reads_per_second_limit_throttles_the_excess(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with freeze_time("2025-01-01"), PartnerCentralSimulator(reads_per_second=2) as limited:
        client = make_client(limited)
        client.list_opportunities(Catalog="AWS")
        client.list_opportunities(Catalog="AWS")
        with pytest.raises(client.exceptions.ThrottlingException):
            client.list_opportunities(Catalog="AWS")


def test_malformed_record_lacks_last_modified_but_is_still_listed(sim, client):
    sim.put_opportunity(opportunity(14))
    sim.malform("O14")
    broken = client.get_opportunity(Catalog="AWS", Identifier="O14")
    assert "LastModifiedDate" not in broken and "Id" not in broken and "Customer" not in broken
    assert broken["Project"] == {}
    assert listed_ids(client) == ["O14"]
    sim.heal("O14")
    assert "LastModifiedDate" in client.get_opportunity(Catalog="AWS", Identifier="O14")


def test_operation_counts_and_reset(sim, client):
    sim.put_opportunity(opportunity(15))
    client.list_opportunities(Catalog="AWS")
    client.list_opportunities(Catalog="AWS")
    client.get_opportunity(Catalog="AWS", Identifier="O15")
    with pytest.raises(ClientError) as unknown:
        client.list_solutions(Catalog="AWS")
    assert unknown.value.response["Error"]["Code"] == "UnknownOperationException"
    assert sim.operation_counts() == {"ListOpportunities": 2, "GetOpportunity": 1, "ListSolutions": 1}
    sim.reset_calls()
    assert sim.operation_counts() == {} and sim.calls == []


def test_put_requires_a_valid_id(sim):
    with pytest.raises(ValueError):
        sim.put_opportunity({"Project": {"Title": "no id"}})
    with pytest.raises(ValueError):
        sim.put_invitation({"Id": "invitation-1"})
