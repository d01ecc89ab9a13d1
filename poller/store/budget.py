"""Request budgets persisted in SQLite, so a token bucket holds across cron runs; plus daily API usage per host."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlite_utils import Database


class StoredBucket(NamedTuple):
    capacity: float
    refill_per_second: float
    tokens: float
    updated_at: float


class Budgets:
    def __init__(self, db: Database):
        self.db = db

    def bucket(self, name: str) -> StoredBucket | None:
        """A token bucket as it was last saved (times in the saver's seconds), or None."""
        row = self.db.execute("SELECT capacity, refill_per_second, tokens, updated_at FROM budget WHERE name = ?",
                              [name]).fetchone()
        return None if row is None else StoredBucket(*row)

    def save_bucket(self, name: str, bucket: StoredBucket) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO budget (name, capacity, refill_per_second, tokens, updated_at) VALUES (?, ?, ?, ?, ?)",
            [name, *bucket])

    def next_slot(self, name: str) -> float | None:
        """When the next paced call may leave (epoch seconds), as the last run to call reserved it."""
        row = self.db.execute("SELECT updated_at FROM budget WHERE name = ?", [name]).fetchone()
        return float(row[0]) if row else None

    def reserve_slot(self, name: str, slot: float) -> None:
        # A pace is a bucket of one token: no burst, refilled at the rate; updated_at holds the next free slot.
        self.db.execute("INSERT OR REPLACE INTO budget (name, capacity, refill_per_second, tokens, updated_at) "
                        "VALUES (?, 1, 0, 0, ?)", [name, slot])

    def count_call(self, host: str, now: dt.datetime, calls: int = 1) -> None:
        self.db.execute(
            "INSERT INTO api_calls_hourly (hour, host, calls) VALUES (?, ?, ?) "
            "ON CONFLICT (hour, host) DO UPDATE SET calls = api_calls_hourly.calls + excluded.calls",
            [_hour(now), host, calls])

    def used_last_24h(self, host: str, now: dt.datetime) -> int:
        """Calls from the hour that began up to 24 hours ago until now. Partner Central's quota is per rolling 24
        hours; counting all of that oldest hour errs on the safe side, so the job's share holds in every rolling 24 h
        (a read is counted for up to 25 hours)."""
        row = self.db.execute("SELECT sum(calls) FROM api_calls_hourly WHERE host = ? AND hour >= ?",
                              [host, _hour(now - dt.timedelta(hours=24))]).fetchone()
        return int(row[0] or 0)


def _hour(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")
