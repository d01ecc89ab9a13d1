"""The schema history of the state database, applied in order by `open_store()`."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from poller.store.schema import CORE_TABLES
from poller.store.signal_schema import SIGNAL_TABLES

migrations = Migrations("poller-state")


@migrations()
def m001_core_tables(db: Database) -> None:
    db.executescript(CORE_TABLES)


@migrations()
def m002_operator_views(db: Database) -> None:
    db.executescript(
        """
        CREATE VIEW outbox_status AS
        SELECT *,
            CASE
                WHEN task_state = 'unroutable' THEN 'unroutable'
                WHEN task_state = 'failed' OR note_state = 'failed' THEN 'failed'
                WHEN task_state = 'unknown' OR note_state = 'unknown' THEN 'unknown'
                WHEN task_state = 'sending' OR note_state = 'sending' THEN 'sending'
                WHEN task_state = 'done' AND note_state IN ('done', 'none') THEN 'done'
                ELSE 'pending'
            END AS status
        FROM outbox;

        CREATE VIEW last_runs AS
        SELECT id, mode, status, started_at, duration_ms, pages, opportunities_changed, swept, events, delivered,
               parked, cursor_before, cursor_after, api_calls, deferred, skipped_ids, error
        FROM runs ORDER BY id DESC LIMIT 50;

        CREATE VIEW outbox_attention AS
        SELECT event_key, kind, subject_id, deal_id, owner_id, status, task_state, note_state, attempts,
               route_reason, last_error, created_at, updated_at
        FROM outbox_status WHERE status != 'done' ORDER BY created_at;

        CREATE VIEW opportunity_timeline AS
        SELECT opportunity_id AS subject_id, observed_at AS at, 'snapshot' AS entry,
               'last_modified ' || last_modified || CASE WHEN baseline THEN ' (baseline)' ELSE '' END AS detail
        FROM snapshot_history
        UNION ALL
        SELECT subject_id, detected_at, 'event', kind || ' ' || priority || ' ' || key FROM events
        UNION ALL
        SELECT subject_id, updated_at, 'delivery',
               'task ' || task_state || COALESCE(' #' || task_id, '') || ', note ' || note_state
               || COALESCE(' #' || note_id, '') || COALESCE(' → owner ' || owner_id, '')
        FROM outbox;

        CREATE VIEW budget_today AS
        SELECT host, calls FROM api_usage WHERE day = strftime('%Y-%m-%d', 'now');
        """
    )


@migrations()
def m003_refetch_baseline(db: Database) -> None:
    # A record skipped during the silent baseline stays silent when it is finally read.
    db.execute("ALTER TABLE refetch ADD COLUMN baseline INTEGER NOT NULL DEFAULT 0")


@migrations()
def m004_hourly_api_calls(db: Database) -> None:
    # Partner Central's read quota is per rolling 24 h, so calls are counted per hour and summed over the last 24.
    db.executescript(
        """
        CREATE TABLE api_calls_hourly (
            hour TEXT NOT NULL,                   -- UTC, 'YYYY-MM-DDTHH'
            host TEXT NOT NULL,
            calls INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (hour, host)
        );
        INSERT INTO api_calls_hourly (hour, host, calls) SELECT day || 'T00', host, calls FROM api_usage;
        DROP VIEW budget_today;
        DROP TABLE api_usage;
        CREATE VIEW budget_today AS
        SELECT host, sum(calls) AS calls FROM api_calls_hourly
        WHERE hour >= strftime('%Y-%m-%dT00', 'now') GROUP BY host;
        CREATE VIEW budget_last_24h AS
        SELECT host, sum(calls) AS calls FROM api_calls_hourly
        WHERE hour > strftime('%Y-%m-%dT%H', 'now', '-24 hours') GROUP BY host;
        """
    )


@migrations()
def m005_unroutable_note(db: Database) -> None:
    # A note whose owner HubSpot refused after its task went out waits for a new owner: it is parked, not pending.
    db.executescript(
        """
        DROP VIEW outbox_attention;
        DROP VIEW outbox_status;
        CREATE VIEW outbox_status AS
        SELECT *,
            CASE
                WHEN task_state = 'unroutable' OR note_state = 'unroutable' THEN 'unroutable'
                WHEN task_state = 'failed' OR note_state = 'failed' THEN 'failed'
                WHEN task_state = 'unknown' OR note_state = 'unknown' THEN 'unknown'
                WHEN task_state = 'sending' OR note_state = 'sending' THEN 'sending'
                WHEN task_state = 'done' AND note_state IN ('done', 'none') THEN 'done'
                ELSE 'pending'
            END AS status
        FROM outbox;
        CREATE VIEW outbox_attention AS
        SELECT event_key, kind, subject_id, deal_id, owner_id, status, task_state, note_state, attempts,
               route_reason, last_error, created_at, updated_at
        FROM outbox_status WHERE status != 'done' ORDER BY created_at;
        """
    )


@migrations()
def m006_skipped_reasons(db: Database) -> None:
    # Why each record of a run was skipped (malformed, incomplete, an unreadable listing item): JSON {id: reason}.
    db.executescript(
        """
        ALTER TABLE runs ADD COLUMN skipped_reasons TEXT;
        DROP VIEW last_runs;
        CREATE VIEW last_runs AS
        SELECT id, mode, status, started_at, duration_ms, pages, opportunities_changed, swept, events, delivered,
               parked, cursor_before, cursor_after, api_calls, deferred, skipped_ids, skipped_reasons, error
        FROM runs ORDER BY id DESC LIMIT 50;
        """
    )


@migrations()
def m007_deal_recheck_and_outbox_history(db: Database) -> None:
    # deal_recheck: opportunities committed while HubSpot could not be read (429s past the run's budget, its daily
    # limit, an outage); their deal-dependent steps (conflicts, the deal link) run next cycle, with no Partner
    # Central read again. outbox_history: what happened to a row beyond its states (operator retries, re-routes,
    # giving up), shown by `poller state outbox` and in an opportunity's timeline.
    db.executescript(
        """
        CREATE TABLE deal_recheck (
            opportunity_id TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            marked_at TEXT NOT NULL,
            baseline INTEGER NOT NULL DEFAULT 0    -- marked during the silent baseline: stays silent
        );

        CREATE TABLE outbox_history (
            id INTEGER PRIMARY KEY,
            event_key TEXT NOT NULL REFERENCES outbox (event_key),
            at TEXT NOT NULL,
            action TEXT NOT NULL,                 -- retried | rerouted | failed
            detail TEXT
        );
        CREATE INDEX outbox_history_key ON outbox_history (event_key, id);

        DROP VIEW opportunity_timeline;
        CREATE VIEW opportunity_timeline AS
        SELECT opportunity_id AS subject_id, observed_at AS at, 'snapshot' AS entry,
               'last_modified ' || last_modified || CASE WHEN baseline THEN ' (baseline)' ELSE '' END AS detail
        FROM snapshot_history
        UNION ALL
        SELECT subject_id, detected_at, 'event', kind || ' ' || priority || ' ' || key FROM events
        UNION ALL
        SELECT subject_id, updated_at, 'delivery',
               'task ' || task_state || COALESCE(' #' || task_id, '') || ', note ' || note_state
               || COALESCE(' #' || note_id, '') || COALESCE(' → owner ' || owner_id, '')
        FROM outbox
        UNION ALL
        SELECT o.subject_id, h.at, 'outbox', h.action || ' ' || h.event_key || COALESCE(': ' || h.detail, '')
        FROM outbox_history h JOIN outbox o USING (event_key);
        """
    )


@migrations()
def m008_outbox_rows_carry_their_sink(db: Database) -> None:
    # One outbox row per event and sink, each with its own states, so a second sink (Slack, SNS) delivers an event
    # on its own without a new protocol: the key becomes (event_key, sink), which SQLite can only do by rebuilding
    # the table (and outbox_history, whose rows now name the row they belong to by both). Every existing row belongs
    # to HubSpot, the one sink there was; its states, attempts and history carry over, so what was pending or
    # unknown is delivered (or looked up) once, as before. Foreign keys are checked at commit, once both tables stand.
    # Statement by statement, not executescript (which commits first): the rebuild and its record are one transaction.
    db.execute("PRAGMA defer_foreign_keys = ON")
    for statement in _statements(
        """
        DROP VIEW outbox_attention;
        DROP VIEW outbox_status;
        DROP VIEW opportunity_timeline;

        CREATE TABLE outbox_v8 (
            event_key TEXT NOT NULL REFERENCES events (key),
            sink TEXT NOT NULL DEFAULT 'hubspot',  -- where it goes: hubspot (a task and a note)
            kind TEXT NOT NULL,
            subject_id TEXT NOT NULL,
            deal_id TEXT,
            priority TEXT NOT NULL,
            due_at TEXT NOT NULL,
            subject TEXT NOT NULL,
            task_body TEXT NOT NULL,
            note_body TEXT,
            owner_id TEXT,                        -- the recipient, once routed
            route_reason TEXT,                    -- why the row is parked (unroutable), or how it was routed
            task_state TEXT NOT NULL DEFAULT 'pending',  -- pending | sending | done | failed | unknown | unroutable
            task_id TEXT,
            note_state TEXT NOT NULL DEFAULT 'pending',  -- same states, or 'none' when there is no note
            note_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            sending_since TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (event_key, sink)
        );
        INSERT INTO outbox_v8 (event_key, sink, kind, subject_id, deal_id, priority, due_at, subject, task_body,
                               note_body, owner_id, route_reason, task_state, task_id, note_state, note_id, attempts,
                               last_error, sending_since, created_at, updated_at)
        SELECT event_key, 'hubspot', kind, subject_id, deal_id, priority, due_at, subject, task_body, note_body,
               owner_id, route_reason, task_state, task_id, note_state, note_id, attempts, last_error, sending_since,
               created_at, updated_at
        FROM outbox;

        CREATE TABLE outbox_history_v8 (
            id INTEGER PRIMARY KEY,
            event_key TEXT NOT NULL,
            sink TEXT NOT NULL DEFAULT 'hubspot',
            at TEXT NOT NULL,
            action TEXT NOT NULL,                 -- retried | rerouted | failed
            detail TEXT,
            FOREIGN KEY (event_key, sink) REFERENCES outbox_v8 (event_key, sink)
        );
        INSERT INTO outbox_history_v8 (id, event_key, sink, at, action, detail)
        SELECT id, event_key, 'hubspot', at, action, detail FROM outbox_history;

        DROP TABLE outbox_history;
        DROP TABLE outbox;
        ALTER TABLE outbox_v8 RENAME TO outbox;
        ALTER TABLE outbox_history_v8 RENAME TO outbox_history;
        CREATE INDEX outbox_states ON outbox (sink, task_state, note_state);
        CREATE INDEX outbox_history_key ON outbox_history (event_key, sink, id);

        CREATE VIEW outbox_status AS
        SELECT *,
            CASE
                WHEN task_state = 'unroutable' OR note_state = 'unroutable' THEN 'unroutable'
                WHEN task_state = 'failed' OR note_state = 'failed' THEN 'failed'
                WHEN task_state = 'unknown' OR note_state = 'unknown' THEN 'unknown'
                WHEN task_state = 'sending' OR note_state = 'sending' THEN 'sending'
                WHEN task_state = 'done' AND note_state IN ('done', 'none') THEN 'done'
                ELSE 'pending'
            END AS status
        FROM outbox;
        CREATE VIEW outbox_attention AS
        SELECT event_key, sink, kind, subject_id, deal_id, owner_id, status, task_state, note_state, attempts,
               route_reason, last_error, created_at, updated_at
        FROM outbox_status WHERE status != 'done' ORDER BY created_at;

        CREATE VIEW opportunity_timeline AS
        SELECT opportunity_id AS subject_id, observed_at AS at, 'snapshot' AS entry,
               'last_modified ' || last_modified || CASE WHEN baseline THEN ' (baseline)' ELSE '' END AS detail
        FROM snapshot_history
        UNION ALL
        SELECT subject_id, detected_at, 'event', kind || ' ' || priority || ' ' || key FROM events
        UNION ALL
        SELECT subject_id, updated_at, 'delivery',
               'task ' || task_state || COALESCE(' #' || task_id, '') || ', note ' || note_state
               || COALESCE(' #' || note_id, '') || COALESCE(' → owner ' || owner_id, '')
        FROM outbox
        UNION ALL
        SELECT o.subject_id, h.at, 'outbox', h.action || ' ' || h.event_key || COALESCE(': ' || h.detail, '')
        FROM outbox_history h JOIN outbox o USING (event_key, sink);
        """
    ):
        db.execute(statement)


def _statements(script: str) -> list[str]:
    """The statements of a script, each complete (no statement here holds a `;` inside a string)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    return statements


@migrations()
def m012_signals(db: Database) -> None:
    # Funding (Partner Central Benefits): the applications and allocations last read, to find decisions and expiries.
    for statement in _statements(SIGNAL_TABLES):  # not executescript (which commits first): one transaction
        db.execute(statement)
