"""One cycle end to end on the Partner Central side: the real boto3 client → the simulator over HTTP, a frozen clock.

HubSpot is not configured here (delivery is skipped), so what users would see is read from the state database
(events, outbox rows, cursors, run rows) and from what the simulator received.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random

import boto3
from botocore.stub import Stubber
from tenacity import stop_after_attempt, wait_none

import poller.ingest
from poller.app import build_app
from poller.config import load_settings
from poller.core.timefmt import normalize_iso
from poller.cycle import run_cycle
from poller.retry import RetrySettings
from poller.simulators.portfolio import (
    aws_summary_record,
    invitation_record,
    opportunity_id,
    opportunity_record,
    person,
    seed,
)

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;"


# --- helpers: what the operator would query ------------------------------------------------------------------------

def tick(frozen, minutes: float = 5) -> None:
    frozen.tick(dt.timedelta(minutes=minutes))


def cycle(app):
    return run_cycle(app, mode="dry-run", deliver=False)


def events(app) -> set[tuple[str, str, str]]:
    return {(r[0], r[1], r[2]) for r in app.store.db.execute("SELECT kind, subject_id, priority FROM events")}


def event_rows(app, run_id: int | None = None) -> list[dict]:
    if run_id is None:
        return list(app.store.db.query("SELECT * FROM events ORDER BY rowid"))
    return list(app.store.db.query("SELECT * FROM events WHERE run_id = ? ORDER BY rowid", [run_id]))


def keys(app) -> set[str]:
    return {r[0] for r in app.store.db.execute("SELECT key FROM events")}


def outbox(app) -> list[dict]:
    return list(app.store.db.query("SELECT * FROM outbox ORDER BY rowid"))


def count(app, table: str) -> int:
    return app.store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def cursor(app) -> str | None:
    row = app.store.db.execute("SELECT value FROM cursors WHERE name = 'opportunities'").fetchone()
    return row[0] if row else None


def stored_last_modified(app, oid: str) -> str | None:
    row = app.store.db.execute("SELECT last_modified FROM opportunities WHERE opportunity_id = ?", [oid]).fetchone()
    return row[0] if row else None


def wire_modified(pc_sim, oid: str) -> str:
    return normalize_iso(pc_sim.opportunity(oid)["LastModifiedDate"])


def put(pc_sim, n: int, *, review: str = "In review", summary: bool = True, origin: str = "Partner Referral",
        score: str | None = "Medium", team: int = 1, title: str | None = None) -> str:
    record = opportunity_record(n, rng=random.Random(n), review_status=review)
    if title is not None:
        record["Project"]["Title"] = title
    pc_sim.put_opportunity(record, aws_summary_record(n, origin=origin, score=score, team=team) if summary else None)
    return record["Id"]


def put_spread(pc_sim, frozen, count_: int, *, start: int = 0) -> list[str]:
    """`count_` opportunities, each one second newer than the last (distinct LastModifiedDates)."""
    ids = []
    for n in range(start, start + count_):
        ids.append(put(pc_sim, n, review="Approved"))
        tick(frozen, 1 / 60)
    return ids


# --- first cycle -----------------------------------------------------------------------------------------------------

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
        ("new_opportunity", unannounced, "HIGH"),
        ("new_opportunity", new_invitation, "HIGH"),
    }
    assert announced not in {s for _k, s, _p in new} and partner_referral not in {s for _k, s, _p in new}
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


# --- cursor and crash safety -----------------------------------------------------------------------------------------

def test_cursor_is_monotonic_and_a_crash_mid_listing_keeps_the_first_pages_commit(pc_sim, make_app, frozen, tmp_path,
                                                                                  monkeypatch):
    ids = put_spread(pc_sim, frozen, 120)
    app = make_app()
    clean = make_app(db=tmp_path / "clean.db")  # a second job on the same account that never crashes
    cursors = []
    cycle(app)
    cycle(clean)
    cursors.append(cursor(app))
    assert cursors[0] == wire_modified(pc_sim, ids[-1])
    tick(frozen, 5)
    for n, oid in enumerate(ids):  # in order, so the listing (oldest first) pages them in this order
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required",
                                                      "ReviewComments": f"fix item {n}"}})
        if n % 7 == 0:
            pc_sim.update_aws_summary(oid, {"Insights": {"EngagementScore": "High"}}, touch=True)
        tick(frozen, 1 / 60)
    first_page, second_page = ids[:100], ids[100:]
    history_before = count(app, "snapshot_history")

    real_plan = poller.ingest.plan
    pages = []

    def crash_on_second_page(*args, **kwargs):
        pages.append(1)
        if len(pages) == 2:
            raise RuntimeError("injected crash while committing page 2")
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(poller.ingest, "plan", crash_on_second_page)
    crashed = cycle(app)
    monkeypatch.setattr(poller.ingest, "plan", real_plan)

    assert (crashed.status, crashed.exit_code) == ("failed", 1)
    run = app.store.runs.get(crashed.run_id)
    assert run["status"] == "failed" and "injected crash" in run["error"]
    cursors.append(cursor(app))
    assert cursors[1] == max(wire_modified(pc_sim, oid) for oid in first_page)
    assert cursors[1] < wire_modified(pc_sim, second_page[0])
    for oid in first_page:
        assert stored_last_modified(app, oid) == wire_modified(pc_sim, oid)
    for oid in second_page:
        assert stored_last_modified(app, oid) < cursors[0] or stored_last_modified(app, oid) == cursors[0]
    page_two = app.store.db.execute(
        f"SELECT count(*) FROM snapshot_history WHERE run_id = ? AND opportunity_id IN ({','.join('?' * len(second_page))})",
        [crashed.run_id, *second_page]).fetchone()[0]
    assert page_two == 0
    assert count(app, "snapshot_history") == history_before + 100
    assert {r["subject_id"] for r in event_rows(app)} == set(first_page)
    assert count(app, "outbox") == count(app, "events")
    assert app.store.db.execute("SELECT count(*) FROM lease").fetchone()[0] == 0  # released despite the crash

    tick(frozen, 5)
    recovered = cycle(app)
    clean_result = cycle(clean)

    assert (recovered.status, recovered.exit_code) == ("ok", 0)
    cursors.append(cursor(app))
    assert cursors == sorted(cursors) and cursors[2] == wire_modified(pc_sim, ids[-1]) == cursor(clean)
    assert keys(app) == keys(clean)  # the same events, with the same keys, as a run that never crashed
    assert len(keys(app)) == 120 + len(range(0, 120, 7))
    assert {r["subject_id"] for r in event_rows(app, recovered.run_id)} == set(second_page)
    assert count(app, "outbox") == count(clean, "outbox") == count(app, "events")
    assert len(clean_result.notifications) == len(keys(clean))
    for oid in ids:
        assert stored_last_modified(app, oid) == wire_modified(pc_sim, oid)


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

def test_malformed_record_is_skipped_named_and_read_again_once_healed(pc_sim, make_app, frozen, caplog):
    ids = [put(pc_sim, n) for n in range(5)]
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    for oid in ids:
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Approved"}})
    broken = ids[2]
    pc_sim.malform(broken)

    with caplog.at_level(logging.WARNING):
        result = cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    run = app.store.runs.get(result.run_id)
    assert run["status"] == "ok" and run["skipped_ids"] == [broken]
    assert any(broken in r.getMessage() and r.levelno >= logging.WARNING for r in caplog.records)
    assert events(app) == {("review_approved", oid, "HIGH") for oid in ids if oid != broken}
    assert [r[0] for r in app.store.db.execute("SELECT opportunity_id FROM refetch")] == [broken]
    assert json.loads(app.store.db.execute("SELECT snapshot FROM opportunities WHERE opportunity_id = ?",
                                           [broken]).fetchone()[0])["review_status"] == "In review"
    assert cursor(app) == max(wire_modified(pc_sim, oid) for oid in ids)  # the good ones moved the cursor

    pc_sim.heal(broken)
    tick(frozen, 5)
    healed = cycle(app)

    assert healed.status == "ok" and not app.store.runs.get(healed.run_id).get("skipped_ids")
    assert [(n.kind, n.subject_id) for n in healed.notifications] == [("review_approved", broken)]
    assert count(app, "refetch") == 0


def test_malformed_record_outside_the_listing_window_is_read_again_from_the_refetch_table(pc_sim, make_app, frozen):
    ids = [put(pc_sim, n) for n in range(3)]
    pc_sim.malform(ids[1])
    app = make_app()
    first = cycle(app)
    assert first.summary["skipped_ids"] == [ids[1]] and count(app, "opportunities") == 2
    pc_sim.heal(ids[1])
    tick(frozen, 60)  # far past the 15-minute lookback: only the refetch table remembers it
    pc_sim.reset_calls()
    result = cycle(app)
    assert result.status == "ok" and count(app, "opportunities") == 3 and count(app, "refetch") == 0
    assert pc_sim.operation_counts()["GetOpportunity"] == 1


# --- escaping --------------------------------------------------------------------------------------------------------

def test_partner_central_text_is_escaped_in_every_subject_and_body(pc_sim, make_app, frozen):
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
    rows = outbox(app)
    assert len(rows) == len(result.notifications) == 7
    for row in rows:
        for column in ("subject", "task_body", "note_body"):
            text = row[column] or ""
            assert "<script" not in text and "<b>" not in text, (row["kind"], column)
        assert ESCAPED in row["subject"], row["kind"]  # every subject names the deal (or referral) by its title
        assert ESCAPED in (row["note_body"] or row["task_body"])
    bodies = " ".join(r["note_body"] or r["task_body"] for r in rows)
    for label in ("title", "customer", "comments", "reason", "stage", "next steps", "next best action", "seller",
                  "product", "referral", "message", "company", "project", "problem", "first", "last"):
        assert f"{label} {ESCAPED}" in bodies, label


# --- throttling ------------------------------------------------------------------------------------------------------

def test_throttling_is_retried_and_a_persistent_one_fails_the_cycle_without_touching_state(pc_sim, make_app, frozen):
    seed(pc_sim, None, 5)
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_opportunity(opportunity_id(1), {"LifeCycle": {"ReviewStatus": "Rejected"}})

    pc_sim.fail_next("ListOpportunities", "ThrottlingException", times=2)
    pc_sim.reset_calls()
    retried = cycle(app)
    assert (retried.status, retried.exit_code) == ("ok", 0)
    assert pc_sim.operation_counts()["ListOpportunities"] == 3
    assert [n.kind for n in retried.notifications] == ["review_rejected"]

    tick(frozen, 5)
    pc_sim.update_opportunity(opportunity_id(2), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    state = (cursor(app), keys(app), count(app, "outbox"), count(app, "snapshot_history"))
    pc_sim.fail_next("ListOpportunities", "ThrottlingException", times=5)
    failed = cycle(app)
    assert (failed.status, failed.exit_code) == ("failed", 1)
    run = app.store.runs.get(failed.run_id)
    assert run["status"] == "failed" and "ThrottlingException" in run["error"]
    assert (cursor(app), keys(app), count(app, "outbox"), count(app, "snapshot_history")) == state
    assert stored_last_modified(app, opportunity_id(2)) < wire_modified(pc_sim, opportunity_id(2))

    tick(frozen, 5)
    after = cycle(app)  # two throttles are still queued: retried, then it goes through
    assert after.status == "ok" and [n.subject_id for n in after.notifications] == [opportunity_id(2)]


# --- paging ----------------------------------------------------------------------------------------------------------

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


def test_a_record_refused_once_during_the_baseline_stays_silent_when_read_again(pc_sim, make_app, frozen):
    referral = put(pc_sim, 1, review="Approved", origin="AWS Referral")
    put(pc_sim, 2, review="Approved")
    pc_sim.fail_next("GetOpportunity", "ValidationException", times=1, message="try again")
    app = make_app()
    result = cycle(app)
    assert (result.status, result.summary["baseline"]) == ("ok", True)
    assert count(app, "opportunities") == 1 and count(app, "refetch") == 1  # read again next cycle, not twice now
    tick(frozen)
    result = cycle(app)
    assert result.summary["baseline"] is False
    # skipped during the baseline, so reading it later is baseline too: an existing AWS referral is not "new"
    assert result.notifications == [] and count(app, "events") == 0
    assert count(app, "opportunities") == 2 and count(app, "refetch") == 0
    assert stored_last_modified(app, referral) == wire_modified(pc_sim, referral)


def test_a_listed_summary_without_last_modified_is_queued_and_read_by_id(tmp_path, aws_env):
    """A summary the listing can't place in time is read by id (GetOpportunity), not lost behind the cursor.

    The simulator always lists LastModifiedDate, so this one answer comes from botocore's Stubber on a real client.
    """
    client = boto3.client("partnercentral-selling", region_name="us-east-1")
    stub = Stubber(client)
    when = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)

    def full(oid: str) -> dict:
        return {"Catalog": "AWS", "Id": oid, "LastModifiedDate": when, "CreatedDate": when,
                "RelatedEntityIdentifiers": {}, "LifeCycle": {"ReviewStatus": "Approved"},
                "Project": {"Title": f"Project {oid}"}}

    stub.add_response("list_opportunities", {"OpportunitySummaries": [
        {"Catalog": "AWS", "Id": "O1", "LastModifiedDate": when}, {"Catalog": "AWS", "Id": "O2"}]})
    for oid in ("O1", "O2"):
        stub.add_response("get_opportunity", full(oid), {"Catalog": "AWS", "Identifier": oid})
        stub.add_response("get_aws_opportunity_summary", {"Catalog": "AWS", "Origin": "Partner Referral"},
                          {"Catalog": "AWS", "RelatedOpportunityIdentifier": oid})
    stub.add_response("list_engagement_invitations", {"EngagementInvitationSummaries": []})
    settings = load_settings(environ={"POLLER_DB": str(tmp_path / "stub.db")})
    app = build_app(settings, pc_client=client, pacing=False,
                    retry=RetrySettings(stop=stop_after_attempt(1), wait=wait_none()))

    with stub:
        result = cycle(app)

    stub.assert_no_pending_responses()
    assert result.status == "ok" and result.summary["skipped_ids"] == ["O2"]
    assert {r[0] for r in app.store.db.execute("SELECT opportunity_id FROM opportunities")} == {"O1", "O2"}
    assert count(app, "refetch") == 0


def test_a_baseline_cut_short_by_its_budget_stays_silent_when_the_next_cycle_continues_it(pc_sim, make_app, frozen):
    ids = put_spread(pc_sim, frozen, 150)
    referrals = [put(pc_sim, n, review="Approved", origin="AWS Referral") for n in (200, 201)]  # listed last
    tick(frozen, 1)
    app = make_app(pc_daily_budget=150)  # page 1 alone (1 list + 200 gets) spends the day's budget

    first = cycle(app)

    assert (first.status, first.exit_code, first.summary["baseline"]) == ("partial", 0, True)
    assert "read budget for the last 24 h spent" in first.summary["deferred"]
    assert count(app, "opportunities") == 100 and cursor(app) == wire_modified(pc_sim, ids[99])

    tick(frozen, 24 * 60)
    app = make_app()  # the operator raises the budget (same database)
    second = cycle(app)

    assert (second.status, second.summary["baseline"]) == ("ok", True)  # the same baseline, continued
    assert count(app, "opportunities") == 152
    assert second.notifications == [] and count(app, "events") == 0  # pre-existing referrals stay silent
    tick(frozen, 5)
    pc_sim.update_opportunity(referrals[0], {"LifeCycle": {"ReviewStatus": "Action Required"}})
    third = cycle(app)
    assert third.summary["baseline"] is False
    assert [(n.kind, n.subject_id) for n in third.notifications] == [("review_action_required", referrals[0])]
