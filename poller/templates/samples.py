"""Sample events of every kind, derived by the core itself: what `config check` renders and `poller preview` shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from poller.core.conflicts import ReconciledField, detect_conflicts
from poller.core.diff import diff
from poller.core.events import make_event
from poller.core.invitations import invitation_events
from poller.core.model import KINDS, AwsView, Change, Deal, Event, Invitation, Person, Snapshot, Spend
from poller.core.rules import CONFLICT_FIELDS, RuleConfig
from poller.core.timefmt import iso

SAMPLE_NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # the check renders with a fixed clock: same text every time
JANE = Person(email="jane.seller@amazon.example", first_name="Jane", last_name="Seller", title="AWSSalesRep")
SAM = Person(email="sam.owner@amazon.example", first_name="Sam", last_name="Owner", title="AWSAccountOwner")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One sample notification's input: a kind's event and what it happened to."""

    name: str  # the kind, or "new_opportunity (invitation)"
    event: Event
    context: Snapshot | Invitation


def _before(now: dt.datetime) -> Snapshot:
    return Snapshot(opportunity_id="O1234567", catalog="AWS", last_modified=iso(now - dt.timedelta(days=1)),
                    deal_id="9001", title="Data lake migration", customer_name="Acme Corp", review_status="In review",
                    target_close_date="2026-06-30",
                    expected_spend=(Spend(amount="12000.00", currency="USD", frequency="Monthly", target_company="AWS"),),
                    aws=AwsView(origin="Partner Referral", involvement_type="Co-Sell", stage="Prospect",
                                engagement_score="Medium", team=(JANE,), products=("AmazonS3",)))


def _after(old: Snapshot, now: dt.datetime, aws: dict[str, Any] | None = None, **fields: Any) -> Snapshot:
    assert old.aws is not None
    new_aws = replace(old.aws, **aws) if aws else old.aws
    return replace(old, last_modified=iso(now - dt.timedelta(hours=1)), aws=new_aws, **fields)


def _invitation(now: dt.datetime) -> Invitation:
    return Invitation(invitation_id="engi-0123456789abc", catalog="AWS", status="PENDING",
                      invitation_date=iso(now - dt.timedelta(hours=2)),
                      expiration_date=iso(now + dt.timedelta(days=14)), engagement_title="Acme analytics",
                      sender_company="AWS", customer_name="Acme Corp", industry="Retail", country="US",
                      website="https://acme.example", project_title="Analytics platform",
                      business_problem="Acme needs one view of sales across its 400 stores.",
                      sender_contacts=(Person(email="pat.manager@amazon.example", first_name="Pat",
                                              last_name="Manager", title="PDM"),),
                      invitation_message="Acme asked for a partner with retail analytics experience.")


def _transitions(old: Snapshot, now: dt.datetime) -> dict[str, Snapshot]:
    """kind → the snapshot that, after `old`, yields it."""
    return {
        "opportunity_updated": _after(old, now, {"stage": "Qualified", "next_steps": "Book the migration workshop"}),
        "engagement_score_changed": _after(old, now, {"engagement_score": "High",
                                                      "next_best_actions": "Run an immersion day"}),
        "review_approved": _after(old, now, review_status="Approved"),
        "review_action_required": _after(old, now, review_status="Action Required",
                                         review_comments="Please add the customer's AWS account id.",
                                         review_status_reason="Missing customer details"),
        "review_rejected": _after(old, now, review_status="Rejected", review_status_reason="Duplicate opportunity"),
        "submission_confirmed": _after(old, now, review_status="Submitted"),
        "aws_seller_assigned": _after(old, now, {"team": (JANE, SAM)}),
        "resources_available": _after(old, now, {"products": ("AmazonS3", "AmazonRedshift"),
                                                  "program_categories": ("MAP Eligible",),
                                                  "next_best_actions": "Apply for MAP funding"}),
    }


def _events(kind: str, old: Snapshot, now: dt.datetime, rules: RuleConfig) -> list[Sample]:
    if kind == "new_opportunity":
        inv = _invitation(now)
        referral = _after(old, now, {"origin": "AWS Referral"})
        return [Sample(name=f"{kind} (invitation)", event=invitation_events(None, inv, now, rules=rules,
                                                                            baseline=False)[0], context=inv),
                Sample(name=kind, event=_one(diff(None, referral, now, rules=rules, referral_notified=False), kind),
                       context=referral)]
    if kind == "conflict_detected":
        new = replace(old, title="Data lake migration phase 2")
        deal = Deal(deal_id="9001", dealname="Data lake modernisation")
        agreed = {"title": ReconciledField(pc_value=old.title, deal_value=old.title)}
        return [Sample(name=kind, event=detect_conflicts(new, deal, agreed, now, rules=rules).events[0], context=new)]
    after = _transitions(old, now).get(kind)
    if after is not None:
        return [Sample(name=kind, event=_one(diff(old, after, now, rules=rules, aws_revision=2), kind), context=after)]
    # A kind without a scripted change (one added after this list): a generic event of that kind.
    changed = _after(old, now, {"stage": "Qualified"})
    event = make_event(kind, old.opportunity_id, value="sample", version=changed.last_modified,
                       occurred_at=changed.last_modified, rules=rules, deal_id=old.deal_id,
                       changes=(Change(field="stage", old="Prospect", new="Qualified"),))
    return [Sample(name=kind, event=event, context=changed)]


def _one(events: list[Event], kind: str) -> Event:
    return next(e for e in events if e.kind == kind)


def samples(rules: RuleConfig, now: dt.datetime, kinds: tuple[str, ...] = KINDS) -> list[Sample]:
    """A sample notification's input for each kind (two for new_opportunity: an invitation and a referral), as the
    core derives it from a change of a sample opportunity; muted kinds and comparisons too: their templates exist."""
    unmuted = rules.with_overrides(muted_kinds=frozenset(), conflict_fields=CONFLICT_FIELDS)
    old = _before(now)
    return [sample for kind in kinds for sample in _events(kind, old, now, unmuted)]
