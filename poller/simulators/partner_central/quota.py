"""The account's read quota: a rolling one-second window over read calls from every client, on real time."""

from __future__ import annotations

import collections
import time

from poller.simulators.partner_central.wire import ServiceError


def _real_monotonic() -> float:
    # freezegun freezes time.monotonic, but the rate limit is about real elapsed time even inside a frozen test.
    if hasattr(time, "clock_gettime"):
        return time.clock_gettime(time.CLOCK_MONOTONIC)
    return time.monotonic()  # pragma: no cover - non-Unix


class ReadQuota:
    """`reads_per_second` reads in any rolling second (None: no limit); the excess is throttled, like the account's."""

    def __init__(self, reads_per_second: float | None):
        self.reads_per_second = reads_per_second
        self._recent: collections.deque[float] = collections.deque()

    def admit(self) -> None:
        if self.reads_per_second is None:
            return
        now = _real_monotonic()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._recent) + 1 > self.reads_per_second:
            raise ServiceError("ThrottlingException", "Rate exceeded")
        self._recent.append(now)
