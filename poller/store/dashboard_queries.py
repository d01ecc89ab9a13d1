"""The history dashboard's canned queries, its chart's query, and the columns its connections may read.

`poller dashboard` serves the state database through Datasette. Everything it shows comes from here: the canned
queries (SQL lives in the store) and `guard`, which makes every column that is not listed in `READABLE` read as
NULL on the dashboard's connections, whatever SQL a browser sends: no emails or names of HubSpot owners, no
snapshot, invitation or event JSON, no task or note bodies. A column added later stays hidden until it is listed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

# Columns the dashboard may read, by table: what `poller state` shows, and nothing personal. A table that is not
# here (a new one, from a later migration) reads as NULL until someone decides to list it.
READABLE: dict[str, frozenset[str]] = {name: frozenset(columns.split()) for name, columns in {
    "_sqlite_migrations": "id migration_set name applied_at",
    "opportunities": "opportunity_id catalog last_modified hash aws_fingerprint aws_revision deal_id review_status "
                     "stage is_open first_seen_at updated_at aws_read_at sweep_due_at",  # not: snapshot
    "snapshot_history": "id opportunity_id last_modified hash aws_revision observed_at run_id baseline",  # not: snapshot
    "invitations": "invitation_id catalog status invitation_date project_title first_seen_at updated_at "
                   "notified_event_key",  # not: record (the sender's contacts)
    "deals": "deal_id found owner_id dealname amount closedate read_at",
    "reconciled": "opportunity_id field pc_value deal_value raised_at updated_at",
    "events": "key kind subject_id deal_id priority due_hours occurred_at detected_at source run_id",  # not: payload
    "outbox": "event_key sink kind subject_id deal_id priority due_at subject owner_id route_reason task_state "
              "task_id note_state note_id attempts last_error sending_since created_at updated_at",  # not: bodies
    "outbox_history": "id event_key sink at action detail",
    "refetch": "opportunity_id reason first_failed_at attempts baseline",
    "deal_recheck": "opportunity_id reason marked_at baseline",
    "cursors": "name value updated_at",
    "runs": "id mode status started_at finished_at duration_ms cursor_before cursor_after pages opportunities_changed "
            "swept events delivered parked deferred skipped_ids skipped_reasons api_calls error pid host",
    "lease": "name holder pid host acquired_at heartbeat_at expires_at",
    "budget": "name capacity refill_per_second tokens updated_at",
    "api_calls_hourly": "hour host calls",
    "owners_cache": "owner_id active fetched_at",  # not: email, first_name, last_name
    "meta": "key value",
}.items()}
# Table-valued functions SQLite reports as tables; they read only what their arguments hand them.
_FUNCTION_TABLES = ("json_each", "json_tree")


@dataclass(frozen=True, slots=True)
class CannedQuery:
    """One named, read-only query on the dashboard; `params` are the named parameters its page asks for."""

    name: str
    title: str
    description: str
    sql: str
    params: tuple[str, ...] = ()


NOTIFICATIONS_PER_DAY = CannedQuery(
    "notifications_per_day", "Notifications per day",
    "Events detected per UTC day and kind (each is one notification, sent through every sink it is routed to).",
    """SELECT date(detected_at) AS day, kind, count(*) AS notifications
FROM events
GROUP BY day, kind
ORDER BY day DESC, kind""")

CANNED: tuple[CannedQuery, ...] = (
    CannedQuery(
        "notifications_by_owner", "Notifications by owner",
        "Outbox rows per recipient (HubSpot owner id) and sink: how many were delivered, how many wait, how many "
        "are parked (failed, unknown, unroutable), and the latest.",
        """SELECT COALESCE(owner_id, '(not routed)') AS owner_id, sink,
       count(*) AS notifications,
       sum(status = 'done') AS delivered,
       sum(status IN ('pending', 'sending')) AS waiting,
       sum(status IN ('failed', 'unknown', 'unroutable')) AS parked,
       max(created_at) AS latest
FROM outbox_status
GROUP BY owner_id, sink
ORDER BY notifications DESC, owner_id, sink"""),
    CannedQuery(
        "notifications_by_deal", "Notifications by deal",
        "Events per HubSpot deal and opportunity, with the kinds announced; invitations have no deal yet.",
        """SELECT COALESCE(e.deal_id, '(no deal)') AS deal_id, d.dealname, e.subject_id AS opportunity_id,
       count(*) AS notifications, group_concat(DISTINCT e.kind) AS kinds,
       min(e.detected_at) AS first, max(e.detected_at) AS latest
FROM events e LEFT JOIN deals d ON d.deal_id = e.deal_id
GROUP BY e.deal_id, e.subject_id
ORDER BY latest DESC"""),
    CannedQuery(
        "notifications_by_kind_per_week", "Notifications by kind per week",
        "Events per kind in each week (weeks start on Monday, UTC).",
        """SELECT date(detected_at, 'weekday 0', '-6 days') AS week_of, kind, count(*) AS notifications
FROM events
GROUP BY week_of, kind
ORDER BY week_of DESC, notifications DESC, kind"""),
    NOTIFICATIONS_PER_DAY,
    CannedQuery(
        "deliveries_not_done", "Pending, unknown and failed deliveries",
        "Every outbox row not delivered yet, the worst first: failed (retry with `poller outbox retry`), unknown "
        "(looked up before any resend), unroutable (why: route_reason), sending, pending.",
        """SELECT status, event_key, sink, kind, subject_id AS opportunity_id, deal_id, owner_id, task_state,
       note_state, attempts, route_reason, last_error, created_at, updated_at
FROM outbox_attention
ORDER BY CASE status WHEN 'failed' THEN 0 WHEN 'unknown' THEN 1 WHEN 'unroutable' THEN 2 WHEN 'sending' THEN 3
         ELSE 4 END, created_at"""),
    CannedQuery(
        "last_runs", "Last runs with API use",
        "The 50 latest runs, newest first: outcome, counts, and API calls per host (Partner Central's read quota is "
        "per rolling 24 h).",
        """SELECT id, mode, status, started_at, duration_ms, opportunities_changed, events, delivered, parked,
       (SELECT sum(value) FROM json_each(api_calls)) AS api_calls_total,
       json_extract(api_calls, '$.partner_central') AS partner_central_calls,
       json_extract(api_calls, '$.hubspot') AS hubspot_calls,
       api_calls, deferred, error
FROM last_runs"""),
    CannedQuery(
        "opportunity_timeline", "An opportunity's timeline",
        "One opportunity's (or invitation's) snapshots, events, deliveries and operator actions, in time order.",
        """SELECT at, entry, detail
FROM opportunity_timeline
WHERE subject_id = :opportunity_id
ORDER BY at, entry""",
        ("opportunity_id",)),
)


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection for the dashboard: read-only (`mode=ro`, so even a Datasette plugin that asks to write cannot:
    WAL keeps readers and a running job apart, where `immutable=1` would read a live file wrongly) and guarded."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    guard(conn)
    return conn


def guard(conn: sqlite3.Connection) -> None:
    """Make `conn` read only the READABLE columns: any other column of a table reads as NULL (in results and in
    WHERE clauses alike, so nothing can be inferred from it); ATTACH is refused. What is seen, not whether the file
    can change: `connect` opens it read-only for that."""
    views = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}

    def authorize(action: int, table: str | None, column: str | None, _db: str | None, _via: str | None) -> int:
        if action == sqlite3.SQLITE_ATTACH:
            return sqlite3.SQLITE_DENY
        if action != sqlite3.SQLITE_READ or table is None or column is None:
            return sqlite3.SQLITE_OK
        # A view's own columns come from tables that are checked in turn; `count(*)` reads column "".
        if table in views or table in _FUNCTION_TABLES or table.startswith(("sqlite_", "pragma_")) or column == "":
            return sqlite3.SQLITE_OK
        readable = READABLE.get(table, frozenset())
        if column in readable or (column.lower() == "rowid" and readable):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_IGNORE

    conn.set_authorizer(authorize)
