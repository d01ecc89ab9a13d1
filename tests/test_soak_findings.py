"""Defects the soak found that issues 7 and 8 do not list: one regression test each, expected to fail until fixed."""

from __future__ import annotations

import datetime as dt
import time

from conftest import tick

from poller.run.cycle import run_cycle
from poller.simulators.call_log import log_call_times
from poller.simulators.portfolio import seed
from poller.store.budget import Budgets

BUDGET = 600


def test_partner_central_reads_stay_within_the_daily_budget_in_any_rolling_24_hours(pc_sim, make_app, frozen):
    seed(pc_sim, None, 40)  # 40 open opportunities: the hourly sweep alone wants 960 reads a day
    log = log_call_times(pc_sim, time.time)  # frozen time: the simulated instant of each call
    app = make_app(pc_daily_budget=BUDGET)
    for _ in range(2 * 24 * 6):  # two days, a cycle every 10 minutes
        run_cycle(app, mode="dry-run", deliver=False)
        tick(frozen, 10)
    micros = [round(t * 1_000_000) for t in log.times_of()]
    day = round(dt.timedelta(days=1).total_seconds() * 1_000_000)
    start, peak = 0, 0
    for end, moment in enumerate(micros):
        while micros[start] <= moment - day:
            start += 1
        peak = max(peak, end - start + 1)
    assert peak <= BUDGET, f"{peak} Partner Central reads in one rolling 24 h against a budget of {BUDGET}"


class VirtualClock:
    """Monotonic time that only sleeping moves: what each process's RateGate reads."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_partner_central_pacing_holds_across_back_to_back_runs(pc_sim, make_app):
    from poller.budget.pace import RateGate

    seed(pc_sim, None, 8)
    clock = VirtualClock()
    log = log_call_times(pc_sim, clock.monotonic)
    for _process in range(2):  # two cron-started runs, the second right after the first (a new process each)
        app = make_app()
        # Each process builds its own gate, as build_app does; the pace they keep to is the database's.
        app.pc.gate = RateGate(app.settings.pc_requests_per_second, clock=clock.monotonic, sleep=clock.sleep,
                               shared=Budgets(app.store.db))
        run_cycle(app, mode="dry-run", deliver=False)
    times = log.times_of()
    busiest = max(sum(1 for t in times if start - 1 < t <= start) for start in times)
    assert busiest <= 5, f"{busiest} Partner Central reads in one second against a pace of 5 per second"
