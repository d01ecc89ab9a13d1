"""A realistic co-sell portfolio for the simulators: opportunities, AWS summaries, invitations, owners and deals."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Industries", "Wayne Logistics", "Hooli",
             "Vandelay Imports", "Soylent Foods", "Tyrell Systems", "Cyberdyne", "Wonka Retail", "Oscorp Energy",
             "Pied Piper", "Massive Dynamic", "Aperture Labs", "Gringotts Bank", "Monarch Media"]
PROJECTS = ["Data lake migration", "SAP on AWS", "Contact center modernization", "GenAI assistant",
            "Windows workloads migration", "Analytics platform", "Mainframe modernization", "Security hub rollout",
            "Serverless commerce", "IoT telemetry pipeline"]
INDUSTRIES = ["Financial Services", "Healthcare", "Retail", "Manufacturing", "Software and Internet", "Media and Entertainment"]
SELLERS = [("Maria", "Lopez", "AWSSalesRep"), ("Dev", "Patel", "AWSAccountOwner"), ("Sam", "Kim", "PDM"),
           ("Aiko", "Tanaka", "PSM"), ("Lena", "Berg", "AWSSalesRep"), ("Omar", "Haddad", "ISVSM")]
OWNERS = [("101", "alice@partner.example", "Alice", "Nguyen"), ("102", "bob@partner.example", "Bob", "Schmidt"),
          ("103", "carol@partner.example", "Carol", "Okafor"), ("104", "dan@partner.example", "Dan", "Rossi")]
FALLBACK_OWNER = ("190", "revops@partner.example", "RevOps", "Queue")


def opportunity_id(n: int) -> str:
    return f"O{1_000_000 + n}"


def deal_id(n: int) -> str:
    return str(50_000 + n)


def person(first: str, last: str, title: str, domain: str = "amazon.com") -> dict[str, str]:
    return {"FirstName": first, "LastName": last, "Email": f"{first.lower()}.{last.lower()}@{domain}", "BusinessTitle": title}


@dataclass(frozen=True, slots=True)
class Seeded:
    opportunity_id: str
    deal_id: str
    title: str
    amount: str
    close_date: str


def opportunity_record(n: int, *, rng: random.Random, review_status: str = "Approved", stage: str = "Qualified",
                       with_deal: bool = True) -> dict[str, Any]:
    company = COMPANIES[n % len(COMPANIES)]
    title = f"{PROJECTS[n % len(PROJECTS)]} #{n}"
    amount = str(rng.choice([2500, 5000, 12000, 25000, 60000]))
    close = f"2027-{1 + n % 12:02d}-{1 + n % 28:02d}"
    return {
        "Id": opportunity_id(n),
        "PartnerOpportunityIdentifier": deal_id(n) if with_deal else None,
        "OpportunityType": "Net New Business",
        "Customer": {"Account": {"CompanyName": company, "Industry": INDUSTRIES[n % len(INDUSTRIES)],
                                 "WebsiteUrl": f"https://{company.split()[0].lower()}.example",
                                 "Address": {"CountryCode": "US", "PostalCode": "98101"}}},
        "Project": {"Title": title, "CustomerBusinessProblem": "The customer needs to modernise a legacy platform.",
                    "DeliveryModels": ["SaaS or PaaS"],
                    "ExpectedCustomerSpend": [{"Amount": amount, "CurrencyCode": "USD", "Frequency": "Monthly",
                                               "TargetCompany": "AWS"}]},
        "LifeCycle": {"Stage": stage, "ReviewStatus": review_status, "TargetCloseDate": close,
                      "NextSteps": "Technical workshop scheduled"},
        "RelatedEntityIdentifiers": {"Solutions": ["S-0000001"]},
        "OpportunityTeam": [person("Pat", "Partner", "OpportunityOwner", "partner.example")],
    }


def aws_summary_record(n: int, *, origin: str = "Partner Referral", score: str | None = "Medium",
                       team: int = 1) -> dict[str, Any]:
    sellers = [person(*SELLERS[(n + i) % len(SELLERS)]) for i in range(team)]
    return {
        "Origin": origin, "InvolvementType": "Co-Sell", "Visibility": "Full",
        "LifeCycle": {"Stage": "Qualify", "NextSteps": "Align on the customer's timeline"},
        "OpportunityTeam": sellers,
        "Insights": {"EngagementScore": score, "NextBestActions": "Share the reference architecture",
                     "AwsProductsSpendInsightsBySource": {"AWS": {
                         "CurrencyCode": "USD", "Frequency": "Monthly", "TotalAmount": "1200.00",
                         "TotalAmountByCategory": {"Pathway - Move to Cloud Native": "1200.00"},
                         "AwsProducts": [{"ProductCode": "AmazonS3", "Categories": [], "Optimizations": []}]}}},
        "RelatedEntityIds": {"AwsProducts": ["AmazonS3"], "Solutions": ["S-0000001"]},
    }


def seed(pc: Any, hubspot: Any | None, count: int, *, seed_value: int = 7) -> list[Seeded]:
    """Put `count` submitted, approved opportunities (with AWS summaries) in Partner Central and their deals in HubSpot."""
    rng = random.Random(seed_value)
    if hubspot is not None:
        for owner_id, email, first, last in [*OWNERS, FALLBACK_OWNER]:
            hubspot.add_owner(owner_id, email, first, last)
    seeded = []
    for n in range(count):
        record = opportunity_record(n, rng=rng)
        pc.put_opportunity(record, aws_summary_record(n))
        spend = record["Project"]["ExpectedCustomerSpend"][0]["Amount"]
        close = record["LifeCycle"]["TargetCloseDate"]
        if hubspot is not None:
            hubspot.add_deal(deal_id(n), dealname=record["Project"]["Title"], amount=spend,
                             closedate=f"{close}T00:00:00Z", hubspot_owner_id=OWNERS[n % len(OWNERS)][0])
        seeded.append(Seeded(opportunity_id=opportunity_id(n), deal_id=deal_id(n), title=record["Project"]["Title"],
                             amount=spend, close_date=close))
    return seeded


def invitation_record(n: int, *, status: str = "PENDING") -> dict[str, Any]:
    company = COMPANIES[(n + 5) % len(COMPANIES)]
    return {
        "Id": f"engi-{n:013d}"[:18], "Status": status, "EngagementTitle": f"{company} co-sell"[:40],
        "PayloadType": "OpportunityInvitation", "SenderCompanyName": "AWS",
        "InvitationMessage": "AWS would like to co-sell this opportunity with you.",
        "Payload": {"OpportunityInvitation": {
            "SenderContacts": [person(*SELLERS[n % len(SELLERS)])],
            "ReceiverResponsibilities": ["Co-Sell Facilitator"],
            "Customer": {"Industry": "Retail", "CompanyName": company, "WebsiteUrl": "https://customer.example",
                         "CountryCode": "US"},
            "Project": {"Title": f"AWS referral: {PROJECTS[n % len(PROJECTS)]} for {company}",
                        "BusinessProblem": "The customer wants to migrate its data platform within two quarters.",
                        "TargetCompletionDate": "2027-06-30",
                        "ExpectedCustomerSpend": [{"Amount": "8000", "CurrencyCode": "USD", "Frequency": "Monthly",
                                                   "TargetCompany": "AWS"}]}}},
    }
