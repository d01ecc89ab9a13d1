"""The cursor's next value: the largest LastModifiedDate listed, never beyond the listing's request time + skew."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from poller.core.timefmt import iso

# How far AWS's clock may run ahead of ours. A LastModifiedDate beyond the listing's request time by more than this
# is a record dated in the future: it is read, but it must not carry the cursor past changes still to come.
CLOCK_SKEW = dt.timedelta(minutes=5)


def cursor_cap(listed_at: dt.datetime) -> str:
    """The furthest the cursor may move after a listing requested at `listed_at` (our clock)."""
    return iso(listed_at + CLOCK_SKEW)


def high_water(listed: Mapping[str, str], listed_at: dt.datetime) -> tuple[str | None, list[str]]:
    """(the cursor value a page supports, the ids dated beyond the cap), from {id: LastModifiedDate} of the page.

    The value is the largest LastModifiedDate within the cap (still AWS-supplied, never our clock); None when the
    page has none.
    """
    cap = cursor_cap(listed_at)
    future = sorted(oid for oid, modified in listed.items() if modified > cap)
    return max((m for m in listed.values() if m <= cap), default=None), future
