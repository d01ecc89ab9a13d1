"""Tiny builders for core tests: boto3-shaped dicts and normalized values with sensible defaults."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from poller.core.model import AwsView, Invitation, Person, Snapshot, Spend
from poller.core.rules import RuleConfig
from poller.templates import load_templates

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
# The core renders with the templates it is given; the built-in defaults, as every deployment without template_dir.
RULES = RuleConfig.default().with_overrides(templates=load_templates(None, RuleConfig.default()))
LM1, LM2, LM3 = "2025-03-01T10:00:00.000000Z", "2025-03-01T11:00:00.000000Z", "2025-03-01T11:30:00.000000Z"


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `over` into a copy of `base`; a value of ... deletes the key."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is ...:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def opportunity(**over: Any) -> dict[str, Any]:
    """A GetOpportunity response as boto3 returns it (timestamps are aware datetimes)."""
    base = {
        "Catalog": "Sandbox",
        "Id": "O1234567",
        "Arn": None,
        "PartnerOpportunityIdentifier": "9001",
        "OpportunityType": "Net New Business",
        "CreatedDate": dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC),
        "LastModifiedDate": dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC),
        "Customer": {"Account": {"CompanyName": "Acme Corp", "Industry": "Retail"}, "Contacts": []},
        "Project": {
            "Title": "Data lake migration",
            "ExpectedCustomerSpend": [
                {"Amount": "1000.00", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"},
            ],
        },
        "LifeCycle": {"Stage": "Qualified", "ReviewStatus": "Submitted", "TargetCloseDate": "2025-06-30"},
        "RelatedEntityIdentifiers": {"AwsProducts": ["AmazonS3"], "Solutions": ["S-0000001"]},
        "OpportunityTeam": [],
    }
    return merge(base, over)


def aws_summary(**over: Any) -> dict[str, Any]:
    """A GetAwsOpportunitySummary response as boto3 returns it."""
    base = {
        "Catalog": "Sandbox",
        "RelatedOpportunityId": "O1234567",
        "Origin": "Partner Referral",
        "InvolvementType": "Co-Sell",
        "Visibility": "Full",
        "LifeCycle": {"Stage": "Prospect", "NextSteps": "Intro call", "TargetCloseDate": "2025-06-30"},
        "OpportunityTeam": [
            {"Email": "jane@amazon.com", "FirstName": "Jane", "LastName": "Seller", "BusinessTitle": "AWSSalesRep"},
        ],
        "Insights": {
            "EngagementScore": "Medium",
            "NextBestActions": None,
            "AwsProductsSpendInsightsBySource": {
                "AWS": {
                    "CurrencyCode": "USD", "Frequency": "Monthly",
                    "TotalAmountByCategory": {"MAP Eligible": "100.00"},
                    "AwsProducts": [{"ProductCode": "AmazonRedshift", "Categories": ["Pathway - Move to Cloud Native"],
                                     "Optimizations": []}],
                },
            },
        },
        "RelatedEntityIds": {"AwsProducts": ["AmazonS3"], "Solutions": []},
        "Customer": {"Contacts": [{"Email": "bob@acme.test", "FirstName": "Bob", "LastName": "Buyer"}]},
        "Project": {"ExpectedCustomerSpend": [
            {"Amount": "1000.00", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}]},
    }
    return merge(base, over)


def person(email: str, title: str = "AWSSalesRep", first: str = "Jane", last: str = "Seller") -> Person:
    return Person(email=email, first_name=first, last_name=last, title=title)


def view(**kw: Any) -> AwsView:
    base: dict[str, Any] = {"origin": "Partner Referral", "involvement_type": "Co-Sell", "stage": "Prospect",
                            "engagement_score": "Medium", "team": (person("jane@amazon.com"),)}
    return AwsView(**{**base, **kw})


def snap(*, aws: AwsView | None | dict[str, Any] = None, **kw: Any) -> Snapshot:
    """A Snapshot; `aws` is an AwsView, None, or a dict of AwsView fields laid over view()'s defaults."""
    base: dict[str, Any] = {"opportunity_id": "O1234567", "catalog": "Sandbox", "last_modified": LM1,
                            "deal_id": "9001", "title": "Data lake migration", "customer_name": "Acme Corp",
                            "review_status": "Submitted", "target_close_date": "2025-06-30",
                            "expected_spend": (Spend(amount="1000.00", currency="USD", frequency="Monthly",
                                                     target_company="AWS"),)}
    return Snapshot(**{**base, **kw, "aws": view(**aws) if isinstance(aws, dict) else aws})


def invitation(**kw: Any) -> Invitation:
    base: dict[str, Any] = {"invitation_id": "engi-abcdefghij123", "catalog": "Sandbox", "status": "PENDING",
                            "invitation_date": "2025-02-28T20:48:55.457306Z",
                            "expiration_date": "2025-03-15T20:48:55.457306Z",
                            "engagement_title": "Acme analytics", "sender_company": "AWS",
                            "customer_name": "Acme Corp", "project_title": "Analytics platform",
                            "business_problem": "Acme needs a modern analytics platform for its stores.",
                            "sender_contacts": (person("pdm@amazon.com", "PDM", "Pat", "Manager"),)}
    return Invitation(**{**base, **kw})
