"""The HubSpot request budget: a token bucket persisted in SQLite (it holds across cron runs), tightened by headers."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping

from poller.budget.bucket import Bucket, take, tighten
from poller.clock import epoch
from poller.errors import BudgetExhausted
from poller.store.budget import Budgets, StoredBucket

log = logging.getLogger(__name__)
HOST = "hubspot"  # the name HubSpot's calls are counted under (runs, api_calls_hourly)
NAME = HOST  # the bucket's row in `budget`
WINDOW = 10.0


class HubSpotBudget:
    def __init__(self, budgets: Budgets, requests_per_10s: int, *, max_wait: float = 12.0,
                 clock: Callable[[], float] = epoch, sleep: Callable[[float], None] = time.sleep):
        self.budgets = budgets
        # A bucket admits its capacity at once plus its refill over any window: with capacity = the budget it could
        # send twice the budget inside one rolling 10 s (HubSpot's window). Half burst + half refill never exceeds it.
        self.capacity = max(1.0, requests_per_10s / 2)
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self._shape: tuple[float, float] | None = None  # (capacity, refill/s) as last saved by this process

    def _bucket(self) -> Bucket:
        # At start-up the configured budget is the ceiling again; after that, keep what the headers tightened it to.
        capacity, rate = self._shape or (self.capacity, self.capacity / WINDOW)
        now_ts = self.clock()
        row = self.budgets.bucket(NAME)
        if row is None or row.capacity != capacity or row.refill_per_second != rate:
            # a new or reconfigured budget starts full, but never above what was left
            tokens = capacity if row is None else min(capacity, row.tokens)
            return Bucket(capacity=capacity, refill_per_second=rate, tokens=tokens, updated_at=now_ts)
        return Bucket(capacity=row.capacity, refill_per_second=row.refill_per_second, tokens=row.tokens,
                      updated_at=row.updated_at)

    def _save(self, bucket: Bucket) -> None:
        self._shape = (bucket.capacity, bucket.refill_per_second)
        self.budgets.save_bucket(NAME, StoredBucket(bucket.capacity, bucket.refill_per_second, bucket.tokens,
                                                    bucket.updated_at))

    def acquire(self) -> None:
        """Take one request's token, waiting briefly when the window is nearly spent; else stop cleanly."""
        bucket, wait = take(self._bucket(), 1, self.clock())
        if wait > 0:
            if wait > self.max_wait or math.isinf(wait):
                self._save(bucket)
                raise BudgetExhausted(f"HubSpot request budget spent (next token in {wait:.1f}s)")
            self.sleep(wait)
            bucket, wait = take(bucket, 1, self.clock())
            if wait > 0:  # the clock did not move (frozen in tests): stop rather than spin
                self._save(bucket)
                raise BudgetExhausted("HubSpot request budget spent")
        self._save(bucket)

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Shrink the budget to what X-HubSpot-RateLimit-* says is left (shared with the portal's other apps)."""
        if not headers:
            return
        limit = _number(headers.get("X-HubSpot-RateLimit-Max"))
        interval_ms = _number(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        remaining = _number(headers.get("X-HubSpot-RateLimit-Remaining"))
        if limit is None and remaining is None:
            return
        # Shaped like ours: half the portal's window as burst, half as refill, so we alone never overrun it.
        bucket = tighten(self._bucket(), limit / 2 if limit else None, interval_ms / 1000 if interval_ms else None,
                         remaining, self.clock())
        self._save(bucket)

    def pause(self, seconds: float) -> None:
        """Wait on the budget's own clock (the one the tests move instead of sleeping)."""
        self.sleep(seconds)

    def rate_limited(self) -> None:
        """After a 429: nothing left in this window."""
        bucket = self._bucket()
        self._save(Bucket(capacity=bucket.capacity, refill_per_second=bucket.refill_per_second, tokens=0.0,
                          updated_at=self.clock()))


def wait_after_429(headers: Mapping[str, str] | None, waits: int) -> float:
    """Seconds a ten-secondly 429 asks for: its Retry-After when HubSpot sends one; else 1 s doubling per wait
    up to the rate-limit window (X-HubSpot-RateLimit-Interval-Milliseconds, 10 s), jittered so jobs sharing a
    portal do not come back in step."""
    retry_after = _number((headers or {}).get("Retry-After"))
    if retry_after is not None and retry_after >= 0:
        return retry_after
    interval = _number((headers or {}).get("X-HubSpot-RateLimit-Interval-Milliseconds"))
    window = interval / 1000 if interval else WINDOW
    return min(window, 2.0 ** waits) * random.uniform(0.8, 1.0)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None
