"""Reading the linked deals: only HubSpot's explicit not-found makes a deal missing; any other gap is a failed read."""

from __future__ import annotations

import json
import logging
from collections.abc import Container, Mapping, Sequence
from typing import Any

from poller.core.model import Deal
from poller.errors import DealReadFailed, FatalError
from poller.hubspot.portal import HubSpotPortal, Rejected

log = logging.getLogger(__name__)
BATCH = 100  # HubSpot's batch read limit


class HubSpotDeals:
    """The deals opportunities link to: by id (PartnerOpportunityIdentifier), or by a deal property holding the id."""

    def __init__(self, portal: HubSpotPortal, *, deal_fields: Mapping[str, str], deal_currency: str | None,
                 deal_id_property: str | None):
        self.portal = portal
        self.deal_fields = dict(deal_fields)  # snapshot field → deal property read for it (conflicts compare them)
        self.deal_currency = deal_currency  # the portal's company currency: a deal without its own code uses it
        self.deal_id_property = deal_id_property
        self.link_by_search: bool | None = None  # learnt on first use: is deal_id_property not unique?

    def read_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]:
        return read_deals(self, deal_ids)

    def deals_by_opportunity(self, opportunity_ids: Sequence[str]) -> dict[str, Deal]:
        return deals_by_opportunity(self, opportunity_ids)


def read_deals(deals: HubSpotDeals, deal_ids: Sequence[str]) -> dict[str, Deal]:
    """Deals by id, 100 per batch read. Only an id HubSpot names OBJECT_NOT_FOUND is Deal(exists=False).

    An answer that leaves an asked id unaccounted for (malformed, or results missing ids with no error) raises
    DealReadFailed.
    """
    from hubspot.crm.deals import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

    found: dict[str, Deal] = {}
    ids = [d for d in dict.fromkeys(deal_ids) if d]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        body = BatchReadInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=i) for i in chunk],
                                                  properties=_properties(deals), properties_with_history=[])
        objects, missing = _batch_read(deals, body, "HubSpot deal read")
        by_id = {str(obj.id): obj for obj in objects if getattr(obj, "id", None) is not None}
        _account_for(chunk, by_id, missing, "HubSpot deal read")
        for deal_id in chunk:
            found[deal_id] = (_deal(deals, by_id[deal_id]) if deal_id in by_id
                              else Deal(deal_id=deal_id, exists=False))
    return found


def deals_by_opportunity(deals: HubSpotDeals, opportunity_ids: Sequence[str]) -> dict[str, Deal]:
    """Deals whose `deal_id_property` holds one of these opportunity ids, by opportunity id (100 per call).

    A unique property is read with batch read by idProperty (no index lag); otherwise by search (IN filter).
    An opportunity HubSpot names as not found has no deal; an answer that leaves one unaccounted for raises
    DealReadFailed.
    """
    from hubspot.crm.deals import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

    prop = str(deals.deal_id_property)
    properties = [*_properties(deals), prop]
    found: dict[str, Deal] = {}
    ids = [i for i in dict.fromkeys(opportunity_ids) if i]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        objects: list[Any] = []
        if deals.link_by_search is not True:
            body = BatchReadInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=i) for i in chunk],
                                                      properties=properties, properties_with_history=[],
                                                      id_property=prop)
            try:
                objects, missing = _batch_read(deals, body, f"HubSpot deal read by {prop}")
                deals.link_by_search = False
            except Rejected as exc:  # only a 400 gets here: the property is not unique
                log.info("deal property %s is not unique; linking deals by search instead (%s)", prop, exc)
                deals.link_by_search = True
            else:
                linked = {str(_prop(o, prop)) for o in objects if getattr(o, "id", None) is not None}
                _account_for(chunk, linked, missing, f"HubSpot deal read by {prop}")
        if deals.link_by_search:
            objects = _search(deals, prop, chunk, properties)
        for obj in objects:
            if getattr(obj, "id", None) is not None:
                found.setdefault(str(_prop(obj, prop)), _deal(deals, obj))
    return found


def _properties(deals: HubSpotDeals) -> list[str]:
    # deal_currency_code: the amount's currency, so only like is compared with like (core.conflicts).
    return ["hubspot_owner_id", "deal_currency_code", *deals.deal_fields.values()]


def _batch_read(deals: HubSpotDeals, body: Any, what: str) -> tuple[list[Any], set[str]]:
    """(the objects a deal batch read returned, the ids it named OBJECT_NOT_FOUND); DealReadFailed if malformed.

    A 400 is raised as Rejected (deals_by_opportunity then links by search); any other refusal is fatal.
    """
    try:
        data, _status, _headers = deals.portal.call(deals.portal.deals_batch.read_with_http_info, body, archived=False)
    except Rejected as exc:
        missing = _not_found(_errors_of(exc.body)) if exc.status == 404 else set()
        if missing:  # everything asked for is gone, and HubSpot says so with a 404 naming the ids
            return [], missing
        if exc.status == 400:
            raise
        raise FatalError(f"{what} failed: {exc}") from exc
    results = getattr(data, "results", None)
    if not isinstance(results, list):
        raise DealReadFailed(f"{what}: the answer holds no list of results; read again next cycle")
    return results, _not_found(getattr(data, "errors", None) or [])


def _deal(deals: HubSpotDeals, obj: Any) -> Deal:
    """An SDK deal object as our Deal: its owner and the values of the properties mapped for conflicts."""
    props = obj.properties or {}
    mapped = {field: props.get(name) for field, name in deals.deal_fields.items()}
    return Deal(deal_id=str(obj.id), owner_id=props.get("hubspot_owner_id") or None, dealname=mapped.get("title"),
                amount=mapped.get("expected_spend"), closedate=mapped.get("target_close_date"),
                currency=props.get("deal_currency_code") or deals.deal_currency)


def _search(deals: HubSpotDeals, prop: str, values: list[str], properties: list[str]) -> list[Any]:
    from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest

    objects: list[Any] = []
    after: str | None = "0"
    while after is not None:
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name=prop, operator="IN", values=values)])],
            properties=properties, limit=200, after=after)
        data, _s, _h = deals.portal.call(deals.portal.deals_search.do_search_with_http_info, request)
        objects.extend(data.results or [])
        after = data.paging.next.after if data.paging and data.paging.next else None
    return objects


def _errors_of(body: str | None) -> list[dict[str, Any]]:
    """The error a refusal's body holds, as a one-item list (empty when it holds none)."""
    try:
        data = json.loads(body or "{}")
    except ValueError:
        return []
    return [data] if isinstance(data, dict) and data.get("category") else []


def _not_found(errors: Sequence[Any]) -> set[str]:
    """The ids named by OBJECT_NOT_FOUND errors (SDK models or plain dicts): HubSpot's explicit "no such object"."""
    missing: set[str] = set()
    for error in errors:
        fields = error if isinstance(error, dict) else {"category": getattr(error, "category", None),
                                                        "context": getattr(error, "context", None)}
        context = fields.get("context")
        if fields.get("category") == "OBJECT_NOT_FOUND" and isinstance(context, dict):
            missing.update(str(i) for i in context.get("ids") or [])
    return missing


def _account_for(asked: Sequence[str], found: Container[str], missing: set[str], what: str) -> None:
    """Every id asked for must come back, found or named not found; otherwise the read failed (DealReadFailed)."""
    unaccounted = [i for i in asked if i not in found and i not in missing]
    if unaccounted:
        shown = ", ".join(unaccounted[:10]) + (f" and {len(unaccounted) - 10} more" if len(unaccounted) > 10 else "")
        raise DealReadFailed(f"{what}: HubSpot's answer neither returned nor named as not found {shown}; "
                             "read again next cycle")


def _prop(obj: Any, name: str) -> Any:
    return (getattr(obj, "properties", None) or {}).get(name)
