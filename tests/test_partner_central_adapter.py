"""The Partner Central adapter over a real boto3 client: pacing aside, how answers and errors map to ours."""

from __future__ import annotations

import datetime as dt
import json
import random
import socket

import boto3
import pytest
from botocore.stub import Stubber
from tenacity import stop_after_attempt, wait_none

from poller.budget.pace import RateGate
from poller.core.wire import UNREADABLE
from poller.errors import BudgetExhausted, FatalError, MalformedRecord
from poller.partner_central import PartnerCentral, make_client
from poller.retry import RetrySettings
from poller.simulators.portfolio import aws_summary_record, invitation_record, opportunity_record

RETRY = RetrySettings(stop=stop_after_attempt(3), wait=wait_none())


@pytest.fixture
def calls():
    return []


@pytest.fixture
def pc(pc_sim, calls):
    """The adapter as the app builds it: make_client() finds the simulator through boto3's own endpoint variable."""
    return PartnerCentral(make_client(timeout=5), catalog="AWS", gate=RateGate(None), retry=RETRY,
                          count_call=calls.append)


def put(pc_sim, n: int, *, summary: bool = True, **changes) -> str:
    record = opportunity_record(n, rng=random.Random(n))
    record.update(changes)
    return pc_sim.put_opportunity(record, aws_summary_record(n) if summary else None)


def sent(pc_sim, operation: str) -> list[dict]:
    return [json.loads(c.body) for c in pc_sim.calls if c.target.endswith("." + operation)]


# --- reads ---------------------------------------------------------------------------------------------------------

def test_get_opportunity_and_summary(pc_sim, pc, calls):
    oid = put(pc_sim, 1)
    opportunity = pc.get_opportunity(oid)
    summary = pc.get_aws_summary(oid)
    assert opportunity["Id"] == oid and "ResponseMetadata" not in opportunity
    assert isinstance(opportunity["LastModifiedDate"], dt.datetime)
    assert opportunity["LastModifiedDate"].tzinfo is not None
    assert summary["Insights"]["EngagementScore"] == "Medium"
    assert calls == ["GetOpportunity", "GetAwsOpportunitySummary"]
    assert sent(pc_sim, "GetOpportunity") == [{"Catalog": "AWS", "Identifier": oid}]
    assert sent(pc_sim, "GetAwsOpportunitySummary") == [{"Catalog": "AWS", "RelatedOpportunityIdentifier": oid}]


def test_timestamps_keep_the_wire_milliseconds(pc_sim, pc):
    oid = put(pc_sim, 1, LastModifiedDate="2026-03-02T09:00:00.123Z")
    page = next(pc.list_opportunities(None))
    assert page[0]["LastModifiedDate"] == dt.datetime(2026, 3, 2, 9, 0, 0, 123000, tzinfo=dt.UTC)
    assert pc.get_opportunity(oid)["LastModifiedDate"] == page[0]["LastModifiedDate"]


def test_no_aws_view_yet_is_none_not_an_error(pc_sim, pc):
    oid = put(pc_sim, 1, summary=False)
    assert pc.get_aws_summary(oid) is None  # ResourceNotFoundException before submission
    assert [c.status for c in pc_sim.calls] == [400]


def test_a_vanished_or_hidden_opportunity_is_none(pc_sim, pc):
    assert pc.get_opportunity("O999") is None  # ResourceNotFoundException
    oid = put(pc_sim, 1)
    pc_sim.fail_next("GetOpportunity", "AccessDeniedException", message="not yours")
    assert pc.get_opportunity(oid) is None


def test_a_refused_get_is_a_malformed_record_for_that_id_only(pc_sim, pc):
    oid = put(pc_sim, 1)
    pc_sim.fail_next("GetOpportunity", "ValidationException", message="bad identifier")
    with pytest.raises(MalformedRecord) as caught:
        pc.get_opportunity(oid)
    assert caught.value.record_id == oid and "ValidationException" in caught.value.reason
    assert pc.get_opportunity(oid)["Id"] == oid  # the next read works


@pytest.mark.parametrize(("operation", "field", "read"), [
    ("GetOpportunity", "LastModifiedDate", lambda pc, oid, iid: pc.get_opportunity(oid)),
    ("GetAwsOpportunitySummary", "LifeCycle", lambda pc, oid, iid: pc.get_aws_summary(oid)),
    ("GetEngagementInvitation", "InvitationDate", lambda pc, oid, iid: pc.get_invitation(iid)),
])
def test_an_unparseable_answer_to_a_get_is_a_malformed_record_for_that_id(pc_sim, pc, calls, operation, field, read):
    oid = put(pc_sim, 1)
    iid = pc_sim.put_invitation(invitation_record(1))
    bad = {"NextStepsHistory": [{"Value": "call", "Time": ""}]} if field == "LifeCycle" else ""
    pc_sim.garble(iid if operation == "GetEngagementInvitation" else oid, operation, **{field: bad})
    with pytest.raises(MalformedRecord) as caught:
        read(pc, oid, iid)
    assert caught.value.record_id == (iid if operation == "GetEngagementInvitation" else oid)
    assert "UnparseableResponse" in caught.value.reason and "\n" not in caught.value.reason
    assert calls == [operation]  # the same answer would come again: not retried


LISTINGS = [
    ("ListOpportunities", lambda pc: next(pc.list_opportunities(None))),
    ("ListEngagementInvitations", lambda pc: next(pc.list_invitations())),
]


@pytest.mark.parametrize(("operation", "listing"), LISTINGS)
@pytest.mark.parametrize("bad", ["", "not-a-date", {"at": 1}, True])
def test_an_unreadable_listing_item_is_set_aside_and_the_others_parse(pc_sim, pc, operation, listing, bad):
    opportunities = [put(pc_sim, n) for n in range(3)]
    invitations = [pc_sim.put_invitation(invitation_record(n)) for n in range(3)]
    broken = (opportunities if operation == "ListOpportunities" else invitations)[1]
    field = "LastModifiedDate" if operation == "ListOpportunities" else "ExpirationDate"
    pc_sim.garble(broken, operation, **{field: bad})

    page = listing(pc)

    assert len(page) == 3
    listed = opportunities if operation == "ListOpportunities" else invitations
    assert {item["Id"] for item in page if UNREADABLE not in item} == set(listed) - {broken}
    (marker,) = [item[UNREADABLE] for item in page if UNREADABLE in item]
    assert (marker.record_id, marker.name) == (broken, broken)
    assert marker.reason.startswith(f"{operation} item: {field} ") and "\n" not in marker.reason


@pytest.mark.parametrize(("operation", "listing"), LISTINGS)
@pytest.mark.parametrize(("body", "why"), [
    ("<html>busy</html>", "not JSON"),
    ('["a", "page"]', "an array, not an object"),
    ('{"OpportunitySummaries": {}, "EngagementInvitationSummaries": {}}', "not an array"),
    ('{"NextToken": {"a": 1}}', "NextToken is an object"),
])
def test_an_unreadable_page_is_fatal_naming_the_call(pc_sim, pc, operation, listing, body, why):
    put(pc_sim, 1)
    pc_sim.put_invitation(invitation_record(1))
    pc_sim.answer_next(operation, body)
    with pytest.raises(FatalError, match=f"^Partner Central {operation}: UnparseableResponse: [^\n]*{why}"):
        listing(pc)


@pytest.mark.parametrize(("operation", "member", "value", "named"), [
    ("GetOpportunity", "LifeCycle", "oops", "LifeCycle is a string, not an object"),
    ("GetOpportunity", "Project", {"ExpectedCustomerSpend": 5}, "Project.ExpectedCustomerSpend is a number, not an array"),
    ("GetOpportunity", "CreatedDate", "yesterday", "CreatedDate 'yesterday' is not a timestamp"),
    ("GetOpportunity", "Id", "O12x", "Id 'O12x' does not match the OpportunityIdentifier pattern"),
    ("GetAwsOpportunitySummary", "Insights", 5, "Insights is a number, not an object"),
    ("GetAwsOpportunitySummary", "OpportunityTeam", [{"Email": ["a"]}], "OpportunityTeam[0].Email is an array"),
    ("GetEngagementInvitation", "Payload", "garbage", "Payload is a string, not an object"),
    ("GetEngagementInvitation", "Payload", {}, "Payload sets 0 members of a union"),
    ("GetEngagementInvitation", "ExpirationDate", True, "ExpirationDate True is not a timestamp"),
])
def test_a_wrong_typed_member_is_a_malformed_record_naming_the_member(pc_sim, pc, calls, operation, member, value,
                                                                      named):
    oid = put(pc_sim, 1)
    iid = pc_sim.put_invitation(invitation_record(1))
    record = iid if operation == "GetEngagementInvitation" else oid
    pc_sim.garble(record, operation, **{member: value})
    read = {"GetOpportunity": pc.get_opportunity, "GetAwsOpportunitySummary": pc.get_aws_summary,
            "GetEngagementInvitation": pc.get_invitation}[operation]
    with pytest.raises(MalformedRecord) as caught:
        read(record)
    assert caught.value.record_id == record and named in caught.value.reason
    assert calls == [operation]  # the same answer would come again: not retried


def test_access_denied_on_a_list_call_is_fatal(pc_sim, pc):
    pc_sim.fail_next("ListOpportunities", "AccessDeniedException", message="no permission")
    with pytest.raises(FatalError, match="AccessDeniedException"):
        next(pc.list_opportunities(None))
    pc_sim.fail_next("ListEngagementInvitations", "AccessDeniedException", message="no permission")
    with pytest.raises(FatalError, match="AccessDeniedException"):
        next(pc.list_invitations())


@pytest.mark.parametrize(("error", "status"), [("ThrottlingException", 400), ("InternalServerException", 500),
                                               ("ServiceUnavailable", 503)])
def test_transient_errors_are_retried(pc_sim, pc, calls, error, status):
    oid = put(pc_sim, 1)
    pc_sim.fail_next("GetOpportunity", error, times=2, status=status)
    assert pc.get_opportunity(oid)["Id"] == oid
    assert calls == ["GetOpportunity"] * 3  # every attempt is counted against the budget
    assert [c.status for c in pc_sim.calls] == [status, status, 200]


def test_throttling_past_the_retries_ends_the_reading_like_a_spent_budget(pc_sim, pc, calls):
    pc_sim.fail_next("ListOpportunities", "ThrottlingException", times=3)
    with pytest.raises(BudgetExhausted, match="ListOpportunities: ThrottlingException: still throttled after retries"):
        next(pc.list_opportunities(None))
    assert len(calls) == 3


@pytest.mark.parametrize(("error", "status"), [("InternalServerException", 500), ("ServiceUnavailable", 503)])
def test_server_errors_past_the_retries_are_fatal(pc_sim, pc, calls, error, status):
    pc_sim.fail_next("ListOpportunities", error, times=3, status=status)
    with pytest.raises(FatalError, match="still failing after retries"):
        next(pc.list_opportunities(None))
    assert len(calls) == 3


def test_an_unreachable_endpoint_is_retried_then_fatal(aws_env, monkeypatch, calls):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING", f"http://127.0.0.1:{port}")
    pc = PartnerCentral(make_client(timeout=2), catalog="AWS", gate=RateGate(None), retry=RETRY,
                        count_call=calls.append)
    with pytest.raises(FatalError, match="EndpointConnectionError"):
        pc.get_opportunity("O1")
    assert len(calls) == 3


def test_missing_credentials_are_fatal_with_a_clear_message(pc_sim, monkeypatch, tmp_path, calls):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    pc = PartnerCentral(make_client(timeout=2), catalog="AWS", gate=RateGate(None), retry=RETRY,
                        count_call=calls.append)
    with pytest.raises(FatalError, match="no AWS credentials"):
        next(pc.list_opportunities(None))
    assert pc_sim.calls == []


# --- listings ------------------------------------------------------------------------------------------------------

def test_listing_pages_oldest_first_with_the_since_filter(pc_sim, pc, calls):
    for n in range(250):
        put(pc_sim, n, LastModifiedDate=f"2026-03-01T{n // 60:02d}:{n % 60:02d}:00.000Z")
    pages = list(pc.list_opportunities(None))
    assert [len(p) for p in pages] == [100, 100, 50]
    stamps = [item["LastModifiedDate"] for page in pages for item in page]
    assert stamps == sorted(stamps) and len({item["Id"] for page in pages for item in page}) == 250
    first = sent(pc_sim, "ListOpportunities")[0]
    assert first == {"Catalog": "AWS", "MaxResults": 100,
                     "Sort": {"SortBy": "LastModifiedDate", "SortOrder": "ASCENDING"}}

    pc_sim.reset_calls()
    since = list(pc.list_opportunities("2026-03-01T03:00:00.000000Z"))  # inclusive: 03:00 … 04:09
    assert sum(len(p) for p in since) == 70
    bound = sent(pc_sim, "ListOpportunities")[0]["LastModifiedDate"]["AfterLastModifiedDate"]
    assert dt.datetime.fromisoformat(bound) == dt.datetime(2026, 3, 1, 3, tzinfo=dt.UTC)


def test_invitations_are_listed_as_receiver_newest_first(pc_sim, pc):
    for n in range(3):
        record = invitation_record(n)
        record["InvitationDate"] = f"2026-03-0{n + 1}T10:00:00Z"
        pc_sim.put_invitation(record)
    pages = list(pc.list_invitations())
    assert [i["Id"] for i in pages[0]] == [invitation_record(n)["Id"] for n in (2, 1, 0)]
    request = sent(pc_sim, "ListEngagementInvitations")[0]
    assert (request["ParticipantType"], request["PayloadType"]) == ("RECEIVER", ["OpportunityInvitation"])
    detail = pc.get_invitation(invitation_record(1)["Id"])
    assert detail["Payload"]["OpportunityInvitation"]["Project"]["Title"].startswith("AWS referral")
    assert pc.get_invitation("engi-0000000000999") is None


def test_a_repeated_next_token_stops_the_listing(aws_env, calls):
    """A service bug that hands back the same NextToken would loop forever; the adapter refuses it."""
    client = boto3.client("partnercentral-selling", region_name="us-east-1")
    stub = Stubber(client)
    summary = {"Catalog": "AWS", "Id": "O1", "LastModifiedDate": dt.datetime(2026, 3, 1, tzinfo=dt.UTC)}
    for _ in range(2):
        stub.add_response("list_opportunities", {"OpportunitySummaries": [summary], "NextToken": "same-token"})
    pc = PartnerCentral(client, catalog="AWS", gate=RateGate(None), retry=RETRY, count_call=calls.append)
    pages = []
    with stub, pytest.raises(FatalError, match="same NextToken came back twice"):
        for page in pc.list_opportunities(None):
            pages.append(page)
    assert len(pages) == 2 and len(calls) == 2  # it stops at the first repeat
    stub.assert_no_pending_responses()


def test_an_empty_listing_is_one_empty_page(pc_sim, pc, calls):
    assert list(pc.list_opportunities(None)) == [[]]
    assert list(pc.list_invitations()) == [[]]
    assert calls == ["ListOpportunities", "ListEngagementInvitations"]


def test_the_catalog_is_sent_on_every_call(pc_sim, calls):
    sandbox = PartnerCentral(make_client(timeout=5), catalog="Sandbox", gate=RateGate(None), retry=RETRY,
                             count_call=calls.append)
    record = opportunity_record(1, rng=random.Random(1))
    pc_sim.put_opportunity(record, catalog="Sandbox")
    put(pc_sim, 2)  # in the AWS catalog: invisible from Sandbox
    assert [i["Id"] for i in next(sandbox.list_opportunities(None))] == [record["Id"]]
    assert sandbox.get_opportunity(record["Id"])["Catalog"] == "Sandbox"
    assert sandbox.get_opportunity("O1000002") is None
    assert {json.loads(c.body)["Catalog"] for c in pc_sim.calls} == {"Sandbox"}
