"""What a manager's daily roll-up reads: the team's notifications, open Action Required, expiring invitations, failures."""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database

from poller.store.outbox import marks

OWN_ROWS = ("digest", "manager_rollup")  # rows poller made about other rows: not counted as notifications


class Rollups:
    def __init__(self, db: Database):
        self.db = db

    def by_kind(self, sink: str, owners: Sequence[str], since: str, until: str) -> list[tuple[str, int]]:
        """The team's notifications queued in (since, until], by kind, most first."""
        return [(k, n) for k, n in self.db.execute(
            f"SELECT kind, count(*) AS n FROM outbox WHERE sink = ? AND owner_id IN ({marks(owners)})"
            f" AND created_at > ? AND created_at <= ? AND kind NOT IN ({marks(OWN_ROWS)})"
            " GROUP BY kind ORDER BY n DESC, kind", [sink, *owners, since, until, *OWN_ROWS])]

    def outcomes(self, sink: str, owners: Sequence[str], since: str, until: str) -> list[tuple[str, int]]:
        """How those notifications went: done, digested, suppressed, held, failed, …"""
        return [(s, n) for s, n in self.db.execute(
            f"SELECT status, count(*) AS n FROM outbox_status WHERE sink = ? AND owner_id IN ({marks(owners)})"
            f" AND created_at > ? AND created_at <= ? AND kind NOT IN ({marks(OWN_ROWS)})"
            " GROUP BY status ORDER BY n DESC, status", [sink, *owners, since, until, *OWN_ROWS])]

    def action_required(self, owners: Sequence[str]) -> list[tuple[str, str]]:
        """Open opportunities of the team's deals still at Action Required: (id, 'title — owner …, since …')."""
        return [(oid, f"{title or oid} — owner {owner}, since {since[:16]}") for oid, title, owner, since in
                self.db.execute(
                    "SELECT o.opportunity_id, json_extract(o.snapshot, '$.title'), d.owner_id, o.updated_at"
                    " FROM opportunities o JOIN deals d ON d.deal_id = o.deal_id"
                    " WHERE o.is_open = 1 AND lower(replace(replace(o.review_status, ' ', ''), '-', ''))"
                    f" = 'actionrequired' AND d.owner_id IN ({marks(owners)}) ORDER BY o.updated_at",
                    list(owners))]

    def expiring(self, owners: Sequence[str], now: str, until: str) -> list[tuple[str, str]]:
        """Pending invitations announced to the team that expire in (now, until]: (id, 'title, expires …')."""
        return [(iid, f"{title or iid}, expires {expires[:16]}") for iid, title, expires in self.db.execute(
            "SELECT invitation_id, project_title, json_extract(record, '$.expiration_date') AS expires"
            " FROM invitations WHERE upper(status) = 'PENDING' AND expires > ? AND expires <= ?"
            f" AND invitation_id IN (SELECT subject_id FROM outbox WHERE owner_id IN ({marks(owners)}))"
            " ORDER BY expires", [now, until, *owners])]

    def undelivered(self, sink: str, owners: Sequence[str]) -> list[tuple[str, str]]:
        """The team's rows that failed or are parked (by recipient, or by the deal owner when parked)."""
        return [(key, f"{kind} {subject}: {reason or status}") for key, kind, subject, status, reason in
                self.db.execute(
                    "SELECT event_key, kind, subject_id, status, COALESCE(last_error, route_reason) FROM outbox_status"
                    f" WHERE sink = ? AND status IN ('failed', 'unroutable') AND (owner_id IN ({marks(owners)})"
                    f" OR deal_id IN (SELECT deal_id FROM deals WHERE owner_id IN ({marks(owners)})))"
                    " ORDER BY created_at", [sink, *owners, *owners])]
