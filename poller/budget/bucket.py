"""Token-bucket arithmetic for API budgets: refill, take, and tighten from HubSpot's rate-limit headers."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True, kw_only=True)
class Bucket:
    """A token bucket at one moment; times are plain seconds (epoch or monotonic: the caller picks one)."""

    capacity: float
    refill_per_second: float
    tokens: float
    updated_at: float


def refill(bucket: Bucket, now_ts: float) -> Bucket:
    """The bucket with the tokens earned since updated_at; a clock that went backwards earns nothing."""
    elapsed = max(0.0, now_ts - bucket.updated_at)
    tokens = min(bucket.capacity, bucket.tokens + elapsed * bucket.refill_per_second)
    return replace(bucket, tokens=tokens, updated_at=max(bucket.updated_at, now_ts))


def take(bucket: Bucket, n: float, now_ts: float) -> tuple[Bucket, float]:
    """(bucket after taking n tokens, 0.0), or (refilled bucket, seconds to wait) when there are not enough."""
    current = refill(bucket, now_ts)
    if current.tokens >= n:
        return replace(current, tokens=current.tokens - n), 0.0
    if n > current.capacity or current.refill_per_second <= 0:
        return current, math.inf  # can never be satisfied: the caller must not wait forever on it
    return current, (n - current.tokens) / current.refill_per_second


def tighten(bucket: Bucket, max_per_window: float | None, window_seconds: float | None, remaining: float | None,
            now_ts: float) -> Bucket:
    """Apply X-HubSpot-RateLimit-Max / -Remaining: the limit is shared with the portal's other apps.

    Capacity and rate only ever shrink (the configured budget is the ceiling; the caller rebuilds them from
    configuration at start-up), and `remaining` caps the tokens we may still spend in this window.
    """
    current = refill(bucket, now_ts)
    capacity, rate = current.capacity, current.refill_per_second
    if max_per_window and max_per_window > 0 and window_seconds and window_seconds > 0:
        capacity = min(capacity, float(max_per_window))
        rate = min(rate, max_per_window / window_seconds)
    tokens = min(current.tokens, capacity)
    if remaining is not None and remaining >= 0:
        tokens = min(tokens, float(remaining))
    return replace(current, capacity=capacity, refill_per_second=rate, tokens=tokens)
