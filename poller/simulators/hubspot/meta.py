"""Portal metadata routes: owners (v3), property definitions (read and create custom ones), account details."""

from __future__ import annotations

import re
from typing import Any

from poller.simulators.hubspot.schema import definition, object_type
from poller.simulators.hubspot.store import CrmStore, Ctx
from poller.simulators.hubspot.wire import (
    ApiError,
    body_json,
    iso_ms,
    json_response,
    offset_after,
    query_bool,
    query_int,
    query_one,
)
from poller.simulators.server import Response

OWNERS_MAX_LIMIT = 500
MAX_UNIQUE_PER_OBJECT = 10
PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool", "phone_number"}
_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PORTAL_ID = 1234567


# --- owners
def owners_page(ctx: Ctx) -> Response:
    """Active owners by default; archived=true lists only the archived (deactivated) ones, as HubSpot does."""
    limit = query_int(ctx.request, "limit", 100)
    if not 1 <= limit <= OWNERS_MAX_LIMIT:
        raise ApiError(400, f"limit: Must be less than or equal to {OWNERS_MAX_LIMIT}", context={"limit": [str(limit)]})
    offset = offset_after(query_one(ctx.request, "after"))
    archived = query_bool(ctx.request, "archived")
    email = (query_one(ctx.request, "email") or "").lower()
    owners = [owner for owner in ctx.store.owners.values()
              if owner.archived == archived and (not email or owner.email.lower() == email)]
    payload: dict[str, Any] = {"results": [owner.public() for owner in owners[offset:offset + limit]]}
    if offset + limit < len(owners):
        after = str(offset + limit)
        payload["paging"] = {"next": {"after": after, "link": f"/crm/v3/owners/?after={after}&limit={limit}"}}
    return json_response(200, payload)


def owner_by_id(ctx: Ctx) -> Response:
    raw = ctx.params["id"]
    by_user = query_one(ctx.request, "idProperty", "id") == "userId"
    archived = query_bool(ctx.request, "archived")
    for owner in ctx.store.owners.values():
        if (str(owner.user_id) if by_user else owner.id) == raw and owner.archived == archived:
            return json_response(200, owner.public())
    raise ApiError(404, f"Owner not found: {raw}", context={"id": [raw]})


# --- properties
def properties_all(ctx: Ctx) -> Response:
    kind = object_type(ctx.params["type"])
    return json_response(200, {"results": list(ctx.store.properties[kind].values())})


def property_by_name(ctx: Ctx) -> Response:
    kind = object_type(ctx.params["type"])
    return json_response(200, ctx.store.property(kind, ctx.params["name"]))


def _check_new_property(ctx: Ctx, kind: str, body: dict[str, Any]) -> None:
    missing = [name for name in ("name", "label", "type", "fieldType", "groupName") if not body.get(name)]
    if missing:
        raise ApiError(400, f"Some required fields were not set: {missing}", context={"properties": missing})
    name, type_ = body["name"], body["type"]
    if not _PROPERTY_NAME.match(name) or name.startswith("hs_"):
        raise ApiError(400, f"Property name {name} is invalid: use lowercase letters, digits and _, not the hs_ prefix")
    if name in ctx.store.properties[kind]:
        # HubSpot answers an existing name with 409 and this category, not CONFLICT.
        raise ApiError(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS",
                       subCategory="PropertyValidationError.PROPERTY_EXISTS")
    if type_ not in PROPERTY_TYPES:
        raise ApiError(400, f"Property type {type_} is not one of {sorted(PROPERTY_TYPES)}")
    if type_ == "enumeration" and not body.get("options"):
        raise ApiError(400, "An enumeration property needs options")
    if body.get("hasUniqueValue"):
        if kind in ("tasks", "notes") and not ctx.store.allow_unique_on_activities:
            raise ApiError(400, f"Unique value properties are not supported for object type {kind}",
                           subCategory="PropertyValidationError.UNIQUE_VALUE_NOT_SUPPORTED")
        if type_ not in ("string", "number"):
            raise ApiError(400, "Only text and number properties can require unique values")
        unique = [p for p in ctx.store.properties[kind].values() if p["hasUniqueValue"]]
        if len(unique) >= MAX_UNIQUE_PER_OBJECT:
            raise ApiError(400, f"At most {MAX_UNIQUE_PER_OBJECT} unique value properties per object")


def create_property(ctx: Ctx) -> Response:
    kind = object_type(ctx.params["type"])
    if not ctx.store.allow_custom_properties:
        raise ApiError(403, f"This portal's subscription does not allow custom properties on {kind}", "FORBIDDEN")
    body = body_json(ctx.request)
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid input JSON: expected an object")
    _check_new_property(ctx, kind, body)
    options = [{"label": o.get("label", o.get("value")), "value": o.get("value"), "displayOrder": o.get("displayOrder", i),
                "hidden": bool(o.get("hidden", False)), "description": o.get("description", "")}
               for i, o in enumerate(body.get("options") or [])]
    prop = definition(body["name"], body["label"], body["type"], body["fieldType"], body["groupName"],
                      options=options, unique=bool(body.get("hasUniqueValue")), hubspot_defined=False,
                      created=iso_ms(ctx.now))
    prop["description"] = body.get("description", "")
    prop["hidden"] = bool(body.get("hidden", False))
    ctx.store.properties[kind][prop["name"]] = prop
    return json_response(201, prop)


def delete_property(store: CrmStore, type_name: str, name: str) -> None:
    """Archive a custom property: its definition and every object's value of it go (HubSpot-defined ones stay)."""
    kind = object_type(type_name)
    prop = store.property(kind, name)
    if prop.get("hubspotDefined"):
        raise ApiError(400, f"Property {name} is HubSpot-defined and cannot be deleted",
                       subCategory="PropertyValidationError.CANNOT_DELETE_HUBSPOT_DEFINED")
    del store.properties[kind][name]
    for obj in store.objects[kind].values():
        obj.properties.pop(name, None)


def archive_property(ctx: Ctx) -> Response:
    delete_property(ctx.store, ctx.params["type"], ctx.params["name"])
    return Response(status=204)


# --- account
def account_details(ctx: Ctx) -> Response:
    """The cheap connectivity check; the time zone is UTC, so the daily limit resets at UTC midnight."""
    return json_response(200, {"portalId": PORTAL_ID, "accountType": "STANDARD", "timeZone": "Etc/UTC",
                               "companyCurrency": "USD", "additionalCurrencies": [], "utcOffset": "+00:00",
                               "utcOffsetMilliseconds": 0, "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
