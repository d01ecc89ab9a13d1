"""One cycle end to end on the Partner Central side: the real boto3 client → the simulator over HTTP, a frozen clock.

HubSpot is not configured here (delivery is skipped), so what users would see is read from the state database
(events, outbox rows, cursors, run rows) and from what the simulator received.
"""

from __future__ import annotations

import json
import random

from cycle_helpers import (
    ESCAPED,
    SCRIPT,
    count,
    cursor,
    cycle,
    event_rows,
    events,
    keys,
    outbox,
    put,
    put_spread,
    stored_last_modified,
    tick,
    wire_modified,
)

from poller.simulators.portfolio import (
    aws_summary_record,
    invitation_record,
    opportunity_id,
    opportunity_record,
    person,
    seed,
)


def test_first_cycle_is_a_silent_baseline_except_pending_invitations(pc_sim, make_app, frozen):
    seed(pc_sim, None, 5)
    put(pc_sim, 40, review="Action Required")  # actionable, but already true before the job existed: silent
    put(pc_sim, 41, origin="AWS Referral")  # an AWS referral, also already known
    pending = [pc_sim.put_invitation(invitation_record(n)) for n in (1, 2)]
    pc_sim.put_invitation(invitation_record(3, status="ACCEPTED"))
    pc_sim.put_invitation(invitation_record(4, status="EXPIRED"))
    app = make_app()

    result = cycle(app)

    assert (result.status, result.exit_code, result.summary["baseline"]) == ("ok", 0, True)
    assert events(app) == {("new_opportunity", iid, "HIGH") for iid in pending}
    rows = outbox(app)
    assert sorted(r["subject_id"] for r in rows) == sorted(pending)
    assert all(r["kind"] == "new_opportunity" and r["deal_id"] is None and r["note_body"] is None for r in rows)
    assert sorted(n.subject_id for n in result.notifications) == sorted(pending)
    assert count(app, "opportunities") == 7
    assert count(app, "invitations") == 4
    assert cursor(app) == max(wire_modified(pc_sim, opportunity_id(n)) for n in (0, 1, 2, 3, 4, 40, 41))
    run = app.store.runs.get(result.run_id)
    assert (run["status"], run["mode"], run["events"]) == ("ok", "dry-run", 2)


# --- the second cycle: every kind reachable without HubSpot, exactly once -------------------------------------------

def test_second_cycle_yields_exactly_the_expected_events(pc_sim, make_app, frozen):
    referral_invitation = invitation_record(0)
    referral_title = referral_invitation["Payload"]["OpportunityInvitation"]["Project"]["Title"]
    pc_sim.put_invitation(referral_invitation)
    ids = {
        "approve": put(pc_sim, 1),
        "action": put(pc_sim, 2),
        "reject": put(pc_sim, 3),
        "submit": put(pc_sim, 4, review="Pending Submission", summary=False),
        "score_up": put(pc_sim, 5),
        "score_down": put(pc_sim, 6),
        "score_appears": put(pc_sim, 7, score=None),
        "seller": put(pc_sim, 8),
        "pdm": put(pc_sim, 9),
        "resources": put(pc_sim, 10),
        "updated": put(pc_sim, 11),
        "partner_edit": put(pc_sim, 12),
        "untouched": put(pc_sim, 13),
    }
    app = make_app()
    baseline = cycle(app)
    assert [n.kind for n in baseline.notifications] == ["new_opportunity"]  # the pending referral invitation
    tick(frozen, 5)

    pc_sim.update_opportunity(ids["approve"], {"LifeCycle": {"ReviewStatus": "Approved"}})
    pc_sim.update_opportunity(ids["action"], {"LifeCycle": {
        "ReviewStatus": "Action Required", "ReviewComments": "Add the customer's business problem in detail",
        "ReviewStatusReason": "Insufficient detail"}})
    pc_sim.update_opportunity(ids["reject"], {"LifeCycle": {
        "ReviewStatus": "Rejected", "ReviewStatusReason": "Duplicate of an existing opportunity"}})
    pc_sim.update_opportunity(ids["submit"], {"LifeCycle": {"ReviewStatus": "Submitted"}})
    pc_sim.set_aws_summary(ids["submit"], aws_summary_record(4))  # the AWS view appears: a baseline for its fields
    pc_sim.update_aws_summary(ids["score_up"], {"Insights": {"EngagementScore": "High"}}, touch=True)
    pc_sim.update_aws_summary(ids["score_down"], {"Insights": {"EngagementScore": "Low"}}, touch=True)
    pc_sim.update_aws_summary(ids["score_appears"], {"Insights": {"EngagementScore": "Medium"}}, touch=True)
    team = pc_sim.aws_summary(ids["seller"])["OpportunityTeam"]
    pc_sim.update_aws_summary(ids["seller"], {"OpportunityTeam": [*team, person("Nora", "Quinn", "AWSSalesRep")]},
                              touch=True)
    team = pc_sim.aws_summary(ids["pdm"])["OpportunityTeam"]
    pc_sim.update_aws_summary(ids["pdm"], {"OpportunityTeam": [*team, person("Pia", "Lund", "PDM")]}, touch=True)
    pc_sim.update_aws_summary(ids["resources"], {"RelatedEntityIds": {"AwsProducts": ["AmazonS3", "AmazonEC2"]}},
                              touch=True)
    pc_sim.update_aws_summary(ids["updated"], {"LifeCycle": {"Stage": "Technical Validation",
                                                             "NextSteps": "Run the proof of concept"}}, touch=True)
    pc_sim.update_opportunity(ids["partner_edit"], {"LifeCycle": {"NextSteps": "Partner-side note only"}})
    # First-seen AWS referrals: one whose invitation we never notified, one whose invitation we did (same title).
    unannounced = put(pc_sim, 20, review="Approved", origin="AWS Referral")
    announced = put(pc_sim, 21, review="Approved", origin="AWS Referral", title=referral_title)
    partner_referral = put(pc_sim, 22, review="Approved")
    pc_sim.set_invitation_status(referral_invitation["Id"], "ACCEPTED")  # accepted: nothing new to say
    new_invitation = pc_sim.put_invitation(invitation_record(5))
    pc_sim.reset_calls()

    result = cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    new = {(r["kind"], r["subject_id"], r["priority"]) for r in event_rows(app, result.run_id)}
    assert new == {
        ("review_approved", ids["approve"], "HIGH"),
        ("review_action_required", ids["action"], "HIGH"),
        ("review_rejected", ids["reject"], "MEDIUM"),
        ("submission_confirmed", ids["submit"], "MEDIUM"),
        ("engagement_score_changed", ids["score_up"], "HIGH"),
        ("engagement_score_changed", ids["score_down"], "MEDIUM"),
        ("engagement_score_changed", ids["score_appears"], "LOW"),
        ("aws_seller_assigned", ids["seller"], "HIGH"),
        ("aws_seller_assigned", ids["pdm"], "MEDIUM"),
        ("resources_available", ids["resources"], "LOW"),
        ("opportunity_updated", ids["updated"], "MEDIUM"),
        ("new_opportunity", new_invitation, "HIGH"),
        # the AWS view appears at submission: its plain fields are a baseline, what AWS already did is news
        ("aws_seller_assigned", ids["submit"], "HIGH"),  # Lena Berg, AWSSalesRep
        ("engagement_score_changed", ids["submit"], "LOW"),  # a first Medium
        ("resources_available", ids["submit"], "LOW"),  # AmazonS3, a program category, next best actions
        # first seen after the baseline: compared with an empty record, so Approved is news (and only that)
        ("new_opportunity", unannounced, "HIGH"),  # its invitation was never announced
        ("review_approved", unannounced, "HIGH"),
        ("aws_seller_assigned", unannounced, "MEDIUM"),  # Sam Kim, PDM
        ("engagement_score_changed", unannounced, "LOW"),
        ("resources_available", unannounced, "LOW"),
        ("review_approved", announced, "HIGH"),
        ("aws_seller_assigned", announced, "MEDIUM"),  # Aiko Tanaka, PSM
        ("engagement_score_changed", announced, "LOW"),
        ("resources_available", announced, "LOW"),
        ("review_approved", partner_referral, "HIGH"),
        ("aws_seller_assigned", partner_referral, "HIGH"),  # Lena Berg, AWSSalesRep
        ("engagement_score_changed", partner_referral, "LOW"),
        ("resources_available", partner_referral, "LOW"),
    }
    assert ("new_opportunity", announced, "HIGH") not in new  # its invitation was announced already
    assert not {k for k, s, _p in new if s == unannounced} & {"submission_confirmed", "opportunity_updated"}
    assert len(event_rows(app, result.run_id)) == len(new)  # one event per kind per transition
    # one outbox row per new event, with the words a seller needs
    rows = {(r["kind"], r["subject_id"]): r for r in outbox(app) if r["subject_id"] != referral_invitation["Id"]}
    assert set(rows) == {(k, s) for k, s, _p in new}
    assert sorted(n.event_key for n in result.notifications) == sorted(r["event_key"] for r in rows.values())
    action = rows[("review_action_required", ids["action"])]
    assert "Add the customer&#x27;s business problem in detail" in action["note_body"]
    assert "Insufficient detail" in action["note_body"]
    assert "Duplicate of an existing opportunity" in rows[("review_rejected", ids["reject"])]["note_body"]
    assert "Co-Sell" in rows[("submission_confirmed", ids["submit"])]["note_body"]
    assert "Nora Quinn" in rows[("aws_seller_assigned", ids["seller"])]["note_body"]
    assert "AmazonEC2" in rows[("resources_available", ids["resources"])]["note_body"]
    updated = rows[("opportunity_updated", ids["updated"])]["note_body"]
    assert "Qualify → Technical Validation" in updated and "Run the proof of concept" in updated
    for (kind, subject), row in rows.items():
        assert row["deal_id"] == (None if subject.startswith("engi-") else str(50_000 + int(subject[1:]) - 1_000_000))
        assert row["subject"] and row["task_body"], kind
        assert (row["note_body"] is None) == subject.startswith("engi-")
    # 12 edited + 3 new are read in full; the untouched one costs nothing beyond its line in the listing
    assert result.summary["opportunities_changed"] == 15
    calls = pc_sim.operation_counts()
    assert calls["GetOpportunity"] == 15 and calls["ListOpportunities"] == 1
    assert calls["ListEngagementInvitations"] == 1 and calls["GetEngagementInvitation"] == 1


def test_only_a_new_pending_invitation_costs_a_detail_read(pc_sim, make_app, frozen):
    history = {pc_sim.put_invitation(invitation_record(n, status=status)): status
               for n, status in enumerate(["ACCEPTED", "EXPIRED", "REJECTED", "ACCEPTED", "EXPIRED"], start=10)}
    pending = pc_sim.put_invitation(invitation_record(1))
    app = make_app()
    pc_sim.reset_calls()

    result = cycle(app)

    assert pc_sim.operation_counts()["GetEngagementInvitation"] == 1
    assert [(n.kind, n.subject_id) for n in result.notifications] == [("new_opportunity", pending)]
    stored = {r["invitation_id"]: (r["status"], r["project_title"])
              for r in app.store.db.query("SELECT invitation_id, status, project_title FROM invitations")}
    assert stored == {**{iid: (status, None) for iid, status in history.items()},
                      pending: ("PENDING", invitation_record(1)["Payload"]["OpportunityInvitation"]["Project"]["Title"])}


def test_invitations_stop_at_the_read_budget_and_the_next_cycle_walks_on(
        pc_sim, make_app, frozen):
    ids = []
    for n in range(150):  # two pages, newest first
        ids.append(pc_sim.put_invitation(invitation_record(n)))
        tick(frozen, 1 / 60)
    app = make_app(pc_daily_budget=60)  # 1 list + 59 detail reads spend it; the rest fits in a fresh day
    pc_sim.reset_calls()

    first = cycle(app)

    assert (first.status, first.exit_code) == ("partial", 0)
    assert first.summary["deferred"].startswith("Partner Central read budget for the last 24 h spent")
    assert pc_sim.operation_counts()["GetEngagementInvitation"] == 59  # never a read past the budget
    assert {n.subject_id for n in first.notifications} == set(ids[-59:])  # the newest, each read once

    tick(frozen, 25 * 60)
    pc_sim.reset_calls()
    app = make_app(pc_daily_budget=200)  # a fresh day, and room for the 91 left
    second = cycle(app)  # the listing was cut short: this one walks every page and reads the rest

    assert second.status == "ok"
    assert pc_sim.operation_counts()["GetEngagementInvitation"] == 91
    assert {n.subject_id for n in second.notifications} == set(ids[:91])
    assert events(app) == {("new_opportunity", iid, "HIGH") for iid in ids}
    tick(frozen, 5)
    pc_sim.reset_calls()
    assert cycle(app).notifications == [] and pc_sim.operation_counts()["ListEngagementInvitations"] == 1


def test_rerun_yields_nothing_and_an_idle_cycle_is_cheap(pc_sim, make_app, frozen):
    seed(pc_sim, None, 30)
    pc_sim.put_invitation(invitation_record(1))
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_opportunity(opportunity_id(3), {"LifeCycle": {"ReviewStatus": "Action Required"}})
    changed = cycle(app)
    assert [n.kind for n in changed.notifications] == ["review_action_required"]
    before = (keys(app), count(app, "outbox"), count(app, "snapshot_history"), cursor(app))

    tick(frozen, 5)
    pc_sim.reset_calls()
    rerun = cycle(app)

    assert (rerun.status, rerun.exit_code, rerun.notifications) == ("ok", 0, [])
    assert (keys(app), count(app, "outbox"), count(app, "snapshot_history"), cursor(app)) == before
    calls = pc_sim.operation_counts()
    assert sum(calls.values()) <= 3, calls
    assert calls["GetOpportunity"] == 0 and calls["GetAwsOpportunitySummary"] == 0
    run = app.store.runs.get(rerun.run_id)
    assert (run["events"], run["swept"], run["api_calls"]) == (0, 0, {"partner_central": sum(calls.values())})


def test_sweep_catches_a_change_that_does_not_move_last_modified_once_due(pc_sim, make_app, frozen):
    seed(pc_sim, None, 10)
    app = make_app()  # POLLER_SWEEP_PERIOD=1h: an opportunity is due 30 to 90 minutes after its last read
    cycle(app)
    target = opportunity_id(4)
    pc_sim.update_aws_summary(target, {"Insights": {"EngagementScore": "High"}})  # touch=False, like AWS
    assert wire_modified(pc_sim, target) == stored_last_modified(app, target)

    tick(frozen, 5)
    pc_sim.reset_calls()
    early = cycle(app)
    assert early.notifications == [] and early.summary["swept"] == 0
    assert pc_sim.operation_counts()["GetAwsOpportunitySummary"] == 0
    assert events(app) == set()

    tick(frozen, 90)  # now everything read at the baseline is due
    pc_sim.reset_calls()
    due = cycle(app)

    assert due.status == "ok" and due.summary["swept"] == 10
    assert pc_sim.operation_counts()["GetAwsOpportunitySummary"] == 10
    assert pc_sim.operation_counts()["GetOpportunity"] == 0
    rows = event_rows(app, due.run_id)
    assert [(r["kind"], r["subject_id"], r["priority"], r["source"]) for r in rows] == [
        ("engagement_score_changed", target, "HIGH", "sweep")]
    assert [n.subject_id for n in due.notifications] == [target]
    # the sweep clock restarted: the next cycle sweeps nothing
    tick(frozen, 5)
    assert cycle(app).summary["swept"] == 0


def test_the_sweep_reads_only_open_submitted_opportunities(pc_sim, make_app, frozen):
    """The reference's sweep: ReviewStatus Submitted, In review, Approved or Action Required; Stage not terminal."""
    shapes = {"approved": ("Approved", "Qualified"), "in review": ("In review", "Qualified"),
              "submitted": ("Submitted", "Prospect"), "action required": ("Action Required", "Qualified"),
              "rejected": ("Rejected", "Qualified"), "launched": ("Approved", "Launched"),
              "closed lost": ("Approved", "Closed Lost")}
    ids = {}
    for n, (name, (review, stage)) in enumerate(shapes.items()):
        record = opportunity_record(n, rng=random.Random(n), review_status=review, stage=stage)
        ids[name] = pc_sim.put_opportunity(record, aws_summary_record(n, score="Low"))
    app = make_app()
    cycle(app)
    for oid in ids.values():
        pc_sim.update_aws_summary(oid, {"Insights": {"EngagementScore": "High"}})  # AWS-side only, like AWS

    tick(frozen, 90)  # everything read at the baseline is due
    pc_sim.reset_calls()
    due = cycle(app)

    open_ = {ids[name] for name in ("approved", "in review", "submitted", "action required")}
    assert due.summary["swept"] == len(open_) == pc_sim.operation_counts()["GetAwsOpportunitySummary"]
    assert events(app) == {("engagement_score_changed", oid, "HIGH") for oid in open_}


# --- cursor and crash safety -----------------------------------------------------------------------------------------

def test_cursor_never_moves_backwards_when_aws_reports_an_older_date(pc_sim, make_app, frozen):
    ids = put_spread(pc_sim, frozen, 5)
    app = make_app()
    cycle(app)
    high = cursor(app)
    # AWS answers an older LastModifiedDate for a record (clock skew): it is read, the cursor stays put.
    older = "2026-03-02T08:55:00.000Z"
    pc_sim.update_opportunity(ids[0], {"LastModifiedDate": older, "LifeCycle": {"ReviewStatus": "Rejected"}})
    tick(frozen, 1)
    result = cycle(app)
    assert cursor(app) == high
    assert [n.kind for n in result.notifications] == ["review_rejected"]


# --- A → B → A -------------------------------------------------------------------------------------------------------

def test_a_b_a_transitions_make_new_keys_each_time(pc_sim, make_app, frozen):
    scored = put(pc_sim, 1, review="Approved", score="Low")
    reviewed = put(pc_sim, 2, review="In review")
    app = make_app()
    cycle(app)
    seen = []
    for score, status in (("High", "Action Required"), ("Low", "Submitted"), ("High", "Action Required")):
        tick(frozen, 5)
        pc_sim.update_aws_summary(scored, {"Insights": {"EngagementScore": score}}, touch=True)
        pc_sim.update_opportunity(reviewed, {"LifeCycle": {"ReviewStatus": status}})
        result = cycle(app)
        seen.append(sorted((n.subject_id, n.kind, n.priority) for n in result.notifications))

    assert seen == [
        [(scored, "engagement_score_changed", "HIGH"), (reviewed, "review_action_required", "HIGH")],
        [(scored, "engagement_score_changed", "MEDIUM"), (reviewed, "submission_confirmed", "MEDIUM")],
        [(scored, "engagement_score_changed", "HIGH"), (reviewed, "review_action_required", "HIGH")],
    ]
    score_keys = [r["key"] for r in event_rows(app) if r["subject_id"] == scored]
    review_keys = [r["key"] for r in event_rows(app) if r["subject_id"] == reviewed]
    assert len(set(score_keys)) == 3 and len(set(review_keys)) == 3
    assert count(app, "outbox") == 6


# --- malformed records -----------------------------------------------------------------------------------------------

def test_partner_central_text_is_escaped_in_every_body_and_plain_in_every_subject(pc_sim, make_app, frozen):
    def evil(label: str) -> str:
        return f"{label} {SCRIPT}"

    oid = put(pc_sim, 1, review="In review", team=1)
    pc_sim.update_opportunity(oid, {"Project": {"Title": evil("title")},
                                    "Customer": {"Account": {"CompanyName": evil("customer")}}})
    invitation = invitation_record(2)
    invitation["EngagementTitle"] = "<b>x</b>"
    invitation["InvitationMessage"] = evil("message")
    payload = invitation["Payload"]["OpportunityInvitation"]
    payload["Customer"].update(CompanyName=evil("company"), WebsiteUrl="https://x.example/<script>")
    payload["Project"].update(Title=evil("project"), BusinessProblem=evil("problem"))
    payload["SenderContacts"] = [{"FirstName": evil("first"), "LastName": evil("last"), "Email": "a@amazon.com",
                                  "BusinessTitle": "AWSSalesRep"}]
    app = make_app()
    cycle(app)
    pc_sim.put_invitation(invitation)
    tick(frozen, 5)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required",
                                                  "ReviewComments": evil("comments"),
                                                  "ReviewStatusReason": evil("reason")}})
    pc_sim.update_aws_summary(oid, {
        "LifeCycle": {"Stage": evil("stage"), "NextSteps": evil("next steps")},
        "Insights": {"EngagementScore": "High", "NextBestActions": evil("next best action")},
        "OpportunityTeam": [person("Ann", "Lee", "AWSSalesRep"),
                            {"FirstName": evil("seller"), "LastName": SCRIPT, "Email": "s@amazon.com",
                             "BusinessTitle": "AWSSalesRep"}],
        "RelatedEntityIds": {"AwsProducts": ["AmazonS3", evil("product")]},
    }, touch=True)
    referral = put(pc_sim, 3, review="Approved", origin="AWS Referral", title=evil("referral"))

    result = cycle(app)

    kinds = {(n.kind, n.subject_id) for n in result.notifications}
    assert {k for k, s in kinds if s == oid} == {"review_action_required", "engagement_score_changed",
                                                 "aws_seller_assigned", "resources_available", "opportunity_updated"}
    assert ("new_opportunity", referral) in kinds and ("new_opportunity", invitation["Id"]) in kinds
    # the referral is first seen after the baseline, already Approved, with an AWS team, a score and resources
    assert {k for k, s in kinds if s == referral} == {"new_opportunity", "review_approved", "aws_seller_assigned",
                                                      "engagement_score_changed", "resources_available"}
    rows = outbox(app)
    assert len(rows) == len(result.notifications) == 11
    for row in rows:
        for column in ("task_body", "note_body"):
            text = row[column] or ""
            assert "<script" not in text and "<b>" not in text, (row["kind"], column)
        # a subject is plain text, shown as typed: the title as written, never an entity
        assert SCRIPT in row["subject"] and "&lt;" not in row["subject"], row["kind"]
        assert ESCAPED in (row["note_body"] or row["task_body"])
    bodies = " ".join(r["note_body"] or r["task_body"] for r in rows)
    for label in ("title", "customer", "comments", "reason", "stage", "next steps", "next best action", "seller",
                  "product", "referral", "message", "company", "project", "problem", "first", "last"):
        assert f"{label} {ESCAPED}" in bodies, label


# --- throttling ------------------------------------------------------------------------------------------------------

def test_a_250_opportunity_baseline_reads_three_pages(pc_sim, make_app, frozen):
    ids = put_spread(pc_sim, frozen, 250)
    app = make_app()
    pc_sim.reset_calls()
    result = cycle(app)
    assert (result.status, result.summary["pages"]) == ("ok", 3)
    calls = pc_sim.operation_counts()
    assert calls["ListOpportunities"] == 3
    assert calls["GetOpportunity"] == 250 and calls["GetAwsOpportunitySummary"] == 250
    assert count(app, "opportunities") == 250 and count(app, "snapshot_history") == 250
    assert cursor(app) == max(wire_modified(pc_sim, oid) for oid in ids) == wire_modified(pc_sim, ids[-1])
    assert count(app, "events") == 0
    tokens = [json.loads(c.body).get("NextToken") for c in pc_sim.calls if c.target.endswith("ListOpportunities")]
    assert tokens[0] is None and len(set(tokens[1:])) == 2  # each later page asked with the token it was given


def test_sweep_period_zero_sweeps_every_cycle(pc_sim, make_app, frozen):
    seed(pc_sim, None, 3)
    app = make_app(sweep_period=0.0)
    cycle(app)
    tick(frozen, 1)
    pc_sim.update_aws_summary(opportunity_id(0), {"Insights": {"EngagementScore": "Low"}})
    result = cycle(app)
    assert result.summary["swept"] == 3
    assert [(n.kind, n.priority) for n in result.notifications] == [("engagement_score_changed", "MEDIUM")]
