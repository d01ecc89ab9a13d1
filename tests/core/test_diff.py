"""diff(): table-driven (old, new) → events, plus the cross-snapshot properties (repeats, A→B→A, keys)."""

from __future__ import annotations

from typing import Any

import pytest
from core_builders import LM1, LM2, LM3, NOW, RULES, person, snap, view

from poller.core.diff import diff
from poller.core.keys import event_key
from poller.core.model import Change, Spend
from poller.core.timefmt import iso

SELLER = person("jane@amazon.com")
PDM = person("pat@amazon.com", "PDM", "Pat", "Manager")
REP2 = person("rick@amazon.com", "AWSAccountOwner", "Rick", "Owner")
SPEND2 = (Spend(amount="2000.00", currency="USD", frequency="Monthly", target_company="AWS"),)


def _pair(old: dict[str, Any] | None = None, new: dict[str, Any] | None = None, **common: Any):
    """Two snapshots sharing `common` fields; old/new hold each side's extra Snapshot fields (aws= a view dict)."""
    old_kw = {**common, **(old or {})}
    new_kw = {"last_modified": LM2, **common, **(new or {})}
    return snap(**old_kw), snap(**new_kw)


# (id, old fields, new fields, diff kwargs, expected [(kind, priority, due_hours)])
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], list[tuple[str, str, int]]]] = [
    # review status
    ("approved", {"review_status": "In review"}, {"review_status": "Approved"}, {},
     [("review_approved", "HIGH", 24)]),
    ("action-required", {"review_status": "In review"}, {"review_status": "Action Required"}, {},
     [("review_action_required", "HIGH", 48)]),
    ("rejected", {"review_status": "In review"}, {"review_status": "Rejected"}, {},
     [("review_rejected", "MEDIUM", 72)]),
    ("submitted", {"review_status": "Pending Submission"}, {"review_status": "Submitted"}, {},
     [("submission_confirmed", "MEDIUM", 72)]),
    ("in-review-notifies-nobody", {"review_status": "Submitted"}, {"review_status": "In review"}, {}, []),
    ("in-review-casing", {"review_status": "In review"}, {"review_status": "In Review"}, {}, []),
    ("in-review-punctuation", {"review_status": "In Review"}, {"review_status": "in-review"}, {}, []),
    ("action-required-punctuation", {"review_status": "Action Required"}, {"review_status": "action_required"}, {},
     []),
    ("lowercase-approved", {"review_status": "In review"}, {"review_status": "approved"}, {},
     [("review_approved", "HIGH", 24)]),
    ("unknown-review-status", {"review_status": "In review"}, {"review_status": "Escalated"}, {}, []),
    ("review-status-cleared", {"review_status": "Approved"}, {"review_status": None}, {}, []),
    # engagement score (tiers)
    ("score-to-high", {"aws": {"engagement_score": "Low"}}, {"aws": {"engagement_score": "High"}}, {},
     [("engagement_score_changed", "HIGH", 24)]),
    ("score-down", {"aws": {"engagement_score": "High"}}, {"aws": {"engagement_score": "Medium"}}, {},
     [("engagement_score_changed", "MEDIUM", 72)]),
    ("score-up-to-medium", {"aws": {"engagement_score": "Low"}}, {"aws": {"engagement_score": "Medium"}}, {},
     [("engagement_score_changed", "LOW", 168)]),
    ("score-appears-medium", {"aws": {"engagement_score": None}}, {"aws": {"engagement_score": "Medium"}}, {},
     [("engagement_score_changed", "LOW", 168)]),
    ("score-appears-high", {"aws": {"engagement_score": None}}, {"aws": {"engagement_score": "High"}}, {},
     [("engagement_score_changed", "HIGH", 24)]),
    ("score-disappears", {"aws": {"engagement_score": "High"}}, {"aws": {"engagement_score": None}}, {}, []),
    ("score-casing-only", {"aws": {"engagement_score": "high"}}, {"aws": {"engagement_score": "High"}}, {}, []),
    # engagement score (numbers, should AWS ever send them)
    ("numeric-small-move", {"aws": {"engagement_score": "50"}}, {"aws": {"engagement_score": "59"}}, {}, []),
    ("numeric-rise", {"aws": {"engagement_score": "50"}}, {"aws": {"engagement_score": "60"}}, {},
     [("engagement_score_changed", "LOW", 168)]),
    ("numeric-to-high", {"aws": {"engagement_score": "70"}}, {"aws": {"engagement_score": "85"}}, {},
     [("engagement_score_changed", "HIGH", 24)]),
    ("numeric-drop", {"aws": {"engagement_score": "75"}}, {"aws": {"engagement_score": "60"}}, {},
     [("engagement_score_changed", "MEDIUM", 72)]),
    ("numeric-appears", {"aws": {"engagement_score": None}}, {"aws": {"engagement_score": "40"}}, {},
     [("engagement_score_changed", "LOW", 168)]),
    ("numeric-appears-high", {"aws": {"engagement_score": None}}, {"aws": {"engagement_score": "90"}}, {},
     [("engagement_score_changed", "HIGH", 24)]),
    ("numeric-drop-stays-high", {"aws": {"engagement_score": "95"}}, {"aws": {"engagement_score": "82"}}, {},
     [("engagement_score_changed", "HIGH", 24)]),
    ("numeric-threshold-config", {"aws": {"engagement_score": "50"}}, {"aws": {"engagement_score": "55"}},
     {"rules": RULES.with_overrides(score_change_threshold=5)}, [("engagement_score_changed", "LOW", 168)]),
    ("unknown-score-values", {"aws": {"engagement_score": "Very High"}}, {"aws": {"engagement_score": "Extreme"}}, {},
     [("engagement_score_changed", "MEDIUM", 72)]),
    ("tier-to-unknown", {"aws": {"engagement_score": "High"}}, {"aws": {"engagement_score": "Stellar"}}, {},
     [("engagement_score_changed", "MEDIUM", 72)]),
    # AWS team
    ("seller-assigned", {"aws": {"team": ()}}, {"aws": {"team": (SELLER,)}}, {},
     [("aws_seller_assigned", "HIGH", 24)]),
    ("account-owner-assigned", {"aws": {"team": (SELLER,)}}, {"aws": {"team": (SELLER, REP2)}}, {},
     [("aws_seller_assigned", "HIGH", 24)]),
    ("pdm-assigned", {"aws": {"team": (SELLER,)}}, {"aws": {"team": (SELLER, PDM)}}, {},
     [("aws_seller_assigned", "MEDIUM", 72)]),
    ("pdm-and-seller-one-event", {"aws": {"team": ()}}, {"aws": {"team": (PDM, SELLER)}}, {},
     [("aws_seller_assigned", "HIGH", 24)]),
    ("member-left", {"aws": {"team": (SELLER, PDM)}}, {"aws": {"team": (SELLER,)}}, {}, []),
    ("team-reordered", {"aws": {"team": (SELLER, PDM)}}, {"aws": {"team": (SELLER, PDM)}}, {}, []),
    # resources
    ("new-product", {"aws": {"products": ("AmazonS3",)}}, {"aws": {"products": ("AmazonS3", "AmazonRedshift")}}, {},
     [("resources_available", "LOW", 168)]),
    ("new-solution", {"aws": {}}, {"aws": {"solutions": ("S-0000002",)}}, {}, [("resources_available", "LOW", 168)]),
    ("new-program", {"aws": {}}, {"aws": {"program_categories": ("MAP Eligible",)}}, {},
     [("resources_available", "LOW", 168)]),
    ("next-best-actions", {"aws": {"next_best_actions": "Run a PoC"}}, {"aws": {"next_best_actions": "Book an SA"}},
     {}, [("resources_available", "LOW", 168)]),
    ("next-best-actions-cleared", {"aws": {"next_best_actions": "Run a PoC"}}, {"aws": {"next_best_actions": None}},
     {}, []),
    ("product-removed", {"aws": {"products": ("AmazonS3",)}}, {"aws": {"products": ()}}, {}, []),
    # other AWS-side updates
    ("aws-stage", {"aws": {"stage": "Prospect"}}, {"aws": {"stage": "Qualified"}}, {},
     [("opportunity_updated", "MEDIUM", 72)]),
    ("aws-next-steps", {"aws": {}}, {"aws": {"next_steps": "Schedule the workshop"}}, {},
     [("opportunity_updated", "MEDIUM", 72)]),
    ("involvement", {"aws": {"involvement_type": "For Visibility Only"}}, {"aws": {"involvement_type": "Co-Sell"}}, {},
     [("opportunity_updated", "MEDIUM", 72)]),
    ("visibility", {"aws": {"visibility": "Full"}}, {"aws": {"visibility": "Limited"}}, {},
     [("opportunity_updated", "MEDIUM", 72)]),
    ("closed-lost", {"aws": {}}, {"aws": {"stage": "Closed Lost", "closed_lost_reason": "Price"}}, {},
     [("opportunity_updated", "MEDIUM", 72)]),
    ("aws-close-date", {"aws": {"target_close_date": "2025-06-30"}}, {"aws": {"target_close_date": "2025-07-31"}},
     {}, [("opportunity_updated", "MEDIUM", 72)]),
    ("aws-spend", {"aws": {}}, {"aws": {"expected_spend": SPEND2}}, {}, [("opportunity_updated", "MEDIUM", 72)]),
    ("aws-contacts", {"aws": {}}, {"aws": {"contacts": (person("bob@acme.test", "CTO", "Bob", "Buyer"),)}}, {},
     [("opportunity_updated", "MEDIUM", 72)]),
    ("unknown-aws-stage-kept", {"aws": {"stage": "Prospect"}}, {"aws": {"stage": "Hyper Engaged"}}, {},
     [("opportunity_updated", "MEDIUM", 72)]),
    ("aws-lifecycle-absent-then-set", {"aws": {"stage": None, "next_steps": None}}, {"aws": {"stage": "Prospect"}},
     {}, [("opportunity_updated", "MEDIUM", 72)]),
    # an AWS-side change is reported whatever a conflict on the partner-side field says (diff knows no conflicts)
    ("aws-close-date-while-in-conflict", {"aws": {"target_close_date": "2025-06-30"}},
     {"aws": {"target_close_date": "2025-07-31"}}, {}, [("opportunity_updated", "MEDIUM", 72)]),
    # partner-side edits notify nobody (only conflicts do)
    ("partner-side-edit", {"title": "Old", "stage": "Prospect"}, {"title": "New", "stage": "Qualified"}, {}, []),
    # a first AWS view is compared with an empty one: what AWS did is news, its plain fields are not updates
    ("first-aws-view-announces-what-aws-did", {"aws": None},
     {"aws": {"engagement_score": "High", "products": ("AmazonS3",), "stage": "Qualified"}}, {},
     [("engagement_score_changed", "HIGH", 24), ("aws_seller_assigned", "HIGH", 24),
      ("resources_available", "LOW", 168)]),
    ("first-aws-view-plain-fields-are-no-update", {"aws": None},
     {"aws": {"engagement_score": None, "team": (), "stage": "Qualified", "next_steps": "Workshop",
              "visibility": "Full", "expected_spend": SPEND2}}, {}, []),
    # a vanishing view says nothing (the stored one is kept: core.carry)
    ("aws-view-gone", {"aws": {}}, {"aws": None}, {}, []),
    # several things at once: one event per kind
    ("one-of-each",
     {"review_status": "In review", "aws": {"engagement_score": "Low", "team": ()}},
     {"review_status": "Approved", "aws": {"engagement_score": "High", "team": (SELLER,), "stage": "Qualified",
                                           "products": ("AmazonRedshift",)}}, {},
     [("review_approved", "HIGH", 24), ("engagement_score_changed", "HIGH", 24), ("aws_seller_assigned", "HIGH", 24),
      ("resources_available", "LOW", 168), ("opportunity_updated", "MEDIUM", 72)]),
    # switches
    ("baseline-is-silent", {"review_status": "In review", "aws": {"engagement_score": "Low"}},
     {"review_status": "Approved", "aws": {"engagement_score": "High"}}, {"baseline": True}, []),
    ("muted-kind", {"review_status": "In review", "aws": {"engagement_score": "Low"}},
     {"review_status": "Approved", "aws": {"engagement_score": "High"}},
     {"rules": RULES.with_overrides(muted_kinds={"engagement_score_changed"})}, [("review_approved", "HIGH", 24)]),
    ("custom-due-hours", {"review_status": "In review"}, {"review_status": "Approved"},
     {"rules": RULES.with_overrides(due_hours={"review_approved": 8})}, [("review_approved", "HIGH", 8)]),
]


@pytest.mark.parametrize(("old_kw", "new_kw", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_transition(old_kw, new_kw, kwargs, expected):
    common = {"aws": {}} if "aws" not in old_kw and "aws" not in new_kw else {}
    old, new = _pair(old_kw, new_kw, **common)
    events = diff(old, new, NOW, **{"rules": RULES, **kwargs})
    assert sorted((e.kind, e.priority, e.due_hours) for e in events) == sorted(expected)
    assert len({e.kind for e in events}) == len(events)  # at most one event per kind
    assert all(e.deal_id == "9001" and e.subject_id == "O1234567" for e in events)


# (id, old=None new fields, diff kwargs, expected): first seen after the baseline, compared with an empty record
QUIET = {"team": (), "engagement_score": None}  # an AWS view that has done nothing yet
FIRST_SEEN = [
    ("referral-not-notified", {"review_status": "Pending Submission", "aws": {"origin": "AWS Referral", **QUIET}},
     {"referral_notified": False}, [("new_opportunity", "HIGH", 24)]),
    ("referral-already-notified", {"review_status": "Pending Submission", "aws": {"origin": "AWS Referral", **QUIET}},
     {"referral_notified": True}, []),
    ("partner-referral", {"review_status": "Pending Submission", "aws": {"origin": "Partner Referral", **QUIET}},
     {"referral_notified": False}, []),
    ("pending-submission-no-aws-view", {"review_status": "Pending Submission", "aws": None},
     {"referral_notified": False}, []),
    ("submitted", {"aws": None}, {}, [("submission_confirmed", "MEDIUM", 72)]),
    ("in-review-notifies-nobody", {"review_status": "In review", "aws": QUIET}, {}, []),
    ("approved-is-approved-only", {"review_status": "Approved", "aws": QUIET}, {}, [("review_approved", "HIGH", 24)]),
    ("action-required", {"review_status": "Action Required", "aws": QUIET}, {},
     [("review_action_required", "HIGH", 48)]),
    ("rejected", {"review_status": "Rejected", "aws": None}, {}, [("review_rejected", "MEDIUM", 72)]),
    ("unknown-review-status", {"review_status": None, "aws": None}, {}, []),
    ("what-aws-did-is-announced", {"review_status": "In review", "aws": {"products": ("AmazonS3",)}}, {},
     [("engagement_score_changed", "LOW", 168), ("aws_seller_assigned", "HIGH", 24),
      ("resources_available", "LOW", 168)]),
    ("plain-aws-fields-are-no-update", {"review_status": "In review", "aws": {
        "stage": "Qualified", "next_steps": "Workshop", "closed_lost_reason": "Price", **QUIET}}, {}, []),
    ("approved-referral", {"review_status": "Approved", "aws": {"origin": "AWS Referral", **QUIET}},
     {"referral_notified": False}, [("new_opportunity", "HIGH", 24), ("review_approved", "HIGH", 24)]),
    ("baseline-is-silent", {"review_status": "Approved", "aws": {"origin": "AWS Referral"}},
     {"referral_notified": False, "baseline": True}, []),
]


@pytest.mark.parametrize(("new_kw", "kwargs", "expected"), [c[1:] for c in FIRST_SEEN], ids=[c[0] for c in FIRST_SEEN])
def test_first_seen(new_kw, kwargs, expected):
    events = diff(None, snap(**new_kw), NOW, rules=RULES, **kwargs)
    assert sorted((e.kind, e.priority, e.due_hours) for e in events) == sorted(expected)


def test_first_seen_keys_match_a_later_transition_from_pending_submission():
    """First seen at Approved yields the very key a cycle that had seen it at Pending Submission would have."""
    new = snap(review_status="Approved", last_modified=LM2, aws=None)
    [first] = diff(None, new, NOW, rules=RULES)
    [later] = diff(snap(review_status="Pending Submission", aws=None), new, NOW, rules=RULES)
    assert first.key == later.key and first.changes == later.changes


def test_referral_event_key_and_time():
    new = snap(aws={"origin": "AWS Referral"}, last_modified=LM2)
    [event] = [e for e in diff(None, new, NOW, rules=RULES, referral_notified=False) if e.kind == "new_opportunity"]
    assert event.key == event_key("new_opportunity", "O1234567", "O1234567", LM2)
    assert event.occurred_at == LM2 and event.deal_id == "9001"


def test_no_op_repeat_yields_nothing():
    old, new = _pair({"review_status": "In review", "aws": {}}, {"review_status": "Approved", "aws": {"stage": "X"}})
    assert diff(old, new, NOW, rules=RULES)
    assert diff(new, new, NOW, rules=RULES, aws_revision=3) == []


def test_same_transition_same_key():
    old, new = _pair({"review_status": "In review", "aws": {}}, {"review_status": "Approved", "aws": {"stage": "X"}})
    first = diff(old, new, NOW, rules=RULES, aws_revision=4)
    again = diff(old, new, NOW.replace(hour=18), rules=RULES, aws_revision=4)
    assert [e.key for e in first] == [e.key for e in again]


def test_review_event_key_facts_and_time():
    old = snap(review_status="In review", aws={})
    new = snap(review_status="Action Required", review_comments="Add the AWS account id",
               review_status_reason="Incomplete", last_modified=LM2, aws={})
    [event] = diff(old, new, NOW, rules=RULES)
    assert event.key == event_key("review_action_required", "O1234567", "actionrequired", LM2)
    assert event.occurred_at == LM2
    assert dict(event.facts) == {"review_comments": "Add the AWS account id", "review_status_reason": "Incomplete"}
    assert event.changes == (Change(field="review_status", old="In review", new="Action Required"),)


def test_submitted_carries_involvement_type():
    old = snap(review_status="Pending Submission", aws=None)
    new = snap(review_status="Submitted", last_modified=LM2, aws={"involvement_type": "For Visibility Only"})
    [event] = [e for e in diff(old, new, NOW, rules=RULES) if e.kind == "submission_confirmed"]
    assert dict(event.facts)["involvement_type"] == "For Visibility Only"


def test_review_a_b_a_gives_new_keys():
    a1 = snap(review_status="Action Required", last_modified=LM1, aws={})
    b = snap(review_status="Submitted", last_modified=LM2, aws={})
    a2 = snap(review_status="Action Required", last_modified=LM3, aws={})
    first = diff(snap(review_status="In review", aws={}), a1, NOW, rules=RULES)
    middle = diff(a1, b, NOW, rules=RULES)
    last = diff(b, a2, NOW, rules=RULES)
    assert [e.kind for e in middle] == ["submission_confirmed"]
    assert [e.kind for e in first] == [e.kind for e in last] == ["review_action_required"]
    assert first[0].key != last[0].key


def test_aws_a_b_a_gives_new_keys():
    high1, low, high2 = (snap(aws={"engagement_score": s}) for s in ("High", "Low", "High"))
    down = diff(high1, low, NOW, rules=RULES, aws_revision=2)
    up = diff(low, high2, NOW, rules=RULES, aws_revision=3)
    again = diff(snap(aws={"engagement_score": "Low"}), high1, NOW, rules=RULES, aws_revision=1)
    assert [(e.kind, e.priority) for e in down] == [("engagement_score_changed", "MEDIUM")]
    assert [(e.kind, e.priority) for e in up] == [("engagement_score_changed", "HIGH")]
    assert up[0].key != again[0].key  # same new tier, different AWS revision
    assert up[0].key == event_key("engagement_score_changed", "O1234567", "High", "aws3")
    assert up[0].occurred_at == iso(NOW)


def test_score_direction_fact():
    [down] = diff(snap(aws={"engagement_score": "High"}), snap(aws={"engagement_score": "Low"}), NOW, rules=RULES)
    [up] = diff(snap(aws={"engagement_score": "Low"}), snap(aws={"engagement_score": "High"}), NOW, rules=RULES)
    assert dict(down.facts)["direction"] == "down" and dict(up.facts)["direction"] == "up"


def test_several_updates_are_one_event_listing_each():
    old, new = _pair({"aws": {"stage": "Prospect", "next_steps": "Intro"}},
                     {"aws": {"stage": "Qualified", "next_steps": "Workshop", "expected_spend": SPEND2}})
    [event] = diff(old, new, NOW, rules=RULES)
    assert [(c.field, c.old, c.new) for c in event.changes] == [
        ("stage", "Prospect", "Qualified"), ("next_steps", "Intro", "Workshop"),
        ("expected_spend", None, "USD 2000.00 Monthly (AWS)")]


def test_several_resource_reasons_are_one_event():
    old, new = _pair({"aws": {}}, {"aws": {"products": ("AmazonRedshift",), "program_categories": ("MAP Eligible",),
                                            "next_best_actions": "Book an SA session"}})
    [event] = diff(old, new, NOW, rules=RULES)
    assert event.kind == "resources_available"
    assert [c.field for c in event.changes] == ["products", "program_categories", "next_best_actions"]


def test_seller_event_lists_every_new_member_and_keys_on_them():
    old, new = _pair({"aws": {"team": ()}}, {"aws": {"team": (PDM, SELLER)}})
    [event] = diff(old, new, NOW, rules=RULES, aws_revision=7)
    assert len(event.changes) == 2
    assert event.key == event_key("aws_seller_assigned", "O1234567", sorted([PDM.key, SELLER.key]), "aws7")


def test_missing_optional_blocks_are_fine():
    bare = view(stage=None, engagement_score=None, team=(), products=())
    assert diff(snap(aws=bare), snap(aws=bare), NOW, rules=RULES) == []
