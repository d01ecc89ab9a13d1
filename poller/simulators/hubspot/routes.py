"""The route table: which handler answers a method and path, and which scopes (any one of) it needs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from poller.simulators.hubspot import associations as assoc
from poller.simulators.hubspot import meta as meta
from poller.simulators.hubspot import objects
from poller.simulators.hubspot.schema import object_type
from poller.simulators.hubspot.search import search
from poller.simulators.hubspot.store import Ctx
from poller.simulators.server import Response

Scopes = Callable[[dict[str, str]], tuple[str, ...]]

# Tasks and notes are "engagements", which HubSpot guards with the contacts scopes (reference §1).
_READ = {"tasks": ("crm.objects.contacts.read", "crm.objects.contacts.write"),
         "notes": ("crm.objects.contacts.read", "crm.objects.contacts.write"),
         "deals": ("crm.objects.deals.read", "crm.objects.deals.write")}
_WRITE = {"tasks": ("crm.objects.contacts.write",), "notes": ("crm.objects.contacts.write",),
          "deals": ("crm.objects.deals.write",)}
# Creating a property needs the schema-write scope of the object's family; reading definitions needs none here.
_SCHEMA_WRITE = {"tasks": ("crm.schemas.contacts.write",), "notes": ("crm.schemas.contacts.write",),
                 "deals": ("crm.schemas.deals.write",)}


def _by_type(table: Mapping[str, tuple[str, ...]], key: str = "type") -> Scopes:
    return lambda params: table[object_type(params[key])]


def _none(params: dict[str, str]) -> tuple[str, ...]:
    return ()


def _owners(params: dict[str, str]) -> tuple[str, ...]:
    return ("crm.objects.owners.read",)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[Ctx], Response]
    scopes: Scopes
    search: bool = False  # searches skip the ten-second window and carry no rate-limit headers


def _route(method: str, template: str, handler: Callable[[Ctx], Response], scopes: Scopes,
           search: bool = False) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}$"), handler, scopes, search)


OBJ = "/crm/v3/objects/{type}"
V4 = "/crm/v4/objects/{from}/{id}/associations"
V4_BATCH = "/crm/v4/associations/{from}/{to}"

# Order matters where templates overlap: batch/search before {id}, default/ before {to}/{to_id}.
ROUTES = (
    _route("POST", OBJ + "/batch/create", objects.batch_create, _by_type(_WRITE)),
    _route("POST", OBJ + "/batch/read", objects.batch_read, _by_type(_READ)),
    _route("POST", OBJ + "/search", search, _by_type(_READ), search=True),
    _route("POST", OBJ, objects.create, _by_type(_WRITE)),
    _route("GET", OBJ + "/{id}", objects.get_one, _by_type(_READ)),
    _route("PATCH", OBJ + "/{id}", objects.patch_one, _by_type(_WRITE)),
    _route("DELETE", OBJ + "/{id}", objects.archive_one, _by_type(_WRITE)),
    _route("GET", "/crm/v3/owners/?", meta.owners_page, _owners),
    _route("GET", "/crm/v3/owners/{id}", meta.owner_by_id, _owners),
    _route("GET", "/crm/v3/properties/{type}", meta.properties_all, _none),
    _route("POST", "/crm/v3/properties/{type}", meta.create_property, _by_type(_SCHEMA_WRITE)),
    _route("GET", "/crm/v3/properties/{type}/{name}", meta.property_by_name, _none),
    _route("DELETE", "/crm/v3/properties/{type}/{name}", meta.archive_property, _by_type(_SCHEMA_WRITE)),
    _route("GET", V4 + "/{to}", assoc.list_associations, _by_type(_READ, "from")),
    _route("PUT", V4 + "/default/{to}/{to_id}", assoc.put_default, _by_type(_WRITE, "from")),
    _route("PUT", V4 + "/{to}/{to_id}", assoc.put_labeled, _by_type(_WRITE, "from")),
    _route("DELETE", V4 + "/{to}/{to_id}", assoc.delete_link, _by_type(_WRITE, "from")),
    _route("POST", V4_BATCH + "/batch/read", assoc.batch_read, _by_type(_READ, "from")),
    _route("POST", V4_BATCH + "/batch/associate/default", assoc.batch_associate_default, _by_type(_WRITE, "from")),
    _route("POST", V4_BATCH + "/batch/create", assoc.batch_create, _by_type(_WRITE, "from")),
    _route("GET", V4_BATCH + "/labels", assoc.labels, _none),
    _route("GET", "/account-info/v3/details", meta.account_details, _none),
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
    return None
