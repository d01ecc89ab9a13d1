"""render()/plan(): emoji-first subjects, concrete next steps, escaping of every Partner Central value, Ref, due."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from core_builders import LM2, NOW, RULES, invitation, person, snap, view

from poller.core.conflicts import ReconciledField, detect_conflicts
from poller.core.diff import diff
from poller.core.invitations import invitation_events
from poller.core.model import Deal, Event, Invitation, Snapshot
from poller.core.notes.render import BODY_LIMIT, render
from poller.core.plan import plan
from poller.core.timefmt import iso


def x(tag: str) -> str:
    """A hostile Partner Central value, unique per field so each one can be traced into the output."""
    return f"<script>{tag}</script>"


def esc(tag: str) -> str:
    return html.escape(x(tag))


OLD = snap(title=x("title"), customer_name=x("customer"), review_status="In review",
           aws=view(engagement_score="Low", team=(), stage="Prospect"))


def _new(**kw) -> Snapshot:
    return snap(**{"title": x("title"), "customer_name": x("customer"), "last_modified": LM2, **kw})


def _one(events: list[Event], kind: str) -> Event:
    [event] = [e for e in events if e.kind == kind]
    return event


def _case(kind: str) -> tuple[Event, Snapshot | Invitation]:
    """One event of `kind`, derived by the real core from hostile values, with its context."""
    seller = person(x("seller_email"), "AWSSalesRep", x("seller_first"), x("seller_last"))
    if kind == "new_opportunity":
        new = _new(opportunity_id=x("id"), aws=view(origin="AWS Referral", team=(seller,)))
        return _one(diff(None, new, NOW, rules=RULES, referral_notified=False), kind), new
    if kind == "invitation":
        inv = invitation(**{f: x(f) for f in ("invitation_id", "engagement_title", "sender_company", "customer_name",
                                              "industry", "website", "country", "project_title", "business_problem",
                                              "invitation_message")},
                         sender_contacts=(person(x("contact_email"), "PDM", x("contact_first"), "M"),))
        return _one(invitation_events(None, inv, NOW, rules=RULES, baseline=True), "new_opportunity"), inv
    if kind == "conflict_detected":
        new = _new(title=x("pc_title"))
        deal = Deal(deal_id=x("deal"), dealname=x("deal_title"))
        stored = {"title": ReconciledField(pc_value="a", deal_value="a")}
        result = detect_conflicts(new, deal, stored, NOW, rules=RULES, claimed_by=(x("other_opp"),))
        return result.events[0], new
    aws = {
        "review_approved": view(engagement_score="Low", team=(seller,), stage="Prospect"),
        "submission_confirmed": view(engagement_score="Low", team=(), stage="Prospect", involvement_type=x("inv")),
        "engagement_score_changed": view(engagement_score=x("score"), team=(), stage="Prospect",
                                         next_best_actions=x("nba")),
        "aws_seller_assigned": view(engagement_score="Low", team=(seller,), stage="Prospect"),
        "resources_available": view(engagement_score="Low", team=(), stage="Prospect", products=(x("product"),),
                                    solutions=(x("solution"),), program_categories=(x("program"),),
                                    next_best_actions=x("nba")),
        "opportunity_updated": view(engagement_score="Low", team=(), stage=x("stage"), next_steps=x("next_steps"),
                                    closed_lost_reason=x("lost_reason")),
    }.get(kind, OLD.aws)
    review = {"review_approved": "Approved", "review_action_required": "Action Required",
              "review_rejected": "Rejected", "submission_confirmed": "Submitted"}.get(kind, "In review")
    new = _new(aws=aws, review_status=review, review_comments=x("comments"), review_status_reason=x("reason"))
    return _one(diff(OLD, new, NOW, rules=RULES, aws_revision=2), kind), new


# kind → (subject emoji, PC values that must show up escaped in the subject, in the note (task for invitations))
EXPECTED = {
    "new_opportunity": ("🆕", ["title", "customer"], ["id", "seller_first", "seller_last"]),
    "invitation": ("🆕", ["project_title", "customer_name"],
                   ["invitation_id", "engagement_title", "sender_company", "customer_name", "industry", "website",
                    "country", "project_title", "business_problem", "invitation_message", "contact_email", "contact_first"]),
    "opportunity_updated": ("🔄", ["title", "customer"], ["title", "customer", "stage", "next_steps", "lost_reason"]),
    "engagement_score_changed": ("🎯", ["title", "score"], ["title", "customer", "score", "nba"]),
    "review_approved": ("✅", ["title", "customer"], ["title", "customer", "seller_first", "seller_last"]),
    "review_action_required": ("⚠️", ["title"], ["title", "customer", "comments", "reason"]),
    "review_rejected": ("❌", ["title"], ["title", "customer", "comments", "reason"]),
    "submission_confirmed": ("📤", ["title"], ["title", "customer", "inv"]),
    "aws_seller_assigned": ("👤", ["seller_first", "title"], ["seller_first", "seller_last", "seller_email"]),
    "resources_available": ("📚", ["title"], ["title", "product", "solution", "program", "nba"]),
    "conflict_detected": ("⚡", ["pc_title"], ["pc_title", "deal_title", "other_opp", "deal"]),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_every_partner_central_value_is_escaped_in_bodies_and_plain_in_the_subject(kind):
    event, context = _case(kind)
    n = render(event, context, NOW, rules=RULES)
    emoji, in_subject, in_body = EXPECTED[kind]
    bodies = [n.task_body] + ([n.note_body] if n.note_body is not None else [])
    for text in bodies:
        assert "<script>" not in text and "</script>" not in text
        assert "&lt;script&gt;" in text
    # hs_task_subject is plain text: HubSpot shows it as typed, so an entity there would be read literally
    assert n.subject.startswith(emoji) and "&lt;" not in n.subject and "&amp;" not in n.subject
    for tag in in_subject:
        assert x(tag) in n.subject, tag
    full = n.note_body if n.note_body is not None else n.task_body
    for tag in in_body:
        assert esc(tag) in full, tag


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_note_shape_ref_link_and_due(kind):
    event, context = _case(kind)
    n = render(event, context, NOW, rules=RULES)
    assert (n.event_key, n.kind, n.priority, n.deal_id) == (event.key, event.kind, event.priority, event.deal_id)
    assert n.due_at == iso(NOW + dt.timedelta(hours=event.due_hours))
    full = n.note_body if n.note_body is not None else n.task_body
    assert full.startswith("<h3>") and "<strong>Next steps</strong></p><ul><li>" in full
    assert f"Ref: {event.key}" in full and f"Ref: {event.key}" in n.task_body
    assert 'href="https://partnercentral.awspartner.com/' in full and 'href="https://partnercentral.awspartner.com/' \
        in n.task_body
    assert len(full) < BODY_LIMIT and len(n.task_body) < BODY_LIMIT


def test_invitation_has_no_note_and_its_task_carries_everything():
    event, inv = _case("invitation")
    n = render(event, inv, NOW, rules=RULES)
    assert n.note_body is None and n.deal_id is None
    assert "Business problem" in n.task_body and "Accept or decline the invitation" in n.task_body


def test_opportunity_link_quotes_the_id():
    event, context = _case("new_opportunity")
    n = render(event, context, NOW, rules=RULES)
    assert "opportunity?id=%3Cscript%3Eid%3C%2Fscript%3E" in (n.note_body or "")


def _note(event: Event, context: Snapshot | Invitation | None) -> str:
    n = render(event, context, NOW, rules=RULES)
    return n.note_body or n.task_body


@pytest.mark.parametrize(("old_kw", "new_kw", "kind", "step"), [
    ({"review_status": "In review", "aws": {}}, {"review_status": "Approved", "aws": {}}, "review_approved",
     "Schedule the joint call with Jane Seller within 24 hours"),
    ({"review_status": "In review"}, {"review_status": "Action Required",
                                      "review_comments": "Please add the customer's AWS account id"},
     "review_action_required",
     "Answer AWS's request in Partner Central within 48 hours: Please add the customer's AWS account id"),
    ({"review_status": "In review"}, {"review_status": "Rejected", "review_status_reason": "Duplicate"},
     "review_rejected", "Read AWS's reason: Duplicate"),
    ({"review_status": "In review"}, {"review_status": "Rejected"}, "review_rejected",
     "submit it again as a new opportunity in Partner Central"),
    ({"aws": {"engagement_score": "High"}}, {"aws": {"engagement_score": "Medium"}}, "engagement_score_changed",
     "Re-engage the customer this week"),
    ({"aws": {"engagement_score": "High"}}, {"aws": {"engagement_score": "Low"}}, "engagement_score_changed",
     "Call the customer within 2 days to find out whether the deal is still alive"),
    ({"aws": {"engagement_score": "Low"}}, {"aws": {"engagement_score": "High"}}, "engagement_score_changed",
     "Call the customer within 24 hours"),
    ({"aws": {"team": ()}}, {"aws": {"team": (person("pat@amazon.com", "PDM", "Pat", "Manager"),)}},
     "aws_seller_assigned", "Email Pat Manager within 72 hours"),
    ({"aws": {}}, {"aws": {"program_categories": ("MAP Eligible",)}}, "resources_available",
     "Review the programs the customer may be eligible for: MAP Eligible"),
    ({"aws": {"stage": "Prospect"}}, {"aws": {"stage": "Qualified", "next_steps": "Book the workshop"}},
     "opportunity_updated", "Act on AWS's next steps: Book the workshop"),
    ({"review_status": "Pending Submission"}, {"review_status": "Submitted"}, "submission_confirmed",
     "Answer any AWS request for more information within 48 hours"),
])
def test_concrete_next_steps(old_kw, new_kw, kind, step):
    old_kw.setdefault("aws", {})
    new_kw.setdefault("aws", {})
    new = snap(last_modified=LM2, **new_kw)
    event = _one(diff(snap(**old_kw), new, NOW, rules=RULES), kind)
    assert html.escape(step) in _note(event, new)


def test_values_are_listed_old_to_new():
    old, new = snap(aws={"stage": "Prospect"}), snap(aws={"stage": "Qualified"})
    [event] = diff(old, new, NOW, rules=RULES)
    assert "AWS stage: Prospect → Qualified" in _note(event, new)


def test_score_down_uses_the_warning_emoji():
    old, new = snap(aws={"engagement_score": "High"}), snap(aws={"engagement_score": "Low"})
    [event] = diff(old, new, NOW, rules=RULES)
    n = render(event, new, NOW, rules=RULES)
    assert n.subject == "⚠️ AWS engagement score dropped to Low: Data lake migration (Acme Corp)"


def test_subject_says_what_and_which_deal():
    old, new = snap(review_status="In review"), snap(review_status="Approved", last_modified=LM2)
    [event] = diff(old, new, NOW, rules=RULES)
    assert render(event, new, NOW, rules=RULES).subject == "✅ AWS approved co-sell: Data lake migration (Acme Corp)"


def test_without_context_the_id_names_the_deal():
    old, new = snap(review_status="In review"), snap(review_status="Approved", last_modified=LM2)
    [event] = diff(old, new, NOW, rules=RULES)
    n = render(event, None, NOW, rules=RULES)
    assert n.subject == "✅ AWS approved co-sell: O1234567" and "the AWS seller" in (n.note_body or "")


def test_long_free_text_is_truncated():
    huge = "<b>" * 40_000
    old = snap(review_status="In review")
    new = snap(review_status="Action Required", review_comments=huge, review_status_reason=huge, last_modified=LM2)
    [event] = diff(old, new, NOW, rules=RULES)
    n = render(event, new, NOW, rules=RULES)
    assert len(n.note_body or "") < BODY_LIMIT and len(n.task_body) < BODY_LIMIT
    assert "…" in (n.note_body or "") and "<b>" not in (n.note_body or "")
    inv = invitation(business_problem="&" * 100_000)
    [inv_event] = invitation_events(None, inv, NOW, rules=RULES, baseline=False)
    assert len(render(inv_event, inv, NOW, rules=RULES).task_body) < BODY_LIMIT


def test_plan_renders_each_event_and_skips_muted_kinds():
    old = snap(review_status="In review", aws={"engagement_score": "Low"})
    new = snap(review_status="Approved", last_modified=LM2, aws={"engagement_score": "High"})
    events = diff(old, new, NOW, rules=RULES)
    assert [n.kind for n in plan(events, {new.opportunity_id: new}, NOW, rules=RULES)] == [e.kind for e in events]
    muted = RULES.with_overrides(muted_kinds={"review_approved"})
    notes = plan(events, {new.opportunity_id: new}, NOW, rules=muted)
    assert [n.kind for n in notes] == ["engagement_score_changed"]
    assert "Data lake migration" in notes[0].subject
