"""What Partner Central and HubSpot last told us: snapshots and their history, invitations, deals, reconciled values."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from poller.core.conflicts import ReconciledField
from poller.core.model import Deal, Invitation, Snapshot, stable_hash
from poller.core.review import canonical_review_status
from poller.core.sweep_due import sweep_delay
from poller.core.timefmt import iso
from poller.redaction import redact

# The reference's sweep: every open, submitted opportunity (canonical review statuses; partner-side Stage).
SUBMITTED_REVIEW_STATUSES = {"submitted", "inreview", "approved", "actionrequired"}
CLOSED_STAGES = {"launched", "closed lost"}


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredOpportunity:
    snapshot: Snapshot
    hash: str
    last_modified: str
    aws_revision: int
    aws_read_at: str | None


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def is_open(snapshot: Snapshot) -> bool:
    """Worth sweeping: ReviewStatus Submitted, In review, Approved or Action Required, Stage not Launched or Closed Lost.

    Pending Submission has no AWS view yet and Rejected is final: neither is swept.
    """
    return (canonical_review_status(snapshot.review_status) in SUBMITTED_REVIEW_STATUSES
            and (snapshot.stage or "").strip().lower() not in CLOSED_STAGES)


class Records:
    def __init__(self, db: Database):
        self.db = db
        db.conn.create_function("sweep_delay", 2, sweep_delay, deterministic=True)

    # --- opportunities
    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM opportunities LIMIT 1").fetchone() is None

    def versions(self, ids: Sequence[str]) -> dict[str, str]:
        """Stored LastModifiedDate per id, to skip boundary repeats without a Get call."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for oid, lm in self.db.execute(
                f"SELECT opportunity_id, last_modified FROM opportunities WHERE opportunity_id IN ({marks})", chunk
            ):
                found[oid] = lm
        return found

    def newest_last_modified(self, until: str) -> str | None:
        """The largest stored LastModifiedDate not after `until` (to repair a cursor left in the future)."""
        row = self.db.execute("SELECT max(last_modified) FROM opportunities WHERE last_modified <= ?", [until])
        return row.fetchone()[0]

    def opportunities(self, ids: Sequence[str]) -> dict[str, StoredOpportunity]:
        found: dict[str, StoredOpportunity] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT opportunity_id, snapshot, hash, last_modified, aws_revision, aws_read_at "
                f"FROM opportunities WHERE opportunity_id IN ({marks})", chunk)
            for oid, snap, digest, lm, revision, read_at in rows:
                found[oid] = StoredOpportunity(snapshot=Snapshot.from_dict(json.loads(snap)), hash=digest,
                                               last_modified=lm, aws_revision=revision, aws_read_at=read_at)
        return found

    def save_snapshot(self, snapshot: Snapshot, *, aws_revision: int, observed_at: str, run_id: int | None,
                      baseline: bool = False, aws_read: bool = True) -> None:
        """Store the current snapshot; add a history row when its content changed.

        `baseline` marks the history row as one that announced nothing (a baseline, or a record a baseline had to
        skip), so backfill never announces it either.
        """
        data = snapshot.to_dict()  # once: asdict() dominates a large baseline, and hash/fingerprint derive from it
        digest = stable_hash(data)  # == snapshot.hash
        aws_fingerprint = stable_hash(data["aws"])[:16] if snapshot.aws is not None else None  # == aws_fingerprint
        body = json.dumps(data, separators=(",", ":"))
        previous = self.db.execute(
            "SELECT hash FROM opportunities WHERE opportunity_id = ?", [snapshot.opportunity_id]).fetchone()
        self.db.execute(
            """INSERT INTO opportunities (opportunity_id, catalog, last_modified, hash, aws_fingerprint, aws_revision,
                   deal_id, review_status, stage, is_open, snapshot, first_seen_at, updated_at, aws_read_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (opportunity_id) DO UPDATE SET
                   catalog = excluded.catalog, last_modified = excluded.last_modified, hash = excluded.hash,
                   aws_fingerprint = excluded.aws_fingerprint, aws_revision = excluded.aws_revision,
                   deal_id = excluded.deal_id, review_status = excluded.review_status, stage = excluded.stage,
                   is_open = excluded.is_open, snapshot = excluded.snapshot, updated_at = excluded.updated_at,
                   aws_read_at = CASE WHEN ? THEN excluded.aws_read_at ELSE opportunities.aws_read_at END""",
            [snapshot.opportunity_id, snapshot.catalog, snapshot.last_modified, digest, aws_fingerprint,
             aws_revision, snapshot.deal_id, snapshot.review_status, snapshot.stage, int(is_open(snapshot)), body,
             observed_at, observed_at, observed_at if aws_read else None, int(aws_read)],
        )
        if previous is None or previous[0] != digest:
            self.db.execute(
                "INSERT INTO snapshot_history (opportunity_id, last_modified, hash, aws_revision, observed_at, run_id,"
                " baseline, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [snapshot.opportunity_id, snapshot.last_modified, digest, aws_revision, observed_at, run_id,
                 int(baseline), body],
            )

    def due_for_sweep(self, now: dt.datetime, period: float, limit: int, *, every: bool = False) -> list[str]:
        """Open opportunities whose AWS summary is due (see core.sweep_due), the most overdue first.

        `every`: all of them, the longest unread first (`poller run --sweep`).
        """
        if every:
            rows = self.db.execute(
                "SELECT opportunity_id FROM opportunities WHERE is_open = 1 AND aws_read_at IS NOT NULL "
                "ORDER BY aws_read_at LIMIT ?", [limit])
            return [r[0] for r in rows]
        # Nothing read within half a period can be due: that bound keeps the per-row function off most rows.
        earliest = iso(now - dt.timedelta(seconds=period / 2))
        rows = self.db.execute(
            """SELECT opportunity_id FROM (
                   SELECT opportunity_id,
                          julianday(aws_read_at) + sweep_delay(opportunity_id, ?) / 86400.0 AS due
                   FROM opportunities WHERE is_open = 1 AND aws_read_at IS NOT NULL AND aws_read_at <= ?)
               WHERE due <= julianday(?) ORDER BY due LIMIT ?""", [period, earliest, iso(now), limit])
        return [r[0] for r in rows]

    def history_count(self, since: str, until: str) -> int:
        """Snapshots observed inside [since, until] that announced something (baseline ones did not)."""
        return int(self.db.execute(
            "SELECT count(*) FROM snapshot_history WHERE observed_at BETWEEN ? AND ? AND baseline = 0",
            [since, until]).fetchone()[0])

    def history(self, since: str, until: str) -> Iterator[dict[str, Any]]:
        """History rows of every opportunity that changed inside [since, until], each with its predecessor first."""
        yield from self.db.query(
            """SELECT h.* FROM snapshot_history h
               WHERE h.opportunity_id IN (SELECT opportunity_id FROM snapshot_history WHERE observed_at BETWEEN ? AND ?)
               ORDER BY h.opportunity_id, h.id""", [since, until])

    def deal_claims(self, deal_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT opportunity_id FROM opportunities WHERE deal_id = ? ORDER BY opportunity_id", [deal_id])]

    # --- malformed or unreadable records, re-read next cycle
    def mark_refetch(self, opportunity_id: str, reason: str, now: str, *, baseline: bool = False) -> None:
        self.db.execute(
            "INSERT INTO refetch (opportunity_id, reason, first_failed_at, baseline) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (opportunity_id) DO UPDATE SET reason = excluded.reason, attempts = refetch.attempts + 1",
            [opportunity_id, redact(reason), now, int(baseline)])

    def refetch_queue(self) -> list[tuple[str, bool]]:
        """(id, skipped during the baseline) of every record waiting to be read again."""
        rows = self.db.execute("SELECT opportunity_id, baseline FROM refetch ORDER BY first_failed_at")
        return [(r[0], bool(r[1])) for r in rows]

    def clear_refetch(self, opportunity_id: str) -> None:
        self.db.execute("DELETE FROM refetch WHERE opportunity_id = ?", [opportunity_id])

    # --- invitations
    def invitations(self, ids: Sequence[str]) -> dict[str, Invitation]:
        found: dict[str, Invitation] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for iid, record in self.db.execute(
                    f"SELECT invitation_id, record FROM invitations WHERE invitation_id IN ({marks})", chunk):
                found[iid] = Invitation.from_dict(json.loads(record))
        return found

    def save_invitation(self, invitation: Invitation, now: str, notified_event_key: str | None = None) -> None:
        self.db.execute(
            """INSERT INTO invitations (invitation_id, catalog, status, invitation_date, project_title, record,
                   first_seen_at, updated_at, notified_event_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (invitation_id) DO UPDATE SET status = excluded.status, record = excluded.record,
                   project_title = excluded.project_title, updated_at = excluded.updated_at,
                   notified_event_key = COALESCE(invitations.notified_event_key, excluded.notified_event_key)""",
            [invitation.invitation_id, invitation.catalog, invitation.status, invitation.invitation_date,
             invitation.project_title, json.dumps(invitation.to_dict()), now, now, notified_event_key])

    def referral_notified(self, project_title: str | None) -> bool:
        """Whether the invitation that became this AWS-referred opportunity was already notified (matched by title)."""
        if not project_title:
            return False
        row = self.db.execute(
            "SELECT 1 FROM invitations WHERE lower(project_title) = lower(?) AND notified_event_key IS NOT NULL",
            [project_title]).fetchone()
        return row is not None

    # --- deals (HubSpot side of the link)
    def save_deals(self, deals: Iterable[Deal], now: str) -> None:
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO deals (deal_id, found, owner_id, dealname, amount, closedate, read_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[d.deal_id, int(d.exists), d.owner_id, d.dealname, d.amount, d.closedate, now] for d in deals])

    def deals(self, ids: Sequence[str]) -> dict[str, Deal]:
        found: dict[str, Deal] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"SELECT * FROM deals WHERE deal_id IN ({marks})", chunk):
                found[row["deal_id"]] = Deal(deal_id=row["deal_id"], exists=bool(row["found"]),
                                             owner_id=row["owner_id"], dealname=row["dealname"],
                                             amount=row["amount"], closedate=row["closedate"])
        return found

    # --- reconciled values of mapped fields, for conflict detection
    def reconciled(self, opportunity_id: str) -> dict[str, ReconciledField]:
        return {row["field"]: ReconciledField(pc_value=row["pc_value"], deal_value=row["deal_value"],
                                              raised_at=row["raised_at"])
                for row in self.db.query("SELECT * FROM reconciled WHERE opportunity_id = ?", [opportunity_id])}

    def save_reconciled(self, opportunity_id: str, fields: dict[str, ReconciledField], now: str) -> None:
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO reconciled (opportunity_id, field, pc_value, deal_value, raised_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [[opportunity_id, name, _text(f.pc_value), _text(f.deal_value), f.raised_at, now]
             for name, f in fields.items()])


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
