"""First seen after the baseline: a new record, or a first AWS view, is compared with an empty one; cycle and
backfill agree, and what a baseline recorded (or had to skip) stays silent (DESIGN §10)."""

from __future__ import annotations

import random
import sqlite3

from click.testing import CliRunner
from cycle_helpers import cycle, event_rows, put, tick

from poller.cli import cli
from poller.simulators.portfolio import aws_summary_record, opportunity_id, opportunity_record, person, seed


def kinds_of(app, run_id: int) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["subject_id"], r["priority"]) for r in event_rows(app, run_id)}


def test_a_deal_created_and_submitted_between_two_cycles_is_announced(pc_sim, make_app, frozen):
    seed(pc_sim, None, 3)
    known = put(pc_sim, 10, review="Pending Submission", summary=False)
    app = make_app()
    assert cycle(app).summary["baseline"]
    tick(frozen, 5)
    # The seed's submit_opportunity flow: created in the CRM and submitted before the next poll (no AWS view yet).
    submitted = put(pc_sim, 20, review="Submitted", summary=False)
    # Created and already decided by AWS when we first see it (after an outage): Approved, and nothing else.
    approved = put(pc_sim, 21, review="Approved", summary=False)
    action = put(pc_sim, 22, review="Action Required", summary=False)
    in_review = put(pc_sim, 23, review="In review", summary=False)
    # A known draft submitted, and its AWS view appears with what AWS already did: a seller, a score, resources.
    pc_sim.update_opportunity(known, {"LifeCycle": {"ReviewStatus": "Submitted"}})
    pc_sim.set_aws_summary(known, aws_summary_record(10, team=1))

    result = cycle(app)

    assert result.status == "ok"
    assert kinds_of(app, result.run_id) == {
        ("submission_confirmed", submitted, "MEDIUM"),
        ("review_approved", approved, "HIGH"),
        ("review_action_required", action, "HIGH"),
        ("submission_confirmed", known, "MEDIUM"),
        ("aws_seller_assigned", known, "HIGH"),  # Lena Berg, AWSSalesRep
        ("engagement_score_changed", known, "LOW"),  # a first Medium
        ("resources_available", known, "LOW"),
    }
    assert in_review not in {s for _k, s, _p in kinds_of(app, result.run_id)}
    # the AWS view's plain fields (stage, next steps, visibility) are where it starts, not updates
    assert "opportunity_updated" not in {k for k, _s, _p in kinds_of(app, result.run_id)}
    rows = {(r["kind"], r["subject_id"]): r for r in app.store.db.query("SELECT * FROM outbox")}
    assert "Co-Sell" in rows[("submission_confirmed", known)]["note_body"]  # its involvement type, from AWS's view
    assert "Lena Berg" in rows[("aws_seller_assigned", known)]["note_body"]

    tick(frozen, 5)
    assert cycle(app).notifications == []  # and never again


def test_backfill_after_an_outage_announces_first_seen_records_as_a_cycle_would(pc_sim, make_app, frozen, tmp_path,
                                                                                 monkeypatch):
    db = tmp_path / "poller.db"
    seed(pc_sim, None, 3)
    app = make_app(db=db)
    assert cycle(app).summary["baseline"]
    tick(frozen, 5)
    new = put(pc_sim, 20, review="Submitted", summary=False)  # created and submitted during the outage
    tick(frozen, 5)
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot here: recording only is intended
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")

    result = CliRunner().invoke(cli, ["backfill", "--since", "2026-03-02"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "1 events found, 1 new" in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT kind, subject_id FROM outbox").fetchall() == [("submission_confirmed", new)]
    tick(frozen, 5)
    assert cycle(app).notifications == []  # the cycle that follows agrees: nothing new


def test_history_replay_applies_the_same_rule_as_the_cycle(pc_sim, make_app, frozen, tmp_path, monkeypatch):
    """A cycle that saw a record first (its kind muted then) and a backfill over its history derive the same event."""
    db = tmp_path / "poller.db"
    seed(pc_sim, None, 2)
    muted = make_app(db=db, muted_kinds=("review_approved",))
    cycle(muted)
    tick(frozen, 5)
    approved = put(pc_sim, 20, review="Approved", summary=False)
    assert cycle(muted).notifications == []  # recorded, announced to nobody
    tick(frozen, 5)
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot here: recording only is intended

    replay = CliRunner().invoke(cli, ["backfill", "--since", "2026-03-02"], catch_exceptions=False)

    assert replay.exit_code == 0, replay.output
    assert "1 events found, 1 new, 0 already known" in replay.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT kind, subject_id FROM outbox").fetchall() == [("review_approved", approved)]


def test_what_the_baseline_recorded_or_had_to_skip_stays_silent_in_cycles_and_backfill(pc_sim, make_app, frozen,
                                                                                      tmp_path, monkeypatch):
    db = tmp_path / "poller.db"
    seed(pc_sim, None, 3)
    skipped = put(pc_sim, 10, review="Approved")
    pc_sim.malform(skipped)  # unreadable during the baseline
    app = make_app(db=db)
    first = cycle(app)
    assert first.summary["baseline"] and skipped in first.summary["skipped_ids"]
    tick(frozen, 5)
    pc_sim.heal(skipped)

    again = cycle(app)  # read at last: what was already true before the job existed is not news

    assert again.notifications == [] and event_rows(app) == []
    tick(frozen, 5)
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot here: recording only is intended
    replay = CliRunner().invoke(cli, ["backfill", "--since", "2026-03-02"], catch_exceptions=False)
    assert replay.exit_code == 0, replay.output
    assert "0 events found" in replay.stdout and event_rows(app) == []


def test_a_team_member_whose_email_is_filled_in_later_is_the_same_person(pc_sim, make_app, frozen):
    record = opportunity_record(5, rng=random.Random(5), review_status="Approved")
    summary = aws_summary_record(5, team=0)
    summary["OpportunityTeam"] = [{"FirstName": "Ann", "LastName": "Lee", "BusinessTitle": "AWSSalesRep"},
                                  {"Email": "raj@amazon.com", "BusinessTitle": "PDM"}]
    oid = pc_sim.put_opportunity(record, summary)
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_aws_summary(oid, {"OpportunityTeam": [
        {"FirstName": "Ann", "LastName": "Lee", "Email": "ann.lee@amazon.com", "BusinessTitle": "AWSSalesRep"},
        {"FirstName": "Raj", "LastName": "Iyer", "Email": "raj@amazon.com", "BusinessTitle": "PDM"}]}, touch=True)

    same_people = cycle(app)

    assert same_people.notifications == []
    tick(frozen, 5)
    team = pc_sim.aws_summary(oid)["OpportunityTeam"]
    pc_sim.update_aws_summary(oid, {"OpportunityTeam": [*team, person("Nora", "Quinn", "AWSSalesRep")]}, touch=True)
    newcomer = cycle(app)  # a genuinely new member is still news, and only she is named
    assert [(n.kind, n.subject_id) for n in newcomer.notifications] == [("aws_seller_assigned", oid)]
    assert "Nora Quinn" in newcomer.notifications[0].note_body
    assert "Ann Lee" not in newcomer.notifications[0].subject


def test_an_answer_for_another_opportunity_is_skipped_named_and_read_again(pc_sim, make_app, frozen):
    seed(pc_sim, None, 3)
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    target = opportunity_id(1)
    pc_sim.update_opportunity(target, {"LifeCycle": {"ReviewStatus": "Action Required"}})
    pc_sim.garble(target, "GetOpportunity", Id=opportunity_id(99))  # the answer names another opportunity

    wrong = cycle(app)

    assert (wrong.status, wrong.exit_code, wrong.notifications) == ("ok", 0, [])
    assert wrong.summary["skipped_ids"] == [target]
    stored = {r[0] for r in app.store.db.execute("SELECT opportunity_id FROM opportunities")}
    assert opportunity_id(99) not in stored
    tick(frozen, 5)
    pc_sim.heal(target)
    healed = cycle(app)  # read again, from the queue of skipped records
    assert [(n.kind, n.subject_id) for n in healed.notifications] == [("review_action_required", target)]
