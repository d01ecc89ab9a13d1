"""The state as one object: its repositories, cursors and meta facts; every page of work commits in one `atomic()` block."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlite_utils import Database

from poller.store.budget import Budgets
from poller.store.digests import Digests
from poller.store.failures import Failures
from poller.store.lease import DEFAULT_TTL, Lease
from poller.store.outbox import Outbox
from poller.store.owners import Owners
from poller.store.rechecks import DealRechecks
from poller.store.records import Records
from poller.store.rereads import Rereads
from poller.store.rollups import Rollups
from poller.store.runs import Runs
from poller.store.signals import Benefits, Reminders


class StateStore:
    """The SQLite state of one Partner Central account × HubSpot portal pair."""

    def __init__(self, db: Database):
        self.db = db
        self.records = Records(db)
        self.outbox = Outbox(db)
        self.failures = Failures(db)
        self.runs = Runs(db)
        self.deal_rechecks = DealRechecks(db)
        self.owners = Owners(db)
        self.budgets = Budgets(db)
        self.rereads = Rereads(db)
        self.digests = Digests(db)  # owners' preferences: decisions, holds, digests
        self.rollups = Rollups(db)  # what managers' roll-ups read
        self.reminders = Reminders(db)
        self.benefits = Benefits(db)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[StateStore]:
        with self.db.atomic():
            yield self

    # --- cursors: the largest AWS-supplied LastModifiedDate committed so far; never moves backwards
    def cursor(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def advance_cursor(self, name: str, value: str, now: str) -> str:
        current = self.cursor(name)
        if current is not None and current >= value:
            return current
        self.db.execute(
            "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [name, value, now],
        )
        return value

    def set_cursor(self, name: str, value: str | None, now: str) -> None:
        """Put a cursor back (only to repair one left in the future): None forgets it, so the next listing is full."""
        if value is None:
            self.db.execute("DELETE FROM cursors WHERE name = ?", [name])
            return
        self.db.execute("UPDATE cursors SET value = ?, updated_at = ? WHERE name = ?", [value, now, name])

    def lease(self, *, name: str = "cycle", ttl: dt.timedelta = DEFAULT_TTL) -> Lease:
        """The run lease of this database (not taken yet)."""
        return Lease(self.db, name=name, ttl=ttl)

    def forget_cursor(self, name: str) -> None:
        self.db.execute("DELETE FROM cursors WHERE name = ?", [name])

    def cursors(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query("SELECT name, value, updated_at FROM cursors ORDER BY name")]

    # --- meta: small facts about the portal and the job (e.g. how event keys are stored on HubSpot objects)
    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row and row[0] is not None else None

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, json.dumps(value)])

    def scratch_copy(self) -> StateStore:
        """The same state in memory, with no lease: a dry run goes through every step and writes nothing here."""
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.db.conn.backup(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM lease")  # a cycle running right now holds the real lease, not this copy's
        return StateStore(Database(conn))

    def close(self) -> None:
        self.db.conn.close()
