"""Rate limits: under a tight HubSpot limit everything is delivered exactly once, cycles that run out of budget stop
cleanly (partial, exit 0), and the job never sends more than its budget in any rolling 10 s (429 storms:
test_rate_storm.py)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from poller.budget.requests import HubSpotBudget
from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.simulators.hubspot.simulator import HubSpotSimulator
from poller.simulators.portfolio import seed
from poller.store.budget import Budgets

STATUSES = ("Action Required", "Rejected", "Submitted", "Approved")


class SharedClock:
    """One clock for the simulator's rolling window and the job's budget; the budget's sleep moves it at once.

    Requests otherwise take no time at all on it, which is the worst case for a budget: every token is spent in
    the same instant.
    """

    def __init__(self) -> None:
        self.now = time.time()
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def keys(objects: list[dict]) -> Counter[str]:
    return Counter(o["properties"]["poller_event_key"] for o in objects)


def event_keys(app) -> list[str]:
    return [r["key"] for r in app.store.db.query("SELECT key FROM events")]


def change(pc_sim, ids: range, round_: int) -> None:
    for n in ids:
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": STATUSES[round_ % 4]}})


def responses(hub: HubSpotSimulator) -> Counter[int]:
    return Counter(c.status for c in hub.calls)


def paced_app(make_app, hub: HubSpotSimulator, clock: SharedClock, **overrides):
    app = make_app(hub=hub, fallback_owner_id="190", sweep_period=0.0, **overrides)
    # The product's own seam: the budget takes a clock and a sleep; here they are the simulator's clock.
    app.hubspot.budget = HubSpotBudget(Budgets(app.store.db), app.settings.hubspot_requests_per_10s,
                                       clock=clock, sleep=clock.sleep)
    return app


def many_cycles(pc_sim, hub: HubSpotSimulator, app, rounds: int) -> list[str]:
    statuses = []
    for round_ in range(rounds):
        change(pc_sim, range(round_ % 3, 12, 3), round_)
        statuses.append(run_cycle(app).status)
    for _ in range(5):  # whatever a cycle deferred goes out in the next ones
        if app.store.db.execute("SELECT count(*) FROM outbox_status WHERE status != 'done'").fetchone()[0] == 0:
            break
        statuses.append(run_cycle(app).status)
    return statuses


@pytest.mark.parametrize(("budget", "portal_limit"), [(20, 40), (8, 100)])
def test_the_job_never_sends_more_than_its_budget_in_any_10_seconds(pc_sim, make_app, budget, portal_limit):
    clock = SharedClock()
    with HubSpotSimulator(rate_limit=portal_limit, clock=clock) as hub:
        seed(pc_sim, hub, 12)
        app = paced_app(make_app, hub, clock, hubspot_requests_per_10s=budget)
        run_cycle(app)
        statuses = many_cycles(pc_sim, hub, app, rounds=8)

        assert set(statuses) <= {"ok", "partial"}
        wanted = Counter(dict.fromkeys(event_keys(app), 1))
        assert len(wanted) == 8 * 4
        assert keys(hub.tasks()) == wanted and keys(hub.notes()) == wanted
        requests = len(hub.calls)
        assert requests > 1.5 * budget  # enough traffic that the budget had to hold the job back
        assert clock.slept > 0
        assert hub.max_requests_in_window() <= budget
        assert responses(hub)[429] == 0


def test_a_portal_limit_below_the_budget_is_learnt_from_the_headers(pc_sim, make_app):
    clock = SharedClock()
    with HubSpotSimulator(rate_limit=20, clock=clock) as hub:  # other integrations use the rest of the portal's limit
        seed(pc_sim, hub, 12)
        app = paced_app(make_app, hub, clock)  # configured for the default 50 per 10 s
        assert app.settings.hubspot_requests_per_10s == 50
        run_cycle(app)
        statuses = many_cycles(pc_sim, hub, app, rounds=8)

        assert set(statuses) <= {"ok", "partial"}
        wanted = Counter(dict.fromkeys(event_keys(app), 1))
        assert keys(hub.tasks()) == wanted and keys(hub.notes()) == wanted
        assert len(hub.calls) > 30
        assert responses(hub)[429] == 0  # it slowed to the portal's pace instead of running into it
        assert hub.max_requests_in_window() <= 20


def test_searches_are_paced_under_hubspots_separate_search_limit(aws_env, tmp_path):
    from hubspot.crm.objects.tasks import Filter, FilterGroup, PublicObjectSearchRequest

    from poller.app import build_app
    from poller.config import load_settings

    with HubSpotSimulator() as hub:
        hub.set_search_rate_limit(4, 1.0)  # HubSpot's search endpoints: about 4 requests per second per token
        settings = load_settings(environ={"POLLER_DB": str(tmp_path / "p.db"), "HUBSPOT_ACCESS_TOKEN": "sim-token",
                                          "HUBSPOT_BASE_URL": hub.url})
        portal = build_app(settings, pacing=True).hubspot
        request = PublicObjectSearchRequest(filter_groups=[FilterGroup(filters=[
            Filter(property_name="hs_task_subject", operator="EQ", value="x")])], limit=10, after="0")
        for _ in range(5):
            portal.call(portal.tasks_search.do_search_with_http_info, request)
        assert [c.status for c in hub.calls] == [200] * 5  # no SECONDLY 429, so no retry and no wasted call
