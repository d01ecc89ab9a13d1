"""Read-only queries behind `poller state`: the same answers the views give to sqlite3 and sqlite-utils users."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlite_utils import Database

from poller.store.outbox import Outbox

OUTBOX_STATUSES = ("pending", "sending", "done", "failed", "unknown", "unroutable", "held", "digested", "suppressed")


def runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    rows = list(db.query("SELECT * FROM last_runs LIMIT ?", [limit]))
    for row in rows:
        for key in ("api_calls", "skipped_ids", "skipped_reasons"):
            if row.get(key):
                row[key] = json.loads(row[key])
    return rows


def outbox(db: Database, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    columns = ("event_key, sink, kind, subject_id, deal_id, owner_id, priority, due_at, status, task_state, task_id, "
               "note_state, note_id, attempts, route_reason, last_error, subject, created_at, updated_at, decision, "
               "hold_until, digest_key, remind_at")
    if status is None:
        rows = list(db.query(f"SELECT {columns} FROM outbox_status ORDER BY created_at DESC LIMIT ?", [limit]))
    else:
        rows = list(db.query(f"SELECT {columns} FROM outbox_status WHERE status = ? ORDER BY created_at LIMIT ?",
                             [status, limit]))
    history = Outbox(db).history([r["event_key"] for r in rows])  # operator retries, re-routes, giving up
    for row in rows:
        row["history"] = history.get(row["event_key"], [])
    return rows


def outbox_counts(db: Database) -> dict[str, int]:
    return {r["status"]: r["n"] for r in db.query("SELECT status, count(*) AS n FROM outbox_status GROUP BY status")}


def opportunity(db: Database, opportunity_id: str) -> dict[str, Any] | None:
    row = next(db.query("SELECT * FROM opportunities WHERE opportunity_id = ?", [opportunity_id]), None)
    if row is None:
        return None
    row["snapshot"] = json.loads(row["snapshot"])
    row["timeline"] = list(db.query(
        "SELECT at, entry, detail FROM opportunity_timeline WHERE subject_id = ? ORDER BY at, entry", [opportunity_id]))
    return row


def cursors(db: Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT name, value, updated_at FROM cursors ORDER BY name"))


def budget(db: Database, now: dt.datetime) -> dict[str, Any]:
    """API calls per host today (UTC) and in the last 24 hours, and the persisted request budgets."""
    day = now.astimezone(dt.UTC).strftime("%Y-%m-%d")
    since = (now - dt.timedelta(hours=24)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H")
    usage = {r["host"]: r["calls"] for r in db.query(
        "SELECT host, sum(calls) AS calls FROM api_calls_hourly WHERE hour LIKE ? GROUP BY host", [f"{day}T%"])}
    last_24h = {r["host"]: r["calls"] for r in db.query(
        "SELECT host, sum(calls) AS calls FROM api_calls_hourly WHERE hour > ? GROUP BY host", [since])}
    buckets = list(db.query("SELECT name, capacity, refill_per_second, tokens, updated_at FROM budget ORDER BY name"))
    return {"day": day, "calls": usage, "calls_last_24h": last_24h, "buckets": buckets}


def owner(db: Database, id_or_email: str) -> dict[str, Any] | None:
    """A HubSpot owner as last read (owners_cache), by id or email."""
    return next(db.query("SELECT owner_id, email, first_name, last_name, active FROM owners_cache"
                         " WHERE owner_id = ? OR lower(email) = lower(?)", [id_or_email, id_or_email]), None)
