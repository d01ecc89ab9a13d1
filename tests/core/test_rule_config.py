"""RuleConfig: DESIGN §3 defaults, frozen and hashable, overrides merged and validated."""

from __future__ import annotations

import dataclasses

import pytest

from poller.core.model import KINDS
from poller.core.rules import RuleConfig


def test_defaults_follow_the_design_table():
    rules = RuleConfig.default()
    assert set(rules.priority) == set(KINDS)
    assert rules.priority["review_approved"] == "HIGH" and rules.priority["resources_available"] == "LOW"
    assert rules.due_hours["conflict_detected"] == 12 and rules.due_hours["resources_available"] == 168
    assert dict(rules.due_hours_by_priority) == {"HIGH": 24, "MEDIUM": 72, "LOW": 168}
    assert (rules.score_change_threshold, rules.high_engagement_score, rules.conflict_reraise_hours) == (10, 80, 24)
    assert rules.opportunity_url("O1") == "https://partnercentral.awspartner.com/partnercentral2/s/opportunity?id=O1"
    assert rules.partner_central_home == "https://partnercentral.awspartner.com/"


def test_frozen_and_hashable():
    rules = RuleConfig.default()
    assert hash(rules) == hash(RuleConfig.default()) and rules == RuleConfig.default()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.score_change_threshold = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        rules.priority["review_approved"] = "LOW"  # type: ignore[index]


def test_due_for_uses_the_kind_or_the_priority():
    rules = RuleConfig.default()
    assert rules.due_for("review_action_required", "HIGH") == 48
    assert rules.due_for("aws_seller_assigned", "MEDIUM") == 72  # not its usual priority
    assert rules.due_for("engagement_score_changed", "LOW") == 168  # no fixed due time


def test_overrides_merge_mappings_and_replace_values():
    rules = RuleConfig.default().with_overrides(due_hours={"review_approved": 8}, muted_kinds={"resources_available"},
                                                score_change_threshold=5)
    assert rules.due_hours["review_approved"] == 8 and rules.due_hours["conflict_detected"] == 12
    assert rules.muted_kinds == frozenset({"resources_available"}) and rules.score_change_threshold == 5
    hash(rules)


@pytest.mark.parametrize("override", [
    {"priority": {"review_approved": "URGENT"}},
    {"due_hours": {"not_a_kind": 1}},
    {"muted_kinds": {"nope"}},
    {"due_hours": {"review_approved": 0}},
    {"no_such_setting": 1},
])
def test_bad_overrides_are_refused(override):
    with pytest.raises(ValueError):
        RuleConfig.default().with_overrides(**override)
