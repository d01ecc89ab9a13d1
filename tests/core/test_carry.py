"""carry_forward(): unknown is not a change; Person.same_person(): an email or a name filled in later."""

from __future__ import annotations

from core_builders import snap, view

from poller.core.carry import carry_forward
from poller.core.model import Person, Spend


def test_a_missing_value_keeps_the_last_known_one():
    old = snap(review_status="Approved", aws=view(engagement_score="High", next_best_actions="Run a PoC",
                                                 program_categories=("MAP Eligible",), products=("AmazonS3",)))
    gap = snap(review_status=None, aws=view(engagement_score=None, next_best_actions=None, program_categories=(),
                                            products=(), team=()))
    kept = carry_forward(old, gap)
    assert kept.review_status == "Approved" and kept.aws == old.aws
    assert kept.hash == old.hash  # so nothing is stored, nothing is diffed


def test_known_values_and_real_changes_pass_through():
    old = snap(review_status="Approved", aws=view(engagement_score="High"))
    new = snap(review_status="Action Required", aws=view(engagement_score="Low", stage="Qualified"))
    assert carry_forward(old, new) == new
    assert carry_forward(None, new) is new


def test_a_vanished_aws_view_keeps_the_last_one_and_partner_fields_are_not_carried():
    old = snap(review_comments="Add detail", aws=view())
    new = snap(review_comments=None, aws=None)
    kept = carry_forward(old, new)
    assert kept.aws == old.aws and kept.review_comments is None  # comments are cleared on resubmission
    spend = (Spend(amount="1", currency="USD", frequency="Monthly"),)
    assert carry_forward(snap(aws=view(expected_spend=spend)), snap(aws=view())).aws.expected_spend == spend


def test_same_person_by_email_else_by_name():
    ann = Person(first_name="Ann", last_name="Lee", title="AWSSalesRep")
    assert ann.same_person(Person(email="Ann.Lee@amazon.com", first_name="Ann", last_name="Lee",
                                  title="AWSSalesRep"))
    assert ann.same_person(Person(first_name=" ann ", last_name="LEE", title="PDM"))  # names compare loosely
    assert not ann.same_person(Person(first_name="Ann", last_name="Lim"))
    raj = Person(email="raj@amazon.com")
    assert raj.same_person(Person(email="RAJ@amazon.com", first_name="Raj", last_name="Iyer"))
    assert not raj.same_person(Person(email="raj.iyer@amazon.com", first_name="Raj"))  # two emails: two people
    anonymous = Person(title="AWSSalesRep")
    assert anonymous.same_person(Person(title="AWSSalesRep")) and not anonymous.same_person(Person(title="PDM"))
