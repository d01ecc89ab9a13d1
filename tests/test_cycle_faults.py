"""The cycle under faults: a crash mid-listing, malformed and refused records, throttling, a budget cut short."""


from __future__ import annotations

import datetime as dt
import json
import logging

import boto3
import pytest
from botocore.stub import Stubber
from cycle_helpers import (
    count,
    cursor,
    cycle,
    event_rows,
    events,
    keys,
    put,
    put_spread,
    stored_last_modified,
    tick,
    wire_modified,
)
from tenacity import stop_after_attempt, wait_none

import poller.run.commit
from poller.app import build_app
from poller.config import load_settings
from poller.retry import RetrySettings
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import (
    FALLBACK_OWNER,
    invitation_record,
    opportunity_id,
    seed,
)


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

    real_plan = poller.run.commit.plan
    pages = []

    def crash_on_second_page(*args, **kwargs):
        pages.append(1)
        if len(pages) >= 2:  # from page 2 on, and for each of its records alone too: not one bad record
            raise RuntimeError("injected crash while committing page 2")
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(poller.run.commit, "plan", crash_on_second_page)
    crashed = cycle(app)
    monkeypatch.setattr(poller.run.commit, "plan", real_plan)

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


BREAKAGES = {
    # parses in botocore, but our checks reject it (no Id, no LastModifiedDate)
    "malformed": (lambda sim, oid: sim.malform(oid), "missing"),
    # botocore itself cannot parse the answer (an unreadable timestamp fails the whole response)
    "unparseable": (lambda sim, oid: sim.garble(oid, "GetOpportunity", LastModifiedDate=""), "UnparseableResponse"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_record_is_skipped_named_and_read_again_once_healed(pc_sim, make_app, frozen, caplog, breakage):
    ids = [put(pc_sim, n) for n in range(5)]
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    for oid in ids:
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Approved"}})
    broken = ids[2]
    breaks, reason = BREAKAGES[breakage]
    breaks(pc_sim, broken)

    with caplog.at_level(logging.WARNING):
        result = cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    run = app.store.runs.get(result.run_id)
    assert run["status"] == "ok" and run["skipped_ids"] == [broken]
    assert any(broken in r.getMessage() and reason in r.getMessage() and r.levelno >= logging.WARNING
               for r in caplog.records)
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


def test_an_aws_summary_unreadable_for_a_cycle_keeps_the_last_view_so_its_return_is_compared(pc_sim, make_app,
                                                                                              frozen):
    ids = [put(pc_sim, n, review="Approved", score="Medium") for n in range(3)]
    target = ids[1]
    app = make_app()
    cycle(app)
    stored_aws = json.loads(app.store.db.execute("SELECT snapshot FROM opportunities WHERE opportunity_id = ?",
                                                 [target]).fetchone()[0])["aws"]

    tick(frozen, 5)
    pc_sim.update_opportunity(target, {"LifeCycle": {"NextSteps": "partner-side edit"}})  # listed again: details are re-read
    pc_sim.fail_next("GetAwsOpportunitySummary", "AccessDeniedException", message="not visible",
                     identifier=target)
    hidden = cycle(app)
    assert (hidden.status, hidden.exit_code, hidden.notifications) == ("ok", 0, [])
    assert json.loads(app.store.db.execute("SELECT snapshot FROM opportunities WHERE opportunity_id = ?",
                                           [target]).fetchone()[0])["aws"] == stored_aws

    tick(frozen, 5)
    pc_sim.update_aws_summary(target, {"Insights": {"EngagementScore": "High"}}, touch=True)
    back = cycle(app)
    assert [(n.kind, n.subject_id, n.priority) for n in back.notifications] == [
        ("engagement_score_changed", target, "HIGH")]
    assert events(app) == {("engagement_score_changed", target, "HIGH")}


# --- escaping --------------------------------------------------------------------------------------------------------

def test_throttling_is_retried_and_a_persistent_one_stops_the_reads_cleanly_without_touching_state(pc_sim, make_app,
                                                                                                 frozen):
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
    throttled = cycle(app)
    assert (throttled.status, throttled.exit_code) == ("partial", 0)  # the account's quota, not an outage
    run = app.store.runs.get(throttled.run_id)
    assert run["status"] == "partial" and run["error"] is None
    assert "ListOpportunities: ThrottlingException: still throttled after retries" in run["deferred"]
    assert (cursor(app), keys(app), count(app, "outbox"), count(app, "snapshot_history")) == state
    assert stored_last_modified(app, opportunity_id(2)) < wire_modified(pc_sim, opportunity_id(2))

    tick(frozen, 5)
    after = cycle(app)  # two throttles are still queued: retried, then it goes through
    assert after.status == "ok" and [n.subject_id for n in after.notifications] == [opportunity_id(2)]

    # A server error that outlasts the retries is an outage: the cycle fails (exit 1), state untouched.
    tick(frozen, 5)
    pc_sim.update_opportunity(opportunity_id(3), {"LifeCycle": {"ReviewStatus": "Rejected"}})
    state = (cursor(app), keys(app), count(app, "outbox"), count(app, "snapshot_history"))
    pc_sim.fail_next("ListOpportunities", "InternalServerException", times=3)
    failed = cycle(app)
    assert (failed.status, failed.exit_code) == ("failed", 1)
    assert "InternalServerException (still failing after retries)" in app.store.runs.get(failed.run_id)["error"]
    assert (cursor(app), keys(app), count(app, "outbox"), count(app, "snapshot_history")) == state


def test_persistent_throttling_mid_listing_keeps_the_committed_page_and_still_delivers(pc_sim, hub_sim, make_app):
    # Real time: hubspot-api-client's datetime handling breaks under freezegun once it was imported unfrozen.
    ids = [s.opportunity_id for s in seed(pc_sim, hub_sim, 150)]
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK_OWNER[0])
    run_cycle(app)  # the baseline
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    for n, oid in enumerate(ids):  # one second apart, so the listing (oldest first) pages them in this order
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required", "ReviewComments": "fix"},
                                        "LastModifiedDate": later + dt.timedelta(seconds=n)})
    referral = pc_sim.put_invitation(invitation_record(1))
    # every attempt (3 with the tests' retry settings) to read one record on page 2 is throttled
    pc_sim.fail_next("GetOpportunity", "ThrottlingException", times=3, identifier=ids[120])

    throttled = run_cycle(app)

    assert (throttled.status, throttled.exit_code) == ("partial", 0)
    assert "GetOpportunity: ThrottlingException: still throttled after retries" in throttled.summary["deferred"]
    assert cursor(app) == wire_modified(pc_sim, ids[99])  # page 1 committed, page 2 not
    assert events(app) == {("review_action_required", oid, "HIGH") for oid in ids[:100]} | {
        ("new_opportunity", referral, "HIGH")}  # invitations were still polled…
    assert throttled.summary["delivered"] == 101  # …and what was queued went out in the same run
    owners = [t["properties"]["hubspot_owner_id"] for t in hub_sim.tasks()]
    assert len(owners) == 101 and owners.count(FALLBACK_OWNER[0]) == 1  # the referral's task

    after = run_cycle(app)  # the next cycle continues from the checkpoint

    assert (after.status, after.exit_code, after.summary["delivered"]) == ("ok", 0, 50)
    assert cursor(app) == wire_modified(pc_sim, ids[-1])
    assert {e[1] for e in events(app) if e[0] == "review_action_required"} == set(ids)
    assert len(hub_sim.tasks()) == 151


# --- paging ----------------------------------------------------------------------------------------------------------

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

    stub.add_response("list_engagement_invitations", {"EngagementInvitationSummaries": []})  # referrals first
    stub.add_response("list_opportunities", {"OpportunitySummaries": [
        {"Catalog": "AWS", "Id": "O1", "LastModifiedDate": when}, {"Catalog": "AWS", "Id": "O2"}]})
    for oid in ("O1", "O2"):
        stub.add_response("get_opportunity", full(oid), {"Catalog": "AWS", "Identifier": oid})
        stub.add_response("get_aws_opportunity_summary", {"Catalog": "AWS", "Origin": "Partner Referral"},
                          {"Catalog": "AWS", "RelatedOpportunityIdentifier": oid})
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
    app = make_app(pc_daily_budget=150)  # 2 lists (referrals, opportunities) + 74 × 2 gets spend it within page 1

    first = cycle(app)

    assert (first.status, first.exit_code, first.summary["baseline"]) == ("partial", 0, True)
    assert "read budget for the last 24 h spent" in first.summary["deferred"]
    # The page stops at the last record the budget affords, committed; the cursor moves only past what was read.
    assert count(app, "opportunities") == 74 and cursor(app) == wire_modified(pc_sim, ids[73])

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
