"""event_key(): stable across calls and processes, different for a different kind, subject, value or version."""

from __future__ import annotations

import re

from poller.core.keys import event_key


def test_shape_and_stability():
    key = event_key("review_approved", "O1", "approved", "2025-03-01T10:00:00.000000Z")
    assert re.fullmatch(r"evk_[0-9a-f]{24}", key)
    assert key == event_key("review_approved", "O1", "approved", "2025-03-01T10:00:00.000000Z")
    # Pinned: the key is stored in HubSpot, so it must never change between releases.
    assert key == "evk_" + __import__("hashlib").sha256(
        b'["review_approved","O1","approved","2025-03-01T10:00:00.000000Z"]').hexdigest()[:24]


def test_differs_by_each_part():
    base = ("engagement_score_changed", "O1", "High", "aws1")
    key = event_key(*base)
    for i, other in enumerate(("aws_seller_assigned", "O2", "Low", "aws2")):
        changed = list(base)
        changed[i] = other
        assert event_key(*changed) != key


def test_structured_values_ignore_dict_order():
    assert event_key("k", "O1", {"a": 1, "b": 2}, "v") == event_key("k", "O1", {"b": 2, "a": 1}, "v")
    assert event_key("k", "O1", [("a", "1")], "v") == event_key("k", "O1", [["a", "1"]], "v")
