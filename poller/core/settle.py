"""settle(old, new, now): the derived state a snapshot carries so that flaps and reminders need no other memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from poller.core.model import AwsView, Snapshot
from poller.core.quality import settle_quality
from poller.core.review import canonical_review_status
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso

SEEN_CAP = 200  # recommendation keys remembered per opportunity (the newest kept)


def settle_view(old: AwsView | None, new: AwsView, rules: RuleConfig) -> AwsView:
    """`new` with its quality band (hysteresis), Declining-noted flag and announced recommendations brought forward.

    A view stored by a version that did not read the 2026 fields starts afresh from `new` (its baseline).
    """
    before = old if old is not None and old.signals_known else None
    band, noted = settle_quality(before, new, rules)
    seen = (*(before.seen_recommendations if before else ()), *(r.key for r in new.recommendations))
    return replace(new, quality_band=band, quality_decline_noted=noted,
                   seen_recommendations=tuple(dict.fromkeys(seen))[-SEEN_CAP:])


def settle(old: Snapshot | None, new: Snapshot, now: datetime, *, rules: RuleConfig) -> Snapshot:
    """`new` (already carried forward) with its derived state: the AWS view's (settle_view) and `review_since`.

    `review_since` is when this job first recorded the current review status (its clock, not AWS's): the Action
    Required escalation counts from it, so an opportunity the baseline found waiting is not escalated at once.
    Applying it again to its own result changes nothing.
    """
    same = old is not None and canonical_review_status(old.review_status) == canonical_review_status(new.review_status)
    since = old.review_since if same and old is not None and old.review_since else iso(now)
    aws = settle_view(old.aws if old else None, new.aws, rules) if new.aws is not None else None
    return replace(new, aws=aws, review_since=since)
