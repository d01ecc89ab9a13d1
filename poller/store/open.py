"""Opening the state database: created private, migrated in place, refused in one line when it cannot be used."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from poller.config import Check, Settings
from poller.errors import StoreUnusable
from poller.store.database import StateStore
from poller.store.later_migrations import migrations  # every migration, in order


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


@contextlib.contextmanager
def reading(path: str | Path) -> Iterator[Database]:
    """The state database, read-only (`poller state`): never created (a mistyped path is an error), migrated or
    written; a query the file is too old for says which migration it lacks."""
    db = open_store(path, read_only=True).db
    try:
        yield db
    except sqlite3.OperationalError as exc:
        pending = pending_migrations(db)
        if not pending:
            raise
        raise StoreUnusable(path, f"predates this version of poller (pending migration {pending[0]}: {exc}); "
                                  "the next `poller run` upgrades it") from None
    finally:
        db.conn.close()


def pending_migrations(db: Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]


def _why(exc: sqlite3.DatabaseError, read_only: bool) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"is not a usable SQLite database ({text}); move it aside to start afresh"
    if "readonly" in text or "unable to open" in text:
        return f"cannot be opened{' for reading' if read_only else ' for writing'} ({text})"
    return f"cannot be used ({text})"


def check_state(settings: Settings) -> Check:
    """The state database is readable, or its folder can be created and written; opens nothing for writing."""
    path = Path(settings.db)
    if path.exists():
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)  # never creates or migrates
            try:
                runs = conn.execute("SELECT count(*), max(started_at) FROM runs").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            return Check(system="state", name="database", ok=False, detail=f"{path}: {exc}")
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        return Check(system="state", name="database", ok=writable,
                     detail=f"{path}: {runs[0]} runs, last started {runs[1] or 'never'}"
                     + ("" if writable else " (not writable by this user)"))
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    ok = os.access(parent, os.W_OK)
    return Check(system="state", name="database", ok=ok,
                 detail=f"{path}: will be created on the first run" if ok else f"{parent} is not writable")
