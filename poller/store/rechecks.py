"""Opportunities whose linked deal could not be read when their snapshot was committed: re-checked next cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlite_utils import Database


class DealRechecks:
    def __init__(self, db: Database):
        self.db = db

    def mark(self, silent: Mapping[str, bool], reason: str, now: str) -> None:
        """Remember them, each with whether its catch-up stays silent (derived as baseline); a later mark keeps the
        first time."""
        self.db.conn.executemany(
            "INSERT INTO deal_recheck (opportunity_id, reason, marked_at, baseline) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (opportunity_id) DO UPDATE SET reason = excluded.reason",
            [[oid, reason, now, int(quiet)] for oid, quiet in silent.items()])

    def clear(self, opportunity_ids: Sequence[str]) -> None:
        """Their deals were read with their snapshot: nothing left to catch up."""
        self.db.conn.executemany("DELETE FROM deal_recheck WHERE opportunity_id = ?", [[o] for o in opportunity_ids])

    def queue(self) -> list[tuple[str, bool]]:
        """(id, marked during the baseline) of every opportunity waiting for its deal, oldest first."""
        rows = self.db.execute("SELECT opportunity_id, baseline FROM deal_recheck ORDER BY marked_at, opportunity_id")
        return [(r[0], bool(r[1])) for r in rows]
