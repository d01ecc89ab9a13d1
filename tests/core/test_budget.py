"""Token bucket arithmetic: refill, take, wait times, and tightening from HubSpot's rate-limit headers."""

from __future__ import annotations

import math

import pytest

from poller.budget.bucket import Bucket, refill, take, tighten

FULL = Bucket(capacity=50, refill_per_second=5, tokens=50, updated_at=1000.0)


def test_refill_earns_tokens_up_to_capacity():
    empty = Bucket(capacity=50, refill_per_second=5, tokens=0, updated_at=1000.0)
    assert refill(empty, 1002.0).tokens == 10
    assert refill(empty, 2000.0).tokens == 50
    assert refill(empty, 1002.0).updated_at == 1002.0


def test_clock_going_backwards_earns_nothing():
    bucket = Bucket(capacity=50, refill_per_second=5, tokens=3, updated_at=1000.0)
    assert refill(bucket, 990.0) == bucket


def test_take_when_available():
    bucket, wait = take(FULL, 10, 1000.0)
    assert wait == 0.0 and bucket.tokens == 40


def test_take_when_short_says_how_long_to_wait():
    low = Bucket(capacity=50, refill_per_second=5, tokens=2, updated_at=1000.0)
    bucket, wait = take(low, 10, 1000.0)
    assert wait == pytest.approx(1.6) and bucket.tokens == 2
    bucket, wait = take(bucket, 10, 1000.0 + wait)
    assert wait == 0.0 and bucket.tokens == pytest.approx(0)


def test_impossible_take_waits_forever():
    assert take(FULL, 51, 1000.0)[1] == math.inf
    assert take(Bucket(capacity=5, refill_per_second=0, tokens=0, updated_at=0), 1, 1)[1] == math.inf


def test_tighten_to_a_smaller_portal_limit():
    tight = tighten(FULL, 40, 10, 35, 1000.0)
    assert (tight.capacity, tight.refill_per_second, tight.tokens) == (40, 4, 35)


def test_tighten_never_loosens():
    loose = tighten(FULL, 250, 10, 240, 1000.0)
    assert (loose.capacity, loose.refill_per_second, loose.tokens) == (50, 5, 50)


def test_remaining_caps_tokens():
    assert tighten(FULL, 100, 10, 3, 1000.0).tokens == 3
    assert tighten(FULL, None, None, 0, 1000.0).tokens == 0


def test_missing_headers_change_nothing():
    assert tighten(FULL, None, None, None, 1000.0) == FULL
    assert tighten(FULL, 0, 0, -1, 1000.0) == FULL
