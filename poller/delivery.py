"""The outbox protocol: write-ahead `sending`, batch creates keyed by event key, settle and reconcile `unknown`
before resending."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from poller.core.refusals import verdict_for
from poller.core.timefmt import iso, parse_iso
from poller.errors import DailyLimitReached, Deferred, FatalError, UnknownOutcome
from poller.hubspot import Rejected
from poller.hubspot_objects import (
    SEARCH_INDEX_LAG,
    build_inputs,
    ensure_key_property,
    find_by_keys,
    key_property_refused,
    names_key_property,
)
from poller.routing import route_pending

if TYPE_CHECKING:
    from poller.hubspot import HubSpotPortal

log = logging.getLogger(__name__)
BATCH = 100
PARTS = ("task", "note")
MAX_ATTEMPTS = 8  # sends of one row, task and note together (a clean delivery takes 2)


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
        for _ in range(3):  # a row that ends `unknown` or re-routed is checked and, if need be, resent this run
            parked = route_pending(portal)
            sent = sum(send_pending(portal, part, modes) for part in PARTS)
            again = reconcile_unknown(portal, modes) + _awaiting_route(portal)
            if not sent or not again:
                break
        _report_unsettled(portal)
    except (Deferred, UnknownOutcome) as exc:  # nothing is lost: the rows wait in the outbox
        deferred = str(exc)
        level = logging.ERROR if isinstance(exc, DailyLimitReached) else logging.INFO
        log.log(level, "delivery stopped: %s; the rest goes out next cycle", exc)
    delivered = store.db.execute(
        "SELECT count(*) FROM outbox_status WHERE status = 'done' AND updated_at >= ?", [started]).fetchone()[0]
    return DeliveryOutcome(delivered=delivered, parked=parked, deferred=deferred)


def _awaiting_route(portal: HubSpotPortal) -> int:
    """Rows pending without an owner after routing ran: HubSpot refused their owner in this pass, route again."""
    return portal.store.db.execute(
        "SELECT count(*) FROM outbox WHERE owner_id IS NULL"
        " AND (task_state = 'pending' OR (note_state = 'pending' AND task_state != 'unroutable'))").fetchone()[0]


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
        requests += _send(portal, part, rows, modes)


def _send(portal: HubSpotPortal, part: str, rows: list[dict[str, Any]], modes: dict[str, str]) -> int:
    """One batch create (write-ahead `sending` first); a whole-batch refusal is split to find the input at fault."""
    keys = [r["event_key"] for r in rows]
    now = portal.clock()
    with portal.store.atomic():  # write-ahead: committed before the request leaves
        portal.store.outbox.mark(part, keys, "sending", iso(now), count_attempt=True)
    api = portal.tasks_batch if part == "task" else portal.notes_batch
    try:
        data, _status, _headers = portal.call(api.create_with_http_info, build_inputs(part, rows, modes, now),
                                              write=True)
    except UnknownOutcome as exc:
        _finish(portal, part, keys, "unknown", f"outcome unknown: {exc}")
        log.warning("%d %ss in an uncertain state (%s); they are checked before any resend", len(keys), part, exc)
        return 1
    except Rejected as exc:
        if exc.status == 400 and modes.get(part) == "property" and names_key_property(exc.body):
            _finish(portal, part, keys, "pending", str(exc))  # refused, so nothing was created: send again
            key_property_refused(portal, part, modes)
            return 1
        if len(rows) > 1 and exc.status == 400:
            # A whole-batch 400 created nothing and may name only the first bad input: halve until it is alone,
            # so one bad row does not take ninety-nine good ones with it.
            _finish(portal, part, keys, "pending", str(exc))
            middle = len(rows) // 2
            return 1 + _send(portal, part, rows[:middle], modes) + _send(portal, part, rows[middle:], modes)
        with portal.store.atomic():
            _fail(portal, part, keys, iso(portal.clock()), str(exc))
        log.error("HubSpot rejected a %s batch: %s", part, exc)
        return 1
    except (Deferred, FatalError) as exc:
        _finish(portal, part, keys, "pending", str(exc))  # never reached HubSpot (429 / refused): resend later
        raise
    if data is None or getattr(data, "results", None) is None:  # an answer the SDK could not map: check first
        _finish(portal, part, keys, "unknown", "HubSpot's answer carried no results")
        return 1
    _record_results(portal, part, keys, data, modes)
    return 1


def _error_text(error: Any) -> str:
    details = [f"{d.message} {d.context}" for d in getattr(error, "errors", None) or []]
    return " ".join([error.message or "", str(error.context or {}), *details])


def _record_results(portal: HubSpotPortal, part: str, keys: list[str], data: Any, modes: dict[str, str]) -> None:
    created: dict[str, str] = {}
    for obj in data.results or []:
        key = getattr(obj, "object_write_trace_id", None) or (obj.properties or {}).get("poller_event_key")
        if key:
            created[key] = str(obj.id)
    refused: dict[str, tuple[str, str]] = {}
    for error in getattr(data, "errors", None) or []:
        context = error.context or {}
        verdict = verdict_for(error.category, error.message, context)
        if modes.get(part) == "property" and names_key_property(_error_text(error)):
            verdict = "rekey"  # refused for poller_event_key itself (deleted by an admin?): not this row's fault
        for key in context.get("objectWriteTraceId", []):
            refused[key] = (verdict, f"{error.category}: {error.message}")
    now = iso(portal.clock())
    with portal.store.atomic():
        portal.store.outbox.mark(part, [k for k in keys if k in created], "done", now, object_ids=created)
        for key, (verdict, message) in refused.items():
            if key in created or key not in keys:
                continue
            if verdict == "failed":
                _fail(portal, part, [key], now, message)
            elif verdict == "rekey":  # refused, so not created: send again once the key has a home
                portal.store.outbox.mark(part, [key], "pending", now, error=message)
            elif verdict == "reroute":  # the owner was refused: route again from a fresh owners list
                # Each re-route was a send, and counts toward the cap: an owner HubSpot keeps refusing ends `failed`.
                for again in _retry_or_give_up(portal, part, [key], now, f"HubSpot refused the owner: {message}"):
                    portal.store.outbox.unroute(again, f"HubSpot refused the owner: {message}", now)
                    portal.store.outbox.note(again, "rerouted", message, now)
            else:
                _retry_or_give_up(portal, part, [key], now, message)
        missing = [k for k in keys if k not in created and k not in refused]
        portal.store.outbox.mark(part, missing, "unknown", now, error="not in HubSpot's batch response")
    if any(v == "reroute" for v, _m in refused.values()):
        portal.forget_owners()
    if any(v == "rekey" for v, _m in refused.values()):
        key_property_refused(portal, part, modes)
    for key, (verdict, message) in refused.items():
        log.error("HubSpot refused the %s of %s (%s): %s", part, key, verdict, message)


def _retry_or_give_up(portal: HubSpotPortal, part: str, keys: list[str], now: str, error: str | None) -> list[str]:
    """Back to `pending` for the next send, unless the row has been sent MAX_ATTEMPTS times: then `failed`.
    Returns the keys that go out again."""
    if not keys:
        return []
    marks = ",".join("?" * len(keys))
    spent = {r[0] for r in portal.store.db.execute(
        f"SELECT event_key FROM outbox WHERE event_key IN ({marks}) AND attempts >= ?", [*keys, MAX_ATTEMPTS])}
    again = [k for k in keys if k not in spent]
    portal.store.outbox.mark(part, again, "pending", now, error=error)
    for key in spent:
        _fail(portal, part, [key], now, f"gave up after {MAX_ATTEMPTS} attempts: {error or 'not created'}")
        log.error("gave up on the %s of %s after %d attempts", part, key, MAX_ATTEMPTS)
    return again


def _fail(portal: HubSpotPortal, part: str, keys: list[str], now: str, error: str) -> None:
    """`failed` with HubSpot's reason, in the row's history too (`poller outbox retry` puts it back)."""
    portal.store.outbox.mark(part, keys, "failed", now, error=error)
    for key in keys:
        portal.store.outbox.note(key, "failed", f"{part}: {error}", now)


def _finish(portal: HubSpotPortal, part: str, keys: list[str], state: str, error: str) -> None:
    with portal.store.atomic():
        portal.store.outbox.mark(part, keys, state, iso(portal.clock()), error=error)


def reconcile_unknown(portal: HubSpotPortal, modes: dict[str, str]) -> int:
    """Look up each uncertain object that had time to settle: found → done; absent → pending. Returns how many
    go out again. One still within its settle time waits (as `unknown`) for a later pass or the next cycle."""
    store = portal.store
    resend = 0
    now = portal.clock()
    for part in PARTS:
        # HubSpot may still be storing a create the client gave up on; search also lags behind the store.
        rows = [r for r in store.outbox.rows(f"{part}_state = 'unknown'")
                if settled(r, now, portal.settle_time + (0 if r["deal_id"] else SEARCH_INDEX_LAG))]
        if not rows:
            continue
        checked = [r["event_key"] for r in rows]
        found = find_by_keys(portal, part, rows, modes)
        stamp = iso(portal.clock())
        with store.atomic():
            store.outbox.mark(part, [k for k in checked if k in found], "done", stamp, object_ids=found)
            resend += len(_retry_or_give_up(portal, part, [k for k in checked if k not in found], stamp, None))
        if found:
            log.info("reconciled %d %ss that HubSpot had created before we recorded them", len(found), part)
    return resend


def settled(row: dict[str, Any], now: dt.datetime, seconds: float) -> bool:
    """Whether an uncertain send is old enough to look up: HubSpot has finished with it (and, for search, indexed it)."""
    since = row.get("sending_since") or row.get("updated_at")
    return since is None or parse_iso(since) <= now - dt.timedelta(seconds=seconds)


def _report_unsettled(portal: HubSpotPortal) -> None:
    row = portal.store.db.execute("SELECT count(*), min(COALESCE(sending_since, updated_at)) FROM outbox"
                                  " WHERE task_state = 'unknown' OR note_state = 'unknown'").fetchone()
    if row[0]:
        log.info("%d uncertain sends are looked up once they settle (%.0f s after %s); the next cycle does it if "
                 "this one ends sooner", row[0], portal.settle_time, row[1])
