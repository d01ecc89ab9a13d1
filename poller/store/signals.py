"""What the 2026 signals read from the state: reminder candidates, and funding records (Partner Central Benefits)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from poller.core.funding import BenefitAllocation, BenefitApplication
from poller.core.model import Invitation, Snapshot
from poller.core.reminders import next_escalation, next_invitation_reminder
from poller.core.review import canonical_review_status
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso
from poller.store.outbox import chunks, marks

ACTION_REQUIRED = "actionrequired"


class Reminders:
    """The candidates the reminder phase decides on (core.reminders); it needs no table of its own."""

    def __init__(self, db: Database):
        self.db = db

    def pending_invitations(self) -> list[tuple[Invitation, str]]:
        """Every invitation last seen PENDING, with when this job first saw it."""
        rows = self.db.execute(
            "SELECT record, first_seen_at FROM invitations WHERE upper(trim(coalesce(status, ''))) = 'PENDING'")
        return [(Invitation.from_dict(json.loads(record)), seen) for record, seen in rows]

    def action_required(self) -> list[Snapshot]:
        """The current snapshot of every open opportunity whose review status is Action Required."""
        rows = self.db.execute("SELECT review_status, snapshot FROM opportunities "
                               "WHERE is_open = 1 AND lower(review_status) LIKE '%action%required%'")
        return [Snapshot.from_dict(json.loads(snapshot)) for status, snapshot in rows
                if canonical_review_status(status) == ACTION_REQUIRED]

    def known(self, keys: Sequence[str]) -> set[str]:
        """Which of these event keys were recorded before (so a due reminder costs no confirming read twice)."""
        found: set[str] = set()
        for chunk in chunks(list(keys)):
            found.update(r[0] for r in self.db.execute(f"SELECT key FROM events WHERE key IN ({marks(chunk)})", chunk))
        return found


class Benefits:
    """Benefit applications and allocations as last read, to find status changes and expiries."""

    def __init__(self, db: Database):
        self.db = db

    def applications(self, ids: Sequence[str] | None = None) -> dict[str, BenefitApplication]:
        """The stored applications (all of them when `ids` is None)."""
        if ids is None:
            rows: Iterable[tuple[str, str]] = self.db.execute("SELECT application_id, record FROM benefit_applications")
            return {rid: BenefitApplication.from_dict(json.loads(r)) for rid, r in rows}
        found: dict[str, BenefitApplication] = {}
        for chunk in chunks(list(ids)):
            for rid, record in self.db.execute(
                    f"SELECT application_id, record FROM benefit_applications WHERE application_id IN ({marks(chunk)})",
                    chunk):
                found[rid] = BenefitApplication.from_dict(json.loads(record))
        return found

    def save_application(self, application: BenefitApplication, now: str) -> None:
        self.db.execute(
            """INSERT INTO benefit_applications (application_id, status, updated_at, record, first_seen_at, seen_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (application_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
                   record = excluded.record, seen_at = excluded.seen_at""",
            [application.application_id, application.status, application.updated_at,
             json.dumps(application.to_dict()), now, now])

    def allocations(self) -> list[tuple[BenefitAllocation, bool]]:
        """Every stored allocation, with whether the baseline found it already inside its reminder window."""
        rows = self.db.execute("SELECT record, baseline FROM benefit_allocations ORDER BY allocation_id")
        return [(BenefitAllocation.from_dict(json.loads(record)), bool(baseline)) for record, baseline in rows]

    def save_allocation(self, allocation: BenefitAllocation, now: str, *, silent: bool) -> None:
        """Store an allocation as read; `silent` is kept from its first save (the baseline's verdict stays)."""
        self.db.execute(
            """INSERT INTO benefit_allocations (allocation_id, application_id, status, expires_at, record, baseline,
                   first_seen_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (allocation_id) DO UPDATE SET application_id = excluded.application_id,
                   status = excluded.status, expires_at = excluded.expires_at, record = excluded.record,
                   seen_at = excluded.seen_at""",
            [allocation.allocation_id, allocation.application_id, allocation.status, allocation.expires_at,
             json.dumps(allocation.to_dict()), int(silent), now, now])



def reminder_schedule(db: Database, now: dt.datetime, rules: RuleConfig) -> list[dict[str, Any]]:
    """`poller state reminders`: every reminder that may still come (pending invitations, opportunities at Action
    Required), with how many were sent and when the next is due (None: none will come)."""
    reminders = Reminders(db)
    sent = dict(((kind, subject), n) for kind, subject, n in db.execute(
        "SELECT kind, subject_id, count(*) FROM events WHERE kind IN ('invitation_expiring', 'action_required_overdue')"
        " AND source = 'reminders' GROUP BY kind, subject_id"))
    rows = []
    for invitation, first_seen in reminders.pending_invitations():
        due = next_invitation_reminder(invitation, first_seen, now, rules)
        rows.append({"kind": "invitation_expiring", "subject_id": invitation.invitation_id, "deal_id": None,
                     "sent": sent.get(("invitation_expiring", invitation.invitation_id), 0),
                     "next_at": iso(due) if due else None, "until": invitation.expiration_date})
    for snapshot in reminders.action_required():
        due = next_escalation(snapshot, now, rules)
        rows.append({"kind": "action_required_overdue", "subject_id": snapshot.opportunity_id,
                     "deal_id": snapshot.deal_id, "sent": _stretch_sent(db, snapshot),
                     "next_at": iso(due) if due else None, "until": None})
    return sorted(rows, key=lambda r: (r["next_at"] or "~", r["subject_id"]))


def _stretch_sent(db: Database, snapshot: Snapshot) -> int:
    """Escalations sent since the opportunity last entered Action Required."""
    row = db.execute("SELECT count(*) FROM events WHERE kind = 'action_required_overdue' AND subject_id = ? "
                     "AND source = 'reminders' AND occurred_at >= ?",
                     [snapshot.opportunity_id, snapshot.review_since or ""]).fetchone()
    return int(row[0])
