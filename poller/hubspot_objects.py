"""HubSpot task and note objects: their create inputs, the event-key property, and finding them again by key."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

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
from hubspot.crm.properties import PropertyCreate

from poller.core.timefmt import parse_iso
from poller.errors import TokenRefused, UnknownOutcome
from poller.hubspot import Rejected

if TYPE_CHECKING:
    from poller.hubspot import HubSpotPortal

log = logging.getLogger(__name__)
KEY_PROPERTY = "poller_event_key"
ASSOCIATION_TYPE = {"task": 216, "note": 214}  # HUBSPOT_DEFINED task→deal, note→deal
OBJECT_TYPE = {"task": "tasks", "note": "notes"}
BODY_PROPERTY = {"task": "hs_task_body", "note": "hs_note_body"}
GROUP = {"task": "taskinformation", "note": "noteinformation"}
REMINDER_DELAY = dt.timedelta(minutes=5)
REMINDER_MIN_LEAD = dt.timedelta(minutes=1)  # a row delivered after its due time (an outage) still rings
SEARCH_INDEX_LAG = 60.0  # seconds before a stored object shows up in search (HubSpot: "a few moments")
ASSOCIATION_READ_MAX = 1_000  # ids per v4 associations batch read (HubSpot's limit since 2025-02)


def _ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def reminder_at(due: dt.datetime, now: dt.datetime) -> dt.datetime:
    """A few minutes from now, or the due time if sooner; never in the past, where it would never ring."""
    return max(now + REMINDER_MIN_LEAD, min(now + REMINDER_DELAY, due))


def build_inputs(part: str, rows: list[dict[str, Any]], modes: dict[str, str],
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
                "hs_task_reminders": _ms(reminder_at(due, now)),
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


def ensure_key_property(portal: HubSpotPortal) -> dict[str, str]:
    """Per part, 'property' when the portal has (or lets us create) poller_event_key, else 'body' (the Ref: token)."""
    modes = portal.store.meta("event_key_storage")
    if modes:
        return modes
    modes = {}
    for part, object_type in OBJECT_TYPE.items():
        try:
            portal.call(portal.properties.get_by_name_with_http_info, object_type, KEY_PROPERTY)
            modes[part] = "property"
            continue
        except (Rejected, TokenRefused) as exc:
            if isinstance(exc, TokenRefused) and exc.status != 403:
                raise  # a bad token stops the cycle; a missing permission only means "no custom property"
            if exc.status != 404:
                modes[part] = "body"
                continue
        modes[part] = _create_key_property(portal, part)
    portal.store.set_meta("event_key_storage", modes)
    return modes


def names_key_property(text: str | None) -> bool:
    """Whether a refusal is about poller_event_key itself (PROPERTY_DOESNT_EXIST, a bad value for it, …)."""
    return KEY_PROPERTY in (text or "")


def key_property_refused(portal: HubSpotPortal, part: str, modes: dict[str, str]) -> str:
    """HubSpot refused the key property on a part: an admin deleted or changed it. Look again: recreate it when it
    is gone and the portal allows it, else carry the key as the body's Ref: token from now on. Updates `modes`.

    A property that still exists but is refused, or one refused again after this run recreated it (HubSpot keeps
    an archived property's name), goes to the body, so this never loops.
    """
    try:
        gone = part not in portal.key_property_rechecked and not _key_property_exists(portal, OBJECT_TYPE[part])
    except TokenRefused as exc:  # 403: the definitions cannot be read either; the body needs no permission
        if exc.status != 403:
            raise
        gone = False
    portal.key_property_rechecked.add(part)
    if gone:
        log.warning("the %s property %s is gone (deleted in HubSpot?); creating it again", OBJECT_TYPE[part],
                    KEY_PROPERTY)
    mode = _create_key_property(portal, part) if gone else "body"
    modes[part] = mode
    portal.store.set_meta("event_key_storage", modes)
    log.warning("%ss now carry the event key %s", part,
                "in the recreated property" if mode == "property" else "as a Ref: token in the body")
    return mode


def _create_key_property(portal: HubSpotPortal, part: str) -> str:
    """Create poller_event_key on tasks or notes; 'property' once it exists, 'body' when the portal will not have it."""
    object_type = OBJECT_TYPE[part]
    group = GROUP[part]
    for _ in range(2):
        try:
            portal.call(portal.properties.create_with_http_info, object_type, PropertyCreate(
                name=KEY_PROPERTY, label="Poller event key", type="string", field_type="text", group_name=group,
                description="Idempotency key of the poller notification that created this"), write=True)
            return "property"
        except UnknownOutcome as exc:
            if _key_property_exists(portal, object_type):
                return "property"
            raise UnknownOutcome(f"creating {object_type}.{KEY_PROPERTY}: {exc}") from exc
        except (Rejected, TokenRefused) as exc:  # 403: the portal's tier or the token's scopes do not allow it
            if isinstance(exc, TokenRefused) and exc.status != 403:
                raise
            if isinstance(exc, Rejected) and exc.status == 409:  # created meanwhile (another run, a person)
                return "property"
            if isinstance(exc, Rejected) and exc.status == 400 and (home := _group_of_body(portal, part)) != group:
                group = home  # the portal names its groups differently: put the key beside the body property
                continue
            log.info("cannot create %s.%s (%s); the event key goes in the body as a Ref: token", object_type,
                     KEY_PROPERTY, exc)
            return "body"
    return "body"


def _key_property_exists(portal: HubSpotPortal, object_type: str) -> bool:
    try:
        portal.call(portal.properties.get_by_name_with_http_info, object_type, KEY_PROPERTY)
        return True
    except Rejected:
        return False


def _group_of_body(portal: HubSpotPortal, part: str) -> str | None:
    try:
        data, _s, _h = portal.call(portal.properties.get_by_name_with_http_info, OBJECT_TYPE[part], BODY_PROPERTY[part])
    except Rejected:
        return None
    return getattr(data, "group_name", None)


def find_by_keys(portal: HubSpotPortal, part: str, rows: list[dict[str, Any]],
                 modes: dict[str, str]) -> dict[str, str]:
    """Find the objects already created for these rows (all settled): {event key: object id}.

    Rows on a deal are looked for among their deals' associations (no index lag); the others by search.
    """
    on_deals = [r for r in rows if r["deal_id"]]
    found = _find_on_deals(portal, part, on_deals) if on_deals else {}
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


def _find_on_deals(portal: HubSpotPortal, part: str, rows: list[dict[str, Any]]) -> dict[str, str]:
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
    known = _recorded_ids(portal, part, deal_ids)
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


def _recorded_ids(portal: HubSpotPortal, part: str, deal_ids: list[str]) -> set[str]:
    """Objects the outbox already holds for these deals: other rows' deliveries, never a candidate."""
    known: set[str] = set()
    for start in range(0, len(deal_ids), 500):
        chunk = deal_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        known.update(r[0] for r in portal.store.db.execute(
            f"SELECT {part}_id FROM outbox WHERE deal_id IN ({marks}) AND {part}_id IS NOT NULL", chunk))
    return known


def _newest_first(object_id: str) -> tuple[int, int]:
    # HubSpot's ids grow over time, so what an uncertain send created is among the highest.
    return (0, -int(object_id)) if object_id.isdigit() else (1, 0)


def _search(portal: HubSpotPortal, part: str, rows: list[dict[str, Any]], modes: dict[str, str]) -> dict[str, str]:
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


def _body_mode_filters(part: str, row: dict[str, Any]) -> list[Filter]:
    """Without the key property, find a task by the exact subject and owner we sent; the Ref: token in the body
    then confirms it. Exact matches do not depend on how HubSpot splits `evk_…` into search tokens."""
    if part == "task":
        return [Filter(property_name="hs_task_subject", operator="EQ", value=row["subject"]),
                Filter(property_name="hubspot_owner_id", operator="EQ", value=str(row["owner_id"]))]
    return [Filter(property_name=BODY_PROPERTY[part], operator="CONTAINS_TOKEN", value=row["event_key"])]
