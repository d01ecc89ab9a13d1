"""A backfill's window: its bounds from the operator's dates, the name of its checkpoint, and the progress it reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from poller.core.timefmt import iso, parse_moment


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    since: str  # canonical ISO (timefmt.iso); both bounds inclusive
    until: str
    checkpoint: str  # the cursor name of this window's re-list checkpoint

    @classmethod
    def parse(cls, since: str, until: str | None, now: dt.datetime) -> Window:
        """The window from the operator's text; `until` defaults to now (and is capped at now)."""
        start = parse_moment(since)
        end = min(parse_moment(until, end_of_day=True), now) if until else now
        if start >= now:
            raise ValueError(f"--since {since} is not in the past")
        if start > end:
            raise ValueError(f"--since {since} is after --until {until}")
        # The name keeps "now" for an open window, so rerunning the same command finds the same checkpoint.
        return cls(since=iso(start), until=iso(end), checkpoint=f"backfill:{iso(start)}:{iso(end) if until else 'now'}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Reported after each committed chunk of history and each re-listed page."""

    phase: str  # history | relist
    done: int  # snapshots replayed, or pages listed
    total: int | None  # snapshots to replay; None for the re-list (ListOpportunities has no count)
    found: int
    new: int
