"""Per-kind words for deal notifications: headline, context and concrete next steps, in plain text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from poller.core.model import Event

Words = tuple[str, str, tuple[str, ...]]  # headline, context sentence, next steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Say:
    """What the phrases may use; every text here is already clipped, none is escaped yet."""

    event: Event
    label: str  # "Title (Customer)"
    facts: dict[str, str]
    seller: str  # the AWS seller's name(s), or "the AWS seller"
    fields: str  # the changed fields' labels, comma-separated
    changed: dict[str, str]  # field → new value, clipped


def _new_opportunity(s: Say) -> Words:
    return ("New AWS referral", f"AWS referred {s.label} to you.",
            (f"Contact the customer and {s.seller} within 24 hours to plan the first meeting",
             "Check that the HubSpot deal's owner, amount and close date match Partner Central"))


def _updated(s: Say) -> Words:
    steps: tuple[str, ...] = ("Review the AWS changes below and bring the HubSpot deal in line within 3 days",
             f"If a value is wrong, raise it with {s.seller} and correct it in Partner Central")
    if s.changed.get("next_steps"):
        steps += (f"Act on AWS's next steps: {s.changed['next_steps']}",)
    return "AWS updated the opportunity", f"AWS changed its side of {s.label}: {s.fields}.", steps


# What each score tier asks of the seller, first seen or moved there (DESIGN §3: Low < Medium < High).
_HIGH = ("Call the customer within 24 hours, while engagement is high, and book the next meeting",
         "Agree a joint account plan with {seller}")
_SCORE_STEPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("first", "high"): _HIGH,
    ("first", "medium"): ("Agree the next customer meeting this week and confirm the timeline and budget",
                          "Ask {seller} what would take the engagement to High"),
    ("first", "low"): ("Engagement starts Low: confirm this week that the customer's need, timeline and budget are "
                       "real", "Ask {seller} what AWS sees and agree together how to raise it",
                       "Record the plan in NextSteps in Partner Central"),
    ("up", "high"): _HIGH,
    ("up", "medium"): ("Plan a follow-up with the customer this week to build on the momentum",
                       "Ask {seller} what would take the engagement to High"),
    ("down", "medium"): ("Re-engage the customer this week: confirm the timeline, budget and business problem "
                         "still hold", "Ask {seller} what changed on AWS's side",
                         "Update NextSteps in Partner Central with the recovery plan"),
    ("down", "low"): ("Call the customer within 2 days to find out whether the deal is still alive",
                      "Ask {seller} what changed on AWS's side",
                      "Update NextSteps in Partner Central with the recovery plan, or close the opportunity as lost"),
}


def _score(s: Say) -> Words:
    new, direction = s.changed.get("engagement_score", "?"), s.facts.get("direction", "changed")
    tier = (new.strip().casefold() if new.strip().casefold() in ("high", "medium", "low")
            else "high" if s.event.priority == "HIGH" else None)  # a numeric score at or above the High mark
    steps = tuple(step.format(seller=s.seller) for step in _SCORE_STEPS.get((direction, tier or ""), ()))
    if not steps:  # a value that is not a tier (AWS added one) or a numeric move: nothing to infer from it
        steps = ("Check the score in Partner Central and decide whether the deal plan needs to change",)
    if s.facts.get("next_best_actions"):
        steps += (f"Follow AWS's next best action: {s.facts['next_best_actions']}",)
    if direction == "first":
        return (f"AWS rates the engagement {new}",
                f"AWS rated the customer engagement on {s.label} for the first time: {new}.", steps)
    verb = {"up": "rose", "down": "dropped"}.get(direction, "changed")
    return (f"AWS engagement score {verb} to {new}",
            f"AWS now rates the customer engagement on {s.label} as {new}.", steps)


def _approved(s: Say) -> Words:
    return ("AWS approved co-sell", f"AWS approved {s.label}; it is now in the AWS seller pipeline.",
            (f"Schedule the joint call with {s.seller} within 24 hours",
             "Send the AWS team a customer brief: business problem, timeline and expected spend",
             "Move the HubSpot deal to its next stage and log the joint plan"))


def _action_required(s: Say) -> Words:
    comments, reason = s.facts.get("review_comments"), s.facts.get("review_status_reason")
    steps: tuple[str, ...] = (f"Answer AWS's request in Partner Central within 48 hours: {comments or reason or 'see ReviewComments'}",
             "Update the fields AWS named, then resubmit the opportunity")
    if comments and reason:
        steps += (f"Reason code given by AWS: {reason}",)
    return "AWS needs more information", f"AWS reviewed {s.label} and asked for changes.", steps


def _rejected(s: Say) -> Words:
    reason = "; ".join(v for v in (s.facts.get("review_status_reason"), s.facts.get("review_comments")) if v)
    return ("AWS rejected co-sell", f"AWS did not approve {s.label} for co-sell.",
            (f"Read AWS's reason: {reason or 'none given; ask your AWS partner manager'}",
             "If the deal still qualifies, fix what the reason names (customer details, business problem, "
             "expected spend) and submit it again as a new opportunity in Partner Central",
             "Otherwise mark the HubSpot deal as proceeding without AWS co-sell"))


def _submitted(s: Say) -> Words:
    involvement = s.facts.get("involvement_type")
    return ("Submitted to AWS for review",
            f"AWS received {s.label}" + (f" with involvement type {involvement}." if involvement else "."),
            ("Nothing to do yet: watch for AWS's decision, usually within a few business days",
             "Answer any AWS request for more information within 48 hours"))


def _seller(s: Say) -> Words:
    names = s.facts.get("new_members") or "an AWS team member"
    steps: tuple[str, ...] = (
        f"Email {names} within {s.event.due_hours} hours to introduce yourself and propose a joint account call",
        "Share the account plan and agree on the next customer meeting")
    if s.facts.get("signatories"):  # the AWS signatory signs the deal terms: the deal waits on them
        terms = s.facts.get("deal_terms")
        steps += (f"Send {s.facts['signatories']} the deal terms for signature"
                  + (f" ({terms})" if terms else "") + " and agree the signing date",)
    return f"AWS assigned {names}", f"{names} joined the AWS team on {s.label}.", steps


def _resources(s: Say) -> Words:
    named = {"products": "the AWS products AWS recommends", "solutions": "the solutions AWS linked",
             "program_categories": "the programs the customer may be eligible for",
             "next_best_actions": "AWS's next best actions"}
    steps = tuple(f"Review {named.get(field, field)}: {value}, and add what fits to the deal plan within 7 days"
                  for field, value in s.changed.items())
    if "program_categories" in s.changed:
        steps += ("Confirm program eligibility (e.g. MAP funding) with your AWS partner development manager",)
    return "New AWS resources available", f"AWS added resources to {s.label}: {s.fields}.", steps


def _conflict(s: Say) -> Words:
    steps: tuple[str, ...] = ("Decide within 12 hours which value is right for each field below",
             "Correct the other side (the HubSpot deal or Partner Central) so both match")
    if "_link" in s.changed:
        steps += ("Fix PartnerOpportunityIdentifier in Partner Central so it names the right HubSpot deal",)
    return "HubSpot and Partner Central disagree", f"The HubSpot deal and {s.label} disagree on: {s.fields}.", steps


PHRASES: dict[str, Callable[[Say], Words]] = {
    "new_opportunity": _new_opportunity, "opportunity_updated": _updated, "engagement_score_changed": _score,
    "review_approved": _approved, "review_action_required": _action_required, "review_rejected": _rejected,
    "submission_confirmed": _submitted, "aws_seller_assigned": _seller, "resources_available": _resources,
    "conflict_detected": _conflict,
}
