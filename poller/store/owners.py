"""HubSpot's owners as last read: cached for a few minutes, so routing a batch reads the owners list once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database


class Owners:
    def __init__(self, db: Database):
        self.db = db

    def fresh(self, fetched_after: str) -> list[dict[str, Any]]:
        """Every cached owner (active or not) when the cache was filled after `fetched_after`; else []."""
        return list(self.db.query("SELECT * FROM owners_cache WHERE fetched_at >= ?", [fetched_after]))

    def replace(self, owners: Iterable[dict[str, Any]]) -> None:
        """The cache becomes exactly these owners (one transaction: the caller's atomic block)."""
        self.db.execute("DELETE FROM owners_cache")
        self.db.table("owners_cache").insert_all(owners)

    def forget(self) -> None:
        self.db.execute("DELETE FROM owners_cache")
