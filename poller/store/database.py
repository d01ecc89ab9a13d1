"""Opens the state database and bundles the repositories; every page of work commits in one `atomic()` block."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from poller.errors import StoreUnusable
from poller.store.budget import Budgets
from poller.store.failures import Failures
from poller.store.lease import DEFAULT_TTL, Lease
from poller.store.migrations import migrations
from poller.store.outbox import Outbox
from poller.store.owners import Owners
from poller.store.rechecks import DealRechecks
from poller.store.records import Records
from poller.store.runs import Runs


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


def open_store(path: str | Path, *, read_only: bool = False) -> StateStore:
    """Open and migrate the state database at `path`, creating it (0600) and its folder (0700) if needed.

    `read_only` (for `poller state`): the file must exist; nothing is created, migrated or written.
    A file that is not a SQLite database, or that a newer poller has migrated, is refused in one line.
    """
    memory = str(path) == ":memory:"
    try:
        if read_only:
            conn = _connect_read_only(Path(path))
        else:
            if not memory:
                _create_private(Path(path))
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (db.atomic), so nothing commits behind our back.
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")  # readers (poller state) never block the writer
            conn.execute("PRAGMA synchronous = NORMAL")  # durable at each commit in WAL mode, without an fsync per page
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        _refuse_newer(db, path)
        if not read_only:
            migrations.apply(db)
    except PermissionError as exc:
        raise StoreUnusable(path, f"cannot be created or opened ({exc.strerror})") from None
    except sqlite3.DatabaseError as exc:
        raise StoreUnusable(path, _why(exc, read_only)) from None
    except OSError as exc:
        raise StoreUnusable(path, f"cannot be created or opened ({exc.strerror or exc})") from None
    return StateStore(db)


def _create_private(path: Path) -> None:
    """Missing folders 0700 and a new database file 0600: it holds names and emails. SQLite gives the -wal and
    -shm files the database file's permissions, so they are private too. Existing files keep theirs."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreUnusable(path, "does not exist" if not path.exists() else "is not a file")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails here if it is not a database
    return conn


def _refuse_newer(db: Database, path: str | Path) -> None:
    """A database migrated by a newer poller has a schema this version does not know: writing to it could break it."""
    known = {m.name for m in migrations._migrations}  # sqlite-utils keeps the registered list private
    applied = [m.name for m in migrations.applied(db)]
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise StoreUnusable(path, f"was written by a newer version of poller (unknown migration {unknown[0]}); "
                                  "upgrade poller, or point it at another database")
    if not applied and db.table_names() and "_sqlite_migrations" not in db.table_names():
        raise StoreUnusable(path, "is a SQLite database but not poller's (it has tables and no migration history)")


def peek_meta(path: Path, key: str) -> Any:
    """One `meta` fact of a database file, read without opening it as a store (nothing created, migrated or
    written); None when the file is not SQLite, has no such fact, or is not poller's."""
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row and row[0] is not None else None
    except (sqlite3.Error, ValueError):  # not SQLite, or not ours
        return None


def pending_migrations(db: Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]


def _why(exc: sqlite3.DatabaseError, read_only: bool) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"is not a usable SQLite database ({text}); move it aside to start afresh"
    if "readonly" in text or "unable to open" in text:
        return f"cannot be opened{' for reading' if read_only else ' for writing'} ({text})"
    return f"cannot be used ({text})"
