"""One bad record never blocks the others: each is skipped, named by id, and read again; the rest is delivered."""

from __future__ import annotations

import json
import logging

import pytest
from cycle_helpers import count, cursor, cycle, events, put, tick, wire_modified

from poller.run.cycle import run_cycle
from poller.simulators.portfolio import FALLBACK_OWNER, invitation_record, seed

FALLBACK = FALLBACK_OWNER[0]


def subjects(hub_sim) -> list[str]:
    return sorted(t["properties"]["hs_task_subject"] for t in hub_sim.tasks())


def delivered_ids(app) -> list[str]:
    return sorted(r[0] for r in app.store.db.execute("SELECT subject_id FROM outbox WHERE task_state = 'done'"))


def refetch(app) -> list[str]:
    return [r[0] for r in app.store.db.execute("SELECT opportunity_id FROM refetch ORDER BY opportunity_id")]


def stored(app, oid: str) -> dict:
    return json.loads(app.store.db.execute("SELECT snapshot FROM opportunities WHERE opportunity_id = ?",
                                           [oid]).fetchone()[0])


def changed_after_baseline(pc_sim, make_app, frozen, review: str = "Approved", n: int = 5, **overrides):
    """`n` opportunities in review, a silent baseline, then every one changed to `review` (one second apart)."""
    ids = [put(pc_sim, k) for k in range(n)]
    app = make_app(**overrides)
    cycle(app)
    tick(frozen, 5)
    for oid in ids:
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": review}})
        tick(frozen, 1 / 60)
    return app, ids


def baseline_with_hubspot(pc_sim, hub_sim, make_app, n: int = 5, **overrides):
    ids = [s.opportunity_id for s in seed(pc_sim, hub_sim, n)]
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK, **overrides)
    assert run_cycle(app).summary["baseline"]
    return app, ids


# --- one bad record, through the real client, delivered around --------------------------------------------------------

WRONG_TYPES = {
    # botocore's own parser raises AttributeError / TypeError for these, deep inside the client
    "LifeCycle as text": ("GetOpportunity", {"LifeCycle": "oops"}, "LifeCycle is a string, not an object"),
    "Insights as a number": ("GetAwsOpportunitySummary", {"Insights": 5}, "Insights is a number, not an object"),
    "team as an object": ("GetAwsOpportunitySummary", {"OpportunityTeam": {"Email": "x"}},
                          "OpportunityTeam is an object, not an array"),
    "unreadable timestamp": ("GetOpportunity", {"LastModifiedDate": "not-a-date"},
                             "LastModifiedDate 'not-a-date' is not a timestamp"),
}


@pytest.mark.parametrize("case", WRONG_TYPES)
def test_a_wrong_typed_answer_skips_that_record_only_names_it_and_reads_it_again(pc_sim, hub_sim, make_app, caplog,
                                                                                case):
    app, ids = baseline_with_hubspot(pc_sim, hub_sim, make_app)
    for oid in ids:
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required", "ReviewComments": "fix"}})
    broken = ids[2]
    operation, fields, named = WRONG_TYPES[case]
    pc_sim.garble(broken, operation, **fields)

    with caplog.at_level(logging.WARNING):
        result = run_cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    assert delivered_ids(app) == sorted(set(ids) - {broken}) and len(hub_sim.tasks()) == 4
    run = app.store.runs.get(result.run_id)
    assert run["skipped_ids"] == [broken] and named in run["skipped_reasons"][broken]
    assert result.summary["skipped_reasons"] == run["skipped_reasons"]  # what `run --json` prints
    assert any(broken in r.getMessage() and named in r.getMessage() for r in caplog.records)
    assert refetch(app) == [broken]

    pc_sim.heal(broken)
    again = run_cycle(app)

    assert (again.status, again.summary["skipped_ids"], refetch(app)) == ("ok", [], [])
    assert delivered_ids(app) == sorted(ids) and len(hub_sim.tasks()) == 5


def test_one_unreadable_listing_item_does_not_fail_its_page(pc_sim, make_app, frozen):
    app, ids = changed_after_baseline(pc_sim, make_app, frozen)
    pc_sim.garble(ids[1], "ListOpportunities", LastModifiedDate="not-a-date")  # its GetOpportunity is fine

    result = cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    assert result.summary["skipped_ids"] == [ids[1]]
    assert result.summary["skipped_reasons"][ids[1]] == (
        "malformed: ListOpportunities item: LastModifiedDate 'not-a-date' is not a timestamp")
    # the others moved the cursor; the broken item was read again by id (the refetch table) in the same cycle
    assert cursor(app) == max(wire_modified(pc_sim, oid) for oid in ids if oid != ids[1])
    assert events(app) == {("review_approved", oid, "HIGH") for oid in ids}
    assert refetch(app) == []


def test_a_record_broken_in_its_listing_and_its_answer_waits_in_the_refetch_table_past_the_cursor(pc_sim, make_app,
                                                                                                    frozen):
    app, ids = changed_after_baseline(pc_sim, make_app, frozen, "Rejected", n=3)
    broken = ids[2]  # the newest: the cursor moves past it all the same
    pc_sim.garble(broken, "ListOpportunities", LastModifiedDate="not-a-date")
    pc_sim.garble(broken, "GetOpportunity", LifeCycle=["Rejected"])

    first = cycle(app)

    assert (first.status, first.summary["skipped_ids"]) == ("ok", [broken])
    assert "LifeCycle is an array, not an object" in first.summary["skipped_reasons"][broken]
    assert events(app) == {("review_rejected", oid, "MEDIUM") for oid in ids[:2]}
    assert cursor(app) == wire_modified(pc_sim, ids[1]) and refetch(app) == [broken]

    pc_sim.heal(broken)
    tick(frozen, 60)  # far past the lookback: only the refetch table remembers it
    second = cycle(app)

    assert (second.status, second.summary["skipped_ids"], refetch(app)) == ("ok", [], [])
    assert events(app) == {("review_rejected", oid, "MEDIUM") for oid in ids}


# --- text no store can hold -------------------------------------------------------------------------------------------

def test_a_lone_surrogate_or_nul_is_made_storable_and_delivered(pc_sim, hub_sim, make_app):
    app, ids = baseline_with_hubspot(pc_sim, hub_sim, make_app, n=3)
    pc_sim.update_opportunity(ids[0], {"LifeCycle": {"ReviewStatus": "Action Required"}})
    pc_sim.garble(ids[0], "GetOpportunity", LifeCycle={"Stage": "Qualified", "ReviewStatus": "Action Required",
                                                       "ReviewComments": "Fix the \ud800 spend\x00 figure"})
    referral = invitation_record(4)
    referral["EngagementTitle"] = "Hooli \udfff co-sell"
    iid = pc_sim.put_invitation(referral)
    pc_sim.garble(iid, "ListEngagementInvitations", EngagementTitle="Hooli \udfff co-sell")  # the summary's text

    result = run_cycle(app)

    assert (result.status, result.exit_code, result.summary["skipped_ids"]) == ("ok", 0, [])
    assert stored(app, ids[0])["review_comments"] == "Fix the \ufffd spend figure"
    (note,) = hub_sim.notes()
    assert "Fix the \ufffd spend figure" in note["properties"]["hs_note_body"]
    assert delivered_ids(app) == sorted([ids[0], iid])
    sent = [v for obj in hub_sim.tasks() + hub_sim.notes() for v in obj["properties"].values() if isinstance(v, str)]
    assert not any(0xD800 <= ord(ch) <= 0xDFFF or ch == "\x00" for value in sent for ch in value)


# --- invitations ------------------------------------------------------------------------------------------------------

def test_a_broken_invitation_is_named_and_the_others_and_queued_rows_still_go_out(pc_sim, hub_sim, make_app):
    app, ids = baseline_with_hubspot(pc_sim, hub_sim, make_app, n=3)
    pc_sim.update_opportunity(ids[0], {"LifeCycle": {"ReviewStatus": "Rejected"}})
    late, garbage, good = (pc_sim.put_invitation(invitation_record(n)) for n in (1, 2, 3))
    pc_sim.garble(late, "ListEngagementInvitations", ExpirationDate="in two weeks")
    pc_sim.garble(garbage, "GetEngagementInvitation", Payload="garbage")

    result = run_cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    assert sorted(result.summary["skipped_ids"]) == sorted([late, garbage])
    reasons = result.summary["skipped_reasons"]
    assert "ExpirationDate 'in two weeks' is not a timestamp" in reasons[late]
    assert "Payload is a string, not an object" in reasons[garbage]
    assert delivered_ids(app) == sorted([ids[0], good])

    pc_sim.heal(late)
    pc_sim.heal(garbage)
    again = run_cycle(app)

    assert (again.status, again.summary["skipped_ids"]) == ("ok", [])
    assert delivered_ids(app) == sorted([ids[0], good, late, garbage]) and len(hub_sim.tasks()) == 4


def test_an_invitation_skipped_on_a_later_page_is_read_again_although_the_first_page_is_known(pc_sim, make_app,
                                                                                              frozen):
    app = make_app()
    pending = [pc_sim.put_invitation(invitation_record(n)) for n in range(150)]  # newest first: page 2 is older
    oldest = min(pending, key=lambda iid: pc_sim.invitation(iid)["InvitationDate"] + iid)
    pc_sim.garble(oldest, "ListEngagementInvitations", InvitationDate={"not": "a date"})
    first = cycle(app)
    assert first.summary["skipped_ids"] == [oldest]

    pc_sim.heal(oldest)
    tick(frozen, 5)
    second = cycle(app)  # page 1 holds nothing new, yet the walk goes on to page 2 to read it again

    assert second.summary["skipped_ids"] == [] and ("new_opportunity", oldest, "HIGH") in events(app)
    assert app.store.db.execute("SELECT count(*) FROM invitations").fetchone()[0] == 150


# --- incomplete records -----------------------------------------------------------------------------------------------

def test_an_answer_without_lifecycle_is_incomplete_keeps_the_last_values_and_its_return_is_not_news(pc_sim, make_app,
                                                                                                    frozen, caplog):
    ids = [put(pc_sim, n, review="Approved") for n in range(3)]
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_opportunity(ids[1], {"LifeCycle": None, "Project": {"Title": "Renamed"}})

    with caplog.at_level(logging.WARNING):
        gap = cycle(app)

    assert (gap.status, gap.exit_code, gap.summary["skipped_ids"]) == ("ok", 0, [ids[1]])
    assert gap.summary["skipped_reasons"][ids[1]].startswith("incomplete: LifeCycle has neither Stage nor ReviewStatus")
    assert any(r.getMessage().startswith(f"skipped incomplete record {ids[1]}") for r in caplog.records)
    kept = stored(app, ids[1])  # nothing of the incomplete answer is stored: the last known values stay
    assert (kept["review_status"], kept["stage"]) == ("Approved", "Qualified") and kept["title"] != "Renamed"
    assert refetch(app) == [ids[1]]
    assert app.store.db.execute("SELECT review_status FROM opportunities WHERE opportunity_id = ?",
                                [ids[1]]).fetchone()[0] == "Approved"

    tick(frozen, 5)
    pc_sim.update_opportunity(ids[1], {"LifeCycle": {"Stage": "Qualified", "ReviewStatus": "Approved"}})
    back = cycle(app)

    assert (back.status, back.summary["skipped_ids"], refetch(app)) == ("ok", [], [])
    assert events(app) == set()  # Approved → (unknown) → Approved is no news: no second "approved" bell
    assert stored(app, ids[1])["title"] == "Renamed"


# --- the phases go on ---------------------------------------------------------------------------------------------------

def test_queued_rows_and_invitations_go_out_even_when_the_listing_fails(pc_sim, hub_sim, make_app):
    app, ids = baseline_with_hubspot(pc_sim, hub_sim, make_app, n=4)
    for oid in ids[:3]:
        pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Rejected"}})
    queued = run_cycle(app, mode="dry-run", deliver=False)
    assert queued.summary["notifications"] == 3 and hub_sim.tasks() == []
    referral = pc_sim.put_invitation(invitation_record(9))
    pc_sim.fail_next("ListOpportunities", "AccessDeniedException", message="not allowed")

    result = run_cycle(app)

    assert (result.status, result.exit_code) == ("failed", 1)
    assert "ListOpportunities: AccessDeniedException" in result.summary["error"]
    assert delivered_ids(app) == sorted([*ids[:3], referral]) and result.summary["delivered"] == 4


def test_a_record_that_cannot_be_stored_is_skipped_and_the_rest_of_its_page_commits(pc_sim, make_app, frozen):
    app, ids = changed_after_baseline(pc_sim, make_app, frozen)
    broken = ids[3]
    # A real storage fault for one record only: SQLite itself refuses its history row.
    app.store.db.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON snapshot_history WHEN NEW.opportunity_id = "
                         f"'{broken}' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")

    result = cycle(app)

    assert (result.status, result.exit_code, result.summary["skipped_ids"]) == ("ok", 0, [broken])
    assert "cannot be stored (IntegrityError: refused for the test)" in result.summary["skipped_reasons"][broken]
    assert events(app) == {("review_approved", oid, "HIGH") for oid in ids if oid != broken}
    assert cursor(app) == max(wire_modified(pc_sim, oid) for oid in ids) and refetch(app) == [broken]

    app.store.db.execute("DROP TRIGGER refuse")
    tick(frozen, 60)
    healed = cycle(app)

    assert (healed.status, healed.summary["skipped_ids"], refetch(app)) == ("ok", [], [])
    assert events(app) == {("review_approved", oid, "HIGH") for oid in ids}


def test_an_unreadable_summary_in_the_sweep_is_named_and_read_again_next_cycle(pc_sim, make_app, frozen):
    ids = [put(pc_sim, n, review="Approved", score="Medium") for n in range(3)]
    app = make_app(sweep_period=0.0)  # every cycle
    cycle(app)
    tick(frozen, 5)
    pc_sim.update_aws_summary(ids[0], {"Insights": {"EngagementScore": "High"}})  # LastModifiedDate stays
    pc_sim.garble(ids[0], "GetAwsOpportunitySummary", Insights={"EngagementScore": ["High"]})

    swept = cycle(app)

    assert (swept.status, swept.summary["skipped_ids"], refetch(app)) == ("ok", [ids[0]], [ids[0]])
    assert "Insights.EngagementScore is an array, not a string" in swept.summary["skipped_reasons"][ids[0]]
    assert stored(app, ids[0])["aws"]["engagement_score"] == "Medium" and events(app) == set()

    pc_sim.heal(ids[0])
    tick(frozen, 5)
    again = cycle(app)

    assert (again.status, again.summary["skipped_ids"], refetch(app)) == ("ok", [], [])
    assert events(app) == {("engagement_score_changed", ids[0], "HIGH")}
    assert count(app, "events") == 1
