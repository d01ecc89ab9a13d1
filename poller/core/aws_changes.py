"""Events from two AWS views of one opportunity: score, AWS team, resources, and other AWS-side updates."""

from __future__ import annotations

from poller.core.aws_context import AwsContext
from poller.core.model import AwsView, Change, Event
from poller.core.notes.describe import describe_people, describe_person, describe_spends
from poller.core.score import score_change
from poller.core.signals import known_signals, signal_events

# AwsView fields whose change is an opportunity_updated (the kinds below cover score, team and resources).
UPDATED_FIELDS = (
    "stage",
    "next_steps",
    "involvement_type",
    "visibility",
    "involvement_type_change_reason",
    "closed_lost_reason",
    "target_close_date",
    "expected_spend",
    "contacts",
    "software_revenue",  # AWS's deal terms (value, discount, term)
)
# New entries in these lists are resources_available; a product or solution dropping off is not news.
RESOURCE_LISTS = ("products", "solutions", "program_categories")


def _shown(view: AwsView, name: str) -> str | None:
    """A field as the note shows it: lists of people or spend become one line of text."""
    if name == "expected_spend":
        return describe_spends(view.expected_spend)
    if name == "contacts":
        return describe_people(view.contacts)
    if name == "software_revenue":
        return view.software_revenue.describe() if view.software_revenue else None
    value: str | None = getattr(view, name)
    return value


def score_event(old: AwsView, new: AwsView, ctx: AwsContext) -> Event | None:
    move = score_change(old.engagement_score, new.engagement_score, ctx.rules)
    if move is None:
        return None
    priority, direction = move
    return ctx.event("engagement_score_changed", new.engagement_score, priority=priority,
                     changes=(Change(field="engagement_score", old=old.engagement_score, new=new.engagement_score),),
                     facts=(("direction", direction), ("next_best_actions", new.next_best_actions)))


def seller_event(old: AwsView, new: AwsView, ctx: AwsContext) -> Event | None:
    added = [p for p in new.team if not any(p.same_person(q) for q in old.team)]
    if not added:
        return None
    sellers = {t.casefold() for t in ctx.rules.seller_titles_high}
    signing = {t.casefold() for t in ctx.rules.signatory_titles}
    signatories = [p for p in added if (p.title or "").casefold() in signing]
    # DESIGN §3: an account-facing seller needs a call within a day; other AWS roles (PDM, PSM, …) can wait. A
    # signatory signs AWS's deal terms: the deal waits on them, so that is HIGH too.
    priority = "HIGH" if signatories or any((p.title or "").casefold() in sellers for p in added) else "MEDIUM"
    terms = new.software_revenue.describe() if signatories and new.software_revenue else None
    return ctx.event("aws_seller_assigned", sorted(p.key for p in added), priority=priority,
                     changes=tuple(Change(field="aws_team_member", new=describe_person(p)) for p in added),
                     facts=(("new_members", "; ".join(p.display_name for p in added)),
                            ("signatories", "; ".join(p.display_name for p in signatories) or None),
                            ("deal_terms", terms)))


def resources_event(old: AwsView, new: AwsView, ctx: AwsContext) -> Event | None:
    changes = []
    for name in RESOURCE_LISTS:
        added = sorted(set(getattr(new, name)) - set(getattr(old, name)))
        if added:
            changes.append(Change(field=name, new=", ".join(added)))
    if new.next_best_actions and new.next_best_actions != old.next_best_actions:
        changes.append(Change(field="next_best_actions", old=old.next_best_actions, new=new.next_best_actions))
    if not changes:
        return None
    return ctx.event("resources_available", sorted((c.field, c.new) for c in changes), changes=changes)


def updated_event(old: AwsView, new: AwsView, ctx: AwsContext) -> Event | None:
    # Reported whatever a conflict on the partner-side field says: AWS changed it, and the owner should know.
    changes = [Change(field=name, old=_shown(old, name), new=_shown(new, name))
               for name in UPDATED_FIELDS if getattr(old, name) != getattr(new, name)]
    if not changes:
        return None
    return ctx.event("opportunity_updated", sorted((c.field, c.new or "") for c in changes), changes=changes)


def aws_events(old: AwsView | None, new: AwsView, ctx: AwsContext) -> list[Event]:
    """At most one event per kind for one change of the AWS view.

    A first view (old None) is compared with an empty one for what AWS did (score, team, resources); its plain
    fields are where the AWS view starts, not updates (DESIGN §10).
    """
    old = known_signals(old, new)  # a view stored before the 2026 fields were read: they start from `new`
    before = old if old is not None else AwsView()
    found = (score_event(before, new, ctx), seller_event(before, new, ctx), resources_event(before, new, ctx),
             updated_event(old, new, ctx) if old is not None else None)
    return [e for e in found if e is not None] + signal_events(before, new, ctx)
