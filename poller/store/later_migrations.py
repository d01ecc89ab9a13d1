"""Migrations from m009 on (event re-reads, sink routes, …), registered after those of migrations.py."""

from __future__ import annotations

from sqlite_utils import Database

from poller.store.migrations import _statements, migrations
from poller.store.schema_digest import PREFERENCES_DIGEST
from poller.store.signal_schema import SIGNAL_TABLES


@migrations()
def m009_event_rereads(db: Database) -> None:
    # Re-reads asked for outside a cycle (EventBridge events; library calls, with their claim), read by a targeted run
    # or the next cycle (poller.run.rereads); a claim's decision (done_at, event_key, outcome) is read back by its caller.
    db.executescript("""CREATE TABLE event_rereads (id INTEGER PRIMARY KEY, subject_type TEXT NOT NULL,
        subject_id TEXT NOT NULL, source TEXT NOT NULL, claim TEXT, requested_at TEXT NOT NULL, done_at TEXT,
        event_key TEXT, outcome TEXT);
        CREATE INDEX event_rereads_open ON event_rereads (done_at, subject_type, subject_id);""")


@migrations()
def m010_sink_routes(db: Database) -> None:
    # Sinks beyond HubSpot (Slack, SNS) lay out their own message from the notification's words in parts (its card,
    # JSON), kept on their rows; HubSpot's rows keep their HTML bodies and no card. A column added, nothing rebuilt:
    # the views select `*` from the outbox and pick it up.
    db.execute("ALTER TABLE outbox ADD COLUMN card TEXT")


@migrations()
def m011_preferences_digest(db: Database) -> None:
    # Owners' preferences, digests and manager roll-ups: the outbox columns and states (see schema_digest.py).
    for statement in _statements(PREFERENCES_DIGEST):
        db.execute(statement)


@migrations()
def m012_signals(db: Database) -> None:
    # Funding (Partner Central Benefits): the applications and allocations last read, to find decisions and expiries.
    for statement in _statements(SIGNAL_TABLES):  # not executescript (which commits first): one transaction
        db.execute(statement)
