"""Delivery end to end: boto3 and hubspot-api-client against both simulators, in real time (no freezegun).

Every kind of event arrives as exactly one task and one note for the right owner, with its priority, due time,
reminder, deal association and escaped text; a rerun sends nothing
(uncertain sends: test_delivery_uncertain.py; refusals: test_delivery_refusals.py).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import urllib.request
from collections import Counter
from dataclasses import dataclass

import pytest

from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.portfolio import aws_summary_record, invitation_record, opportunity_record, seed

FALLBACK = "190"
SCRIPT = "<script>alert('pwned')</script>"
KINDS = ("new_opportunity", "opportunity_updated", "engagement_score_changed", "review_approved",
         "review_action_required", "review_rejected", "submission_confirmed", "aws_seller_assigned",
         "resources_available", "conflict_detected")
TASK_CREATE = "/crm/v3/objects/tasks/batch/create"
NOTE_CREATE = "/crm/v3/objects/notes/batch/create"
REF = re.compile(r"Ref: (evk_[0-9a-f]+)")


@dataclass(frozen=True, slots=True)
class Expected:
    kind: str
    subject_id: str
    deal_id: str | None
    owner: str
    priority: str
    due_hours: int


def owner_of(n: int) -> str:
    return portfolio.OWNERS[n % len(portfolio.OWNERS)][0]


def event_key(obj: dict) -> str | None:
    """The event key HubSpot holds for a task or note: the custom property, else the visible Ref: token."""
    props = obj["properties"]
    if props.get("poller_event_key"):
        return props["poller_event_key"]
    found = REF.search(props.get("hs_task_body") or props.get("hs_note_body") or "")
    return found.group(1) if found else None


def by_key(objects: list[dict]) -> dict[str | None, list[dict]]:
    grouped: dict[str | None, list[dict]] = {}
    for obj in objects:
        grouped.setdefault(event_key(obj), []).append(obj)
    return grouped


def creates(hub_sim) -> Counter[str]:
    return Counter(c.path for c in hub_sim.calls if c.path.endswith("/batch/create") or
                   (c.method in ("POST", "PUT") and "/associations/" in c.path))


def association_types(hub_sim, object_type: str, object_id: str) -> dict[str, list[int]]:
    """What the simulator stored, read back through its v4 API: {deal id: [association type ids]}."""
    request = urllib.request.Request(f"{hub_sim.url}/crm/v4/objects/{object_type}/{object_id}/associations/deals",
                                     headers={"Authorization": "Bearer sim-token"})
    with urllib.request.urlopen(request, timeout=5) as response:
        payload = json.load(response)
    return {str(r["toObjectId"]): [t["typeId"] for t in r["associationTypes"]] for r in payload["results"]}


def ms(text: str) -> float:
    """hs_timestamp / hs_task_reminders as epoch seconds (the simulator stores ISO for datetimes, ms for others)."""
    if text.isdigit():
        return int(text) / 1000
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def events(app) -> list[dict]:
    return list(app.store.db.query("SELECT key, kind, subject_id, deal_id, priority FROM events ORDER BY key"))


def outbox_statuses(app) -> Counter[str]:
    return Counter(r["status"] for r in app.store.db.query("SELECT status FROM outbox_status"))


def baseline(pc_sim, hub_sim, make_app, count: int = 12, prepare=None, **overrides):
    seed(pc_sim, hub_sim, count)
    if prepare is not None:
        prepare()
    app = make_app(hub=hub_sim, **{"fallback_owner_id": FALLBACK, "sweep_period": 0.0, **overrides})
    result = run_cycle(app)
    assert (result.status, result.exit_code, result.summary["baseline"]) == ("ok", 0, True)
    assert hub_sim.tasks() == [] and hub_sim.notes() == []
    return app


def script_every_kind(pc_sim, hub_sim) -> list[Expected]:
    """One change per kind on its own opportunity (and one AWS invitation), with markup injected into PC text."""
    pc_sim.update_aws_summary("O1000000", {"LifeCycle": {"Stage": "Technical Validation", "NextSteps": SCRIPT}})
    pc_sim.update_aws_summary("O1000001", {"Insights": {"EngagementScore": "High"}})
    pc_sim.update_opportunity("O1000002", {"LifeCycle": {"ReviewStatus": "Action Required", "ReviewComments": SCRIPT}})
    pc_sim.update_opportunity("O1000003", {"LifeCycle": {"ReviewStatus": "Approved"}})
    pc_sim.update_opportunity("O1000004", {"LifeCycle": {"ReviewStatus": "Rejected", "ReviewStatusReason": SCRIPT}})
    pc_sim.update_opportunity("O1000005", {"LifeCycle": {"ReviewStatus": "Submitted"}})
    team = pc_sim.aws_summary("O1000006")["OpportunityTeam"]
    pc_sim.update_aws_summary("O1000006", {"OpportunityTeam": [*team, portfolio.person("Ada", SCRIPT, "AWSSalesRep")]})
    pc_sim.update_aws_summary("O1000007", {"RelatedEntityIds": {"AwsProducts": ["AmazonS3", "AmazonEC2"]}})
    # Both sides moved the close date since the last reconciled value, and they disagree.
    hub_sim.update_deal("50008", closedate="2027-12-24T00:00:00Z")
    pc_sim.update_opportunity("O1000008", {"LifeCycle": {"TargetCloseDate": "2027-11-15"}})
    # A first-seen AWS referral whose invitation we never saw, already linked to a deal.
    record = opportunity_record(12, rng=random.Random(1))
    record["Project"]["Title"] = f"Referral {SCRIPT}"
    pc_sim.put_opportunity(record, aws_summary_record(12, origin="AWS Referral"))
    hub_sim.add_deal("50012", dealname=record["Project"]["Title"], amount="5000", closedate="2027-01-13T00:00:00Z",
                     hubspot_owner_id=owner_of(12))
    # A pending AWS invitation: no deal yet, so one task for the fallback owner, and no note.
    invitation = pc_sim.put_invitation(invitation_record(3))
    return [
        Expected("opportunity_updated", "O1000000", "50000", owner_of(0), "MEDIUM", 72),
        Expected("engagement_score_changed", "O1000001", "50001", owner_of(1), "HIGH", 24),
        Expected("review_action_required", "O1000002", "50002", owner_of(2), "HIGH", 48),
        Expected("review_approved", "O1000003", "50003", owner_of(3), "HIGH", 24),
        Expected("review_rejected", "O1000004", "50004", owner_of(4), "MEDIUM", 72),
        Expected("submission_confirmed", "O1000005", "50005", owner_of(5), "MEDIUM", 72),
        Expected("aws_seller_assigned", "O1000006", "50006", owner_of(6), "HIGH", 24),
        Expected("resources_available", "O1000007", "50007", owner_of(7), "LOW", 168),
        Expected("conflict_detected", "O1000008", "50008", owner_of(8), "HIGH", 12),
        Expected("new_opportunity", "O1000012", "50012", owner_of(12), "HIGH", 24),
        # first seen after the baseline, already Approved with an AWS seller, a score and resources: each is news
        Expected("review_approved", "O1000012", "50012", owner_of(12), "HIGH", 24),
        Expected("aws_seller_assigned", "O1000012", "50012", owner_of(12), "HIGH", 24),
        Expected("engagement_score_changed", "O1000012", "50012", owner_of(12), "LOW", 168),
        Expected("resources_available", "O1000012", "50012", owner_of(12), "LOW", 168),
        Expected("new_opportunity", invitation, None, FALLBACK, "HIGH", 24),
    ]


def test_every_kind_arrives_as_one_task_and_one_note(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, prepare=lambda: pc_sim.update_opportunity(
        "O1000003", {"LifeCycle": {"ReviewStatus": "In review"}}))
    expected = script_every_kind(pc_sim, hub_sim)
    hub_sim.reset_calls()

    started = dt.datetime.now(dt.UTC).timestamp()
    result = run_cycle(app)
    finished = dt.datetime.now(dt.UTC).timestamp()

    assert (result.status, result.exit_code) == ("ok", 0)
    found = events(app)
    assert sorted((e["kind"], e["subject_id"]) for e in found) == sorted((x.kind, x.subject_id) for x in expected)
    assert {e["kind"] for e in found} == set(KINDS)
    keys = {(e["kind"], e["subject_id"]): e["key"] for e in found}
    tasks, notes = by_key(hub_sim.tasks()), by_key(hub_sim.notes())
    assert len(hub_sim.tasks()) == len(expected) and len(hub_sim.notes()) == len(expected) - 1
    for want in expected:
        key = keys[(want.kind, want.subject_id)]
        assert len(tasks.get(key, [])) == 1, want
        task = tasks[key][0]
        props = task["properties"]
        assert props["hubspot_owner_id"] == want.owner, want
        assert props["hs_task_priority"] == want.priority, want
        assert props["hs_task_status"] == "NOT_STARTED"
        due = ms(props["hs_timestamp"])
        assert started + want.due_hours * 3600 - 1 <= due <= finished + want.due_hours * 3600 + 1, want
        reminder = ms(props["hs_task_reminders"])
        assert started < reminder <= finished + 10 * 60 and reminder <= due, want  # rings the bell shortly
        assert not props["hs_task_subject"][0].isascii() and key in props["hs_task_body"]  # emoji first; Ref token
        if want.deal_id is None:
            assert task["associations"]["deals"] == []
            assert key not in notes, "an invitation has no record for a note to live on"
            continue
        assert association_types(hub_sim, "tasks", task["id"]) == {want.deal_id: [216]}, want
        assert len(notes.get(key, [])) == 1, want
        note = notes[key][0]
        assert note["properties"]["hubspot_owner_id"] == want.owner
        assert association_types(hub_sim, "notes", note["id"]) == {want.deal_id: [214]}, want
        assert "partnercentral" in note["properties"]["hs_note_body"] and key in note["properties"]["hs_note_body"]

    # Text from Partner Central is escaped in every body (subjects are plain text: tests/test_subjects.py).
    texts = [o["properties"].get(p) or "" for o in hub_sim.tasks() + hub_sim.notes()
             for p in ("hs_task_body", "hs_note_body")]
    assert not any("<script" in t for t in texts)
    escaped = [t for t in texts if "&lt;script&gt;" in t]
    assert len(escaped) >= 6  # NextSteps, ReviewComments, ReviewStatusReason, the seller's name, the referral title
    assert all(r["status"] == "done" for r in app.store.db.query("SELECT status FROM outbox_status"))

    # A rerun finds nothing new and sends nothing.
    task_count, note_count = len(hub_sim.tasks()), len(hub_sim.notes())
    hub_sim.reset_calls()
    again = run_cycle(app)
    assert (again.status, again.summary["events"], again.summary["delivered"]) == ("ok", 0, 0)
    assert creates(hub_sim) == Counter()
    assert (len(hub_sim.tasks()), len(hub_sim.notes())) == (task_count, note_count)


def test_conflict_is_raised_once_while_unresolved(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    hub_sim.update_deal("50001", closedate="2027-12-24T00:00:00Z")
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"TargetCloseDate": "2027-11-15"}})
    run_cycle(app)
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"NextSteps": "Partner-side edit, still in conflict"}})
    run_cycle(app)
    run_cycle(app)

    assert [(e["kind"], e["subject_id"]) for e in events(app)] == [("conflict_detected", "O1000001")]
    (task,) = hub_sim.tasks()
    (note,) = hub_sim.notes()
    assert task["properties"]["hubspot_owner_id"] == owner_of(1) and task["associations"]["deals"] == ["50001"]
    assert "2027-11-15" in note["properties"]["hs_note_body"] and "2027-12-24" in note["properties"]["hs_note_body"]


def test_conflicts_compare_the_deal_properties_the_mapping_names(pc_sim, hub_sim, make_app):
    """A portal keeping the AWS close date in a custom property; deal names are not compared at all."""
    def prepare():
        for n in range(4):
            hub_sim.update_deal(portfolio.deal_id(n), aws_close_date=f"{pc_sim.opportunity(portfolio.opportunity_id(n))['LifeCycle']['TargetCloseDate']}")

    app = baseline(pc_sim, hub_sim, make_app, count=4, prepare=prepare,
                   conflict_mapping=(("expected_spend", "amount"), ("target_close_date", "aws_close_date"),
                                     ("title", "")))
    hub_sim.update_deal("50001", aws_close_date="2027-12-24", closedate="2030-01-01T00:00:00Z")
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"TargetCloseDate": "2027-11-15"}})
    hub_sim.update_deal("50002", dealname="Renamed in HubSpot")
    pc_sim.update_opportunity("O1000002", {"Project": {"Title": "Renamed in Partner Central"}})
    run_cycle(app)

    assert [(e["kind"], e["subject_id"]) for e in events(app)] == [("conflict_detected", "O1000001")]
    (note,) = hub_sim.notes()
    assert "2027-12-24" in note["properties"]["hs_note_body"] and "2030-01-01" not in note["properties"]["hs_note_body"]


def test_a_link_to_a_missing_deal_goes_to_the_fallback_owner_as_one_task(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    pc_sim.update_opportunity("O1000002", {"PartnerOpportunityIdentifier": "99999"})
    hub_sim.reset_calls()
    result = run_cycle(app)

    assert result.status == "ok"
    (event,) = events(app)
    assert (event["kind"], event["subject_id"], event["priority"]) == ("conflict_detected", "O1000002", "HIGH")
    (task,) = hub_sim.tasks()
    assert task["properties"]["hubspot_owner_id"] == FALLBACK
    assert task["associations"]["deals"] == []  # nothing to attach it to
    assert "99999" in task["properties"]["hs_task_body"] and event_key(task) == event["key"]
    assert hub_sim.notes() == []  # a note needs a record to live on: the task carries the whole story
    row = next(app.store.db.query("SELECT status, route_reason FROM outbox_status"))
    assert row["status"] == "done" and "not found" in row["route_reason"]
    assert run_cycle(app).summary["events"] == 0 and len(hub_sim.tasks()) == 1


def test_steady_state_costs_one_task_batch_and_one_note_batch_per_hundred(pc_sim, hub_sim, make_app):
    count = 150
    app = baseline(pc_sim, hub_sim, make_app, count=count)
    for n in range(count):
        pc_sim.update_aws_summary(portfolio.opportunity_id(n), {"Insights": {"EngagementScore": "High"}})
    hub_sim.reset_calls()
    result = run_cycle(app)

    assert (result.status, result.summary["events"], result.summary["delivered"]) == ("ok", count, count)
    calls = Counter(c.path for c in hub_sim.calls)
    batches = math.ceil(count / 100)
    assert calls[TASK_CREATE] == batches and calls[NOTE_CREATE] == batches
    assert calls["/crm/v3/objects/deals/batch/read"] == batches  # the sweep's deal reads, 100 per call
    assert calls["/crm/v3/owners/"] == 1
    assert sum(calls.values()) == 3 * batches + 1  # nothing else: no searches, no association calls, no retries
    assert len(hub_sim.tasks()) == count and len(hub_sim.notes()) == count
    assert all(len(v) == 1 for v in by_key(hub_sim.tasks()).values())


def test_a_run_that_spends_its_read_budget_still_delivers_what_is_queued(pc_sim, hub_sim, make_app):
    """A long baseline spread over many runs must not starve referrals or delivery."""
    seed(pc_sim, hub_sim, 150)
    pc_sim.put_invitation(portfolio.invitation_record(7))
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK, pc_daily_budget=150)  # spent within page 1

    result = run_cycle(app)

    assert (result.status, result.exit_code, result.summary["baseline"]) == ("partial", 0, True)
    assert "read budget" in result.summary["deferred"]
    assert app.store.db.execute("SELECT count(*) FROM opportunities").fetchone()[0] < 100  # reading stopped
    (task,) = hub_sim.tasks()  # …but the referral was read first and its task delivered in the same run
    assert task["properties"]["hubspot_owner_id"] == FALLBACK and task["associations"] == {"deals": []}
    assert result.summary["delivered"] == 1


@pytest.mark.parametrize("unique", [True, False], ids=["unique property: batch read", "plain property: search"])
def test_deals_linked_by_a_property_holding_the_opportunity_id(pc_sim, hub_sim, make_app, unique):
    """deal_id_property: the deal is the one whose property holds the opportunity id, whatever the PC side says."""
    from hubspot import HubSpot
    from hubspot.crm.properties import PropertyCreate

    if unique:
        HubSpot(access_token="sim-token", host=hub_sim.url).crm.properties.core_api.create(
            "deals", PropertyCreate(name="aws_opportunity_id", label="AWS opportunity", type="string",
                                    field_type="text", group_name="dealinformation", has_unique_value=True))
    seed(pc_sim, hub_sim, 3)
    for n in range(3):  # the partner's CRM id in Partner Central is not a deal id here
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"PartnerOpportunityIdentifier": f"crm-{n}"},
                                  touch=False)
        hub_sim.update_deal(portfolio.deal_id(n), aws_opportunity_id=portfolio.opportunity_id(n))
    app = baseline(pc_sim, hub_sim, make_app, count=0, deal_id_property="aws_opportunity_id")
    hub_sim.reset_calls()
    pc_sim.update_opportunity("O1000002", {"LifeCycle": {"ReviewStatus": "Action Required",
                                                         "ReviewComments": "Add the spend details"}})
    run_cycle(app)

    (task,) = hub_sim.tasks()
    assert task["associations"]["deals"] == ["50002"] and task["properties"]["hubspot_owner_id"] == owner_of(2)
    assert hub_sim.notes()[0]["associations"]["deals"] == ["50002"]
    searched = hub_sim.call_count("/crm/v3/objects/deals/search")
    assert (searched == 0) if unique else (searched >= 1)
