"""Failed outbox rows as operators handle them: find them by kind and time, put them back, and see every row's status."""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database

from poller.store.outbox import Outbox, OutboxRow, Part, State, chunks, marks, select_rows

FAILED_ROW = "(task_state = 'failed' OR note_state = 'failed')"


class Failures:
    def __init__(self, db: Database):
        self.db = db
        self.outbox = Outbox(db)

    def failed(self, *, kinds: Sequence[str] = (), since: str | None = None) -> list[OutboxRow]:
        """Rows with a failed half, of these kinds (all when empty), failed at or after `since` (as their history
        says; a row failed before the history was kept: its last update)."""
        where, params = [FAILED_ROW], list[str]()
        if kinds:
            where.append(f"kind IN ({marks(kinds)})")
            params.extend(kinds)
        if since is not None:
            where.append("COALESCE((SELECT max(h.at) FROM outbox_history h WHERE h.event_key = outbox.event_key"
                         " AND h.sink = outbox.sink AND h.action = 'failed'), updated_at) >= ?")
            params.append(since)
        return select_rows(self.db, " AND ".join(where), params)

    def statuses(self, keys: Sequence[str]) -> dict[str, str]:
        """The status (outbox_status) of each row with one of these event keys."""
        found: dict[str, str] = {}
        for chunk in chunks(keys):
            found.update((r[0], r[1]) for r in self.db.execute(
                f"SELECT event_key, status FROM outbox_status WHERE event_key IN ({marks(chunk)})", chunk))
        return found

    def retry(self, keys: Sequence[str], now: str, by: str) -> int:
        """Put the failed halves of these rows back to `pending` with a fresh attempt count; record it per row."""
        rows = [row for chunk in chunks(keys)
                for row in select_rows(self.db, f"event_key IN ({marks(chunk)}) AND {FAILED_ROW}", chunk)]
        for row in rows:
            halves = [part for part in Part if row[f"{part}_state"] == State.FAILED]  # type: ignore[literal-required]
            self.db.execute(
                "UPDATE outbox SET task_state = CASE WHEN task_state = ? THEN ? ELSE task_state END,"
                " note_state = CASE WHEN note_state = ? THEN ? ELSE note_state END,"
                " attempts = 0, updated_at = ? WHERE event_key = ? AND sink = ?",
                [State.FAILED, State.PENDING, State.FAILED, State.PENDING, now, row["event_key"], row["sink"]])
            self.outbox.note(row["event_key"], "retried", f"{' and '.join(halves)} back to pending {by} "
                                                          f"(after {row['attempts']} attempts: {row['last_error'] or '-'})",
                             now, sink=row["sink"])
        return len(rows)
