"""What HubSpot refuses, and what each outbox row does then: re-route, split, retry, give up, or wait for tomorrow.

Real clients against both simulators, in real time (hubspot-api-client cannot deserialize under freezegun).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from test_delivery import FALLBACK, NOTE_CREATE, TASK_CREATE, baseline, event_key, outbox_statuses
from test_delivery_uncertain import SETTLE, Later, on_clock

from poller.run.cycle import run_cycle
from poller.simulators import portfolio

PROPERTIES_TASKS = "/crm/v3/properties/tasks"


def review_changes(pc_sim, *numbers: int) -> None:
    for n in numbers:
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Action Required"}})


def rows(app) -> list[dict]:
    return list(app.store.db.query("SELECT * FROM outbox_status ORDER BY subject_id"))


def test_an_owner_deactivated_after_routing_is_refused_then_the_task_goes_to_the_fallback(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    review_changes(pc_sim, 1)
    owner = portfolio.OWNERS[1][0]
    # Routing read the owners list (cached); the owner is deactivated before the task batch reaches HubSpot.
    hub_sim.on_request(TASK_CREATE, before_commit=lambda request: hub_sim.archive_owner(owner))
    hub_sim.reset_calls()
    result = run_cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    (task,) = hub_sim.tasks()
    assert task["properties"]["hubspot_owner_id"] == FALLBACK
    (note,) = hub_sim.notes()
    assert note["properties"]["hubspot_owner_id"] == FALLBACK and event_key(note) == event_key(task)
    (row,) = rows(app)
    assert row["status"] == "done" and row["owner_id"] == FALLBACK
    assert "archived" in row["route_reason"] and "fallback owner" in row["route_reason"]
    # One refused create, the owners list read afresh once, one create to the fallback; nothing twice.
    assert [c.status for c in hub_sim.calls if c.path == TASK_CREATE] == [207, 201]
    assert sum(1 for c in hub_sim.calls if c.path.startswith("/crm/v3/owners")) == 2  # routing, then re-routing


def test_a_queue_owner_is_not_a_recipient(pc_sim, hub_sim, make_app):
    def queue_owns_deal_1():
        hub_sim.add_owner("300", "inbox@partner.example", "Co-sell", "Inbox", kind="QUEUE")
        hub_sim.update_deal("50001", hubspot_owner_id="300")

    app = baseline(pc_sim, hub_sim, make_app, count=4, prepare=queue_owns_deal_1)
    review_changes(pc_sim, 1)
    assert run_cycle(app).status == "ok"
    (task,) = hub_sim.tasks()
    assert task["properties"]["hubspot_owner_id"] == FALLBACK
    assert "deal owner 300 is archived or not an active user" in rows(app)[0]["route_reason"]


def test_a_whole_batch_400_is_split_until_the_bad_input_is_alone(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    review_changes(pc_sim, 0, 1, 2, 3)
    # HubSpot answers 400 for the batch of four, then for the half and the single input holding the bad value.
    hub_sim.fail_next(TASK_CREATE, 400, times=3)
    hub_sim.reset_calls()
    assert run_cycle(app).status == "ok"

    assert [c.status for c in hub_sim.calls if c.path == TASK_CREATE] == [400, 400, 400, 201, 201]
    assert outbox_statuses(app) == Counter({"done": 3, "failed": 1})
    first_sent = app.store.outbox.in_send_order()[0]["event_key"]  # the outbox sends oldest first
    (failed,) = [r for r in rows(app) if r["status"] == "failed"]
    assert failed["event_key"] == first_sent and "HTTP 400" in failed["last_error"]
    # The refused task is not retried; its note is independent and still reaches the deal's timeline.
    assert len(hub_sim.tasks()) == 3 and len(hub_sim.notes()) == 4
    assert len({event_key(t) for t in hub_sim.tasks()}) == 3 and first_sent not in {event_key(t) for t in hub_sim.tasks()}


def test_a_row_that_never_gets_through_is_given_up_after_eight_sends_and_shown(pc_sim, hub_sim, make_app):
    later = Later()
    app = on_clock(baseline(pc_sim, hub_sim, make_app, count=4), later)
    review_changes(pc_sim, 2)
    hub_sim.fail_next(TASK_CREATE, 503, times=100)  # a create that fails every time, with no hint why
    hub_sim.reset_calls()
    for _ in range(9):
        assert run_cycle(app).exit_code == 0
        later.advance(SETTLE)

    # Each uncertain send is looked up on the deal once settled (a cycle later), then resent; the note went out on
    # its own (one attempt), so the task was tried seven times before the row's eight attempts were spent.
    sends = [c.status for c in hub_sim.calls if c.path == TASK_CREATE]
    assert sends == [503] * 7
    (row,) = rows(app)
    assert (row["status"], row["task_state"], row["note_state"], row["attempts"]) == ("failed", "failed", "done", 8)
    assert row["last_error"].startswith("gave up after 8 attempts")
    assert hub_sim.tasks() == [] and len(hub_sim.notes()) == 1


def test_an_owner_hubspot_keeps_refusing_counts_toward_the_attempt_cap_then_fails(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    review_changes(pc_sim, 1)
    owner, email, first, last = portfolio.OWNERS[1]
    # The owners list calls this owner active, yet HubSpot refuses it on every task (a seat it will not assign).
    hub_sim.on_request(TASK_CREATE, times=1_000, before_commit=lambda request: hub_sim.archive_owner(owner),
                       after_commit=lambda request, response: hub_sim.add_owner(owner, email, first, last))
    hub_sim.reset_calls()
    for _ in range(5):
        assert run_cycle(app).exit_code == 0

    # Every re-route was a send and counted: the eighth refusal ends it, with HubSpot's reason; no endless loop.
    assert [c.status for c in hub_sim.calls if c.path == TASK_CREATE] == [207] * 8
    (row,) = rows(app)
    assert (row["status"], row["task_state"]) == ("failed", "failed") and hub_sim.tasks() == []
    assert row["last_error"].startswith("gave up after 8 attempts: HubSpot refused the owner")
    history = [h["action"] for h in app.store.db.query(
        "SELECT action FROM outbox_history WHERE event_key = ? ORDER BY id", [row["event_key"]])]
    assert history == ["rerouted"] * 7 + ["failed"]


def test_the_daily_limit_stops_delivery_at_the_first_429_and_it_resumes_when_the_day_rolls(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    review_changes(pc_sim, 1, 3)
    hub_sim.set_daily_limit(hub_sim.daily_usage())  # the portal's allowance for today is spent
    hub_sim.reset_calls()
    result = run_cycle(app)

    assert (result.status, result.exit_code) == ("partial", 0)  # partial: work left for the next cycle
    assert "daily API limit" in result.summary["deferred"]
    assert [c.status for c in hub_sim.calls] == [429]  # no retry burns what little is left
    # The first call of the day was the deal read for these changes: what Partner Central said is committed anyway,
    # and the notifications wait in the outbox (their deals are read when the day rolls).
    assert outbox_statuses(app) == Counter({"pending": 2})

    hub_sim.set_daily_limit(250_000)
    assert run_cycle(app).summary["delivered"] == 2
    assert len(hub_sim.tasks()) == 2 and len(hub_sim.notes()) == 2


def test_a_late_delivery_still_sets_its_reminder_in_the_future(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    review_changes(pc_sim, 1)
    # An outage: the row was recorded, then waited past its due time before it could be sent.
    assert run_cycle(app, deliver=False).status == "ok"
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with app.store.atomic():
        app.store.db.execute("UPDATE outbox SET due_at = ?", [past])
    before = dt.datetime.now(dt.UTC).timestamp()
    assert run_cycle(app).status == "ok"
    (task,) = hub_sim.tasks()
    reminder = task["properties"]["hs_task_reminders"]
    assert int(reminder) / 1000 >= before + 55  # at least a minute ahead, so the bell rings


def test_a_property_create_that_committed_unanswered_is_found_not_recreated(pc_sim, hub_sim, make_app):
    hub_sim.on_request(PROPERTIES_TASKS, method="POST", after_commit=lambda request, response: True)
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    review_changes(pc_sim, 1)
    assert run_cycle(app).status == "ok"
    posts = [c.status for c in hub_sim.calls if c.path == PROPERTIES_TASKS and c.method == "POST"]
    assert posts == [0]  # created once, the answer lost; looked up, never created again
    (task,) = hub_sim.tasks()
    assert task["properties"]["poller_event_key"] == event_key(task)
    assert app.store.meta("event_key_storage") == {"task": "property", "note": "property"}


def test_a_property_group_the_portal_does_not_have_falls_back_to_the_body_propertys_group(pc_sim, hub_sim, make_app):
    hub_sim.fail_next(PROPERTIES_TASKS, 400, method="POST")  # e.g. "taskinformation" is not a group here
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    review_changes(pc_sim, 1)
    assert run_cycle(app).status == "ok"
    posts = [c for c in hub_sim.calls if c.path == PROPERTIES_TASKS and c.method == "POST"]
    assert [c.status for c in posts] == [400, 201]
    assert json.loads(posts[1].body)["groupName"] == "task"  # where this portal keeps hs_task_body
    (task,) = hub_sim.tasks()
    assert task["properties"]["poller_event_key"] == event_key(task)
    assert NOTE_CREATE in {c.path for c in hub_sim.calls}


def test_a_refusal_names_the_missing_scopes_in_either_field_hubspot_uses():
    from poller.hubspot.portal import Rejected

    documented = json.dumps({"status": "error", "message": "This app hasn't been granted all required scopes",
                             "category": "MISSING_SCOPES",
                             "errors": [{"context": {"missingScopes": ["crm.objects.owners.read"]}}]})
    granular = json.dumps({"message": "One or more scopes are required", "category": "MISSING_SCOPES",
                           "errors": [{"context": {"requiredGranularScopes": ["crm.schemas.tasks.write"]}}]})
    assert "missing scopes: crm.objects.owners.read" in str(Rejected(403, documented))
    assert "missing scopes: crm.schemas.tasks.write" in str(Rejected(403, granular))


@pytest.mark.parametrize("recreate", [True, False], ids=["recreated", "ref-token"])
def test_a_deleted_event_key_property_is_recreated_or_replaced_by_the_ref_token(pc_sim, hub_sim, make_app, recreate):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    assert app.store.meta("event_key_storage") == {"task": "property", "note": "property"}
    for object_type in ("tasks", "notes"):  # an admin cleans up "unused" properties
        hub_sim.delete_property(object_type, "poller_event_key")
        if not recreate:  # …and the token has lost the schema scope it would need to make them again
            hub_sim.fail_next(f"/crm/v3/properties/{object_type}", 403, method="POST")
    review_changes(pc_sim, 1, 3)
    hub_sim.reset_calls()
    result = run_cycle(app)

    assert (result.status, result.exit_code) == ("ok", 0)
    # The first batches were refused (nothing was created), the property was looked at, and each row sent again.
    assert [c.status for c in hub_sim.calls if c.path == TASK_CREATE] == [207, 201]
    assert [c.status for c in hub_sim.calls if c.path == NOTE_CREATE] == [207, 201]
    assert outbox_statuses(app) == Counter({"done": 2})
    keys = {r["event_key"] for r in rows(app)}
    for objects in (hub_sim.tasks(), hub_sim.notes()):
        assert sorted(event_key(o) for o in objects) == sorted(keys)
        assert all(("poller_event_key" in o["properties"]) == recreate for o in objects)
    mode = "property" if recreate else "body"
    assert app.store.meta("event_key_storage") == {"task": mode, "note": mode}
    review_changes(pc_sim, 2)  # and it stays fixed: the next notification goes out at once
    hub_sim.reset_calls()
    assert run_cycle(app).status == "ok"
    assert [c.status for c in hub_sim.calls if c.path in (TASK_CREATE, NOTE_CREATE)] == [201, 201]
