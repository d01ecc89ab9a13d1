"""What each kind of notification says, as plain text: headline, context, concrete next steps, details."""

from __future__ import annotations

from dataclasses import dataclass

from poller.core.model import Event, Invitation, Snapshot
from poller.core.notes.describe import describe_person, describe_spends
from poller.core.notes.phrases import PHRASES, Say
from poller.core.notes.signal_phrases import SIGNAL_EMOJI, SIGNAL_LABELS, SIGNAL_PHRASES
from poller.core.rules import RuleConfig
from poller.core.score import tier_name
from poller.core.timefmt import parse_iso

EMOJI = {
    "new_opportunity": "🆕", "opportunity_updated": "🔄", "engagement_score_changed": "🎯",
    "review_approved": "✅", "review_action_required": "⚠️", "review_rejected": "❌", "submission_confirmed": "📤",
    "aws_seller_assigned": "👤", "resources_available": "📚", "conflict_detected": "⚡", **SIGNAL_EMOJI,
}
AWS_SENDERS = {"aws", "amazon web services", "amazon web services, inc.", "amazon"}  # SenderCompanyName of AWS
LABELS = {
    "stage": "AWS stage", "next_steps": "AWS next steps", "involvement_type": "Involvement type",
    "visibility": "Visibility", "involvement_type_change_reason": "Involvement change reason",
    "closed_lost_reason": "Closed-lost reason", "target_close_date": "Target close date",
    "expected_spend": "Expected customer spend", "contacts": "Customer contacts", "title": "Project title / deal name",
    "engagement_score": "Engagement score", "aws_team_member": "New AWS team member", "products": "AWS products",
    "solutions": "Solutions", "program_categories": "Program eligibility", "next_best_actions": "Next best actions",
    "review_status": "Review status", "_link": "Deal link", **SIGNAL_LABELS,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Wording:
    """Plain text; render() escapes all of it, so Partner Central values can be dropped in anywhere."""

    emoji: str
    headline: str
    label: str  # which deal: "Title (Customer)"
    context: str
    steps: tuple[str, ...]
    details: tuple[tuple[str, str], ...] = ()


def clip(text: str | None, cap: int) -> str:
    """Free text from Partner Central, cut to `cap` characters with an ellipsis."""
    text = text or ""
    return text if len(text) <= cap else text[: max(cap - 1, 0)] + "…"


def when(stamp: str | None) -> str | None:
    """`2025-03-15 20:48 UTC`: an ISO timestamp as a seller reads it (left as is when it does not parse)."""
    try:
        return parse_iso(stamp).strftime("%Y-%m-%d %H:%M UTC") if stamp else None
    except ValueError:
        return stamp


def label_of(event: Event, context: Snapshot | Invitation | None, cap: int) -> str:
    if isinstance(context, Snapshot):
        name, customer = context.title, context.customer_name
    elif isinstance(context, Invitation):
        name, customer = context.project_title or context.engagement_title, context.customer_name
    else:
        name, customer = None, None
    name = clip(name or event.subject_id, cap)
    return f"{name} ({clip(customer, cap)})" if customer else name


def _sellers(event: Event, context: Snapshot | Invitation | None, rules: RuleConfig) -> str:
    facts = dict(event.facts)
    if facts.get("aws_sellers"):
        return facts["aws_sellers"]
    team = context.aws.team if isinstance(context, Snapshot) and context.aws else ()
    titles = {t.casefold() for t in rules.seller_titles_high}
    sellers = [p for p in team if (p.title or "").casefold() in titles] or list(team)
    return ", ".join(p.display_name for p in sellers) or "the AWS seller"


def from_aws(inv: Invitation) -> bool:
    """Whether AWS sent the invitation (a referral); one from another partner names its sender instead."""
    return (inv.sender_company or "AWS").strip().casefold() in AWS_SENDERS


def _invitation(inv: Invitation, cap: int, label: str) -> Wording:
    sender = clip(inv.sender_company or "AWS", cap)
    aws = from_aws(inv)
    contacts = ", ".join(describe_person(p) for p in inv.sender_contacts) or inv.sender_company or "the sender"
    details = (("Invitation", inv.invitation_id), ("From", inv.sender_company), ("Engagement", inv.engagement_title),
               ("Customer", inv.customer_name), ("Industry", inv.industry), ("Country", inv.country),
               ("Website", inv.website), ("Project", inv.project_title),
               ("Business problem", inv.business_problem), ("Target completion", inv.target_completion_date),
               ("Expected spend", describe_spends(inv.expected_spend)),
               ("AWS contacts" if aws else "Sender contacts", contacts),
               ("Message", inv.invitation_message), ("Expires", when(inv.expiration_date)),
               ("Lead readiness", inv.lead_readiness), ("Recommended outreach channel", inv.outreach_channel),
               ("Best outreach windows", ", ".join(inv.outreach_windows)),
               ("Eligible programs", ", ".join(inv.eligible_programs)))
    expiry = when(inv.expiration_date)
    expires = f" before it expires on {expiry}" if expiry else " (it expires after 15 days)"
    # What AWS's enrichment says about reaching the lead (AWS referrals since 2026), as concrete steps.
    reach = " ".join(p for p in (f"by {inv.outreach_channel}" if inv.outreach_channel else "",
                                 f"(best: {', '.join(inv.outreach_windows)})" if inv.outreach_windows else "") if p)
    extra = tuple(step for step in (
        f"Reach the customer {clip(reach, cap)}" if reach else "",
        f"Confirm the eligible programs ({clip(', '.join(inv.eligible_programs), cap)}) with your AWS partner "
        "development manager" if inv.eligible_programs else "") if step)
    return Wording(
        emoji=EMOJI["new_opportunity"], headline="New AWS co-sell referral" if aws else f"Co-sell invitation from {sender}",
        label=label,
        context=f"{sender} invited you to co-sell {label}." + (f" The invitation expires on {expiry}." if expiry else ""),
        steps=(f"Accept or decline the invitation {clip(inv.invitation_id, cap)} in Partner Central{expires}",
               f"Contact {clip(contacts, cap)} within 24 hours to plan the first customer meeting",
               *extra,
               "Once accepted, set the new opportunity's PartnerOpportunityIdentifier to its HubSpot deal id"),
        details=tuple((k, clip(v, cap)) for k, v in details if v))


def wording(event: Event, context: Snapshot | Invitation | None, rules: RuleConfig, cap: int) -> Wording:
    """The words for one event; `cap` bounds every free-text value taken from Partner Central."""
    label = label_of(event, context, cap)
    if event.kind == "new_opportunity" and isinstance(context, Invitation):
        return _invitation(context, cap, label)
    say = Say(event=event, label=label, facts={k: clip(v, cap) for k, v in event.facts},
              seller=clip(_sellers(event, context, rules), cap),
              fields=", ".join(LABELS.get(c.field, c.field) for c in event.changes),
              changed={c.field: clip(str(c.new), cap) for c in event.changes if c.new not in (None, "")})
    phrase = PHRASES.get(event.kind) or SIGNAL_PHRASES.get(event.kind)
    if phrase is None:  # a kind added to the model before its words: still say something useful
        headline, text = event.kind.replace("_", " "), f"{label}: {say.fields}."
        steps: tuple[str, ...] = ("Review it in Partner Central",)
    else:
        headline, text, steps = phrase(say)
    # A score that dropped, or that starts Low, is a warning; every other kind keeps its own emoji.
    warning = say.facts.get("direction") in ("down", "declining") or (
        event.kind == "engagement_score_changed" and tier_name(say.changed.get("engagement_score")) == "low")
    emoji = "⚠️" if warning else EMOJI.get(event.kind, "🔔")
    subject = "Invitation" if isinstance(context, Invitation) else "Opportunity"
    details = tuple((k, clip(v, cap)) for k, v in ((subject, event.subject_id), ("HubSpot deal", event.deal_id)) if v)
    return Wording(emoji=emoji, headline=headline, label=label, context=text, steps=steps, details=details)
