"""In-process pacing of API calls to a steady rate (Partner Central: 5 reads/s by default)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateGate:
    """Space calls at least 1/rate seconds apart; `rate=None` disables pacing. Clock and sleep are injectable."""

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            delay = max(0.0, self._next - now)
            self._next = max(now, self._next) + self.interval
        if delay:
            self._sleep(delay)
