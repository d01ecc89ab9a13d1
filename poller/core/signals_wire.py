"""Lenient reads of the 2026 fields: deal quality, recommendations, co-sell motion, deal terms, referral enrichment."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from poller.core.aws_values import Recommendation, SoftwareRevenue
from poller.core.errors import MalformedRecord
from poller.core.wire import items, obj, strings, text


def score(value: Any) -> int | None:
    """OpportunityQuality.Score (an integer 0–100 in the model) as an int; anything else is unknown (None)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def quality(insights: Mapping[str, Any], rid: str) -> tuple[int | None, str | None]:
    """(score, trend) of `Insights.OpportunityQuality`."""
    block = obj(insights, "OpportunityQuality", rid)
    return score(block.get("Score")), text(block.get("Trend"))


def recommendations(insights: Mapping[str, Any], rid: str) -> tuple[Recommendation, ...]:
    """`Insights.Recommendations`, sorted so that a reordering is not a change; an entry without words is none."""
    found = []
    for item in items(insights, "Recommendations", rid):
        if not isinstance(item, Mapping):
            raise MalformedRecord(rid, f"Recommendations holds a {type(item).__name__}, not an object")
        details = text(item.get("Details"))
        if details is None:
            continue
        attributes = obj(item, "Attributes", rid)
        found.append(Recommendation(
            type=text(item.get("Type")) or "Recommendation", details=details,
            attributes=tuple(sorted((str(k), v) for k, raw in attributes.items() if (v := text(raw))))))
    return tuple(sorted(set(found), key=lambda r: (r.type.casefold(), r.details)))


def software_revenue(summary: Mapping[str, Any], rid: str) -> SoftwareRevenue | None:
    """The AWS summary's `SoftwareRevenue` (deal terms), None when it says nothing."""
    block = obj(summary, "SoftwareRevenue", rid)
    value = obj(block, "Value", rid)
    terms = SoftwareRevenue(amount=text(value.get("Amount")), currency=text(value.get("CurrencyCode")),
                            discount=text(block.get("Discount")), effective_date=text(block.get("EffectiveDate")),
                            expiration_date=text(block.get("ExpirationDate")))
    return None if terms == SoftwareRevenue() else terms


def _window(item: Any, rid: str) -> str | None:
    if not isinstance(item, Mapping):
        raise MalformedRecord(rid, f"BestOutreachWindows holds a {type(item).__name__}, not an object")
    day, start, end = (text(item.get(k)) for k in ("Day", "StartTimeUtc", "EndTimeUtc"))
    if day is None:
        return None
    hours = "–".join(t for t in (start, end) if t)
    return f"{day.capitalize()} {hours} UTC" if hours else day.capitalize()


def enrichment(invitation: Mapping[str, Any], rid: str) -> dict[str, Any]:
    """The invitation's `EnrichmentContext`: lead readiness, recommended channel, best windows, eligible programs."""
    context = obj(invitation, "EnrichmentContext", rid)
    lead = obj(context, "LeadInsights", rid)
    channel = obj(lead, "ChannelRecommendation", rid)
    customer = obj(obj(context, "ProspectingResultAws", rid), "Customer", rid)
    windows = [w for w in (_window(i, rid) for i in items(channel, "BestOutreachWindows", rid)) if w]
    return {"lead_readiness": text(lead.get("LeadReadinessScore")),
            "outreach_channel": text(channel.get("RecommendedChannel")),
            "outreach_windows": tuple(dict.fromkeys(windows)),  # AWS's order (best first), repeats dropped
            "eligible_programs": strings(customer, "EligiblePrograms", rid)}
