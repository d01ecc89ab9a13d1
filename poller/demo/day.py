"""The demo's scripted day: what AWS, the sellers and RevOps change between the baseline and the next cycle.

Every change goes through the simulators' Python API, as the real systems would change: review decisions move
LastModifiedDate; AWS-side summary changes (score, quality, recommendations, co-sell motion, team, insights, AWS
stage) do not, so only the sweep sees them. One step is only time passing: an invitation nears its expiry.
A deal created and submitted during the day is first seen by the next cycle, already Submitted.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from poller.demo.sims import ShiftedClock, Simulators
from poller.simulators.portfolio import (
    FORMER_OWNER,
    OWNERS,
    QUALITY_TIP,
    PortfolioEntry,
    aws_summary_record,
    deal_id,
    opportunity_id,
    opportunity_record,
    person,
    referral_invitation,
)

NEW_CUSTOMER = "O'Neil & Sons"  # shown as written in the task subject: plain text, never "O&#x27;Neil &amp; Sons"
SPECIALIST = {"Type": "SpecialistRecommendation", "Details": "Bring in an AWS SAP migration specialist",
              "Attributes": {"Specialist": "Nia Okoro", "Email": "nia.okoro@amazon.com"}}


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    at: str  # HH:MM of the demo's day (UTC)
    who: str  # AWS, a seller, RevOps
    what: str
    expect: str  # the event kind the next cycle should find
    subject: str  # opportunity or invitation id


class DayScript:
    """Picks distinct opportunities from the portfolio and changes them, one step per hour or so."""

    def __init__(self, sims: Simulators, portfolio: list[PortfolioEntry], clock: ShiftedClock, start: dt.datetime):
        self.sims, self.portfolio, self.clock, self.start = sims, portfolio, clock, start
        self.used: set[str] = set()
        self.steps: list[Step] = []

    def pick(self, test: Callable[[PortfolioEntry], bool], what: str, *, former_owner: bool = False) -> PortfolioEntry:
        """The first unused match, preferring an owner who has had no change yet (so every seller gets some);
        deals of the owner who leaves are only picked when asked for."""
        owners_seen = {e.owner_id for e in self.portfolio if e.opportunity_id in self.used}
        candidates = [e for e in self.portfolio if e.opportunity_id not in self.used and test(e)
                      and (e.owner_id == FORMER_OWNER[0]) == former_owner]
        if not candidates:
            raise RuntimeError(f"the portfolio has no opportunity for {what}; use more --opportunities")
        chosen = next((e for e in candidates if e.owner_id not in owners_seen), candidates[0])
        self.used.add(chosen.opportunity_id)
        return chosen

    def at(self, minutes: int, who: str, what: str, expect: str, subject: str) -> None:
        moment = self.start + dt.timedelta(minutes=minutes)
        self.clock.move_to(moment)
        self.steps.append(Step(at=moment.strftime("%H:%M"), who=who, what=what, expect=expect, subject=subject))


def seller(entry: PortfolioEntry) -> str:
    return next((o[2] for o in [*OWNERS, FORMER_OWNER] if o[0] == entry.owner_id), "A seller")


def approved_open(entry: PortfolioEntry) -> bool:
    return entry.review_status == "Approved" and entry.open


def run_day(sims: Simulators, portfolio: list[PortfolioEntry], clock: ShiftedClock, *,
            accepted_invitation: str, pending_invitation: str) -> list[Step]:
    """Apply the day's changes (the ten kinds and the 2026 signals, plus a deal whose owner left); returns them."""
    day = DayScript(sims, portfolio, clock, clock.now())
    pc, hub = sims.pc, sims.hubspot

    invitation = referral_invitation(3, invited=clock.now() + dt.timedelta(minutes=40))
    day.at(40, "AWS", f"sends a new co-sell referral (invitation {invitation['Id']})", "new_opportunity",
           invitation["Id"])
    pc.put_invitation(invitation)

    referral = referral_invitation(2)["Payload"]["OpportunityInvitation"]
    n = len(portfolio)
    oid, did = opportunity_id(n), deal_id(n)
    day.at(75, "Bob", f"accepts referral {accepted_invitation}; {oid} appears, linked to new deal {did}",
           "new_opportunity", oid)
    record = opportunity_record(n, rng=random.Random(n), stage="Qualified")
    record["Project"]["Title"] = referral["Project"]["Title"]
    record["Customer"]["Account"]["CompanyName"] = referral["Customer"]["CompanyName"]
    pc.put_opportunity(record, aws_summary_record(n, origin="AWS Referral", score=None))
    hub.add_deal(did, dealname=record["Project"]["Title"], hubspot_owner_id=OWNERS[1][0],
                 amount=record["Project"]["ExpectedCustomerSpend"][0]["Amount"],
                 closedate=f"{record['LifeCycle']['TargetCloseDate']}T00:00:00Z")

    e = day.pick(approved_open, "an AWS stage update")
    stage = "Business Validation" if e.stage == "Technical Validation" else "Technical Validation"
    day.at(120, "AWS", f"moves {e.opportunity_id} to AWS stage {stage} with new next steps", "opportunity_updated",
           e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"LifeCycle": {
        "Stage": stage, "NextSteps": "AWS SA to run a well-architected review with the customer"}})

    e = day.pick(lambda x: approved_open(x) and (x.quality or 0) >= 70, "a deal-quality drop")
    day.at(150, "AWS", f"drops {e.opportunity_id}'s deal quality {e.quality} → 34, trend Declining",
           "quality_changed", e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"Insights": {"OpportunityQuality": {"Score": 34, "Trend": "Declining"}}})

    e = day.pick(lambda x: approved_open(x) and x.engagement_score != "High", "a score rise")
    day.at(180, "AWS", f"raises {e.opportunity_id}'s engagement score {e.engagement_score or '(none)'} → High",
           "engagement_score_changed", e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"Insights": {"EngagementScore": "High"}})

    e = day.pick(lambda x: approved_open(x) and x.engagement_score in ("High", "Medium"), "a score drop")
    lower = "Medium" if e.engagement_score == "High" else "Low"
    day.at(200, "AWS", f"lowers {e.opportunity_id}'s engagement score {e.engagement_score} → {lower}",
           "engagement_score_changed", e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"Insights": {"EngagementScore": lower}})

    reviews = [
        ("Approved", {}, "review_approved"),
        ("Action Required", {"ReviewComments": "Please describe the customer's business problem and the AWS "
                                                "services in scope <in detail>."}, "review_action_required"),
        ("Rejected", {"ReviewStatusReason": "Duplicate opportunity",
                      "ReviewComments": "This customer already has an open opportunity for this project."},
         "review_rejected"),
    ]
    for minutes, (status, extra, kind) in zip((240, 270, 300), reviews, strict=True):
        e = day.pick(lambda x: x.review_status == "In review", f"a review decision ({status})")
        day.at(minutes, "AWS", f"review of {e.opportunity_id}: In review → {status}", kind, e.opportunity_id)
        pc.update_opportunity(e.opportunity_id, {"LifeCycle": {"ReviewStatus": status, **extra}})

    e = day.pick(lambda x: x.review_status == "Action Required", "a resubmission")
    day.at(330, seller(e), f"fixes {e.opportunity_id} and resubmits it: Action Required → Submitted",
           "submission_confirmed", e.opportunity_id)
    pc.update_opportunity(e.opportunity_id, {"LifeCycle": {"ReviewStatus": "Submitted", "ReviewComments": None}})

    n = len(portfolio) + 1
    oid, did = opportunity_id(n), deal_id(n)
    day.at(345, OWNERS[2][2], f"creates deal {did} for O'Neil & Sons in HubSpot and submits it to AWS as {oid}",
           "submission_confirmed", oid)
    record = opportunity_record(n, rng=random.Random(n), review_status="Submitted", stage="Prospect")
    record["Customer"]["Account"]["CompanyName"] = NEW_CUSTOMER
    pc.put_opportunity(record)  # just submitted: AWS has no view of it yet
    hub.add_deal(did, dealname=record["Project"]["Title"], hubspot_owner_id=OWNERS[2][0],
                 amount=record["Project"]["ExpectedCustomerSpend"][0]["Amount"],
                 closedate=f"{record['LifeCycle']['TargetCloseDate']}T00:00:00Z")

    e = day.pick(approved_open, "a new AWS seller")
    team = (pc.aws_summary(e.opportunity_id) or {})["OpportunityTeam"]
    day.at(360, "AWS", f"assigns AWSSalesRep Priya Raman to {e.opportunity_id}", "aws_seller_assigned",
           e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"OpportunityTeam": [*team, person("Priya", "Raman", "AWSSalesRep")]})

    e = day.pick(approved_open, "a specialist recommendation")
    day.at(390, "AWS", f"recommends bringing an AWS SAP migration specialist into {e.opportunity_id}",
           "recommendation_added", e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"Insights": {"Recommendations": [QUALITY_TIP, SPECIALIST]}})

    e = day.pick(approved_open, "new AWS resources")
    day.at(420, "AWS", f"recommends Amazon Bedrock, flags {e.opportunity_id} MAP Eligible, new next best actions",
           "resources_available", e.opportunity_id)
    insights = (pc.aws_summary(e.opportunity_id) or {})["Insights"]
    spend = insights["AwsProductsSpendInsightsBySource"]["AWS"]
    spend["TotalAmountByCategory"]["MAP Eligible"] = "3400.00"
    spend["AwsProducts"].append({"ProductCode": "AmazonBedrock", "Categories": ["MAP Eligible"], "Optimizations": []})
    pc.update_aws_summary(e.opportunity_id, {
        "RelatedEntityIds": {"AwsProducts": ["AmazonS3", "AmazonBedrock"]},
        "Insights": {"NextBestActions": "Apply for MAP funding; run a Bedrock proof of concept",
                     "AwsProductsSpendInsightsBySource": {"AWS": spend}}})

    e = day.pick(approved_open, "a co-sell motion change")
    day.at(450, "AWS", f"hands {e.opportunity_id} to the partner: co-sell motion AWS Field-engaged → Partner-led",
           "cosell_motion_changed", e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"CosellMotion": "Partner-led",
                                             "CosellMotionReason": "Partner has the customer relationship"})

    e = day.pick(approved_open, "a conflict")
    close = dt.date.fromisoformat(e.close_date)
    seller_date, pc_date = close + dt.timedelta(days=30), close + dt.timedelta(days=45)
    day.at(480, seller(e), f"moves deal {e.deal_id}'s close date to {seller_date} in HubSpot", "conflict_detected",
           e.opportunity_id)
    hub.update_deal(e.deal_id, closedate=f"{seller_date}T00:00:00Z")
    day.at(510, "RevOps", f"sets {e.opportunity_id}'s TargetCloseDate to {pc_date} in Partner Central",
           "conflict_detected", e.opportunity_id)
    pc.update_opportunity(e.opportunity_id, {"LifeCycle": {"TargetCloseDate": pc_date.isoformat()}})

    e = day.pick(approved_open, "a deal of the owner who leaves", former_owner=True)
    day.at(540, "HubSpot admin", f"archives owner {FORMER_OWNER[2]} {FORMER_OWNER[3]} (left the company)", "", "")
    hub.archive_owner(FORMER_OWNER[0])
    day.at(570, "AWS", f"updates next steps on {e.opportunity_id} (deal {e.deal_id}, owned by "
           f"{FORMER_OWNER[2]}): goes to the fallback owner", "opportunity_updated", e.opportunity_id)
    pc.update_aws_summary(e.opportunity_id, {"LifeCycle": {"NextSteps": "AWS to introduce the customer's new CTO"}})

    # Nobody acts here: time passes. The referral seeded yesterday with 60 hours to live is still not accepted.
    day.at(720, "(the clock)", f"referral {pending_invitation} is still not accepted, 48 hours before it expires",
           "invitation_expiring", pending_invitation)
    return day.steps
