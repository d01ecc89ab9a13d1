"""A run's limits, checked between pages: a stop request, the run's time budget and the Partner Central read budget."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from poller.budget.reads import ReadBudget
from poller.clock import monotonic
from poller.errors import BudgetExhausted, StopRequested
from poller.store.lease import Lease


class Limits:
    """Checked at every page boundary: the lease's heartbeat first, then whether the run must stop here."""

    def __init__(self, *, seconds: float, started: float, reads: ReadBudget, stop_requested: Callable[[], bool],
                 wall_clock: Callable[[], dt.datetime], clock: Callable[[], float] = monotonic):
        self.seconds = seconds  # the run's time budget (run_time_budget), on the monotonic `clock`
        self.started = started
        self.reads = reads
        self.stop_requested = stop_requested  # SIGTERM/SIGINT/SIGHUP
        self.wall_clock = wall_clock
        self.clock = clock

    def check(self, lease: Lease | None = None) -> None:
        if lease is not None:
            lease.heartbeat(self.wall_clock())
        if self.stop_requested():
            raise StopRequested("stop requested")
        if self.clock() - self.started > self.seconds:
            raise BudgetExhausted(f"run time budget of {self.seconds:.0f}s spent")
        if self.reads.room() <= 0:
            raise self.reads.spent()
