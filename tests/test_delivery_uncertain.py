"""Uncertain sends: a create whose outcome we did not hear is looked up by its event key, never resent blindly.

Real clients against both simulators, in real time (hubspot-api-client cannot deserialize under freezegun).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from contextlib import closing

import pytest
from test_delivery import FALLBACK, NOTE_CREATE, TASK_CREATE, baseline, event_key, outbox_statuses

from poller.cycle import run_cycle
from poller.simulators.portfolio import invitation_record


def key_of(app) -> str:
    return app.store.db.execute("SELECT event_key FROM outbox").fetchone()[0]


def _state_of(app, key: str) -> str:
    """Read the outbox from a separate connection, as `poller state outbox` would, while the cycle runs."""
    with closing(sqlite3.connect(app.settings.db)) as conn:
        return conn.execute("SELECT task_state FROM outbox WHERE event_key = ?", [key]).fetchone()[0]


def test_a_create_committed_but_unanswered_is_reconciled_not_resent(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Action Required"}})
    hub_sim.commit_then_drop(TASK_CREATE)
    seen: list[str] = []
    hub_sim.on_request("/crm/v4/objects/deals/50001/associations/tasks",
                       before_commit=lambda request: seen.append(_state_of(app, key_of(app))))
    hub_sim.reset_calls()
    result = run_cycle(app)

    assert result.status == "ok"
    assert seen == ["unknown"]  # the lookup ran while the row was marked unknown
    statuses = [c.status for c in hub_sim.calls if c.path == TASK_CREATE]
    assert statuses == [0]  # one create, dropped after the commit; never sent again
    (task,) = hub_sim.tasks()
    (note,) = hub_sim.notes()
    assert task["associations"]["deals"] == ["50001"] and event_key(task) == event_key(note) == key_of(app)
    row = next(app.store.db.query("SELECT * FROM outbox_status"))
    assert (row["status"], row["task_id"], row["attempts"]) == ("done", task["id"], 2)  # task 1 + note 1
    assert run_cycle(app).summary["delivered"] == 0 and len(hub_sim.tasks()) == 1


def test_a_create_that_failed_with_500_is_checked_then_sent_once(pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4)
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Action Required"}})
    hub_sim.fail_next(TASK_CREATE, 500)
    hub_sim.reset_calls()
    result = run_cycle(app)

    assert result.status == "ok"
    paths = [(c.path, c.status) for c in hub_sim.calls if "tasks" in c.path]
    assert paths == [(TASK_CREATE, 500), ("/crm/v4/objects/deals/50001/associations/tasks", 200),
                     (TASK_CREATE, 201)]  # looked up (absent), then sent exactly once more
    (task,) = hub_sim.tasks()
    assert event_key(task) == key_of(app) and len(hub_sim.notes()) == 1
    assert outbox_statuses(app) == Counter({"done": 1})


def test_without_the_custom_property_the_ref_token_identifies_an_uncertain_create(pc_sim, make_app):
    from poller.simulators.hubspot import HubSpotSimulator

    with HubSpotSimulator(allow_custom_properties=False) as hub:  # a portal that will not take poller_event_key
        app = baseline(pc_sim, hub, make_app, count=4)
        pc_sim.update_opportunity("O1000003", {"LifeCycle": {"ReviewStatus": "Rejected"}})
        hub.commit_then_drop(NOTE_CREATE)
        hub.reset_calls()
        assert run_cycle(app).status == "ok"

        (task,) = hub.tasks()
        (note,) = hub.notes()
        assert "poller_event_key" not in task["properties"] and "poller_event_key" not in note["properties"]
        assert event_key(task) == event_key(note) == key_of(app)  # the visible Ref: token
        assert [c.status for c in hub.calls if c.path == NOTE_CREATE] == [0]
        assert outbox_statuses(app) == Counter({"done": 1})


@pytest.mark.parametrize("custom_properties", [True, False], ids=["key-property", "ref-token"])
def test_an_uncertain_invitation_task_waits_out_the_search_lag_then_is_found_by_key(pc_sim, make_app,
                                                                                     custom_properties):
    from poller.app import build_app
    from poller.clock import utc_now
    from poller.retry import RetrySettings
    from poller.simulators.hubspot import HubSpotSimulator

    with HubSpotSimulator(allow_custom_properties=custom_properties) as hub_sim:
        app = baseline(pc_sim, hub_sim, make_app, count=2)
        pc_sim.put_invitation(invitation_record(5))
        hub_sim.commit_then_drop(TASK_CREATE)
        first = run_cycle(app)
        # No deal to look on, and search is not trusted within its index lag: the row stays unknown, shown as such.
        assert (first.status, first.exit_code) == ("ok", 0)
        assert outbox_statuses(app) == Counter({"unknown": 1})
        assert len(hub_sim.tasks()) == 1

        # A later cycle (its clock past the lag) searches, finds the task, and sends nothing again.
        later = build_app(app.settings, pacing=False, retry=RetrySettings.attempts(2),
                          clock=lambda: utc_now() + dt.timedelta(seconds=61))
        hub_sim.reset_calls()
        assert run_cycle(later).status == "ok"
        assert outbox_statuses(later) == Counter({"done": 1})
        searches = [c for c in hub_sim.calls if "tasks" in c.path]
        assert [c.path for c in searches] == ["/crm/v3/objects/tasks/search"]
        (task,) = hub_sim.tasks()
        filters = [f for group in json.loads(searches[0].body)["filterGroups"] for f in group["filters"]]
        if custom_properties:  # by the key property
            assert filters == [{"propertyName": "poller_event_key", "operator": "IN", "values": [key_of(later)]}]
        else:  # by the exact subject and owner sent, confirmed by the Ref: token (no reliance on search tokenizing)
            assert {(f["propertyName"], f["operator"]) for f in filters} == {("hs_task_subject", "EQ"),
                                                                             ("hubspot_owner_id", "EQ")}
            assert "poller_event_key" not in task["properties"]
        row = next(later.store.db.query("SELECT task_id, owner_id FROM outbox"))
        assert (row["task_id"], row["owner_id"]) == (task["id"], FALLBACK) and event_key(task) == key_of(later)
