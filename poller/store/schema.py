"""The first schema (migration m001): the tables the job started with, as SQL text."""

CORE_TABLES = """
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
