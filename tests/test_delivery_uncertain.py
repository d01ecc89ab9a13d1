"""Uncertain sends: a create whose outcome we did not hear is looked up by its event key once it had time to settle,
never resent blindly, and never looked up while HubSpot may still be storing it.

Real clients against both simulators, in real time (hubspot-api-client cannot deserialize under freezegun): the
job's clock, and where it matters the simulator's, is real time plus an offset the test moves (`Later`).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections import Counter
from contextlib import closing

import pytest
from conftest import FAST_RETRY
from test_delivery import FALLBACK, NOTE_CREATE, TASK_CREATE, baseline, event_key, outbox_statuses

from poller.app import build_app
from poller.clock import utc_now
from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.hubspot.simulator import HubSpotSimulator
from poller.simulators.portfolio import invitation_record

SETTLE = 90.0  # the default: the 30 s request timeout + 60 s
TASK_LINKS = "/crm/v4/associations/deals/tasks/batch/read"
NOTE_LINKS = "/crm/v4/associations/deals/notes/batch/read"


class Later:
    """Real time plus an offset the test moves: the job's clock and (when given to it) the simulator's."""

    def __init__(self) -> None:
        self.offset = 0.0

    def utc(self) -> dt.datetime:
        return utc_now() + dt.timedelta(seconds=self.offset)

    def epoch(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def on_clock(app, later: Later):
    """The same job (settings, database) reading `later` as its clock."""
    return build_app(app.settings, pacing=False, retry=FAST_RETRY, clock=later.utc)


def key_of(app) -> str:
    return app.store.db.execute("SELECT event_key FROM outbox").fetchone()[0]


def _state_of(app, key: str) -> str:
    """Read the outbox from a separate connection, as `poller state outbox` would, while the cycle runs."""
    with closing(sqlite3.connect(app.settings.db)) as conn:
        return conn.execute("SELECT task_state FROM outbox WHERE event_key = ?", [key]).fetchone()[0]


def in_review(pc_sim, count: int) -> None:
    for n in range(count):
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "In review"}})


def lookups(hub) -> list[str]:
    """Calls that look for tasks or notes already made: association reads, batch reads, searches."""
    return [c.path for c in hub.calls if "/associations/" in c.path or (
        c.path.startswith(("/crm/v3/objects/tasks/", "/crm/v3/objects/notes/")) and not c.path.endswith("/create"))]


def test_a_create_committed_but_unanswered_is_looked_up_once_settled_not_resent(pc_sim, hub_sim, make_app):
    later = Later()
    app = on_clock(baseline(pc_sim, hub_sim, make_app, count=4), later)
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Action Required"}})
    hub_sim.commit_then_drop(TASK_CREATE)
    hub_sim.reset_calls()
    first = run_cycle(app)

    # HubSpot may still be storing what it was sent: nothing is looked up, nothing resent, the row waits as unknown.
    assert (first.status, first.exit_code) == ("ok", 0)
    assert outbox_statuses(app) == Counter({"unknown": 1}) and lookups(hub_sim) == []

    later.advance(SETTLE)
    seen: list[str] = []
    hub_sim.on_request(TASK_LINKS, before_commit=lambda request: seen.append(_state_of(app, key_of(app))))
    assert run_cycle(app).status == "ok"

    assert seen == ["unknown"]  # the lookup ran while the row was marked unknown
    statuses = [c.status for c in hub_sim.calls if c.path == TASK_CREATE]
    assert statuses == [0]  # one create, dropped after the commit; never sent again
    (task,) = hub_sim.tasks()
    (note,) = hub_sim.notes()
    assert task["associations"]["deals"] == ["50001"] and event_key(task) == event_key(note) == key_of(app)
    row = next(app.store.db.query("SELECT * FROM outbox_status"))
    assert (row["status"], row["task_id"], row["attempts"]) == ("done", task["id"], 2)  # task 1 + note 1
    assert run_cycle(app).summary["delivered"] == 0 and len(hub_sim.tasks()) == 1


def test_a_create_hubspot_stores_after_the_client_gave_up_is_found_once_settled_not_sent_twice(pc_sim, make_app):
    later = Later()
    with HubSpotSimulator(clock=later.epoch) as hub:
        app = on_clock(baseline(pc_sim, hub, make_app, count=4), later)
        pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Action Required"}})
        hub.commit_late(TASK_CREATE, delay=45)  # still being stored when the connection goes
        hub.reset_calls()
        assert run_cycle(app).status == "ok"
        assert hub.tasks() == [] and outbox_statuses(app) == Counter({"unknown": 1})  # looks absent…

        later.advance(45)
        (late,) = hub.tasks()  # …but HubSpot finished storing it after the client had given up
        assert run_cycle(app).status == "ok"  # 45 s after the send: not settled yet, so not looked up
        assert lookups(hub) == [] and outbox_statuses(app) == Counter({"unknown": 1})

        later.advance(SETTLE - 45)
        assert run_cycle(app).status == "ok"
        assert [c.status for c in hub.calls if c.path == TASK_CREATE] == [0]  # sent once, never again
        assert [t["id"] for t in hub.tasks()] == [late["id"]] and len(hub.notes()) == 1
        row = next(app.store.db.query("SELECT * FROM outbox_status"))
        assert (row["status"], row["task_id"]) == ("done", late["id"])


def test_a_create_that_failed_with_500_is_checked_once_settled_then_sent_once(pc_sim, hub_sim, make_app):
    later = Later()
    app = on_clock(baseline(pc_sim, hub_sim, make_app, count=4), later)
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"ReviewStatus": "Action Required"}})
    hub_sim.fail_next(TASK_CREATE, 500)
    hub_sim.reset_calls()
    assert run_cycle(app).status == "ok"
    later.advance(SETTLE)
    assert run_cycle(app).status == "ok"

    paths = [(c.path, c.status) for c in hub_sim.calls if "tasks" in c.path]
    assert paths == [(TASK_CREATE, 500), (TASK_LINKS, 207),  # settled, looked up: no task on the deal…
                     (TASK_CREATE, 201)]  # …so sent exactly once more
    (task,) = hub_sim.tasks()
    assert event_key(task) == key_of(app) and len(hub_sim.notes()) == 1
    assert outbox_statuses(app) == Counter({"done": 1})


def test_checking_an_uncertain_batch_of_100_costs_a_few_calls_then_sends_only_what_is_missing(pc_sim, hub_sim,
                                                                                              make_app):
    later = Later()
    app = on_clock(baseline(pc_sim, hub_sim, make_app, count=100, prepare=lambda: in_review(pc_sim, 100)), later)
    for n in range(100):
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Approved"}})
    hub_sim.commit_then_drop(TASK_CREATE)  # the 100 tasks are stored, the answer is lost
    hub_sim.on_request(NOTE_CREATE, before_commit=lambda request: True)  # the 100 notes never got processed
    assert run_cycle(app).status == "ok"
    assert outbox_statuses(app) == Counter({"unknown": 100})
    assert (len(hub_sim.tasks()), len(hub_sim.notes())) == (100, 0)

    later.advance(SETTLE)
    hub_sim.reset_calls()
    assert run_cycle(app).status == "ok"

    calls = Counter(c.path for c in hub_sim.calls if "/deals/batch/read" not in c.path)  # (the sweep's deal read)
    # One links read per part for all 100 deals, one batch read of the 100 tasks found there; no per-deal calls.
    assert calls == Counter({TASK_LINKS: 1, "/crm/v3/objects/tasks/batch/read": 1, NOTE_LINKS: 1, NOTE_CREATE: 1})
    assert outbox_statuses(app) == Counter({"done": 100})
    assert Counter(event_key(t) for t in hub_sim.tasks()) == Counter(dict.fromkeys(
        (r["event_key"] for r in app.store.db.query("SELECT event_key FROM outbox")), 1))
    assert len(hub_sim.notes()) == 100 and len({event_key(n) for n in hub_sim.notes()}) == 100


def test_without_the_custom_property_the_ref_token_identifies_an_uncertain_create(pc_sim, make_app):
    from poller.simulators.hubspot.simulator import HubSpotSimulator

    later = Later()
    with HubSpotSimulator(allow_custom_properties=False) as hub:  # a portal that will not take poller_event_key
        app = on_clock(baseline(pc_sim, hub, make_app, count=4), later)
        pc_sim.update_opportunity("O1000003", {"LifeCycle": {"ReviewStatus": "Rejected"}})
        hub.commit_then_drop(NOTE_CREATE)
        hub.reset_calls()
        assert run_cycle(app).status == "ok"
        later.advance(SETTLE)
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
    with HubSpotSimulator(allow_custom_properties=custom_properties) as hub_sim:
        app = baseline(pc_sim, hub_sim, make_app, count=2)
        pc_sim.put_invitation(invitation_record(5))
        hub_sim.commit_then_drop(TASK_CREATE)
        first = run_cycle(app)
        # No deal to look on; search is trusted only after the settle time and its index lag: the row stays unknown.
        assert (first.status, first.exit_code) == ("ok", 0)
        assert outbox_statuses(app) == Counter({"unknown": 1})
        assert len(hub_sim.tasks()) == 1

        # Settled, but search may not show it yet: still nothing is looked up.
        clock = Later()
        later = on_clock(app, clock)
        clock.advance(SETTLE)
        hub_sim.reset_calls()
        assert run_cycle(later).status == "ok"
        assert [c.path for c in hub_sim.calls if "tasks" in c.path] == []

        # A later cycle (its clock past settle time and index lag) searches, finds the task, sends nothing again.
        clock.advance(61)
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
