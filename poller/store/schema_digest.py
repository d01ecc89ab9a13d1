"""The schema of owners' preferences, digests and roll-ups (migration m011), as SQL text."""

# Each routed row is decided once (decided_at): sent (released_at: the flood guard counts these), held for a digest
# until hold_until (task_state `held`), folded into a digest (`digested`, digest_key names it) or suppressed
# (`suppressed`: never delivered, kept with the reason in `decision`). remind_at: a reminder moved out of quiet hours.
# Digests and roll-ups are rows like any other, with their own events (kind `digest`, `manager_rollup`).
PREFERENCES_DIGEST = """
        ALTER TABLE outbox ADD COLUMN decision TEXT;
        ALTER TABLE outbox ADD COLUMN decided_at TEXT;
        ALTER TABLE outbox ADD COLUMN hold_until TEXT;
        ALTER TABLE outbox ADD COLUMN digest_key TEXT;
        ALTER TABLE outbox ADD COLUMN remind_at TEXT;
        ALTER TABLE outbox ADD COLUMN released_at TEXT;
        CREATE INDEX outbox_holds ON outbox (sink, task_state, hold_until);
        CREATE INDEX outbox_released ON outbox (sink, released_at);
        CREATE INDEX outbox_owner ON outbox (owner_id, created_at);
        DROP VIEW outbox_attention;
        DROP VIEW outbox_status;
        CREATE VIEW outbox_status AS
        SELECT *,
            CASE
                WHEN task_state = 'suppressed' THEN 'suppressed'
                WHEN task_state = 'digested' THEN 'digested'
                WHEN task_state = 'held' THEN 'held'
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
               route_reason, last_error, created_at, updated_at, decision, hold_until
        FROM outbox_status WHERE status NOT IN ('done', 'suppressed', 'digested') ORDER BY created_at;
        """
