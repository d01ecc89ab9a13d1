"""Events from the 2026 AWS signals: new recommendations, a co-sell motion change, and quality (core.quality)."""

from __future__ import annotations

from dataclasses import replace

from poller.core.aws_context import AwsContext
from poller.core.aws_values import canonical
from poller.core.model import AwsView, Change, Event
from poller.core.quality import quality_event

# AwsView fields a version before the 2026 signals did not store (their derived state included): the first read
# of a view stored by such a version is a baseline for them, not a flood of "new" values.
SIGNAL_FIELDS = ("quality_score", "quality_trend", "recommendations", "cosell_motion", "cosell_motion_reason",
                 "software_revenue", "quality_band", "quality_decline_noted", "seen_recommendations")
PRIORITY_ORDER = ("LOW", "MEDIUM", "HIGH")


def known_signals(old: AwsView | None, new: AwsView) -> AwsView | None:
    """`old`, or for a view stored before these fields were read, `old` with `new`'s values for them (no change)."""
    if old is None or old.signals_known:
        return old
    return replace(old, **{name: getattr(new, name) for name in SIGNAL_FIELDS})


def recommendation_event(old: AwsView, new: AwsView, ctx: AwsContext) -> Event | None:
    """One event listing every recommendation not announced before (a recommendation that comes back is not new)."""
    seen = set(old.seen_recommendations)
    added = [r for r in new.recommendations if r.key not in seen]
    if not added:
        return None
    base = ctx.rules.priority_of("recommendation_added")
    # AWS names a specialist to bring in: that needs the seller this week, whatever the kind's usual priority.
    priority = max(base, "MEDIUM", key=PRIORITY_ORDER.index) if any(r.specialist for r in added) else base
    changes = []
    for r in added:
        attributes = ", ".join(f"{k}: {v}" for k, v in r.attributes)
        changes.append(Change(field=f"recommendation:{r.type}",
                              new=f"{r.details} ({attributes})" if attributes else r.details))
    kinds = sorted({r.label for r in added if not r.specialist})
    specialists = "; ".join(r.details for r in added if r.specialist)
    return ctx.event("recommendation_added", sorted(r.key for r in added), priority=priority, changes=changes,
                     facts=(("specialist", specialists or None), ("kinds", ", ".join(kinds) or None)))


def cosell_event(old: AwsView, new: AwsView, ctx: AwsContext) -> Event | None:
    """The co-sell motion changed: who drives the deal on the AWS side now (its reason alone is not news)."""
    if new.cosell_motion is None or canonical(new.cosell_motion) == canonical(old.cosell_motion):
        return None
    return ctx.event("cosell_motion_changed", canonical(new.cosell_motion),
                     changes=(Change(field="cosell_motion", old=old.cosell_motion, new=new.cosell_motion),),
                     facts=(("cosell_motion_reason", new.cosell_motion_reason),))


def signal_events(old: AwsView, new: AwsView, ctx: AwsContext) -> list[Event]:
    """At most one event per 2026 kind for one change of the AWS view (`old` is AwsView() for a first view)."""
    found = (quality_event(old, new, ctx), recommendation_event(old, new, ctx), cosell_event(old, new, ctx))
    return [e for e in found if e is not None]
