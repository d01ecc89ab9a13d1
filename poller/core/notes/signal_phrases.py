"""Words for the 2026 signals and reminders: headline, context and concrete next steps, in plain text."""

from __future__ import annotations

from collections.abc import Callable

from poller.core.aws_values import canonical
from poller.core.notes.phrases import Say, Words

SIGNAL_EMOJI = {
    "quality_changed": "📈", "recommendation_added": "💡", "cosell_motion_changed": "🤝",
    "invitation_expiring": "⏰", "action_required_overdue": "🚨", "funding_decision": "💰", "funding_expiring": "⏳",
}
SIGNAL_LABELS = {
    "quality_score": "Deal quality score", "quality_trend": "Quality trend", "cosell_motion": "Co-sell motion",
    "software_revenue": "AWS deal terms (software revenue)", "benefit_status": "Funding application status",
    "recommendation:OpportunityQuality": "AWS recommendation (deal quality)",
    "recommendation:SolutionRecommendation": "AWS recommendation (solution)",
    "recommendation:SpecialistRecommendation": "AWS recommendation (specialist)",
}
_FIX_QUALITY = ("Review the deal with the customer this week: confirm the business problem, timeline, budget and "
                "decision maker",
                "Fill in what AWS lacks in Partner Central (NextSteps, expected spend, customer details) within 3 days")


def _quality(s: Say) -> Words:
    score, band = s.changed.get("quality_score", "?"), s.facts.get("quality_band")
    trend, direction = s.facts.get("quality_trend"), s.facts.get("direction", "declining")
    where = f"{score} of 100" + (f" (band {band})" if band else "") + (f", trend {trend}" if trend else "")
    steps: tuple[str, ...] = ((f"Keep the momentum: agree the next customer meeting with {s.seller}",)
             if direction == "up" and "declining" not in canonical(trend) else _FIX_QUALITY)
    if s.facts.get("recommendations"):
        steps += (f"Act on AWS's recommendations: {s.facts['recommendations']}",)
    if direction == "first":
        return (f"AWS rates deal quality {score}",
                f"AWS rated the deal quality of {s.label} for the first time: {where}.", steps)
    if direction == "declining":
        return "Deal quality is declining", f"AWS sees the deal quality of {s.label} declining: {where}.", steps
    verb = "rose" if direction == "up" else "dropped"
    return f"Deal quality {verb} to {score}", f"AWS's deal-quality score for {s.label} {verb}: {where}.", steps


def _recommendation(s: Say) -> Words:
    added = [c for c in s.event.changes if c.field.startswith("recommendation:")]
    steps: tuple[str, ...] = ()
    if s.facts.get("specialist"):
        steps += (f"Bring the specialist in: {s.facts['specialist']}; ask {s.seller} to set up the introduction "
                  "this week",)
    others = [c for c in added if not c.field.endswith("SpecialistRecommendation")]
    if others:
        steps += (f"Review AWS's {s.facts.get('kinds') or 'new'} recommendations below and add what fits to the deal "
                  "plan within 7 days",)
    headline = "AWS recommends a specialist" if s.facts.get("specialist") else "New AWS recommendation"
    count = f"{len(added)} recommendations" if len(added) > 1 else "a recommendation"
    return headline, f"AWS added {count} to {s.label}.", steps


def _cosell(s: Say) -> Words:
    motion = s.changed.get("cosell_motion", "?")
    kind = canonical(motion)
    if "field" in kind:
        who = "an AWS field seller now drives the deal on the AWS side"
        steps: tuple[str, ...] = (f"Contact {s.seller} within 3 days to agree who does what with the customer",
                 "Share your account plan and the next customer meeting with the AWS field team")
    elif "agent" in kind:
        who = "AWS now engages through its agent-led motion, not a field seller"
        steps = ("Keep Partner Central current (NextSteps, stage, expected spend): it is what AWS acts on",
                 "Ask your AWS partner manager whom to involve when you need AWS in front of the customer")
    elif "partner" in kind:
        who = "the deal is now partner-led: you drive it and AWS supports on request"
        steps = ("Own the next customer steps and record them in NextSteps in Partner Central this week",
                 f"Ask {s.seller} or your AWS partner manager for help when you need AWS")
    else:
        who = f"AWS set the co-sell motion to {motion}"
        steps = (f"Ask {s.seller} within 3 days what the new motion means for the deal",)
    reason = s.facts.get("cosell_motion_reason")
    return (f"Co-sell motion now {motion}", f"On {s.label}, {who}." + (f" AWS's reason: {reason}." if reason else ""),
            steps)


def _expiring(s: Say) -> Words:
    expiry, left = s.facts.get("expires") or "soon", s.facts.get("left")
    return ("AWS referral expires soon",
            f"The co-sell invitation {s.label} is still not accepted; it expires on {expiry}"
            + (f", in {left}." if left else "."),
            (f"Accept or decline invitation {s.event.subject_id} in Partner Central before {expiry}",
             "Once accepted, contact the customer within 24 hours and link the new opportunity to its HubSpot deal"))


def _overdue(s: Say) -> Words:
    comments, reason = s.facts.get("review_comments"), s.facts.get("review_status_reason")
    waited = s.facts.get("waiting") or "days"
    return (f"AWS still waits for your answer ({waited})",
            f"{s.label} has been at Action Required since {s.facts.get('since', 'a while')}: AWS will not review it "
            "again until it is updated and resubmitted.",
            (f"Answer AWS's request in Partner Central today: {comments or reason or 'see ReviewComments'}",
             "Update the fields AWS named, then resubmit the opportunity",
             "If something blocks you, tell your AWS partner manager now"))


def _funding(s: Say) -> Words:
    status, name = canonical(s.facts.get("status")), s.facts.get("benefit") or "a benefit application"
    reason = s.facts.get("reason")
    if status == "approved":
        return ("AWS approved funding", f"AWS approved {name} for {s.label}.",
                ("Tell the customer this week that the funding is approved and plan how it is used",
                 "Check the allocation (credits or cash) and when it expires in Partner Central → Benefits"))
    if status == "actionrequired":
        return ("AWS needs more for a funding application", f"AWS asked for changes to {name} for {s.label}.",
                (f"Answer AWS in Partner Central → Benefits within 48 hours: {reason or 'see the application'}",
                 "Update the application and submit it again"))
    return ("AWS rejected a funding application", f"AWS did not approve {name} for {s.label}.",
            (f"Read AWS's reason: {reason or 'none given; ask your AWS partner manager'}",
             "Fix what it names and apply again if the deal still qualifies, or plan the deal without this funding"))


def _funding_expiring(s: Say) -> Words:
    name, expiry = s.facts.get("allocation") or "A benefit allocation", s.facts.get("expires") or "soon"
    return ("Funding expires soon", f"{name} for {s.label} expires {expiry}.",
            ("Use the funding before it expires, or ask your AWS partner manager about an extension this week",
             "Tell the customer what is left and by when it must be used"))


SIGNAL_PHRASES: dict[str, Callable[[Say], Words]] = {
    "quality_changed": _quality, "recommendation_added": _recommendation, "cosell_motion_changed": _cosell,
    "invitation_expiring": _expiring, "action_required_overdue": _overdue, "funding_decision": _funding,
    "funding_expiring": _funding_expiring,
}
