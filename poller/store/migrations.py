"""The schema history of the state database, applied in order by `open_store()`."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("poller-state")


@migrations()
def m001_core_tables(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE opportunities (
            opportunity_id TEXT PRIMARY KEY,
            catalog TEXT NOT NULL,
            last_modified TEXT NOT NULL,          -- AWS-supplied LastModifiedDate of the stored snapshot
            hash TEXT NOT NULL,
            aws_fingerprint TEXT,
            aws_revision INTEGER NOT NULL DEFAULT 0,  -- counts changes of the AWS view; part of AWS event keys
            deal_id TEXT,
            review_status TEXT,
            stage TEXT,
            is_open INTEGER NOT NULL DEFAULT 1,    -- swept while open
            snapshot TEXT NOT NULL,               -- JSON of core.model.Snapshot
            first_seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            aws_read_at TEXT,
            sweep_due_at TEXT
        );
        CREATE INDEX opportunities_sweep ON opportunities (is_open, sweep_due_at);
        CREATE INDEX opportunities_deal ON opportunities (deal_id);

        CREATE TABLE snapshot_history (
            id INTEGER PRIMARY KEY,
            opportunity_id TEXT NOT NULL,
            last_modified TEXT NOT NULL,
            hash TEXT NOT NULL,
            aws_revision INTEGER NOT NULL,
            observed_at TEXT NOT NULL,
            run_id INTEGER,
            baseline INTEGER NOT NULL DEFAULT 0,
            snapshot TEXT NOT NULL
        );
        CREATE INDEX snapshot_history_opportunity ON snapshot_history (opportunity_id, id);
        CREATE INDEX snapshot_history_observed ON snapshot_history (observed_at);

        CREATE TABLE invitations (
            invitation_id TEXT PRIMARY KEY,
            catalog TEXT NOT NULL,
            status TEXT,
            invitation_date TEXT,
            project_title TEXT,
            record TEXT NOT NULL,                 -- JSON of core.model.Invitation
            first_seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            notified_event_key TEXT
        );

        CREATE TABLE deals (
            deal_id TEXT PRIMARY KEY,
            found INTEGER NOT NULL,
            owner_id TEXT,
            dealname TEXT,
            amount TEXT,
            closedate TEXT,
            read_at TEXT NOT NULL
        );

        CREATE TABLE reconciled (
            opportunity_id TEXT NOT NULL,
            field TEXT NOT NULL,
            pc_value TEXT,
            deal_value TEXT,
            raised_at TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (opportunity_id, field)
        );

        CREATE TABLE events (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            subject_id TEXT NOT NULL,
            deal_id TEXT,
            priority TEXT NOT NULL,
            due_hours INTEGER NOT NULL,
            occurred_at TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            source TEXT NOT NULL,                 -- cycle | sweep | invitations | backfill | api
            run_id INTEGER,
            payload TEXT NOT NULL
        );
        CREATE INDEX events_subject ON events (subject_id, detected_at);

        CREATE TABLE outbox (
            event_key TEXT PRIMARY KEY REFERENCES events (key),
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
            updated_at TEXT NOT NULL
        );
        CREATE INDEX outbox_states ON outbox (task_state, note_state);

        CREATE TABLE refetch (
            opportunity_id TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            first_failed_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 1
        );

        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            value TEXT,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            mode TEXT NOT NULL,                   -- run | dry-run | daemon | backfill | demo
            status TEXT NOT NULL,                 -- running | ok | partial | skipped | failed
            started_at TEXT NOT NULL,
            finished_at TEXT,
            duration_ms INTEGER,
            cursor_before TEXT,
            cursor_after TEXT,
            pages INTEGER NOT NULL DEFAULT 0,
            opportunities_changed INTEGER NOT NULL DEFAULT 0,
            swept INTEGER NOT NULL DEFAULT 0,
            events INTEGER NOT NULL DEFAULT 0,
            delivered INTEGER NOT NULL DEFAULT 0,
            parked INTEGER NOT NULL DEFAULT 0,
            deferred TEXT,                        -- what was left for the next cycle, and why
            skipped_ids TEXT,                     -- JSON list of malformed record ids
            api_calls TEXT,                       -- JSON {host: calls}
            error TEXT,
            pid INTEGER,
            host TEXT
        );

        CREATE TABLE lease (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            acquired_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );

        CREATE TABLE budget (
            name TEXT PRIMARY KEY,                -- hubspot | partner_central
            capacity REAL NOT NULL,
            refill_per_second REAL NOT NULL,
            tokens REAL NOT NULL,
            updated_at REAL NOT NULL
        );

        CREATE TABLE api_usage (
            day TEXT NOT NULL,
            host TEXT NOT NULL,
            calls INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, host)
        );

        CREATE TABLE owners_cache (
            owner_id TEXT PRIMARY KEY,
            email TEXT,
            first_name TEXT,
            last_name TEXT,
            active INTEGER NOT NULL,
            fetched_at TEXT NOT NULL
        );

        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """
    )


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
