"""A burst of HubSpot 429s costs a wait, not the run: ten-secondly 429s are waited out within the run's time budget,
and what Partner Central already answered is never read again because HubSpot was busy (the deal-dependent steps
catch up next cycle). Only a daily 429 or a spent time budget ends HubSpot's part of a run early.

The simulator's rolling window and the job's budget share one clock that the job's waits move (no sleeping).
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from click.testing import CliRunner
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate
from test_delivery import FALLBACK, baseline, outbox_statuses, owner_of
from test_rate import SharedClock, keys

from poller.budget.requests import HubSpotBudget, wait_after_429
from poller.cli import cli
from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.hubspot.simulator import HubSpotSimulator
from poller.simulators.portfolio import aws_summary_record, opportunity_record, seed
from poller.store.budget import Budgets

APPROVALS = 100


def storm_app(pc_sim, make_app, hub: HubSpotSimulator, clock: SharedClock, **overrides):
    """The baseline of APPROVALS opportunities In review, on a budget whose waits move the shared clock."""
    seed(pc_sim, hub, APPROVALS)
    for n in range(APPROVALS):
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "In review"}})
    app = make_app(hub=hub, fallback_owner_id=FALLBACK, **overrides)
    app.hubspot.budget = HubSpotBudget(Budgets(app.store.db), app.settings.hubspot_requests_per_10s,
                                       clock=clock, sleep=clock.sleep)
    assert run_cycle(app).summary["baseline"] is True
    return app


@pytest.mark.parametrize(("time_budget", "max_runs"), [(600.0, 1), (150.0, 2)])
def test_a_storm_of_30_429s_costs_a_wait_not_a_second_read_of_partner_central(pc_sim, make_app, time_budget,
                                                                               max_runs):
    clock = SharedClock()
    with HubSpotSimulator(clock=clock) as hub:
        app = storm_app(pc_sim, make_app, hub, clock, run_time_budget=time_budget)
        for n in range(APPROVALS):
            pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Approved"}})
        pc_sim.reset_calls()
        hub.reset_calls()
        hub.storm_429(30)  # starting with the linked-deal read of the first page

        results = []
        while len(results) < 5 and (not results or outbox_statuses(app) != Counter({"done": APPROVALS})):
            results.append(run_cycle(app))

        assert len(results) <= max_runs, [r.summary for r in results]
        assert [r.exit_code for r in results] == [0] * len(results)
        assert Counter(c.status for c in hub.calls)[429] == 30
        wanted = Counter(dict.fromkeys((r["key"] for r in app.store.db.query("SELECT key FROM events")), 1))
        assert len(wanted) == APPROVALS
        assert keys(hub.tasks()) == wanted and keys(hub.notes()) == wanted
        # Each opportunity was read from Partner Central once, whatever HubSpot said meanwhile.
        assert pc_sim.operation_counts()["GetOpportunity"] == APPROVALS
        assert clock.slept <= 30 * 10  # each wait at most the ten-second window
        if max_runs == 2:  # the storm outlasted the first run's budget: it stopped cleanly, and says why
            runs = CliRunner().invoke(cli, ["--db", app.settings.db, "state", "runs", "--json"], catch_exceptions=False)
            shown = {r["id"]: r for r in json.loads(runs.output)}[results[0].run_id]
            assert shown["status"] == "partial" and "429" in shown["deferred"]


def test_deals_hubspot_could_not_give_are_compared_next_cycle_without_reading_partner_central_again(
        pc_sim, hub_sim, make_app):
    app = baseline(pc_sim, hub_sim, make_app, count=4, sweep_period=3600.0)
    # Both sides moved the close date since they last agreed: a conflict, visible only with the deal read.
    hub_sim.update_deal("50001", closedate="2027-12-24T00:00:00Z")
    pc_sim.update_opportunity("O1000001", {"LifeCycle": {"TargetCloseDate": "2027-11-15"}})
    pc_sim.update_opportunity("O1000002", {"LifeCycle": {"ReviewStatus": "Action Required"}})
    hub_sim.set_daily_limit(hub_sim.daily_usage())  # HubSpot's allowance for today is spent
    pc_sim.reset_calls()
    hub_sim.reset_calls()
    first = run_cycle(app)

    assert (first.status, first.exit_code) == ("partial", 0) and "daily API limit" in first.summary["deferred"]
    assert [c.status for c in hub_sim.calls] == [429]  # one refused call, then HubSpot is left alone this run
    # What Partner Central said is committed: the review change is queued; the conflict waits for the deal.
    assert [r["kind"] for r in app.store.db.query("SELECT kind FROM events")] == ["review_action_required"]
    assert outbox_statuses(app) == Counter({"pending": 1})
    assert {r[0] for r in app.store.db.execute("SELECT opportunity_id FROM deal_recheck")} == {"O1000001",
                                                                                               "O1000002"}

    hub_sim.set_daily_limit(250_000)  # the portal's day rolled over
    second = run_cycle(app)

    assert second.status == "ok"
    assert sorted(r["kind"] for r in app.store.db.query("SELECT kind FROM events")) == [
        "conflict_detected", "review_action_required"]
    assert outbox_statuses(app) == Counter({"done": 2}) and len(hub_sim.tasks()) == 2
    assert app.store.db.execute("SELECT count(*) FROM deal_recheck").fetchone()[0] == 0
    counts = pc_sim.operation_counts()
    assert counts["GetOpportunity"] == 2  # once each, in the first run
    assert run_cycle(app).summary["events"] == 0  # caught up: nothing raised twice


def test_with_a_deal_id_property_a_known_link_is_kept_and_an_unknown_one_waits_for_hubspot(pc_sim, hub_sim, make_app):
    HubSpot(access_token="sim-token", host=hub_sim.url).crm.properties.core_api.create(
        "deals", PropertyCreate(name="aws_opportunity_id", label="AWS opportunity", type="string", field_type="text",
                                group_name="dealinformation", has_unique_value=True))
    seed(pc_sim, hub_sim, 3)
    for n in range(3):
        hub_sim.update_deal(portfolio.deal_id(n), aws_opportunity_id=portfolio.opportunity_id(n))
    app = baseline(pc_sim, hub_sim, make_app, count=0, deal_id_property="aws_opportunity_id", sweep_period=3600.0)
    pc_sim.update_opportunity("O1000002", {"LifeCycle": {"ReviewStatus": "Action Required"}})
    record = opportunity_record(7, rng=random.Random(7), review_status="Submitted")
    pc_sim.put_opportunity(record, aws_summary_record(7))  # never seen: its deal link is not known yet
    hub_sim.set_daily_limit(hub_sim.daily_usage())
    pc_sim.reset_calls()
    assert run_cycle(app).status == "partial"

    # The known opportunity is committed with the deal it was linked to; the new one is not committed unlinked
    # (its bells would go to the fallback owner): it alone is read again next cycle.
    (row,) = app.store.db.query("SELECT deal_id, status FROM outbox_status")
    assert (row["deal_id"], row["status"]) == ("50002", "pending")
    assert [r[0] for r in app.store.db.execute("SELECT opportunity_id FROM refetch")] == [record["Id"]]

    hub_sim.set_daily_limit(250_000)
    assert run_cycle(app).status == "ok"
    # The known opportunity's bell, on its deal; the new one is first seen after the baseline (DESIGN §10): its own
    # bells (submitted, score, team, resources) carry no deal, as no deal holds its id.
    on_deal = [t for t in hub_sim.tasks() if t["associations"]["deals"]]
    (task,) = on_deal
    assert task["associations"]["deals"] == ["50002"] and task["properties"]["hubspot_owner_id"] == owner_of(2)
    assert all("#7" in t["properties"]["hs_task_subject"] for t in hub_sim.tasks() if t not in on_deal)
    reads = Counter(json.loads(c.body)["Identifier"] for c in pc_sim.calls if c.target.endswith(".GetOpportunity"))
    assert reads == Counter({"O1000002": 1, record["Id"]: 2})
    assert app.store.db.execute("SELECT count(*) FROM refetch").fetchone()[0] == 0
    assert app.store.db.execute("SELECT count(*) FROM deal_recheck").fetchone()[0] == 0


def test_a_ten_secondly_429_waits_what_hubspot_says_or_up_to_its_window():
    assert wait_after_429({"Retry-After": "3"}, 0) == 3
    assert 0.8 <= wait_after_429({}, 0) <= 1.0
    window = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    for waits in range(8):  # 1, 2, 4, 8, then the ten-second window, less up to 20 % of jitter
        ceiling = min(10, 2 ** waits)
        assert 0.8 * ceiling <= wait_after_429(window, waits) <= ceiling
