"""Frozen values the core works on: opportunity snapshots, invitations, deals, events and notifications."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The ten event kinds of DESIGN §3, in the order the design lists them.
from poller.core.aws_values import Recommendation, SoftwareRevenue
from poller.core.card import Card
from poller.core.hashing import stable_hash as stable_hash

# The ten event kinds of DESIGN §3, in the order the design lists them, then the signals AWS added in 2026.
KINDS = (
    "new_opportunity",
    "opportunity_updated",
    "engagement_score_changed",
    "review_approved",
    "review_action_required",
    "review_rejected",
    "submission_confirmed",
    "aws_seller_assigned",
    "resources_available",
    "conflict_detected",
    "quality_changed",
    "recommendation_added",
    "cosell_motion_changed",
    "invitation_expiring",
    "action_required_overdue",
    "funding_decision",
    "funding_expiring",
)
PRIORITIES = ("HIGH", "MEDIUM", "LOW")


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A member of a team or a contact; `key` identifies the same person across snapshots."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None

    @property
    def key(self) -> str:
        if self.email:
            return self.email.strip().lower()
        return f"{self.first_name or ''}|{self.last_name or ''}|{self.title or ''}".lower()

    def same_person(self, other: Person) -> bool:
        """The same email when both have one, else the same name: an email or a name filled in later changes nobody.

        Without an email on both sides and a name on both, the whole key (name and title) must match, as before.
        """
        if self.email and other.email:
            return self.email.strip().casefold() == other.email.strip().casefold()
        mine, theirs = self._name(), other._name()
        if mine and theirs:
            return mine == theirs
        return self.key == other.key

    def _name(self) -> str:
        return " ".join(" ".join(p.split()) for p in (self.first_name, self.last_name) if p).casefold()

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or "an AWS team member"


@dataclass(frozen=True, slots=True, kw_only=True)
class Spend:
    """One ExpectedCustomerSpend entry; amounts stay decimal strings as on the wire."""

    amount: str | None = None
    currency: str | None = None
    frequency: str | None = None
    target_company: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsView:
    """The normalized GetAwsOpportunitySummary: what AWS says about the opportunity."""

    origin: str | None = None
    involvement_type: str | None = None
    visibility: str | None = None
    involvement_type_change_reason: str | None = None
    stage: str | None = None
    next_steps: str | None = None
    closed_lost_reason: str | None = None
    target_close_date: str | None = None
    team: tuple[Person, ...] = ()
    contacts: tuple[Person, ...] = ()
    engagement_score: str | None = None
    next_best_actions: str | None = None
    products: tuple[str, ...] = ()
    solutions: tuple[str, ...] = ()
    program_categories: tuple[str, ...] = ()
    expected_spend: tuple[Spend, ...] = ()
    # What AWS says since 2026 (botocore 1.44.8): deal quality, recommendations, co-sell motion, deal terms.
    quality_score: int | None = None  # Insights.OpportunityQuality.Score, 0–100
    quality_trend: str | None = None  # Insights.OpportunityQuality.Trend: Improving | Declining | No Change
    recommendations: tuple[Recommendation, ...] = ()
    cosell_motion: str | None = None
    cosell_motion_reason: str | None = None
    software_revenue: SoftwareRevenue | None = None
    # Derived by core.settle from the view before (never read from the wire), so a flap does not ring twice:
    quality_band: int | None = None  # the quality band in force, with hysteresis (0 = the lowest)
    quality_decline_noted: bool = False  # a Declining trend was announced while in this band
    seen_recommendations: tuple[str, ...] = ()  # keys of the recommendations already announced
    signals_known: bool = False  # False: stored by a version that did not read the fields above

    @property
    def fingerprint(self) -> str:
        return stable_hash(asdict(self))[:16]


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """One opportunity as Partner Central showed it: GetOpportunity + GetAwsOpportunitySummary, normalized."""

    opportunity_id: str
    catalog: str
    last_modified: str  # AWS-supplied LastModifiedDate, ISO 8601 UTC with microseconds (clock.iso format)
    created: str | None = None
    deal_id: str | None = None  # PartnerOpportunityIdentifier: the HubSpot deal id by default
    title: str | None = None
    customer_name: str | None = None
    opportunity_type: str | None = None
    stage: str | None = None
    review_status: str | None = None
    review_comments: str | None = None
    review_status_reason: str | None = None
    next_steps: str | None = None
    closed_lost_reason: str | None = None
    target_close_date: str | None = None
    expected_spend: tuple[Spend, ...] = ()
    partner_products: tuple[str, ...] = ()
    partner_solutions: tuple[str, ...] = ()
    aws: AwsView | None = None  # None until AWS has a view (before submission)
    review_since: str | None = None  # derived (core.settle): when this job first recorded the current review status

    @property
    def hash(self) -> str:
        return stable_hash(self.to_dict())

    @property
    def aws_fingerprint(self) -> str | None:
        return self.aws.fingerprint if self.aws is not None else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        aws = data.get("aws")
        return cls(**{
            **data,
            "expected_spend": tuple(Spend(**s) for s in data.get("expected_spend") or ()),
            "partner_products": tuple(data.get("partner_products") or ()),
            "partner_solutions": tuple(data.get("partner_solutions") or ()),
            "aws": None if aws is None else AwsView(**{
                **aws,
                "team": tuple(Person(**p) for p in aws.get("team") or ()),
                "contacts": tuple(Person(**p) for p in aws.get("contacts") or ()),
                "products": tuple(aws.get("products") or ()),
                "solutions": tuple(aws.get("solutions") or ()),
                "program_categories": tuple(aws.get("program_categories") or ()),
                "expected_spend": tuple(Spend(**s) for s in aws.get("expected_spend") or ()),
                "recommendations": tuple(Recommendation.from_dict(r) for r in aws.get("recommendations") or ()),
                "software_revenue": SoftwareRevenue(**aws["software_revenue"]) if aws.get("software_revenue") else None,
                "seen_recommendations": tuple(aws.get("seen_recommendations") or ()),
            }),
        })


@dataclass(frozen=True, slots=True, kw_only=True)
class Invitation:
    """An engagement invitation (an AWS referral) from ListEngagementInvitations + GetEngagementInvitation."""

    invitation_id: str
    catalog: str
    status: str
    invitation_date: str | None = None
    expiration_date: str | None = None
    engagement_title: str | None = None
    sender_company: str | None = None
    customer_name: str | None = None
    industry: str | None = None
    website: str | None = None
    country: str | None = None
    project_title: str | None = None
    business_problem: str | None = None
    target_completion_date: str | None = None
    expected_spend: tuple[Spend, ...] = ()
    sender_contacts: tuple[Person, ...] = ()
    invitation_message: str | None = None
    # EnrichmentContext (GetEngagementInvitation): what AWS knows about the lead and how to reach it.
    lead_readiness: str | None = None
    outreach_channel: str | None = None
    outreach_windows: tuple[str, ...] = ()  # "MONDAY 14:00–16:00 UTC"
    eligible_programs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Invitation:
        return cls(**{
            **data,
            "expected_spend": tuple(Spend(**s) for s in data.get("expected_spend") or ()),
            "sender_contacts": tuple(Person(**p) for p in data.get("sender_contacts") or ()),
            "outreach_windows": tuple(data.get("outreach_windows") or ()),
            "eligible_programs": tuple(data.get("eligible_programs") or ()),
        })


@dataclass(frozen=True, slots=True, kw_only=True)
class Deal:
    """The linked HubSpot deal's fields the job reads: owner and the mapped fields compared for conflicts.

    dealname / amount / closedate hold the values of the deal properties mapped to Project.Title, expected spend
    and TargetCloseDate (by default the properties of those names; see the `conflict_mapping` setting).
    """

    deal_id: str
    exists: bool = True
    owner_id: str | None = None
    dealname: str | None = None
    amount: str | None = None
    currency: str | None = None  # the amount's currency: deal_currency_code, else the portal's company currency
    closedate: str | None = None  # as HubSpot sends it (ISO datetime or ms); compared as a UTC calendar date


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One field that moved: shown in a note as `label: old → new`."""

    field: str
    old: Any = None
    new: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something a seller should hear about, derived by diffing two snapshots (or from an invitation)."""

    kind: str
    subject_id: str  # opportunity id (O…) or invitation id (engi-…)
    key: str  # idempotency key: the same transition always yields the same key
    priority: str
    due_hours: int
    occurred_at: str  # AWS LastModifiedDate of the snapshot that showed it, or the observation time for sweeps
    changes: tuple[Change, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()  # extra context for the note (e.g. ("review_comments", "…"))
    deal_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """A rendered event, ready for the outbox: one task (and one note unless it has no deal)."""

    event_key: str
    kind: str
    subject_id: str
    deal_id: str | None
    priority: str
    due_at: str  # ISO UTC
    subject: str  # the task subject, starting with the kind's emoji
    task_body: str  # HTML, every Partner Central value escaped
    note_body: str | None  # HTML; None when there is no deal to hang it on (invitations)
    extra: dict[str, Any] = field(default_factory=dict)
    card: Card | None = None  # the same words as plain text in parts, for sinks that lay out their own message
