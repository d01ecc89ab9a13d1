"""The world's values: an opportunity on both sides, its AWS view and team, and how each renders for the wire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from poller.simulators import portfolio
from soak.truth import AwsFacts

FALLBACK = portfolio.FALLBACK_OWNER[0]
SELLER_OWNERS = [o[0] for o in portfolio.OWNERS]
LEAVER = portfolio.FORMER_OWNER[0]  # leaves the company during the soak: her deals' bells go to the fallback
# Real-world names: HTML-special characters must stay readable in subjects and escaped in bodies.
COMPANIES = [*portfolio.COMPANIES, "O'Neil & Sons", "AT&T Retail", "Smith <Labs>", "Müller & Söhne GmbH",
             'The "Best" Bakery']
TITLES = ["AWSSalesRep", "AWSAccountOwner", "PDM", "PSM", "ISVSM", "WWPSPDM"]
FIRST = ["Maria", "Dev", "Sam", "Aiko", "Lena", "Omar", "Ines", "Tom", "Yuki", "Ravi", "Zoe", "Ken"]
LAST = ["Lopez", "Patel", "Kim", "Tanaka", "Berg", "Haddad", "Costa", "Novak", "Sato", "Iyer", "Ward", "Ito"]
PRODUCTS = ["AmazonS3", "AmazonEC2", "AmazonRDS", "AWSLambda", "AmazonBedrock", "AmazonRedshift", "AmazonEKS"]
CATEGORIES = ["MAP Eligible", "Pathway - Move to Cloud Native", "ISV Workload Migration", "Generative AI"]
AWS_STAGES = ["Prospect", "Qualify", "Technical Validation", "Business Validation", "Committed", "Seller Engaged"]
NBA = ["Share the reference architecture", "Book a solution architect session", "Propose a MAP assessment",
       "Run a proof of concept", "Invite the AWS account team to the next call"]
CLOSED = ("Launched", "Closed Lost")


@dataclass(slots=True)
class Member:
    first: str
    last: str
    title: str
    email: str | None = None  # AWS often fills the email in days after assigning someone

    @property
    def identity(self) -> str:
        return f"{self.first} {self.last}"

    def wire(self) -> dict[str, str]:
        return {"FirstName": self.first, "LastName": self.last, "BusinessTitle": self.title,
                **({"Email": self.email} if self.email else {})}


@dataclass(slots=True)
class AwsState:
    origin: str = "Partner Referral"
    involvement: str = "Co-Sell"
    visibility: str = "Full"
    stage: str = "Qualify"
    next_steps: str = "Align on the customer's timeline"
    target_close: str | None = None
    spend: str = "1200"
    team: list[Member] = field(default_factory=list)
    score: str | None = None
    products: set[str] = field(default_factory=set)
    solutions: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    categories_missing: bool = False  # the spend insights are absent from the answer for a while
    nba: str | None = None

    def summary(self) -> dict[str, Any]:
        insights: dict[str, Any] = {}
        if self.score:
            insights["EngagementScore"] = self.score
        if self.nba:
            insights["NextBestActions"] = self.nba
        if not self.categories_missing:
            insights["AwsProductsSpendInsightsBySource"] = {"AWS": {
                "CurrencyCode": "USD", "Frequency": "Monthly", "TotalAmount": "1200.00",
                "TotalAmountByCategory": {c: "100.00" for c in sorted(self.categories)},
                "AwsProducts": [{"ProductCode": p, "Categories": [], "Optimizations": []} for p in sorted(self.products)]}}
        life = {"Stage": self.stage, "NextSteps": self.next_steps,
                **({"TargetCloseDate": self.target_close} if self.target_close else {})}
        return {"Origin": self.origin, "InvolvementType": self.involvement, "Visibility": self.visibility,
                "LifeCycle": life, "OpportunityTeam": [m.wire() for m in self.team], "Insights": insights,
                "RelatedEntityIds": {"AwsProducts": sorted(self.products), "Solutions": sorted(self.solutions)},
                "Project": {"ExpectedCustomerSpend": [{"Amount": self.spend, "CurrencyCode": "USD",
                                                       "Frequency": "Monthly", "TargetCompany": "AWS"}]}}

    def facts(self) -> AwsFacts:
        return AwsFacts(score=self.score, team=frozenset((m.identity, m.title) for m in self.team),
                        products=frozenset(self.products), solutions=frozenset(self.solutions),
                        categories=None if self.categories_missing else frozenset(self.categories), nba=self.nba,
                        plain=(("stage", self.stage), ("next_steps", self.next_steps),
                               ("involvement", self.involvement), ("visibility", self.visibility),
                               ("target_close", self.target_close), ("spend", cents(self.spend))))


@dataclass(slots=True)
class Opp:
    n: int
    oid: str
    deal_id: str
    title: str
    amount: str
    close: str
    stage: str
    review: str | None
    aws: AwsState | None
    deal: list[str]  # dealname, amount, close date on the HubSpot side
    referral: bool = False
    invitation_notified: bool = True
    modified: dt.datetime | None = None  # its LastModifiedDate in Partner Central
    busy: dict[str, dt.datetime] = field(default_factory=dict)  # aspect → free again at

    @property
    def open(self) -> bool:
        return self.stage not in CLOSED and (self.review or "") in ("Submitted", "In review", "Approved",
                                                                     "Action Required")


def cents(amount: str | None) -> str | None:
    return None if amount is None else str(Decimal(amount).quantize(Decimal("0.01")))
