"""Who receives each outbox row: the deal's active owner, else the fallback owner, else the row is parked."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from poller.core.model import Deal
from poller.core.timefmt import iso
from poller.delivery.sink import Sink
from poller.store.database import StateStore

log = logging.getLogger(__name__)
FALLBACK_HINT = "set POLLER_FALLBACK_OWNER_ID to deliver it"


class Owners(Protocol):
    """The CRM's owners: who is active now (a cached list), and a way to drop the cache when one is refused."""

    def active_owners(self) -> Mapping[str, Any]: ...

    def forget_owners(self) -> None: ...


class Deals(Protocol):
    """The CRM's deals, read fresh by id."""

    def read_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]: ...


def route_pending(store: StateStore, sink: Sink, owners: Owners, deals_source: Deals, fallback: str | None,
                  clock: Callable[[], dt.datetime]) -> int:
    """Route every pending or parked row of a sink; return how many are parked (unroutable) afterwards."""
    rows = store.outbox.unrouted(sink.name)
    if not rows:
        return 0
    active = owners.active_owners()
    deal_ids = sorted({r["deal_id"] for r in rows if r["deal_id"]})
    deals = store.records.deals(deal_ids)
    unread = [d for d in deal_ids if d not in deals]
    if unread:  # rows from a dry run or the library API: read their deals now
        fresh = deals_source.read_deals(unread)
        store.records.save_deals(fresh.values(), iso(clock()))
        deals.update(fresh)
    now = iso(clock())
    parked = 0
    for row in rows:
        owner, reason, deal_missing = None, "", False
        deal = deals.get(row["deal_id"]) if row["deal_id"] else None
        if row["deal_id"] is None:
            reason = "no deal yet (invitation)"
        elif deal is None or not deal.exists:
            reason, deal_missing = f"deal {row['deal_id']} not found in HubSpot", True
        elif deal.owner_id and deal.owner_id in active:
            owner, reason = deal.owner_id, "deal owner"
        elif deal.owner_id:
            reason = f"deal owner {deal.owner_id} is archived or not an active user"
        else:
            reason = f"deal {row['deal_id']} has no owner"
        if owner is None:
            if fallback and fallback in active:
                owner, reason = fallback, f"{reason} → fallback owner"
            elif fallback:
                reason = f"{reason}; fallback owner {fallback} is not an active owner"
            else:
                reason = f"{reason}; no fallback owner ({FALLBACK_HINT})"
        if owner is not None and not sink.takes_owner(owner):
            with store.atomic():
                store.outbox.drop(row["event_key"], sink=sink.name)
            log.info("%s (%s) is not for %s: its owner %s is not among the sink's owners", row["event_key"],
                     row["kind"], sink.label, owner)
            continue
        with store.atomic():
            if owner is not None and deal_missing:
                # A note needs a record to live on: deliver like an invitation, full context in the task.
                store.outbox.without_deal(row["event_key"], sink=sink.name)
            store.outbox.set_route(row["event_key"], owner, reason, now, sink=sink.name)
        if owner is None:
            parked += 1
            log.warning("parked %s (%s): %s", row["event_key"], row["kind"], reason)
    return parked
