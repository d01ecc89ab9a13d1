"""HubSpot task and note objects: their batch-create inputs, and finding them again by event key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)

from poller.core.timefmt import parse_iso
from poller.hubspot.keys import BODY_PROPERTY, KEY_PROPERTY, OBJECT_TYPE
from poller.hubspot.portal import HubSpotPortal
from poller.store.outbox import OutboxRow

ASSOCIATION_TYPE = {"task": 216, "note": 214}  # HUBSPOT_DEFINED task→deal, note→deal
REMINDER_DELAY = dt.timedelta(minutes=5)
REMINDER_MIN_LEAD = dt.timedelta(minutes=1)  # a row delivered after its due time (an outage) still rings
SEARCH_INDEX_LAG = 60.0  # seconds before a stored object shows up in search (HubSpot: "a few moments")
ASSOCIATION_READ_MAX = 1_000  # ids per v4 associations batch read (HubSpot's limit since 2025-02)


def _ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def reminder_at(due: dt.datetime, now: dt.datetime, moved: str | None = None) -> dt.datetime:
    """A few minutes from now, or the due time if sooner; never in the past, where it would never ring. `moved`: the
    end of the owner's quiet hours, where the reminder was moved to (the task itself is created now)."""
    if moved:
        return max(now + REMINDER_MIN_LEAD, parse_iso(moved))
    return max(now + REMINDER_MIN_LEAD, min(now + REMINDER_DELAY, due))


def build_inputs(part: str, rows: Sequence[OutboxRow], modes: dict[str, str],
                 now: dt.datetime) -> BatchInputSimplePublicObjectBatchInputForCreate:
    """Batch-create inputs with inline deal associations; objectWriteTraceId = event key maps results back."""
    inputs = []
    for row in rows:
        if part == "task":
            due = parse_iso(row["due_at"])
            properties = {
                "hs_timestamp": _ms(due),  # a task's hs_timestamp is its due date
                "hs_task_subject": row["subject"],
                "hs_task_body": row["task_body"],
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": row["priority"],
                "hs_task_type": "TODO",
                "hubspot_owner_id": row["owner_id"],
                # HubSpot does not promise an "assigned" notification for app-created tasks; a reminder rings the bell.
                "hs_task_reminders": _ms(reminder_at(due, now, row.get("remind_at"))),
            }
        else:
            properties = {"hs_timestamp": _ms(now), "hs_note_body": row["note_body"], "hubspot_owner_id": row["owner_id"]}
        if modes.get(part) == "property":
            properties[KEY_PROPERTY] = row["event_key"]
        associations = []
        if row["deal_id"]:
            associations = [PublicAssociationsForObject(
                to=PublicObjectId(id=str(row["deal_id"])),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=ASSOCIATION_TYPE[part])])]
        inputs.append(SimplePublicObjectBatchInputForCreate(
            properties=properties, associations=associations, object_write_trace_id=row["event_key"]))
    return BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)


def find_by_keys(portal: HubSpotPortal, part: str, rows: Sequence[OutboxRow], modes: dict[str, str], *,
                 recorded: Callable[[list[str]], set[str]]) -> dict[str, str]:
    """Find the objects already created for these rows (all settled): {event key: object id}.

    Rows on a deal are looked for among their deals' associations (no index lag); the others by search.
    `recorded(deal_ids)`: the objects the outbox already holds for those deals, never a candidate.
    """
    on_deals = [r for r in rows if r["deal_id"]]
    found = _find_on_deals(portal, part, on_deals, recorded) if on_deals else {}
    loose = [r for r in rows if not r["deal_id"]]
    for start in range(0, len(loose), 50):
        found.update(_search(portal, part, loose[start:start + 50], modes))
    return found


def _key_of(part: str, properties: dict[str, Any], candidates: set[str]) -> str | None:
    key = properties.get(KEY_PROPERTY)
    if key in candidates:
        return key
    body = properties.get(BODY_PROPERTY[part]) or ""
    return next((k for k in candidates if k in body), None)


def _find_on_deals(portal: HubSpotPortal, part: str, rows: Sequence[OutboxRow],
                   recorded: Callable[[list[str]], set[str]]) -> dict[str, str]:
    """A handful of calls for a whole batch: the deals' links in v4 batch reads (≤1,000 deals each), then the linked
    objects we have not recorded yet, 100 per batch read, newest first, until every key is found."""
    deal_ids = sorted({str(r["deal_id"]) for r in rows})
    keys = {r["event_key"] for r in rows}
    candidates: list[str] = []
    todo: list[tuple[str, str | None]] = [(deal_id, None) for deal_id in deal_ids]
    while todo:
        chunk, todo = todo[:ASSOCIATION_READ_MAX], todo[ASSOCIATION_READ_MAX:]
        body = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=deal_id, after=after) for deal_id, after in chunk])
        data, _s, _h = portal.call(portal.associations_batch.get_page_with_http_info, "deals", OBJECT_TYPE[part], body)
        # A deal with no such links (or gone) comes back as a per-id error: nothing of ours is on it.
        for result in data.results or []:
            candidates.extend(str(link.to_object_id) for link in result.to or [])
            after = result.paging.next.after if result.paging and result.paging.next else None
            if after:
                todo.append((str(result._from.id), after))
    known = recorded(deal_ids)
    fresh = sorted((i for i in dict.fromkeys(candidates) if i not in known), key=_newest_first)
    api = portal.tasks_batch if part == "task" else portal.notes_batch
    found: dict[str, str] = {}
    for start in range(0, len(fresh), 100):
        if found.keys() >= keys:
            break
        body = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in fresh[start:start + 100]],
            properties=[KEY_PROPERTY, BODY_PROPERTY[part]], properties_with_history=[])
        data, _s, _h = portal.call(api.read_with_http_info, body, archived=False)
        for obj in data.results or []:
            key = _key_of(part, obj.properties or {}, keys)
            if key:
                found[key] = str(obj.id)
    return found


def _newest_first(object_id: str) -> tuple[int, int]:
    # HubSpot's ids grow over time, so what an uncertain send created is among the highest.
    return (0, -int(object_id)) if object_id.isdigit() else (1, 0)


def _search(portal: HubSpotPortal, part: str, rows: Sequence[OutboxRow], modes: dict[str, str]) -> dict[str, str]:
    api = portal.tasks_search if part == "task" else portal.notes_search
    keys = [r["event_key"] for r in rows]
    if modes.get(part) == "property":
        groups = [[FilterGroup(filters=[Filter(property_name=KEY_PROPERTY, operator="IN", values=keys)])]]
    else:  # at most 5 filter groups per search: one row each
        groups = [[FilterGroup(filters=_body_mode_filters(part, row)) for row in rows[i:i + 5]]
                  for i in range(0, len(rows), 5)]
    found: dict[str, str] = {}
    for filter_groups in groups:
        request = PublicObjectSearchRequest(filter_groups=filter_groups, properties=[KEY_PROPERTY, BODY_PROPERTY[part]],
                                            limit=200, after="0")
        data, _s, _h = portal.call(api.do_search_with_http_info, request)
        for obj in data.results or []:
            key = _key_of(part, obj.properties or {}, set(keys))
            if key:
                found[key] = str(obj.id)
    return found


def _body_mode_filters(part: str, row: OutboxRow) -> list[Filter]:
    """Without the key property, find a task by the exact subject and owner we sent; the Ref: token in the body
    then confirms it. Exact matches do not depend on how HubSpot splits `evk_…` into search tokens."""
    if part == "task":
        return [Filter(property_name="hs_task_subject", operator="EQ", value=row["subject"]),
                Filter(property_name="hubspot_owner_id", operator="EQ", value=str(row["owner_id"]))]
    return [Filter(property_name=BODY_PROPERTY[part], operator="CONTAINS_TOKEN", value=row["event_key"])]
