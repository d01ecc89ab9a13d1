"""A realistic co-sell portfolio for the simulators: opportunities, AWS summaries, invitations, owners and deals."""

from __future__ import annotations

import datetime as dt
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
FALLBACK_OWNER = ("190", "revops@partner.example", "Riley", "Park")  # a RevOps person: a queue never rings


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


# --- a varied portfolio, as a partner's pipeline really looks (the demo and `poller simulate` use it)

FORMER_OWNER = ("105", "erin@partner.example", "Erin", "Walsh")  # leaves the company during the demo's day
# Review status by position in each block of 20: mostly approved, some still with AWS, one to fix, one rejected.
REVIEW_PATTERN = {2: "In review", 9: "In review", 16: "In review", 5: "Action Required", 12: "Submitted",
                  18: "Rejected"}
CLOSED_PATTERN = {7: "Launched", 14: "Closed Lost"}
OPEN_STAGES = ["Prospect", "Qualified", "Technical Validation", "Business Validation", "Committed"]
AWS_STAGE = {"Prospect": "Prospect", "Qualified": "Qualify", "Technical Validation": "Technical Validation",
             "Business Validation": "Business Validation", "Committed": "Committed", "Launched": "Launched",
             "Closed Lost": "Closed Lost"}
SCORES = ["Medium", "High", "Low", "Medium"]
QUALITY = [72, 55, 38, 81, 64]  # deal-quality scores (0–100) AWS gives the seeded opportunities, in turn
QUALITY_TIP = {"Type": "OpportunityQuality", "Details": "Add the customer's timeline and decision maker"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioEntry:
    """One seeded opportunity and its deal, with the state a script needs to pick it for a change."""

    n: int
    opportunity_id: str
    deal_id: str
    owner_id: str
    title: str
    customer: str
    amount: str
    close_date: str
    review_status: str
    stage: str
    engagement_score: str | None
    quality: int | None = None

    @property
    def open(self) -> bool:
        return self.stage not in CLOSED_PATTERN.values()


def _wire(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def owner_of(n: int) -> str:
    """Deal owner by position: the four sellers in turn, and every 50th deal (from the 20th) is Erin's."""
    return FORMER_OWNER[0] if n % 50 == 19 else OWNERS[n % len(OWNERS)][0]


def seed_portfolio(pc: Any, hubspot: Any | None, count: int, *, now: dt.datetime,
                   seed_value: int = 7) -> list[PortfolioEntry]:
    """`count` submitted opportunities in mixed review states and stages, all with AWS summaries, modified over the
    last four months; their deals (same name, amount and close date) owned by four sellers and Erin; the owners."""
    rng = random.Random(seed_value)
    if hubspot is not None:
        for owner_id, email, first, last in [*OWNERS, FORMER_OWNER, FALLBACK_OWNER]:
            hubspot.add_owner(owner_id, email, first, last)
    entries = []
    for n in range(count):
        review = REVIEW_PATTERN.get(n % 20, "Approved")
        stage = CLOSED_PATTERN.get(n % 20) or ("Qualified" if review != "Approved" else OPEN_STAGES[n % 5])
        score = SCORES[n % len(SCORES)] if n % 9 else None  # AWS has not scored every opportunity
        record = opportunity_record(n, rng=rng, review_status=review, stage=stage)
        modified = now - dt.timedelta(minutes=rng.randint(60, 120 * 24 * 60))
        close = (now + dt.timedelta(days=rng.randint(20, 300))).date().isoformat()
        record["LifeCycle"]["TargetCloseDate"] = close
        if review == "Action Required":
            record["LifeCycle"]["ReviewComments"] = "Add the customer's business problem in more detail."
        record.update(CreatedDate=_wire(modified - dt.timedelta(days=rng.randint(5, 200))),
                      LastModifiedDate=_wire(modified))
        summary = aws_summary_record(n, score=score, team=1 + n % 2)
        summary["LifeCycle"]["Stage"] = AWS_STAGE[stage]
        if score is None:
            summary["Insights"].pop("EngagementScore")
        # What AWS says since 2026: a deal-quality score and its advice, and who drives the deal on AWS's side.
        summary["Insights"].update(OpportunityQuality={"Score": QUALITY[n % len(QUALITY)], "Trend": "No Change"},
                                   Recommendations=[QUALITY_TIP])
        summary["CosellMotion"] = "AWS Field-engaged"
        pc.put_opportunity(record, summary)
        amount = record["Project"]["ExpectedCustomerSpend"][0]["Amount"]
        entry = PortfolioEntry(n=n, opportunity_id=opportunity_id(n), deal_id=deal_id(n), owner_id=owner_of(n),
                               title=record["Project"]["Title"], amount=amount, close_date=close,
                               customer=record["Customer"]["Account"]["CompanyName"], review_status=review,
                               stage=stage, engagement_score=score, quality=QUALITY[n % len(QUALITY)])
        if hubspot is not None:
            hubspot.add_deal(entry.deal_id, dealname=entry.title, amount=amount, closedate=f"{close}T00:00:00Z",
                             hubspot_owner_id=entry.owner_id)
        entries.append(entry)
    return entries


def referral_invitation(n: int, *, status: str = "PENDING", invited: dt.datetime | None = None) -> dict[str, Any]:
    """invitation_record with a plain project title ("GenAI assistant for Hooli"), as AWS writes them."""
    record = invitation_record(n, status=status)
    payload = record["Payload"]["OpportunityInvitation"]
    payload["Project"]["Title"] = f"{PROJECTS[n % len(PROJECTS)]} for {payload['Customer']['CompanyName']}"
    if invited is not None:
        record["InvitationDate"] = _wire(invited)
    return record


def seed_invitations(pc: Any, *, now: dt.datetime) -> dict[str, str]:
    """Two AWS referrals: one PENDING (the seller must answer; it expires in 60 hours), one ACCEPTED days ago.
    Returns {status: id}."""
    pending = referral_invitation(1, invited=now - dt.timedelta(days=15) + dt.timedelta(hours=60))
    accepted = referral_invitation(2, status="ACCEPTED", invited=now - dt.timedelta(days=6))
    return {"PENDING": pc.put_invitation(pending), "ACCEPTED": pc.put_invitation(accepted)}
