"""Pacing of API calls to a steady rate (Partner Central: 5 reads/s by default), shared by every run on one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from poller.clock import monotonic

SAFETY = 0.001  # seconds added to each interval


class SlotStore(Protocol):
    """Where the pace is kept between processes (poller.store.budget.Budgets): the earliest time the next call may leave."""

    def next_slot(self, name: str) -> float | None: ...

    def reserve_slot(self, name: str, slot: float) -> None: ...


class RateGate:
    """Space calls at least 1/rate seconds apart; `rate=None` disables pacing. Clock and sleep are injectable.

    With `shared`, the pace is kept in the state database, so a run started right after another one ended (cron, a
    restarted container) keeps to it too; its clock must then be wall time, comparable across processes.
    """

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = monotonic,
                 sleep: Callable[[float], None] = time.sleep, shared: SlotStore | None = None,
                 name: str = "partner_central_pace"):
        # A millisecond over 1/rate: slots summed in floating point (epoch seconds) drift by microseconds, and a drift
        # the wrong way would put rate + 1 calls inside one rolling second.
        self.interval = 1.0 / rate + SAFETY if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._shared = shared
        self._name = name
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            if self._shared is not None:
                self._next = max(self._next, self._shared.next_slot(self._name) or 0.0)
            delay = max(0.0, self._next - now)
            self._next = max(now, self._next) + self.interval
            if self._shared is not None:
                self._shared.reserve_slot(self._name, self._next)
        if delay:
            self._sleep(delay)
