"""Events and the delivery outbox: one row per event, task and note states tracked separately (write-ahead)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from sqlite_utils import Database

from poller.core.model import Event, Notification
from poller.redaction import redact

# States of each half (task, note) of an outbox row.
PENDING, SENDING, DONE, FAILED, UNKNOWN, UNROUTABLE, NONE = (
    "pending", "sending", "done", "failed", "unknown", "unroutable", "none")
DEFAULT_SINK = "hubspot"  # the sink every row had before rows named theirs (m008), and the one there is
FAILED_ROW = "(task_state = 'failed' OR note_state = 'failed')"


class Outbox:
    def __init__(self, db: Database):
        self.db = db

    def record_events(self, events: Iterable[Event], *, detected_at: str, source: str, run_id: int | None) -> set[str]:
        """Insert events whose key is new; return the keys that were new (the others were seen before)."""
        fresh: set[str] = set()
        for event in events:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO events (key, kind, subject_id, deal_id, priority, due_hours, occurred_at,"
                " detected_at, source, run_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [event.key, event.kind, event.subject_id, event.deal_id, event.priority, event.due_hours,
                 event.occurred_at, detected_at, source, run_id, json.dumps(asdict(event), default=str)])
            if cursor.rowcount:
                fresh.add(event.key)
        return fresh

    def known_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.db.execute(f"SELECT key FROM events WHERE key IN ({marks})", chunk))
        return found

    def enqueue(self, notifications: Iterable[Notification], now: str, *, sinks: Sequence[str] = (DEFAULT_SINK,)) -> int:
        """One row per notification and sink, each with its own states; a row already there stays as it is."""
        count = 0
        for n in notifications:
            for sink in sinks:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO outbox (event_key, sink, kind, subject_id, deal_id, priority, due_at, subject,"
                    " task_body, note_body, note_state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [n.event_key, sink, n.kind, n.subject_id, n.deal_id, n.priority, n.due_at, n.subject, n.task_body,
                     n.note_body, PENDING if n.note_body is not None else NONE, now, now])
                count += cursor.rowcount
        return count

    # --- delivery bookkeeping
    def rows(self, where: str, params: Sequence[Any] = (), limit: int | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT * FROM outbox WHERE {where} ORDER BY created_at, event_key"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return list(self.db.query(sql, list(params)))

    def set_route(self, key: str, owner_id: str | None, reason: str, now: str) -> None:
        """Route a row to an owner, or park it (owner None) with the reason: its task, or its note if the task is out."""
        if owner_id is None:
            self.db.execute(
                "UPDATE outbox SET owner_id = NULL, route_reason = ?, updated_at = ?,"
                " task_state = CASE WHEN task_state IN (?, ?) THEN ? ELSE task_state END,"
                " note_state = CASE WHEN task_state NOT IN (?, ?) AND note_state IN (?, ?) THEN ? ELSE note_state END"
                " WHERE event_key = ?",
                [reason, now, PENDING, UNROUTABLE, UNROUTABLE, PENDING, UNROUTABLE, PENDING, UNROUTABLE, UNROUTABLE,
                 key])
        else:
            self.db.execute(
                "UPDATE outbox SET owner_id = ?, route_reason = ?, updated_at = ?,"
                " task_state = CASE WHEN task_state = ? THEN ? ELSE task_state END,"
                " note_state = CASE WHEN note_state = ? THEN ? ELSE note_state END WHERE event_key = ?",
                [owner_id, reason, now, UNROUTABLE, PENDING, UNROUTABLE, PENDING, key])

    def unroute(self, key: str, reason: str, now: str) -> None:
        """Forget a row's owner (HubSpot refused it) so that routing resolves one again."""
        self.db.execute("UPDATE outbox SET owner_id = NULL, route_reason = ?, updated_at = ? WHERE event_key = ?",
                        [redact(reason), now, key])

    def mark(self, part: str, keys: Sequence[str], state: str, now: str, *, object_ids: dict[str, str] | None = None,
             error: str | None = None, count_attempt: bool = False) -> None:
        """Set the state of the task or note half of rows; `sending` is written (and committed) before the request."""
        column = {"task": "task", "note": "note"}[part]
        for key in keys:
            self.db.execute(
                f"UPDATE outbox SET {column}_state = ?, {column}_id = COALESCE(?, {column}_id),"
                # done clears the error, unless the other half failed: its reason must stay visible
                " last_error = CASE WHEN ? IS NULL AND ? = 'done' AND 'failed' NOT IN (task_state, note_state)"
                " THEN NULL ELSE COALESCE(?, last_error) END,"
                " attempts = attempts + ?, sending_since = CASE WHEN ? = 'sending' THEN ? ELSE sending_since END,"
                " updated_at = ? WHERE event_key = ?",
                [state, (object_ids or {}).get(key), error, state, error and redact(error), int(count_attempt), state, now,
                 now, key])

    # --- history: what happened to a row beyond its states (operator retries, re-routes, giving up)
    def note(self, key: str, action: str, detail: str | None, now: str) -> None:
        self.db.execute("INSERT INTO outbox_history (event_key, at, action, detail) VALUES (?, ?, ?, ?)",
                        [key, now, action, detail])

    def history(self, keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"SELECT event_key, at, action, detail FROM outbox_history "
                                     f"WHERE event_key IN ({marks}) ORDER BY id", chunk):
                found.setdefault(row.pop("event_key"), []).append(row)
        return found

    def failed(self, *, kinds: Sequence[str] = (), since: str | None = None) -> list[dict[str, Any]]:
        """Rows with a failed half, of these kinds (all when empty), failed at or after `since` (as their history
        says; a row failed before the history was kept: its last update)."""
        where, params = [FAILED_ROW], []
        if kinds:
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        if since is not None:
            where.append("COALESCE((SELECT max(h.at) FROM outbox_history h WHERE h.event_key = outbox.event_key"
                         " AND h.action = 'failed'), updated_at) >= ?")
            params.append(since)
        return self.rows(" AND ".join(where), params)

    def retry_failed(self, keys: Sequence[str], now: str, by: str) -> int:
        """Put the failed halves of these rows back to `pending` with a fresh attempt count; record it per row."""
        rows = [row for start in range(0, len(keys), 500) for row in self.rows(
            f"event_key IN ({','.join('?' * len(keys[start:start + 500]))}) AND {FAILED_ROW}", keys[start:start + 500])]
        for row in rows:
            halves = [part for part in ("task", "note") if row[f"{part}_state"] == FAILED]
            self.db.execute(
                "UPDATE outbox SET task_state = CASE WHEN task_state = ? THEN ? ELSE task_state END,"
                " note_state = CASE WHEN note_state = ? THEN ? ELSE note_state END,"
                " attempts = 0, updated_at = ? WHERE event_key = ?",
                [FAILED, PENDING, FAILED, PENDING, now, row["event_key"]])
            self.note(row["event_key"], "retried", f"{' and '.join(halves)} back to pending {by} "
                                                   f"(after {row['attempts']} attempts: {row['last_error'] or '-'})",
                      now)
        return len(rows)

    def counts(self) -> dict[str, int]:
        return {row["status"]: row["n"] for row in
                self.db.query("SELECT status, count(*) AS n FROM outbox_status GROUP BY status")}
