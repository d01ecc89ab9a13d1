"""Re-reads asked for outside a cycle (EventBridge events, library calls) and what decides a library call's claim."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

CLAIM_SOURCE = "api"  # events.source of a library call's claim (the events table's own word for it)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reread:
    """One request: what to read (an opportunity, an invitation, or the listing), who asked, and a claim if any."""

    id: int
    subject_type: str  # opportunity | invitation | listing
    subject_id: str
    source: str
    claim: str | None  # JSON (poller.core.claims.Claim)
    requested_at: str
    done_at: str | None = None
    event_key: str | None = None
    outcome: str | None = None


class Rereads:
    def __init__(self, db: Database):
        self.db = db

    # --- requests
    def request(self, subject_type: str, subject_id: str, source: str, now: str, claim: str | None = None) -> int:
        """Queue a re-read (with the library call's claim); returns its id."""
        cursor = self.db.execute(
            "INSERT INTO event_rereads (subject_type, subject_id, source, claim, requested_at) VALUES (?, ?, ?, ?, ?)",
            [subject_type, subject_id, source, claim, now])
        return int(cursor.lastrowid or 0)

    def empty(self) -> bool:
        """No request and no decision waiting: what almost every cycle finds (one cheap read, no write)."""
        return self.db.execute("SELECT 1 FROM event_rereads LIMIT 1").fetchone() is None

    def pending(self) -> list[Reread]:
        """Requests not yet read (or whose claim is not decided), oldest first."""
        return [self._row(r) for r in self.db.query(
            "SELECT * FROM event_rereads WHERE done_at IS NULL ORDER BY id")]

    def get(self, request_id: int) -> Reread | None:
        row = next(self.db.query("SELECT * FROM event_rereads WHERE id = ?", [request_id]), None)
        return None if row is None else self._row(row)

    def decide(self, request_id: int, now: str, outcome: str, event_key: str | None) -> None:
        """A claim's decision, kept for its caller to read back."""
        self.db.execute("UPDATE event_rereads SET done_at = ?, outcome = ?, event_key = ? WHERE id = ?",
                        [now, outcome, event_key, request_id])

    def remove(self, request_ids: list[int]) -> None:
        self.db.conn.executemany("DELETE FROM event_rereads WHERE id = ?", [[i] for i in request_ids])

    def forget_decided(self, before: str) -> None:
        """Decisions no caller came back for (it was killed): a claim's words are personal data, kept no longer."""
        self.db.execute("DELETE FROM event_rereads WHERE done_at IS NOT NULL AND done_at < ?", [before])

    # --- what decides a claim
    def first_observed(self, opportunity_id: str) -> str | None:
        """When the stored snapshot of an opportunity was first seen as it is now (its newest history row)."""
        row = self.db.execute("SELECT observed_at FROM snapshot_history WHERE opportunity_id = ? ORDER BY id DESC "
                              "LIMIT 1", [opportunity_id]).fetchone()
        return row[0] if row else None

    def covering(self, subject_id: str, kind: str, *, since: str, claim_key: str) -> tuple[str, int | None] | None:
        """(key, run id) of the event that already says what a claim says: one the poll found (any source but a
        claim's) since `since`, or the claim's own key (the same call made again)."""
        row = self.db.execute(
            "SELECT key, run_id FROM events WHERE subject_id = ? AND kind = ? AND "
            "((source != ? AND detected_at >= ?) OR key = ?) ORDER BY detected_at DESC LIMIT 1",
            [subject_id, kind, CLAIM_SOURCE, since, claim_key]).fetchone()
        return (row[0], row[1]) if row else None

    def claimed(self, subject_id: str, kind: str, *, since: str) -> str | None:
        """The key of a library call's claim of this kind on this opportunity made since `since`, if any."""
        row = self.db.execute(
            "SELECT key FROM events WHERE subject_id = ? AND kind = ? AND source = ? AND detected_at >= ? "
            "ORDER BY detected_at DESC LIMIT 1", [subject_id, kind, CLAIM_SOURCE, since]).fetchone()
        return row[0] if row else None

    def referral_key(self, project_title: str | None) -> str | None:
        """The event key of the invitation that became this AWS-referred opportunity, if it was announced."""
        if not project_title:
            return None
        row = self.db.execute("SELECT notified_event_key FROM invitations WHERE lower(project_title) = lower(?) "
                              "AND notified_event_key IS NOT NULL LIMIT 1", [project_title]).fetchone()
        return row[0] if row else None

    def delivery(self, event_key: str) -> dict[str, str | None] | None:
        """The outbox state of an event (its first sink's row): status, task id, the last error."""
        row = next(self.db.query("SELECT status, task_id, last_error FROM outbox_status WHERE event_key = ? "
                                 "ORDER BY sink LIMIT 1", [event_key]), None)
        return None if row is None else {"status": row["status"], "task_id": row["task_id"],
                                         "last_error": row["last_error"]}

    @staticmethod
    def _row(row: dict[str, object]) -> Reread:
        return Reread(id=int(str(row["id"])), subject_type=str(row["subject_type"]), subject_id=str(row["subject_id"]),
                      source=str(row["source"]), claim=row["claim"] if isinstance(row["claim"], str) else None,
                      requested_at=str(row["requested_at"]),
                      done_at=row["done_at"] if isinstance(row["done_at"], str) else None,
                      event_key=row["event_key"] if isinstance(row["event_key"], str) else None,
                      outcome=row["outcome"] if isinstance(row["outcome"], str) else None)
