"""Digests and managers' roll-ups end to end against both simulators: one task per owner × deal per window, nothing
for a change that reverted, exactly once through uncertain sends, and HIGH events never held or repeated."""

from __future__ import annotations

import json
import re

from test_delivery import TASK_CREATE, by_key
from test_preferences import Shifted, pdm, resources, rows, score, stage, with_preferences

from poller.run.cycle import run_cycle

ITEM = re.compile(r"Event (evk_[0-9a-f]+)")


def digest_rows(app) -> list[dict]:
    return [r for r in rows(app).values() if r["kind"] == "digest"]


def members_of(app, digest_key: str) -> list[str]:
    """The events a digest folds, as its events row records them."""
    payload = app.store.db.execute("SELECT payload FROM events WHERE key = ?", [digest_key]).fetchone()[0]
    return json.loads(payload)["members"]


def test_five_changes_on_one_deal_in_one_window_are_one_task_and_one_note_listing_all_five(pc_sim, hub_sim, make_app):
    app = with_preferences(pc_sim, hub_sim, make_app, {"mode": "digest"}, prepare=lambda: pc_sim.update_opportunity(
        "O1000002", {"LifeCycle": {"ReviewStatus": "In review"}}))
    pc_sim.update_opportunity("O1000002", {"LifeCycle": {"ReviewStatus": "Rejected", "ReviewStatusReason": "Dup"}})
    stage(pc_sim, "O1000002", "Committed")
    resources(pc_sim, "O1000002")
    pdm(pc_sim, "O1000002")
    score(pc_sim, "O1000002", "Low")

    result = run_cycle(app)

    assert (result.status, result.summary["events"]) == ("ok", 5)
    (task,), (note,) = hub_sim.tasks(), hub_sim.notes()
    (digest,) = digest_rows(app)
    assert task["properties"]["hubspot_owner_id"] == "103" and task["properties"]["hs_task_subject"].startswith(
        "🗂️ 5 updates: ")
    assert note["associations"]["deals"] == ["50002"] and task["associations"]["deals"] == ["50002"]
    listed = ITEM.findall(note["properties"]["hs_note_body"])
    members = {r["event_key"]: r for r in rows(app).values() if r["digest_key"] == digest["event_key"]}
    assert sorted(listed) == sorted(members) == sorted(members_of(app, digest["event_key"])) and len(listed) == 5
    assert {r["kind"] for r in members.values()} == {"review_rejected", "opportunity_updated", "resources_available",
                                                    "aws_seller_assigned", "engagement_score_changed"}
    assert all(r["status"] == "digested" for r in members.values()) and digest["status"] == "done"
    assert digest["priority"] == "MEDIUM" and "Dup" in note["properties"]["hs_note_body"]


def test_a_change_that_reverts_within_the_window_sends_nothing(pc_sim, hub_sim, make_app):
    clock = Shifted("2027-01-05T07:05:00Z")
    app = with_preferences(pc_sim, hub_sim, make_app, {"mode": "digest", "digest_window": "1h"}, clock=clock)
    before = pc_sim.aws_summary("O1000001")["LifeCycle"]["Stage"]
    stage(pc_sim, "O1000001", "Committed" if before != "Committed" else "Qualify")  # A → B
    run_cycle(app)
    clock.advance(minutes=10)
    stage(pc_sim, "O1000001", before)  # B → A, inside the same hour
    run_cycle(app)
    assert hub_sim.tasks() == []  # held until 08:00
    clock.advance(minutes=50)

    run_cycle(app)

    assert hub_sim.tasks() == [] and hub_sim.notes() == []
    outbox = list(rows(app).values())
    assert len(outbox) == 2 and all(r["status"] == "suppressed" for r in outbox)
    assert {r["decision"] for r in outbox} == {"reverted within the digest window"}


def test_an_uncertain_digest_send_is_looked_up_and_never_sent_twice(pc_sim, hub_sim, make_app):
    clock = Shifted("2027-01-05T09:00:00Z")
    app = with_preferences(pc_sim, hub_sim, make_app, {"mode": "digest"}, clock=clock)
    stage(pc_sim, "O1000000", "Committed")
    resources(pc_sim, "O1000000")
    hub_sim.commit_then_drop(TASK_CREATE)  # HubSpot stores the digest's task, the answer never arrives

    run_cycle(app)
    (digest,) = digest_rows(app)
    assert digest["task_state"] == "unknown" and len(hub_sim.tasks()) == 1

    clock.advance(minutes=5)  # past the settle time: looked up, found, not resent
    hub_sim.reset_calls()
    again = run_cycle(app)

    assert again.status == "ok"
    assert [c.path for c in hub_sim.calls if c.path == TASK_CREATE] == []
    assert len(by_key(hub_sim.tasks())[digest["event_key"]]) == 1 and len(hub_sim.tasks()) == 1
    assert rows(app)[digest["event_key"]]["status"] == "done"
    assert len(hub_sim.notes()) == 1  # the note went out once too


def test_a_send_dropped_before_hubspot_stored_it_goes_out_once_after_the_lookup(pc_sim, hub_sim, make_app):
    clock = Shifted("2027-01-05T09:00:00Z")
    app = with_preferences(pc_sim, hub_sim, make_app, {"mode": "digest"}, clock=clock)
    stage(pc_sim, "O1000000", "Committed")
    resources(pc_sim, "O1000000")
    hub_sim.on_request(TASK_CREATE, before_commit=lambda _request: True)  # the connection drops, nothing stored

    run_cycle(app)
    assert hub_sim.tasks() == [] and digest_rows(app)[0]["task_state"] == "unknown"
    clock.advance(minutes=5)
    run_cycle(app)
    run_cycle(app)

    (digest,) = digest_rows(app)
    assert len(hub_sim.tasks()) == 1 and len(by_key(hub_sim.tasks())[digest["event_key"]]) == 1
    assert digest["status"] == "done"


def test_a_high_event_bypasses_the_digest_and_is_not_repeated_in_it(pc_sim, hub_sim, make_app):
    app = with_preferences(pc_sim, hub_sim, make_app, {"mode": "digest"})
    score(pc_sim, "O1000004", "High")  # HIGH
    stage(pc_sim, "O1000004", "Committed")
    resources(pc_sim, "O1000004")
    stage(pc_sim, "O1000005", "Committed")  # alone in its window: its own task, not a digest of one

    run_cycle(app)

    outbox = rows(app)
    high = next(k for k, r in outbox.items() if r["kind"] == "engagement_score_changed")
    lone = next(k for k, r in outbox.items() if r["subject_id"] == "O1000005")
    (digest,) = digest_rows(app)
    tasks = by_key(hub_sim.tasks())
    assert len(hub_sim.tasks()) == 3 and {high, lone, digest["event_key"]} == set(tasks)
    assert outbox[high]["priority"] == "HIGH" and outbox[high]["decision"] == "HIGH: at once"
    assert high not in tasks[digest["event_key"]][0]["properties"]["hs_task_body"]
    assert high not in members_of(app, digest["event_key"]) and len(members_of(app, digest["event_key"])) == 2
    assert outbox[lone]["decision"] == "digest window with one event: sent as itself"


def test_a_manager_gets_one_daily_rollup_of_the_team(pc_sim, hub_sim, make_app):
    clock = Shifted("2027-01-05T07:30:00Z")
    hub_sim.add_owner("900", "mia@partner.example", "Mia", "Boss")
    app = with_preferences(pc_sim, hub_sim, make_app, {"teams": {"north": {
        "members": ["101", "bob@partner.example"], "managers": ["mia@partner.example"], "rollup_at": "08:00"}}},
        clock=clock)
    stage(pc_sim, "O1000000", "Committed")  # 101
    hub_sim.fail_next(TASK_CREATE, 400)  # 101's task is refused for good: it failed to deliver
    run_cycle(app)
    clock.advance(minutes=10)
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Action Required"}})  # 102, stays open
    stage(pc_sim, "O1000002", "Committed")  # 103: not in the team
    run_cycle(app)
    assert not [t for t in hub_sim.tasks() if t["properties"]["hubspot_owner_id"] == "900"]  # 07:40: not yet

    clock.advance(minutes=35)
    run_cycle(app)
    run_cycle(app)  # again the same day: still one

    (rollup,) = [t for t in hub_sim.tasks() if t["properties"]["hubspot_owner_id"] == "900"]
    body = rollup["properties"]["hs_task_body"]
    assert rollup["properties"]["hs_task_subject"].startswith("📊 Team north 2027-01-05: 2 notifications, 1 overdue")
    assert "review_action_required: 1" in body and "opportunity_updated: 1" in body
    assert "Action Required, still open (1)" in body and "O1000001" in body
    assert "Failed to deliver or parked (1)" in body and "opportunity_updated O1000000: " in body
    assert rollup["associations"]["deals"] == []  # a task for the manager, about the team, on no deal

    clock.advance(days=1)
    run_cycle(app)
    assert len([t for t in hub_sim.tasks() if t["properties"]["hubspot_owner_id"] == "900"]) == 2  # the next day's
