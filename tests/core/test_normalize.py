"""normalize: boto3 dicts → Snapshot / Invitation, leniently where AWS is loose and strictly where it is broken."""

from __future__ import annotations

import datetime as dt

import pytest
from core_builders import aws_summary, opportunity

from poller.core.errors import IncompleteRecord, MalformedRecord
from poller.core.model import Person, Snapshot, Spend
from poller.core.normalize import aws_view_from, invitation_from, listed_version, snapshot_from


def test_full_opportunity():
    s = snapshot_from(opportunity(), aws_summary(), catalog="Sandbox")
    assert (s.opportunity_id, s.catalog, s.deal_id) == ("O1234567", "Sandbox", "9001")
    assert s.last_modified == "2025-03-01T10:00:00.000000Z" and s.created == "2025-02-01T09:00:00.000000Z"
    assert (s.title, s.customer_name, s.stage, s.review_status) == ("Data lake migration", "Acme Corp", "Qualified",
                                                                   "Submitted")
    assert s.target_close_date == "2025-06-30"
    assert s.expected_spend == (Spend(amount="1000.00", currency="USD", frequency="Monthly", target_company="AWS"),)
    assert s.partner_products == ("AmazonS3",) and s.partner_solutions == ("S-0000001",)
    aws = s.aws
    assert aws is not None
    assert (aws.origin, aws.involvement_type, aws.visibility, aws.stage, aws.next_steps) == (
        "Partner Referral", "Co-Sell", "Full", "Prospect", "Intro call")
    assert aws.team == (Person(email="jane@amazon.com", first_name="Jane", last_name="Seller", title="AWSSalesRep"),)
    assert aws.contacts[0].email == "bob@acme.test"
    assert aws.engagement_score == "Medium" and aws.next_best_actions is None
    assert aws.products == ("AmazonS3",) and aws.solutions == ()
    assert aws.program_categories == ("MAP Eligible", "Pathway - Move to Cloud Native")
    assert aws.expected_spend[0].amount == "1000.00"


@pytest.mark.parametrize("stamp", [
    dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 3, 1, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    "2025-03-01T10:00:00Z",
    "2025-03-01T10:00:00.000000000Z",
    "2025-03-01T05:00:00-05:00",
])
def test_last_modified_is_canonical(stamp):
    s = snapshot_from(opportunity(LastModifiedDate=stamp), None, catalog="AWS")
    assert s.last_modified == "2025-03-01T10:00:00.000000Z"


@pytest.mark.parametrize("empty", [None, "", []])
def test_absent_null_empty_are_alike(empty):
    def build(value):
        opp = opportunity(LifeCycle={"NextSteps": value, "ReviewComments": value}, OpportunityTeam=value,
                          RelatedEntityIdentifiers={"AwsProducts": value, "Solutions": value}, Marketing=value)
        return snapshot_from(opp, aws_summary(Insights=value, OpportunityTeam=value, Customer=value), catalog="AWS")

    absent, same = build(...), build(empty)
    assert same == absent and same.hash == absent.hash
    assert same.next_steps is None and same.partner_products == ()
    assert same.aws is not None and same.aws.team == () and same.aws.engagement_score is None


def test_strings_are_stripped_and_blank_is_none():
    s = snapshot_from(opportunity(Project={"Title": "  Data lake  "}, LifeCycle={"NextSteps": "   "}), None,
                      catalog="AWS")
    assert s.title == "Data lake" and s.next_steps is None


def test_unordered_lists_are_sorted():
    forward = aws_summary(
        OpportunityTeam=[{"Email": "a@amazon.com", "BusinessTitle": "PDM"}, {"Email": "b@amazon.com"}],
        RelatedEntityIds={"AwsProducts": ["AmazonS3", "AmazonEC2"], "Solutions": ["S-2", "S-1"]},
        Project={"ExpectedCustomerSpend": [
            {"Amount": "1", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"},
            {"Amount": "2", "CurrencyCode": "USD", "Frequency": "None", "TargetCompany": "Self"}]})
    backward = aws_summary(
        OpportunityTeam=[{"Email": "B@amazon.com "}, {"Email": "a@amazon.com", "BusinessTitle": "PDM"}],
        RelatedEntityIds={"AwsProducts": ["AmazonEC2", "AmazonS3", "AmazonEC2"], "Solutions": ["S-1", "S-2"]},
        Project={"ExpectedCustomerSpend": [
            {"Amount": "2", "CurrencyCode": "USD", "Frequency": "None", "TargetCompany": "Self"},
            {"Amount": "1", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}]})
    a = snapshot_from(opportunity(), forward, catalog="AWS").aws
    b = snapshot_from(opportunity(), backward, catalog="AWS").aws
    assert a is not None and b is not None
    assert a.products == b.products == ("AmazonEC2", "AmazonS3")
    assert a.solutions == ("S-1", "S-2")
    assert [p.key for p in a.team] == [p.key for p in b.team] == ["a@amazon.com", "b@amazon.com"]
    assert a.expected_spend == b.expected_spend


def test_program_categories_from_both_sources_and_products():
    summary = aws_summary(Insights={"AwsProductsSpendInsightsBySource": {
        "AWS": {"TotalAmountByCategory": {"MAP Eligible": "1", "Pathway - Move to Managed DB": "2"},
                "AwsProducts": [{"ProductCode": "AmazonRDS", "Categories": ["MAP Eligible", "Zeta"]}]},
        "Partner": {"TotalAmountByCategory": {"Alpha": "3"}, "AwsProducts": []}}})
    aws = snapshot_from(opportunity(), summary, catalog="AWS").aws
    assert aws is not None
    assert aws.program_categories == ("Alpha", "MAP Eligible", "Pathway - Move to Managed DB", "Zeta")


@pytest.mark.parametrize(("raw", "kept"), [("High", "High"), ("medium", "medium"), ("Very High", "Very High"),
                                           (85, "85"), ("85", "85"), (None, None)])
def test_engagement_score_kept_as_text(raw, kept):
    aws = snapshot_from(opportunity(), aws_summary(Insights={"EngagementScore": raw}), catalog="AWS").aws
    assert aws is not None and aws.engagement_score == kept


def test_unknown_enum_values_are_kept():
    s = snapshot_from(opportunity(LifeCycle={"Stage": "Quantum Validation", "ReviewStatus": "Escalated"}),
                      aws_summary(Origin="Marketplace Referral", LifeCycle={"Stage": "Hyper Engaged"}),
                      catalog="AWS")
    assert (s.stage, s.review_status) == ("Quantum Validation", "Escalated")
    assert s.aws is not None and (s.aws.origin, s.aws.stage) == ("Marketplace Referral", "Hyper Engaged")


def test_missing_optional_blocks():
    opp = opportunity(LifeCycle={"Stage": None}, Customer=..., Project=..., RelatedEntityIdentifiers=...)
    s = snapshot_from(opp, aws_summary(Insights=None, LifeCycle=None, Customer=None), catalog="AWS")
    assert s.stage is None and s.title is None and s.expected_spend == ()
    assert s.aws is not None and s.aws.engagement_score is None and s.aws.program_categories == ()
    assert s.aws.stage is None and s.aws.contacts == ()


@pytest.mark.parametrize("life", ["absent", None, {}, {"Stage": None, "ReviewStatus": " ", "NextSteps": "call"}])
def test_a_lifecycle_without_stage_or_review_status_is_incomplete(life):
    # Every review event and the sweep depend on this block: a record without it is not stored as "no status".
    record = opportunity(LifeCycle=...) if life == "absent" else {**opportunity(), "LifeCycle": life}
    with pytest.raises(IncompleteRecord) as caught:
        snapshot_from(record, None, catalog="AWS")
    assert caught.value.record_id == "O1234567" and "LifeCycle" in caught.value.reason
    assert str(caught.value).startswith("incomplete record O1234567")


@pytest.mark.parametrize("life", [{"Stage": "Prospect"}, {"ReviewStatus": "Approved"}])
def test_stage_or_review_status_alone_is_complete(life):
    # An AWS referral may have no ReviewStatus (it "only applies to partner referrals").
    s = snapshot_from({**opportunity(), "LifeCycle": life}, None, catalog="AWS")
    assert (s.stage, s.review_status) == (life.get("Stage"), life.get("ReviewStatus"))


@pytest.mark.parametrize(("raw", "stored"), [
    ("Acme \ud800 Corp", "Acme \ufffd Corp"),  # a lone surrogate cannot be encoded as UTF-8 at all
    ("Acme\x00 Corp\x07", "Acme Corp"),  # NUL and other C0 controls: HTML and XML forbid them
    ("Line\tone\r\ntwo", "Line\tone\r\ntwo"),  # tab and line breaks stay
    ("\u202eevil\u202c <b>", "\u202eevil\u202c <b>"),  # storable: subjects clean bidi, bodies escape HTML
])
def test_text_is_storable(raw, stored):
    s = snapshot_from(opportunity(Project={"Title": raw}), aws_summary(OpportunityTeam=[{"FirstName": raw}]),
                      catalog="AWS")
    assert s.title == stored and s.aws is not None and s.aws.team[0].first_name == stored
    assert stored.encode("utf-8")  # nothing left that UTF-8 cannot encode


def test_null_list_entries_are_no_entries():
    s = snapshot_from(opportunity(), aws_summary(OpportunityTeam=[None, {"Email": "a@amazon.com"}, None]),
                      catalog="AWS")
    assert s.aws is not None and [p.email for p in s.aws.team] == ["a@amazon.com"]


@pytest.mark.parametrize("summary", [
    None, {}, {"Catalog": "AWS"}, {"Catalog": "AWS", "RelatedOpportunityId": "O1234567"},
    {"Catalog": "AWS", "RelatedOpportunityId": "O1", "LifeCycle": None, "Insights": None, "OpportunityTeam": []},
])
def test_empty_aws_summary_is_no_view(summary):
    assert snapshot_from(opportunity(), summary, catalog="AWS").aws is None


@pytest.mark.parametrize(("opp", "summary", "reason"), [
    (opportunity(Id=...), None, "Id"),
    (opportunity(Id=""), None, "Id"),
    (opportunity(LastModifiedDate=...), None, "LastModifiedDate"),
    (opportunity(LastModifiedDate="yesterday"), None, "LastModifiedDate"),
    (opportunity(LifeCycle=["Prospect"]), None, "LifeCycle"),
    (opportunity(Customer="Acme"), None, "Customer"),
    (opportunity(Project=[1]), None, "Project"),
    (opportunity(Project={"ExpectedCustomerSpend": {"Amount": "1"}}), None, "ExpectedCustomerSpend"),
    (opportunity(RelatedEntityIdentifiers={"AwsProducts": "AmazonS3"}), None, "AwsProducts"),
    (opportunity(), aws_summary(OpportunityTeam={"Email": "x"}), "OpportunityTeam"),
    (opportunity(), aws_summary(OpportunityTeam=["jane"]), "OpportunityTeam"),
    (opportunity(), aws_summary(LifeCycle="Prospect"), "LifeCycle"),
    (opportunity(), ["not", "an", "object"], "AWS summary"),
    (opportunity(), aws_summary(Insights={"AwsProductsSpendInsightsBySource": "x"}),
     "AwsProductsSpendInsightsBySource"),
])
def test_broken_records_raise(opp, summary, reason):
    with pytest.raises(MalformedRecord) as caught:
        snapshot_from(opp, summary, catalog="AWS")
    assert reason in caught.value.reason
    if opp.get("Id"):
        assert caught.value.record_id == "O1234567"


def test_snapshot_round_trips_through_dict():
    s = snapshot_from(opportunity(), aws_summary(), catalog="AWS")
    assert Snapshot.from_dict(s.to_dict()) == s


def test_invitation_from_summary_and_detail():
    summary = {"Catalog": "Sandbox", "Id": "engi-zl4chf82zej4r", "Status": "PENDING", "SenderCompanyName": "AWS",
               "EngagementTitle": "Acme analytics", "InvitationDate": "2025-02-08T20:48:55.457306587Z",
               "ExpirationDate": dt.datetime(2025, 2, 23, 20, 48, 55, tzinfo=dt.UTC), "PayloadType":
               "OpportunityInvitation"}
    detail = {**summary, "InvitationMessage": " Please help ", "Payload": {"OpportunityInvitation": {
        "SenderContacts": [{"Email": "pdm@amazon.com", "FirstName": "Pat", "BusinessTitle": "PDM"}],
        "Customer": {"Industry": "Retail", "CompanyName": "Acme Corp", "WebsiteUrl": "https://acme.test",
                     "CountryCode": "US"},
        "Project": {"Title": "Analytics", "BusinessProblem": "Needs analytics for all stores",
                    "TargetCompletionDate": "2025-09-30",
                    "ExpectedCustomerSpend": [{"Amount": "5000", "CurrencyCode": "USD", "Frequency": "Monthly",
                                               "TargetCompany": "AWS"}]}}}}
    inv = invitation_from(summary, detail, catalog="Sandbox")
    assert inv.invitation_id == "engi-zl4chf82zej4r" and inv.status == "PENDING"
    assert inv.invitation_date == "2025-02-08T20:48:55.457306Z"
    assert inv.expiration_date == "2025-02-23T20:48:55.000000Z"
    assert (inv.customer_name, inv.industry, inv.country, inv.project_title) == ("Acme Corp", "Retail", "US",
                                                                                "Analytics")
    assert inv.target_completion_date == "2025-09-30" and inv.invitation_message == "Please help"
    assert inv.sender_contacts[0].email == "pdm@amazon.com" and inv.expected_spend[0].amount == "5000"
    bare = invitation_from(summary, None, catalog="Sandbox")
    assert bare.customer_name is None and bare.engagement_title == "Acme analytics"


def test_invitation_unknown_status_kept_and_broken_ones_raise():
    assert invitation_from({"Id": "engi-1", "Status": "WITHDRAWN"}, None, catalog="AWS").status == "WITHDRAWN"
    with pytest.raises(MalformedRecord):
        invitation_from({"Status": "PENDING"}, None, catalog="AWS")
    with pytest.raises(MalformedRecord):
        invitation_from({"Id": "engi-1"}, None, catalog="AWS")
    with pytest.raises(MalformedRecord):
        invitation_from({"Id": "engi-1", "Status": "PENDING"}, {"Payload": "x"}, catalog="AWS")


def test_listed_version():
    item = {"Catalog": "AWS", "Id": "O42", "LastModifiedDate": dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)}
    assert listed_version(item) == ("O42", "2025-03-01T10:00:00.000000Z")
    assert listed_version({**item, "LastModifiedDate": "2025-03-01T10:00:00Z"}) == listed_version(item)
    for broken in ({"LastModifiedDate": "2025-03-01T10:00:00Z"}, {"Id": "O42"}, {"Id": "O42", "LastModifiedDate": 5}):
        with pytest.raises(MalformedRecord):
            listed_version(broken)


def test_aws_view_alone_matches_the_snapshot_view():
    assert aws_view_from(aws_summary(), "O1234567") == snapshot_from(opportunity(), aws_summary(), catalog="AWS").aws
    assert aws_view_from({"Catalog": "AWS"}, "O1234567") is None
    with pytest.raises(MalformedRecord) as caught:
        aws_view_from(aws_summary(OpportunityTeam="x"), "O9")
    assert caught.value.record_id == "O9"
