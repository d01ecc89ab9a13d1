"""Opens the state database and bundles the repositories; every page of work commits in one `atomic()` block."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from state.migrations import migrations
from state.outbox import Outbox
from state.rechecks import DealRechecks
from state.records import Records
from state.runs import Runs


class StateStore:
    """The SQLite state of one Partner Central account × HubSpot portal pair."""

    def __init__(self, db: Database):
        self.db = db
        self.records = Records(db)
        self.outbox = Outbox(db)
        self.runs = Runs(db)
        self.deal_rechecks = DealRechecks(db)

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

    def cursors(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query("SELECT name, value, updated_at FROM cursors ORDER BY name")]

    # --- meta: small facts about the portal and the job (e.g. how event keys are stored on HubSpot objects)
    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row and row[0] is not None else None

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, json.dumps(value)])


def open_store(path: str | Path) -> StateStore:
    """Open (creating it and its folder if needed) and migrate the state database at `path`."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (db.atomic), so nothing commits behind our back.
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")  # readers (poller state) never block the writer
    conn.execute("PRAGMA synchronous = NORMAL")  # durable at each commit in WAL mode, without an fsync per page
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    db = Database(conn)
    migrations.apply(db)
    return StateStore(db)
