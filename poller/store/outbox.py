"""Events and the delivery outbox: one row per event and sink, its parts' states tracked apart (write-ahead)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

from sqlite_utils import Database

from poller.core.model import Event, Notification
from poller.core.routes import SinkRoute
from poller.redaction import redact

DEFAULT_SINK = "hubspot"  # the sink every row had before rows named theirs (m008), and the one there is
CHUNK = 500  # keys per `IN (…)`, well under SQLite's variable limit


class Part(StrEnum):
    """The halves of a row a sink sends on their own: the task (every row) and the note (rows with a deal)."""

    TASK = "task"
    NOTE = "note"


class State(StrEnum):
    """The state of one part of a row; `sending` is committed before the request leaves (write-ahead)."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
    UNROUTABLE = "unroutable"
    NONE = "none"  # the row has no such part (an invitation has no note)
    HELD = "held"  # waits for its owner's digest (hold_until), or for the deal's flood guard to let it go
    DIGESTED = "digested"  # folded into a digest (digest_key), which is delivered in its place
    SUPPRESSED = "suppressed"  # the owner's preferences say no (muted, below the minimum, off, reverted): never sent


class OutboxRow(TypedDict):
    event_key: str
    sink: str
    kind: str
    subject_id: str
    deal_id: str | None
    priority: str
    due_at: str
    subject: str
    task_body: str
    note_body: str | None
    owner_id: str | None
    route_reason: str | None
    task_state: str
    task_id: str | None
    note_state: str
    note_id: str | None
    attempts: int
    last_error: str | None
    sending_since: str | None
    created_at: str
    updated_at: str
    card: str | None  # JSON of the notification's card, for sinks that lay out their own message (m010)
    # Owners' preferences (m011): why the row went as it did, a digest it waits for or joined, a moved reminder.
    decision: NotRequired[str | None]
    hold_until: NotRequired[str | None]
    digest_key: NotRequired[str | None]
    remind_at: NotRequired[str | None]


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def select_rows(db: Database, where: str, params: Sequence[Any] = (), limit: int | None = None) -> list[OutboxRow]:
    """Rows matching a condition written in this package, oldest first (the order the outbox sends them)."""
    sql = f"SELECT * FROM outbox WHERE {where} ORDER BY created_at, event_key"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return list(db.query(sql, list(params)))  # type: ignore[arg-type]


class Outbox:
    def __init__(self, db: Database):
        self.db = db

    # --- events: what was detected, once per key
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

    def kinds_recorded(self, subject_id: str, run_id: int) -> set[str]:
        """The kinds of event a run recorded for one opportunity."""
        return {kind for (kind,) in self.db.execute(
            "SELECT kind FROM events WHERE subject_id = ? AND run_id = ?", [subject_id, run_id])}

    # --- rows
    def enqueue(self, notifications: Iterable[Notification], now: str, *,
                sinks: Sequence[str | SinkRoute] = (DEFAULT_SINK,)) -> int:
        """One row per notification and sink that takes it (its route: kinds, lowest priority), each with its own
        states; a row already there stays as it is. A sink named without a route takes everything, with a note."""
        routes = [SinkRoute(sink=s, notes=True) if isinstance(s, str) else s for s in sinks]
        count = 0
        for n in notifications:
            for route in routes:
                if not route.takes(n.kind, n.priority):
                    continue
                note = n.note_body if route.notes else None
                card = None if route.notes or n.card is None else n.card.to_json()
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO outbox (event_key, sink, kind, subject_id, deal_id, priority, due_at, subject,"
                    " task_body, note_body, note_state, card, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [n.event_key, route.sink, n.kind, n.subject_id, n.deal_id, n.priority, n.due_at, n.subject,
                     n.task_body, note, State.PENDING if note is not None else State.NONE, card, now, now])
                count += cursor.rowcount
        return count

    def sent_tasks(self) -> list[dict[str, Any]]:
        """Rows whose task was created, each with the run that found its event (`run_id`)."""
        return list(self.db.query("SELECT o.*, e.run_id FROM outbox o JOIN events e ON e.key = o.event_key"
                                  " WHERE o.task_id IS NOT NULL"))

    def in_send_order(self) -> list[OutboxRow]:
        """Every row, in the order the outbox sends them: oldest first."""
        return select_rows(self.db, "1 = 1")

    # --- what the delivery protocol reads
    def sendable(self, sink: str, part: Part, *, needs_deal: bool, limit: int) -> list[OutboxRow]:
        """Rows whose `part` waits to be sent and that have a recipient (and a deal, where the part needs one)."""
        return select_rows(self.db, f"sink = ? AND {part}_state = ? AND owner_id IS NOT NULL"
                          + (" AND deal_id IS NOT NULL" if needs_deal else ""), [sink, State.PENDING], limit=limit)

    def uncertain(self, sink: str, part: Part) -> list[OutboxRow]:
        """Rows whose `part` may or may not have been created: they are looked up before any resend."""
        return select_rows(self.db, f"sink = ? AND {part}_state = ?", [sink, State.UNKNOWN])

    def unrouted(self, sink: str) -> list[OutboxRow]:
        """Rows without a recipient that wait for one: pending, or parked as unroutable."""
        return select_rows(self.db, "sink = ? AND owner_id IS NULL AND (task_state IN (?, ?) OR note_state IN (?, ?))",
                          [sink, State.PENDING, State.UNROUTABLE, State.PENDING, State.UNROUTABLE])

    def awaiting_route(self, sink: str) -> int:
        """Rows pending without a recipient after routing ran (their recipient was refused in this pass)."""
        return int(self.db.execute(
            "SELECT count(*) FROM outbox WHERE sink = ? AND owner_id IS NULL"
            " AND (task_state = ? OR (note_state = ? AND task_state != ?))",
            [sink, State.PENDING, State.PENDING, State.UNROUTABLE]).fetchone()[0])

    def recorded_ids(self, sink: str, part: Part, deal_ids: Sequence[str]) -> set[str]:
        """Objects the outbox already holds for these deals (other rows' deliveries)."""
        known: set[str] = set()
        for chunk in chunks(deal_ids):
            known.update(r[0] for r in self.db.execute(
                f"SELECT {part}_id FROM outbox WHERE sink = ? AND deal_id IN ({marks(chunk)}) AND {part}_id IS NOT NULL",
                [sink, *chunk]))
        return known

    def attempts_spent(self, sink: str, keys: Sequence[str], limit: int) -> set[str]:
        """The keys of rows already sent `limit` times or more."""
        spent: set[str] = set()
        for chunk in chunks(keys):
            spent.update(r[0] for r in self.db.execute(
                f"SELECT event_key FROM outbox WHERE sink = ? AND event_key IN ({marks(chunk)}) AND attempts >= ?",
                [sink, *chunk, limit]))
        return spent

    def delivered_since(self, sink: str, since: str) -> int:
        return int(self.db.execute(
            "SELECT count(*) FROM outbox_status WHERE sink = ? AND status = ? AND updated_at >= ?",
            [sink, State.DONE, since]).fetchone()[0])

    def unsettled(self, sink: str) -> tuple[int, str | None]:
        """(how many rows have an uncertain part, when the oldest of them was sent)."""
        row = self.db.execute("SELECT count(*), min(COALESCE(sending_since, updated_at)) FROM outbox"
                              " WHERE sink = ? AND (task_state = ? OR note_state = ?)",
                              [sink, State.UNKNOWN, State.UNKNOWN]).fetchone()
        return int(row[0]), row[1]

    # --- what the delivery protocol writes
    def recover_sending(self, sink: str) -> None:
        """Parts still `sending` belong to a process that died mid-request (we hold the lease): their outcome is unknown."""
        for part in Part:
            self.db.execute(f"UPDATE outbox SET {part}_state = ? WHERE sink = ? AND {part}_state = ?",
                            [State.UNKNOWN, sink, State.SENDING])

    def set_route(self, key: str, owner_id: str | None, reason: str, now: str, *, sink: str = DEFAULT_SINK) -> None:
        """Route a row to an owner, or park it (owner None) with the reason: its task, or its note if the task is out."""
        if owner_id is None:
            self.db.execute(
                "UPDATE outbox SET owner_id = NULL, route_reason = ?, updated_at = ?,"
                " task_state = CASE WHEN task_state IN (?, ?) THEN ? ELSE task_state END,"
                " note_state = CASE WHEN task_state NOT IN (?, ?) AND note_state IN (?, ?) THEN ? ELSE note_state END"
                " WHERE event_key = ? AND sink = ?",
                [reason, now, State.PENDING, State.UNROUTABLE, State.UNROUTABLE, State.PENDING, State.UNROUTABLE,
                 State.PENDING, State.UNROUTABLE, State.UNROUTABLE, key, sink])
        else:
            self.db.execute(
                "UPDATE outbox SET owner_id = ?, route_reason = ?, updated_at = ?,"
                " task_state = CASE WHEN task_state = ? THEN ? ELSE task_state END,"
                " note_state = CASE WHEN note_state = ? THEN ? ELSE note_state END WHERE event_key = ? AND sink = ?",
                [owner_id, reason, now, State.UNROUTABLE, State.PENDING, State.UNROUTABLE, State.PENDING, key, sink])

    def unroute(self, key: str, reason: str, now: str, *, sink: str = DEFAULT_SINK) -> None:
        """Forget a row's owner (the sink refused it) so that routing resolves one again."""
        self.db.execute("UPDATE outbox SET owner_id = NULL, route_reason = ?, updated_at = ? WHERE event_key = ? AND sink = ?",
                        [redact(reason), now, key, sink])

    def drop(self, key: str, *, sink: str) -> None:
        """The row is not for this sink after all (routed to an owner outside the sink's owners): it goes, with its
        history. Never a HubSpot row: HubSpot's route takes every owner."""
        self.db.execute("DELETE FROM outbox_history WHERE event_key = ? AND sink = ?", [key, sink])
        self.db.execute("DELETE FROM outbox WHERE event_key = ? AND sink = ?", [key, sink])

    def without_deal(self, key: str, *, sink: str = DEFAULT_SINK) -> None:
        """The row's deal is gone: it goes out like an invitation's, the note's full context in its task, no note."""
        self.db.execute(
            "UPDATE outbox SET deal_id = NULL, task_body = COALESCE(note_body, task_body), note_body = NULL,"
            " note_state = ? WHERE event_key = ? AND sink = ?", [State.NONE, key, sink])

    def mark(self, part: Part | str, keys: Sequence[str], state: State | str, now: str, *, sink: str = DEFAULT_SINK,
             object_ids: Mapping[str, str] | None = None, error: str | None = None, count_attempt: bool = False) -> None:
        """Set the state of one part of rows; `sending` is written (and committed) before the request."""
        column = Part(part).value
        for key in keys:
            self.db.execute(
                f"UPDATE outbox SET {column}_state = ?, {column}_id = COALESCE(?, {column}_id),"
                # done clears the error, unless the other half failed: its reason must stay visible
                " last_error = CASE WHEN ? IS NULL AND ? = ? AND ? NOT IN (task_state, note_state)"
                " THEN NULL ELSE COALESCE(?, last_error) END,"
                " attempts = attempts + ?, sending_since = CASE WHEN ? = ? THEN ? ELSE sending_since END,"
                " updated_at = ? WHERE event_key = ? AND sink = ?",
                [state, (object_ids or {}).get(key), error, state, State.DONE, State.FAILED, error and redact(error),
                 int(count_attempt), state, State.SENDING, now, now, key, sink])

    # --- history: what happened to a row beyond its states (operator retries, re-routes, giving up)
    def note(self, key: str, action: str, detail: str | None, now: str, *, sink: str = DEFAULT_SINK) -> None:
        self.db.execute("INSERT INTO outbox_history (event_key, sink, at, action, detail) VALUES (?, ?, ?, ?, ?)",
                        [key, sink, now, action, detail])

    def history(self, keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for chunk in chunks(keys):
            for row in self.db.query(f"SELECT event_key, at, action, detail FROM outbox_history "
                                     f"WHERE event_key IN ({marks(chunk)}) ORDER BY id", chunk):
                found.setdefault(row.pop("event_key"), []).append(row)
        return found

    def counts(self) -> dict[str, int]:
        return {row["status"]: row["n"] for row in
                self.db.query("SELECT status, count(*) AS n FROM outbox_status GROUP BY status")}
