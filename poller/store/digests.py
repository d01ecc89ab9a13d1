"""Owners' preferences in the outbox: rows decided once, held for a digest, folded into one, or suppressed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from poller.core.model import Notification
from poller.store.outbox import OutboxRow, State, chunks, marks, select_rows


class Digests:
    def __init__(self, db: Database):
        self.db = db

    def undecided(self, sink: str) -> list[OutboxRow]:
        """Routed rows waiting to be sent whose owner's preferences have not been applied yet, oldest first."""
        return select_rows(self.db, "sink = ? AND decided_at IS NULL AND owner_id IS NOT NULL AND task_state = ?",
                           [sink, State.PENDING])

    def released_since(self, sink: str, since: str) -> dict[str, list[str]]:
        """When tasks went out per deal (or subject, without a deal) since `since`: what the flood guard counts."""
        found: dict[str, list[str]] = {}
        for group, at in self.db.execute(
                "SELECT COALESCE(deal_id, subject_id), released_at FROM outbox WHERE sink = ? AND released_at >= ?",
                [sink, since]):
            found.setdefault(group, []).append(at)
        return found

    def decide(self, key: str, sink: str, now: str, *, state: State | None, reason: str, released: bool = False,
               hold_until: str | None = None, remind_at: str | None = None, due_at: str | None = None) -> None:
        """Record a row's decision; `state` None leaves it pending (sent as it is), else held or suppressed."""
        self.db.execute(
            "UPDATE outbox SET decision = ?, decided_at = ?, hold_until = ?, remind_at = ?,"
            " due_at = COALESCE(?, due_at), released_at = ?, updated_at = ?,"
            " task_state = COALESCE(?, task_state),"
            " note_state = CASE WHEN note_state = ? OR ? IS NULL THEN note_state ELSE ? END"
            " WHERE event_key = ? AND sink = ?",
            [reason, now, hold_until, remind_at, due_at, now if released else None, now, state, State.NONE, state,
             state, key, sink])

    def due(self, sink: str, now: str) -> list[OutboxRow]:
        """Held rows whose digest is due by `now`, oldest first."""
        return select_rows(self.db, "sink = ? AND task_state = ? AND hold_until <= ?", [sink, State.HELD, now])

    def held(self, sink: str, owner_id: str, group: str) -> list[OutboxRow]:
        """Every row an owner has held on one deal (or subject): a digest folds them all, due or not."""
        return select_rows(self.db, "sink = ? AND task_state = ? AND owner_id = ? AND COALESCE(deal_id, subject_id) = ?",
                           [sink, State.HELD, owner_id, group])

    def payloads(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored events (JSON of core Event) by key."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(keys):
            found.update((k, json.loads(p)) for k, p in self.db.execute(
                f"SELECT key, payload FROM events WHERE key IN ({marks(chunk)})", chunk))
        return found

    def exists(self, key: str, sink: str) -> bool:
        return self.db.execute("SELECT 1 FROM outbox WHERE event_key = ? AND sink = ?", [key, sink]).fetchone() \
            is not None

    def add(self, n: Notification, *, sink: str, owner_id: str, route: str, reason: str, now: str, source: str,
            members: Sequence[str] = (), remind_at: str | None = None) -> bool:
        """A digest's or roll-up's own event and row, routed and decided already; False if it was there (a rerun)."""
        payload = {"kind": n.kind, "subject_id": n.subject_id, "deal_id": n.deal_id, "members": list(members)}
        self.db.execute(
            "INSERT OR IGNORE INTO events (key, kind, subject_id, deal_id, priority, due_hours, occurred_at,"
            " detected_at, source, run_id, payload) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, NULL, ?)",
            [n.event_key, n.kind, n.subject_id, n.deal_id, n.priority, now, now, source, json.dumps(payload)])
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO outbox (event_key, sink, kind, subject_id, deal_id, priority, due_at, subject,"
            " task_body, note_body, note_state, owner_id, route_reason, decision, decided_at, released_at, remind_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [n.event_key, sink, n.kind, n.subject_id, n.deal_id, n.priority, n.due_at, n.subject, n.task_body,
             n.note_body, State.PENDING if n.note_body is not None else State.NONE, owner_id, route, reason, now, now,
             remind_at, now, now])
        return bool(cursor.rowcount)

    def fold_into(self, keys: Sequence[str], sink: str, state: State, digest: str | None, reason: str,
                  now: str) -> None:
        """Members leave the hold: `digested` into the digest, or `suppressed` (reverted within its window)."""
        for chunk in chunks(keys):
            self.db.execute(
                "UPDATE outbox SET task_state = ?, note_state = CASE WHEN note_state = ? THEN note_state ELSE ? END,"
                f" digest_key = ?, decision = ?, updated_at = ? WHERE sink = ? AND event_key IN ({marks(chunk)})",
                [state, State.NONE, state, digest, reason, now, sink, *chunk])

    def members(self, digest: str, sink: str) -> list[OutboxRow]:
        return select_rows(self.db, "sink = ? AND digest_key = ?", [sink, digest])
