"""The simulated portal's state: objects, owners, property definitions and two-way associations, plus their wire shapes."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from poller.simulators.hubspot.schema import (
    ASSOCIATION_TYPES,
    DEFAULT_READ,
    OBJECT_TYPES,
    SINGULAR,
    builtin_properties,
    definition,
)
from poller.simulators.hubspot.wire import ApiError, iso_ms, to_epoch_ms
from poller.simulators.server import Request

Edge = tuple[str, str, int]  # (to_type, to_id, associationTypeId)


@dataclass(slots=True, kw_only=True)
class CrmObject:
    id: str
    properties: dict[str, str]
    created: float
    updated: float


@dataclass(slots=True, kw_only=True)
class Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    archived: bool
    created: float
    updated: float
    type: str = "PERSON"  # or QUEUE: a team inbox, which can own records but is nobody's bell

    def public(self) -> dict[str, Any]:
        """PublicOwner: an archived owner keeps its id, loses userId, and keeps it in userIdIncludingInactive."""
        return {"id": self.id, "email": self.email, "type": self.type, "firstName": self.first_name,
                "lastName": self.last_name, "userId": None if self.archived else self.user_id,
                "userIdIncludingInactive": self.user_id, "createdAt": iso_ms(self.created),
                "updatedAt": iso_ms(self.updated), "archived": self.archived, "teams": []}


@dataclass(slots=True, kw_only=True)
class Ctx:
    """What a route handler gets: the store, the request, the path parameters and the clock reading."""

    store: CrmStore
    request: Request
    params: dict[str, str]
    now: float


@dataclass(slots=True)
class CrmStore:
    objects: dict[str, dict[str, CrmObject]] = field(default_factory=lambda: {name: {} for name in OBJECT_TYPES})
    owners: dict[str, Owner] = field(default_factory=dict)
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=builtin_properties)
    # (type, id) → {(to_type, to_id): {typeId}}; every edge is stored from both ends.
    links: dict[tuple[str, str], dict[tuple[str, str], set[int]]] = field(default_factory=dict)
    next_id: int = 1_000_001  # ids are increasing numeric strings, like HubSpot's
    search_lag: float = 0.0  # seconds before a write shows up in search
    allow_custom_properties: bool = True
    allow_unique_on_activities: bool = False

    # --- objects
    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id - 1)

    def get(self, object_type: str, object_id: str) -> CrmObject:
        found = self.objects[object_type].get(object_id)
        if found is None:
            raise ApiError(404, "Object not found.  objectId are usually numeric.", context={"id": [object_id]})
        return found

    def create(self, object_type: str, properties: dict[str, str], edges: list[Edge], now: float,
               object_id: str | None = None) -> CrmObject:
        object_id = object_id or self.new_id()
        stamp = iso_ms(now)
        created_name = "createdate" if object_type == "deals" else "hs_createdate"
        props = {**properties, "hs_object_id": object_id, "hs_lastmodifieddate": stamp}
        props.setdefault(created_name, stamp)
        obj = CrmObject(id=object_id, properties=props, created=now, updated=now)
        self.objects[object_type][object_id] = obj
        for to_type, to_id, type_id in edges:
            self.associate(object_type, object_id, to_type, to_id, type_id)
        return obj

    def update(self, object_type: str, object_id: str, properties: dict[str, str], now: float) -> CrmObject:
        obj = self.get(object_type, object_id)
        for name, value in properties.items():
            if value == "":
                obj.properties.pop(name, None)  # HubSpot clears a property set to an empty string
            else:
                obj.properties[name] = value
        obj.updated = now
        obj.properties["hs_lastmodifieddate"] = iso_ms(now)
        return obj

    def remove(self, object_type: str, object_id: str) -> None:
        self.get(object_type, object_id)
        del self.objects[object_type][object_id]
        for (to_type, to_id) in list(self.links.pop((object_type, object_id), {})):
            self.links.get((to_type, to_id), {}).pop((object_type, object_id), None)

    def find_by(self, object_type: str, name: str, value: str) -> CrmObject | None:
        if name == "hs_object_id":
            return self.objects[object_type].get(value)
        return next((obj for obj in self.objects[object_type].values() if obj.properties.get(name) == value), None)

    def public(self, object_type: str, obj: CrmObject, names: Iterable[str] | None = None) -> dict[str, Any]:
        """SimplePublicObject: the named properties (HubSpot's defaults when none are named), null when unset."""
        wanted = list(names or []) or list(DEFAULT_READ[object_type])
        known = self.properties[object_type]
        props = {name: obj.properties.get(name) for name in wanted if name in known}
        return {"id": obj.id, "properties": props, "createdAt": iso_ms(obj.created),
                "updatedAt": iso_ms(obj.updated), "archived": False}

    def echo(self, object_type: str, obj: CrmObject) -> dict[str, Any]:
        """A create's result: every stored property echoed back."""
        return {**self.public(object_type, obj, sorted(obj.properties)), "properties": dict(obj.properties)}

    # --- associations
    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        reverse = ASSOCIATION_TYPES[(to_type, from_type)][0]
        self.links.setdefault((from_type, from_id), {}).setdefault((to_type, to_id), set()).add(type_id)
        self.links.setdefault((to_type, to_id), {}).setdefault((from_type, from_id), set()).add(reverse)

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self.links.get((from_type, from_id), {}).pop((to_type, to_id), None)
        self.links.get((to_type, to_id), {}).pop((from_type, from_id), None)

    def associated(self, object_type: str, object_id: str, to_type: str) -> list[tuple[str, list[int]]]:
        """(to_id, sorted type ids) for every associated object of `to_type`, in id order."""
        edges = self.links.get((object_type, object_id), {})
        found = [(to_id, sorted(types)) for (kind, to_id), types in edges.items() if kind == to_type and types]
        return sorted(found, key=lambda pair: _id_order(pair[0]))

    def exists(self, object_type: str, object_id: str) -> bool:
        return object_id in self.objects.get(object_type, {})

    # --- properties
    def property(self, object_type: str, name: str) -> dict[str, Any]:
        found = self.properties[object_type].get(name)
        if found is None:
            raise ApiError(404, f"Unable to find property {name} for object type {SINGULAR[object_type]}",
                           subCategory="PropertyError.PROPERTY_NOT_FOUND")
        return found

    def ensure_property(self, object_type: str, name: str, now: float) -> None:
        """Seeding with an unknown property registers it as a custom text property, as an admin would have."""
        if name not in self.properties[object_type]:
            self.properties[object_type][name] = definition(
                name, name, "string", "text", "dealinformation" if object_type == "deals" else SINGULAR[object_type],
                hubspot_defined=False, created=iso_ms(now))

    def normalize_seed(self, object_type: str, properties: dict[str, Any], now: float) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, value in properties.items():
            self.ensure_property(object_type, name, now)
            text = "" if value is None else str(value)
            if self.properties[object_type][name]["type"] == "datetime" and text:
                ms = to_epoch_ms(text)
                text = iso_ms(ms / 1000) if ms is not None else text
            values[name] = text
        return values

    # --- owners
    def owner(self, owner_id: str) -> Owner:
        found = self.owners.get(owner_id)
        if found is None:
            raise KeyError(f"no owner {owner_id!r} in the simulator")
        return found

    def active_owner(self, owner_id: str) -> bool:
        found = self.owners.get(owner_id)
        return found is not None and not found.archived

    # --- inspection for tests
    def snapshot(self, object_type: str) -> list[dict[str, Any]]:
        others = [to for (source, to) in ASSOCIATION_TYPES if source == object_type]
        rows = []
        for obj in sorted(self.objects[object_type].values(), key=lambda o: _id_order(o.id)):
            links = {to: [to_id for to_id, _ in self.associated(object_type, obj.id, to)] for to in others}
            rows.append({"id": obj.id, "properties": copy.deepcopy(obj.properties), "associations": links,
                         "createdAt": iso_ms(obj.created), "updatedAt": iso_ms(obj.updated)})
        return rows


def _id_order(object_id: str) -> tuple[int, str]:
    # Numeric ids sort numerically (as HubSpot's do); seeded non-numeric ids sort after them.
    return (int(object_id), "") if object_id.isdigit() else (1 << 62, object_id)
