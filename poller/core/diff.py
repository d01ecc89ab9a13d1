"""diff(old, new, now) → events: what a seller should hear about between two snapshots of one opportunity."""

from __future__ import annotations

from datetime import datetime

from poller.core.aws_changes import aws_events
from poller.core.aws_context import AwsContext
from poller.core.events import make_event
from poller.core.model import Change, Event, Snapshot
from poller.core.review import canonical_review_status, review_kind
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso

REFERRAL_ORIGIN = "aws referral"
FIRST_SEEN_REVIEW_STATUS = "Pending Submission"  # where every opportunity starts in Partner Central


def _referral(new: Snapshot, rules: RuleConfig, referral_notified: bool) -> list[Event]:
    # An AWS referral is normally announced by its PENDING invitation; this catches one accepted elsewhere.
    origin = (new.aws.origin or "").casefold() if new.aws else ""
    if origin != REFERRAL_ORIGIN or referral_notified:
        return []
    return [make_event("new_opportunity", new.opportunity_id, value=new.opportunity_id, version=new.last_modified,
                       occurred_at=new.last_modified, rules=rules, deal_id=new.deal_id,
                       facts=(("origin", new.aws.origin if new.aws else None),))]


def _review_facts(kind: str, new: Snapshot, rules: RuleConfig) -> tuple[tuple[str, str | None], ...]:
    if kind == "review_approved" and new.aws:
        # Who to schedule the joint call with: the AWS sellers, else anyone on the AWS team.
        titles = {t.casefold() for t in rules.seller_titles_high}
        sellers = [p for p in new.aws.team if (p.title or "").casefold() in titles] or list(new.aws.team)
        return (("aws_sellers", ", ".join(p.display_name for p in sellers)),)
    if kind in ("review_action_required", "review_rejected"):
        return (("review_comments", new.review_comments), ("review_status_reason", new.review_status_reason))
    if kind == "submission_confirmed":
        return (("involvement_type", new.aws.involvement_type if new.aws else None),)
    return ()


def _review(old: Snapshot, new: Snapshot, rules: RuleConfig) -> list[Event]:
    status = canonical_review_status(new.review_status)
    kind = review_kind(status)
    if kind is None or status == canonical_review_status(old.review_status):
        return []
    return [make_event(kind, new.opportunity_id, value=status, version=new.last_modified,
                       occurred_at=new.last_modified, rules=rules, deal_id=new.deal_id,
                       changes=(Change(field="review_status", old=old.review_status, new=new.review_status),),
                       facts=_review_facts(kind, new, rules))]


def first_seen(new: Snapshot) -> Snapshot:
    """What a record seen for the first time after the baseline is compared with: not yet submitted, no AWS view."""
    return Snapshot(opportunity_id=new.opportunity_id, catalog=new.catalog, last_modified=new.last_modified,
                    deal_id=new.deal_id, review_status=FIRST_SEEN_REVIEW_STATUS)


def diff(
    old: Snapshot | None,
    new: Snapshot,
    now: datetime,
    *,
    rules: RuleConfig,
    aws_revision: int = 0,
    referral_notified: bool = True,
    baseline: bool = False,
) -> list[Event]:
    """The events one transition yields, at most one per kind; [] on a baseline run.

    After the baseline, a record seen for the first time (old None) is compared with `first_seen(new)`, and an AWS
    view seen for the first time with an empty one (DESIGN §10 "First seen after the baseline").
    """
    if baseline:
        return []  # the first run records what is already true without telling anyone (DESIGN §2)
    events = _referral(new, rules, referral_notified) if old is None else []
    before = old if old is not None else first_seen(new)
    events += _review(before, new, rules)
    if new.aws is not None:
        ctx = AwsContext(subject_id=new.opportunity_id, deal_id=new.deal_id, version=f"aws{aws_revision}",
                         occurred_at=iso(now), rules=rules)
        events += aws_events(before.aws, new.aws, ctx)
    return [e for e in events if e.kind not in rules.muted_kinds]
