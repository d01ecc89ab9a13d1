"""The outbox protocol: write-ahead `sending`, batch creates keyed by event key, reconcile `unknown` before resending."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from poller.core.timefmt import iso, parse_iso
from poller.errors import BudgetExhausted, FatalError
from poller.hubspot import Rejected, UnknownOutcome
from poller.hubspot_objects import build_inputs, ensure_key_property, find_by_keys
from poller.routing import route_pending

if TYPE_CHECKING:
    from poller.hubspot import HubSpotPortal

log = logging.getLogger(__name__)
BATCH = 100
PARTS = ("task", "note")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOutcome:
    delivered: int
    parked: int
    deferred: str | None


def deliver(portal: HubSpotPortal) -> DeliveryOutcome:
    """Deliver every routable outbox row as exactly one task and one note (or as much as the budget allows)."""
    store = portal.store
    started = iso(portal.clock())
    with store.atomic():  # we hold the lease: a row still `sending` belongs to a process that died mid-request
        for part in PARTS:
            store.db.execute(f"UPDATE outbox SET {part}_state = 'unknown' WHERE {part}_state = 'sending'")
    deferred, parked = None, 0
    try:
        modes = ensure_key_property(portal)
        reconcile_unknown(portal, modes)
        parked = route_pending(portal)
        for _ in range(3):  # a batch that ends `unknown` is reconciled and, if absent, resent in the same run
            sent = sum(send_pending(portal, part, modes) for part in PARTS)
            resend = reconcile_unknown(portal, modes)
            if not sent or not resend:
                break
    except BudgetExhausted as exc:
        deferred = str(exc)
        log.info("delivery stopped: %s; the rest goes out next cycle", exc)
    delivered = store.db.execute(
        "SELECT count(*) FROM outbox_status WHERE status = 'done' AND updated_at >= ?", [started]).fetchone()[0]
    return DeliveryOutcome(delivered=delivered, parked=parked, deferred=deferred)


def send_pending(portal: HubSpotPortal, part: str, modes: dict[str, str]) -> int:
    """Send pending rows of one part in batches of ≤100; return how many requests were made."""
    store = portal.store
    requests = 0
    condition = (f"{part}_state = 'pending' AND owner_id IS NOT NULL"
                 + (" AND deal_id IS NOT NULL" if part == "note" else ""))
    while True:
        rows = store.outbox.rows(condition, limit=BATCH)
        if not rows:
            return requests
        keys = [r["event_key"] for r in rows]
        now = portal.clock()
        with store.atomic():  # write-ahead: committed before the request leaves
            store.outbox.mark(part, keys, "sending", iso(now), count_attempt=True)
        api = portal.tasks_batch if part == "task" else portal.notes_batch
        body = build_inputs(part, rows, modes, now)
        requests += 1
        try:
            data, _status, _headers = portal.call(api.create_with_http_info, body, write=True)
        except UnknownOutcome as exc:
            _finish(portal, part, keys, "unknown", f"outcome unknown: {exc}")
            log.warning("%d %ss in an uncertain state (%s); they are checked before any resend", len(keys), part, exc)
            continue
        except Rejected as exc:
            _finish(portal, part, keys, "failed", str(exc))
            log.error("HubSpot rejected a %s batch: %s", part, exc)
            continue
        except (BudgetExhausted, FatalError) as exc:
            _finish(portal, part, keys, "pending", str(exc))  # never reached HubSpot (429 / refused): resend later
            raise
        _record_results(portal, part, keys, data)


def _record_results(portal: HubSpotPortal, part: str, keys: list[str], data: Any) -> None:
    created: dict[str, str] = {}
    for obj in data.results or []:
        key = getattr(obj, "object_write_trace_id", None) or (obj.properties or {}).get("poller_event_key")
        if key:
            created[key] = str(obj.id)
    failed: dict[str, str] = {}
    for error in getattr(data, "errors", None) or []:
        for key in (error.context or {}).get("objectWriteTraceId", []):
            failed[key] = f"{error.category}: {error.message}"
    now = iso(portal.clock())
    with portal.store.atomic():
        portal.store.outbox.mark(part, [k for k in keys if k in created], "done", now, object_ids=created)
        for key, message in failed.items():
            if key not in created:
                portal.store.outbox.mark(part, [key], "failed", now, error=message)
        missing = [k for k in keys if k not in created and k not in failed]
        portal.store.outbox.mark(part, missing, "unknown", now, error="not in HubSpot's batch response")
    for key, message in failed.items():
        log.error("HubSpot refused the %s of %s: %s", part, key, message)


def _finish(portal: HubSpotPortal, part: str, keys: list[str], state: str, error: str) -> None:
    with portal.store.atomic():
        portal.store.outbox.mark(part, keys, state, iso(portal.clock()), error=error)


def reconcile_unknown(portal: HubSpotPortal, modes: dict[str, str]) -> int:
    """Look each uncertain object up by its event key: found → done; absent → pending. Returns how many to resend."""
    store = portal.store
    resend = 0
    for part in PARTS:
        rows = store.outbox.rows(f"{part}_state = 'unknown'")
        if not rows:
            continue
        found, checked = find_by_keys(portal, part, rows, modes)
        now = iso(portal.clock())
        with store.atomic():
            store.outbox.mark(part, [k for k in checked if k in found], "done", now, object_ids=found)
            store.outbox.mark(part, [k for k in checked if k not in found], "pending", now)
        resend += len([k for k in checked if k not in found])
        if found:
            log.info("reconciled %d %ss that HubSpot had created before we recorded them", len(found), part)
    return resend


def settled(row: dict[str, Any], now: dt.datetime, seconds: float) -> bool:
    """Whether search can be trusted for this row: its send is older than HubSpot's index lag."""
    since = row.get("sending_since") or row.get("updated_at")
    return since is None or parse_iso(since) <= now - dt.timedelta(seconds=seconds)
