"""Expiry and SLA reminders through real cycles: an invitation about to expire, an opportunity left at Action
Required; each fires once, never after acceptance or resubmission, and shows in `poller state`. Also the enriched
referral: what AWS knows about the lead is in the new-opportunity task."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from cycle_helpers import cycle, event_rows, put, tick

from poller.cli import cli
from poller.clock import utc_now
from poller.run.backfill import backfill
from poller.run.window import Window
from poller.simulators.portfolio import referral_invitation

DAY = 24 * 60


def kinds(app, result) -> list[tuple[str, str, str]]:
    return [(r["kind"], r["subject_id"], r["priority"]) for r in event_rows(app, result.run_id)]


def invite(pc_sim, n: int, *, expires_in: dt.timedelta) -> str:
    """A PENDING AWS referral that expires `expires_in` from now (AWS referrals live 15 days)."""
    return pc_sim.put_invitation(referral_invitation(n, invited=utc_now() + expires_in - dt.timedelta(days=15)))


def test_an_invitation_left_pending_gets_one_reminder_48_hours_before_it_expires(pc_sim, make_app, frozen):
    early = invite(pc_sim, 1, expires_in=dt.timedelta(days=3))  # seen before its reminder window opens
    late = invite(pc_sim, 2, expires_in=dt.timedelta(hours=30))  # seen inside it: its first task says so already
    app = make_app()
    first = cycle(app)
    assert sorted(kinds(app, first)) == [("new_opportunity", early, "HIGH"), ("new_opportunity", late, "HIGH")]
    tick(frozen, DAY - 5)
    assert cycle(app).notifications == []  # 48 h and 5 minutes left: not yet
    tick(frozen, 10)

    reminded = cycle(app)

    assert kinds(app, reminded) == [("invitation_expiring", early, "HIGH")]
    row = next(app.store.db.query("SELECT * FROM outbox WHERE kind = 'invitation_expiring'"))
    assert row["subject"].startswith("⏰ AWS referral expires soon: ")
    assert "it expires on 2026-03-05 09:00 UTC, in 47 hours." in row["task_body"]
    assert f"Accept or decline invitation {early} in Partner Central before 2026-03-05 09:00 UTC" in row["task_body"]
    assert f"Invitation: {early}" in row["task_body"]
    assert row["note_body"] is None and row["deal_id"] is None  # no deal yet: a task for the fallback owner
    # due within the kind's 24 h, and no later than 12 h before the invitation expires
    assert row["due_at"] == "2026-03-04T09:05:00.000000Z"
    for _ in range(3):
        tick(frozen, 6 * 60)
        assert cycle(app).notifications == []  # once


def test_no_reminder_once_the_invitation_is_accepted_even_when_the_listing_missed_it(pc_sim, make_app, frozen):
    accepted = invite(pc_sim, 1, expires_in=dt.timedelta(days=3))
    missed = invite(pc_sim, 2, expires_in=dt.timedelta(days=3))
    app = make_app()
    cycle(app)
    tick(frozen, 60)
    pc_sim.set_invitation_status(accepted, "ACCEPTED")
    cycle(app)  # the listing records it
    tick(frozen, DAY)
    pc_sim.set_invitation_status(missed, "ACCEPTED")
    pc_sim.fail_next("ListEngagementInvitations", times=3)  # throttled all cycle: the listing cannot say so

    result = cycle(app)

    assert result.status == "partial" and kinds(app, result) == []
    assert pc_sim.operation_counts()["GetEngagementInvitation"] == 3  # 2 when new, 1 to confirm the reminder
    stored = {r["invitation_id"]: r["status"] for r in app.store.db.query("SELECT * FROM invitations")}
    assert stored == {accepted: "ACCEPTED", missed: "ACCEPTED"}  # what the confirming read learnt is kept
    tick(frozen, 60)
    assert cycle(app).notifications == [] and pc_sim.operation_counts()["GetEngagementInvitation"] == 3


def test_action_required_escalates_after_3_days_then_at_most_every_3_days_until_resubmitted(pc_sim, make_app,
                                                                                           frozen):
    oid = put(pc_sim, 1, review="Submitted")
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required",
                                                  "ReviewComments": "Describe the workload in more detail"}})
    assert kinds(app, cycle(app)) == [("review_action_required", oid, "HIGH")]
    found = []
    for hours in (71, 2, 24, 24, 22, 2, 30):
        tick(frozen, hours * 60)
        found.append((hours, kinds(app, cycle(app))))

    assert [h for h, k in found if k] == [2, 2]  # 3 days after, then 3 days later (not each cycle in between)
    assert {k for _h, ks in found for k in ks} == {("action_required_overdue", oid, "HIGH")}
    row = next(app.store.db.query("SELECT * FROM outbox WHERE kind = 'action_required_overdue'"))
    assert row["deal_id"] == "50001" and row["subject"].startswith("🚨 AWS still waits for your answer (3 days)")
    assert "Describe the workload in more detail" in row["note_body"]
    assert "Action Required since 2026-03-02 09:05 UTC" in row["note_body"]
    # Resubmitted: no more escalations; back at Action Required later: a new stretch, counted afresh.
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Submitted"}})
    tick(frozen, 5)
    assert kinds(app, cycle(app)) == [("submission_confirmed", oid, "MEDIUM")]
    tick(frozen, 4 * DAY)
    assert cycle(app).notifications == []
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required"}})
    cycle(app)
    tick(frozen, 3 * DAY + 5)
    again = cycle(app)
    assert kinds(app, again) == [("action_required_overdue", oid, "HIGH")]
    assert len({r["key"] for r in event_rows(app) if r["kind"] == "action_required_overdue"}) == 3


def test_what_the_baseline_found_waiting_is_escalated_3_days_after_it_not_at_once(pc_sim, make_app, frozen):
    oid = put(pc_sim, 1, review="Action Required")
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    assert cycle(app).notifications == []
    tick(frozen, 3 * DAY)
    assert kinds(app, cycle(app)) == [("action_required_overdue", oid, "HIGH")]


def test_no_escalation_when_the_opportunity_was_resubmitted_but_not_listed_yet(pc_sim, make_app, frozen):
    """And a reminder a confirming read declined costs no read again until its next period."""
    oid = put(pc_sim, 1, review="Action Required")
    app = make_app()
    cycle(app)
    tick(frozen, 3 * DAY + 5)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Submitted"}}, touch=False)  # the listing misses it

    result = cycle(app)

    assert kinds(app, result) == [] and pc_sim.operation_counts()["GetOpportunity"] == 2  # baseline + confirm
    for _ in range(2):  # what the confirming read found is remembered: no read every cycle for it
        tick(frozen, 5)
        assert cycle(app).notifications == [] and pc_sim.operation_counts()["GetOpportunity"] == 2
    tick(frozen, 3 * DAY)  # the next period's escalation is confirmed afresh (one read), and still declined
    assert cycle(app).notifications == [] and pc_sim.operation_counts()["GetOpportunity"] == 3


def test_reminders_show_in_poller_state_and_a_backfill_adds_none(pc_sim, make_app, frozen, tmp_path, monkeypatch):
    db = tmp_path / "poller.db"
    waiting = put(pc_sim, 1, review="Action Required")
    pending = invite(pc_sim, 1, expires_in=dt.timedelta(days=6))
    app = make_app(db=db)
    cycle(app)
    tick(frozen, 3 * DAY + 5)
    cycle(app)
    monkeypatch.setenv("POLLER_DB", str(db))

    shown = CliRunner().invoke(cli, ["state", "reminders", "--json"], catch_exceptions=False)

    assert shown.exit_code == 0, shown.output
    rows = {(r["kind"], r["subject_id"]): r for r in json.loads(shown.stdout)}
    assert rows[("action_required_overdue", waiting)]["sent"] == 1
    assert rows[("action_required_overdue", waiting)]["next_at"] == "2026-03-08T09:00:00.000000Z"
    assert rows[("invitation_expiring", pending)] == {
        "kind": "invitation_expiring", "subject_id": pending, "deal_id": None, "sent": 0,
        "next_at": "2026-03-06T09:00:00.000000Z", "until": "2026-03-08T09:00:00.000000Z"}
    outbox = CliRunner().invoke(cli, ["state", "outbox"], catch_exceptions=False)
    assert "action_required_overdue" in outbox.stdout
    result = backfill(make_app(db=db), Window.parse("2026-03-02", None, utc_now()))
    assert result.status == "ok" and result.summary["new"] == 0


def test_an_enriched_referral_says_how_and_when_to_reach_the_lead(pc_sim, make_app, frozen):
    record = referral_invitation(1)
    record["EnrichmentContext"] = {
        "LeadInsights": {"LeadReadinessScore": "High", "ChannelRecommendation": {
            "RecommendedChannel": "Email", "BestOutreachWindows": [
                {"Day": "TUESDAY", "StartTimeUtc": "14:00", "EndTimeUtc": "16:00"},
                {"Day": "THURSDAY", "StartTimeUtc": "09:00", "EndTimeUtc": "11:00"}]}},
        "ProspectingResultAws": {"Customer": {"EligiblePrograms": ["MAP", "ISV Accelerate"]}}}
    iid = pc_sim.put_invitation(record)
    app = make_app()

    cycle(app)

    body = next(app.store.db.query("SELECT task_body FROM outbox WHERE subject_id = ?", [iid]))["task_body"]
    for line in ("Lead readiness: High", "Recommended outreach channel: Email",
                 "Best outreach windows: Tuesday 14:00–16:00 UTC, Thursday 09:00–11:00 UTC",
                 "Eligible programs: ISV Accelerate, MAP", "Expires: 2026-03-17 09:00 UTC",
                 "Reach the customer by Email (best: Tuesday 14:00–16:00 UTC, Thursday 09:00–11:00 UTC)",
                 "Confirm the eligible programs (ISV Accelerate, MAP) with your AWS partner development manager"):
        assert line in body
