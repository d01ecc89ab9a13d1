"""Retention: delete stored personal data older than the cutoff, never what current state or open work needs."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from poller.core.timefmt import iso, parse_iso
from poller.store.database import StateStore
from poller.store.lease import Lease, LeaseHolder

log = logging.getLogger(__name__)
LAST_PRUNED = "last_pruned_at"  # meta key: when prune last completed (the daemon prunes once a day)
DAILY = dt.timedelta(hours=23)  # a little under a day, so a daily schedule never skips a day by a few seconds

# Open outbox rows: anything not delivered yet, including `failed` (an operator may still retry it) and `held` (a
# digest will take it); a suppressed row, or one folded into a digest, is finished like a delivered one.
OPEN = ("SELECT {column} FROM outbox_status WHERE status NOT IN ('done', 'suppressed', 'digested') "
        "AND {column} IS NOT NULL")

DELIVERED = "updated_at < ? AND event_key NOT IN (" + OPEN.format(column="event_key") + ")"
# What is deleted, in order (children before parents): (name shown, table, condition). `?` is the cutoff.
RULES: tuple[tuple[str, str, str], ...] = (
    # Every snapshot observed before the cutoff, except each opportunity's newest one before it: that one is the
    # base its later snapshots are compared with (backfill), or its latest snapshot when nothing came after.
    ("snapshots", "snapshot_history",
     "observed_at < ? AND id NOT IN (SELECT max(id) FROM snapshot_history WHERE observed_at < ?1 "
     "GROUP BY opportunity_id)"),
    ("delivered notifications' history", "outbox_history", "(event_key, sink) IN (SELECT event_key, sink FROM outbox WHERE "
     + DELIVERED + ")"),
    ("delivered notifications", "outbox", DELIVERED),
    ("events", "events",
     "detected_at < ? AND key NOT IN (SELECT event_key FROM outbox)"),
    ("finished invitations", "invitations",
     "updated_at < ? AND upper(coalesce(status, '')) != 'PENDING' AND invitation_id NOT IN ("
     + OPEN.format(column="subject_id") + ")"),
    ("unlinked deals", "deals",
     "read_at < ? AND deal_id NOT IN (SELECT deal_id FROM opportunities WHERE deal_id IS NOT NULL) "
     "AND deal_id NOT IN (" + OPEN.format(column="deal_id") + ")"),
    ("cached HubSpot owners", "owners_cache", "fetched_at < ?"),
    ("runs", "runs", "started_at < ? AND status != 'running' AND id != (SELECT max(id) FROM runs)"),
    ("hourly API call counts", "api_calls_hourly", "hour < substr(?, 1, 13)"),
)
# The snapshot kept as a base becomes a baseline: a backfill compares later ones with it, never it with nothing.
REBASE = ("UPDATE snapshot_history SET baseline = 1 WHERE baseline = 0 AND id IN (SELECT max(id) FROM "
          "snapshot_history WHERE observed_at < ? GROUP BY opportunity_id HAVING count(*) > 1)")


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneResult:
    cutoff: str
    dry_run: bool
    removed: tuple[tuple[str, int], ...] = ()  # (what, rows), in RULES order
    skipped: LeaseHolder | None = None  # another run held the lease: nothing was done

    @property
    def total(self) -> int:
        return sum(n for _what, n in self.removed)


def prune(store: StateStore, *, older_than: float, now: dt.datetime, dry_run: bool = False) -> PruneResult:
    """Delete (or with dry_run, count) what is older than `older_than` seconds, in one transaction.

    It takes the run lease, so it never deletes under a running cycle or backfill; deleted rows are overwritten
    in the file (secure_delete), not merely unlinked.
    """
    cutoff = iso(now - dt.timedelta(seconds=older_than))
    if dry_run:
        counts = tuple((what, _count(store, table, where, cutoff)) for what, table, where in RULES)
        return PruneResult(cutoff=cutoff, dry_run=True, removed=counts)
    lease = Lease(store.db, name="cycle")
    holder = lease.acquire(now)
    if holder is not None:
        log.info("another run holds the lease (%s); prune skipped, it runs again next time", holder.holder)
        return PruneResult(cutoff=cutoff, dry_run=False, skipped=holder)
    try:
        store.db.execute("PRAGMA secure_delete = ON")
        with store.atomic():
            store.db.execute(REBASE, [cutoff])
            removed = tuple((what, store.db.execute(f"DELETE FROM {table} WHERE {where}", [cutoff]).rowcount)
                            for what, table, where in RULES)
            store.set_meta(LAST_PRUNED, iso(now))
    finally:
        store.db.execute("PRAGMA secure_delete = OFF")
        lease.release()
    result = PruneResult(cutoff=cutoff, dry_run=False, removed=removed)
    log.info("pruned what was older than %s: %s", cutoff,
             ", ".join(f"{n} {what}" for what, n in removed if n) or "nothing to remove")
    return result


def prune_if_due(store: StateStore, *, older_than: float, now: dt.datetime) -> PruneResult | None:
    """The daemon's daily prune: skipped when one completed less than a day ago (e.g. before a restart)."""
    last = store.meta(LAST_PRUNED)
    if last and now - parse_iso(last) < DAILY:
        return None
    return prune(store, older_than=older_than, now=now)


def _count(store: StateStore, table: str, where: str, cutoff: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM {table} WHERE {where}", [cutoff]).fetchone()[0]
