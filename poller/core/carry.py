"""Unknown is not a change: a value missing from one read keeps its last known value in the stored snapshot."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from poller.core.model import AwsView, Snapshot

# Partner-side fields AWS sets and nobody clears: ReviewStatus only moves from one status to another.
CARRIED_SNAPSHOT_FIELDS = ("review_status",)
# Every field of AWS's view: AWS computes them (score, insights, team, …) and a read may come back without some.
CARRIED_AWS_FIELDS = tuple(f.name for f in fields(AwsView))


def _unknown(value: Any) -> bool:
    return value is None or value == () or value == ""


def _carried(old: Any, new: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(old, name) for name in names
            if _unknown(getattr(new, name)) and not _unknown(getattr(old, name))}


def carry_forward(old: Snapshot | None, new: Snapshot) -> Snapshot:
    """`new` with every carried field that is missing, null or empty in it taken from `old`.

    So a value that vanishes for one read and comes back (score High → null → High, Approved → missing → Approved,
    next best actions or program categories returning) is no change at all, and the snapshot stored and kept in
    history holds the last known value (DESIGN §10 "Unknown is not a change").
    """
    if old is None:
        return new
    aws = new.aws
    if old.aws is not None:
        aws = old.aws if aws is None else replace(aws, **_carried(old.aws, aws, CARRIED_AWS_FIELDS))
    carried = _carried(old, new, CARRIED_SNAPSHOT_FIELDS)
    if not carried and aws is new.aws:
        return new
    return replace(new, aws=aws, **carried)
