"""Who receives each outbox row: the deal's active owner, else the fallback owner, else the row is parked."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from poller.core.timefmt import iso

if TYPE_CHECKING:
    from poller.hubspot import HubSpotPortal

log = logging.getLogger(__name__)
FALLBACK_HINT = "set POLLER_FALLBACK_OWNER_ID to deliver it"


def route_pending(portal: HubSpotPortal) -> int:
    """Route every pending or parked row; return how many are parked (unroutable) afterwards."""
    store = portal.store
    rows = store.outbox.rows("owner_id IS NULL AND (task_state IN ('pending', 'unroutable')"
                             " OR note_state IN ('pending', 'unroutable'))")
    if not rows:
        return 0
    owners = portal.active_owners()
    deal_ids = sorted({r["deal_id"] for r in rows if r["deal_id"]})
    deals = store.records.deals(deal_ids)
    unread = [d for d in deal_ids if d not in deals]
    if unread:  # rows from a dry run or the library API: read their deals now
        fresh = portal.read_deals(unread)
        store.records.save_deals(fresh.values(), iso(portal.clock()))
        deals.update(fresh)
    now = iso(portal.clock())
    parked = 0
    fallback = portal.fallback_owner_id
    for row in rows:
        owner, reason, deal_missing = None, "", False
        deal = deals.get(row["deal_id"]) if row["deal_id"] else None
        if row["deal_id"] is None:
            reason = "no deal yet (invitation)"
        elif deal is None or not deal.exists:
            reason, deal_missing = f"deal {row['deal_id']} not found in HubSpot", True
        elif deal.owner_id and deal.owner_id in owners:
            owner, reason = deal.owner_id, "deal owner"
        elif deal.owner_id:
            reason = f"deal owner {deal.owner_id} is archived or not an active user"
        else:
            reason = f"deal {row['deal_id']} has no owner"
        if owner is None:
            if fallback and fallback in owners:
                owner, reason = fallback, f"{reason} → fallback owner"
            elif fallback:
                reason = f"{reason}; fallback owner {fallback} is not an active owner"
            else:
                reason = f"{reason}; no fallback owner ({FALLBACK_HINT})"
        with store.atomic():
            if owner is not None and deal_missing:
                # A note needs a record to live on: deliver like an invitation, full context in the task.
                store.db.execute(
                    "UPDATE outbox SET deal_id = NULL, task_body = COALESCE(note_body, task_body), note_body = NULL,"
                    " note_state = 'none' WHERE event_key = ?", [row["event_key"]])
            store.outbox.set_route(row["event_key"], owner, reason, now)
        if owner is None:
            parked += 1
            log.warning("parked %s (%s): %s", row["event_key"], row["kind"], reason)
    return parked
