"""CRM v3 object routes: single and batch create, read by id, batch read, update and archive of tasks, notes, deals."""

from __future__ import annotations

import random
from typing import Any, NoReturn

from poller.simulators.hubspot.schema import SINGULAR, association_type, object_type
from poller.simulators.hubspot.store import CrmObject, Ctx
from poller.simulators.hubspot.validate import InputError, check_create, check_properties
from poller.simulators.hubspot.wire import (
    ApiError,
    batch_envelope,
    body_json,
    iso_ms,
    json_response,
    query_list,
    query_one,
)
from poller.simulators.server import Response

BATCH_LIMIT = 100
HISTORY_BATCH_LIMIT = 50


def _raise(error: InputError) -> NoReturn:
    raise ApiError(error.status, error.message, error.category, **error.body_extra())


def _inputs(body: Any, limit: int = BATCH_LIMIT) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise ApiError(400, "Invalid input JSON on line 1: 'inputs' must be a list of objects")
    if len(inputs) > limit:
        raise ApiError(400, f"Batch input size {len(inputs)} exceeds the limit: must be less than or equal to {limit}",
                       context={"limit": [str(limit)]})
    return inputs


def batch_create(ctx: Ctx) -> Response:
    """201 when all were created; with objectWriteTraceId on any input, 207 partial success; else all-or-nothing 400."""
    kind = object_type(ctx.params["type"])
    inputs = _inputs(body_json(ctx.request))
    traces = [item.get("objectWriteTraceId") for item in inputs]
    multi_status = any(trace is not None for trace in traces)
    present = [trace for trace in traces if trace is not None]
    if len(set(present)) != len(present):
        raise ApiError(400, "objectWriteTraceId values must be unique within a batch")
    claimed: dict[tuple[str, str], str] = {}
    checked = [check_create(ctx.store, kind, item, claimed) for item in inputs]
    if not multi_status:
        # Without trace ids HubSpot refuses the whole batch and names only the first bad input (python#51).
        first = next((error for _, error in checked if error is not None), None)
        if first is not None:
            _raise(first)
    results, errors = [], []
    for trace, (valid, error) in zip(traces, checked, strict=True):
        if error is not None or valid is None:
            errors.append((error or InputError(message="invalid input")).standard_error(trace))
            continue
        result = ctx.store.echo(kind, ctx.store.create(kind, valid.properties, valid.edges, ctx.now))
        if trace is not None:
            result["objectWriteTraceId"] = trace
        results.append(result)
    random.shuffle(results)  # HubSpot does not keep input order (hubspot-api-nodejs#190)
    return json_response(207 if errors else 201, batch_envelope(results, errors, ctx.now, ctx.now))


def create(ctx: Ctx) -> Response:
    kind = object_type(ctx.params["type"])
    body = body_json(ctx.request)
    valid, error = check_create(ctx.store, kind, body if isinstance(body, dict) else {})
    if error is not None or valid is None:
        _raise(error or InputError(message="invalid input"))
    return json_response(201, ctx.store.echo(kind, ctx.store.create(kind, valid.properties, valid.edges, ctx.now)))


def _lookup(ctx: Ctx, kind: str, raw_id: str, id_property: str | None) -> CrmObject:
    if not id_property or id_property == "hs_object_id":
        return ctx.store.get(kind, raw_id)
    _require_unique(ctx, kind, id_property, "read")
    found = ctx.store.find_by(kind, id_property, raw_id)
    if found is None:
        raise ApiError(404, "Object not found.  objectId are usually numeric.", context={"id": [raw_id]})
    return found


def _require_unique(ctx: Ctx, kind: str, id_property: str, action: str) -> None:
    prop = ctx.store.properties[kind].get(id_property)
    if prop is None or not prop["hasUniqueValue"]:
        raise ApiError(400, f"Unable to perform {action} by non-unique property: {id_property}",
                       context={"idProperty": [id_property]})


def get_one(ctx: Ctx) -> Response:
    kind = object_type(ctx.params["type"])
    obj = _lookup(ctx, kind, ctx.params["id"], query_one(ctx.request, "idProperty"))
    result = ctx.store.public(kind, obj, query_list(ctx.request, "properties"))
    linked: dict[str, Any] = {}
    for raw in query_list(ctx.request, "associations"):
        to_kind = object_type(raw)
        spec = association_type(kind, to_kind)
        found = ctx.store.associated(kind, obj.id, to_kind)
        if spec is not None and found:  # HubSpot leaves out association types with nothing linked
            linked[to_kind] = {"results": [{"id": to_id, "type": spec[1]} for to_id, _ in found]}
    if linked:
        result["associations"] = linked
    return json_response(200, result)


def patch_one(ctx: Ctx) -> Response:
    kind = object_type(ctx.params["type"])
    obj = _lookup(ctx, kind, ctx.params["id"], query_one(ctx.request, "idProperty"))
    body = body_json(ctx.request)
    values, error = check_properties(ctx.store, kind, (body or {}).get("properties"), creating=False, self_id=obj.id)
    if error is not None:
        _raise(error)
    ctx.store.update(kind, obj.id, values, ctx.now)
    return json_response(200, ctx.store.echo(kind, obj))


def archive_one(ctx: Ctx) -> Response:
    ctx.store.remove(object_type(ctx.params["type"]), ctx.params["id"])
    return Response(status=204)


def batch_read(ctx: Ctx) -> Response:
    """Found objects in input order; missing ids → one OBJECT_NOT_FOUND error and 207. Never lags like search."""
    kind = object_type(ctx.params["type"])
    body = body_json(ctx.request)
    history = list(body.get("propertiesWithHistory") or [])
    inputs = _inputs(body, HISTORY_BATCH_LIMIT if history else BATCH_LIMIT)
    id_property = body.get("idProperty")
    if id_property and id_property != "hs_object_id":
        _require_unique(ctx, kind, id_property, "read")
    names = list(body.get("properties") or [])
    if id_property and names and id_property not in names:
        names.append(id_property)
    results, missing, seen = [], [], set()
    for item in inputs:
        raw = str(item.get("id", ""))
        obj = ctx.store.find_by(kind, id_property or "hs_object_id", raw)
        if obj is None:
            missing.append(raw)
        elif obj.id not in seen:
            seen.add(obj.id)
            result = ctx.store.public(kind, obj, names)
            if history:
                result["propertiesWithHistory"] = {
                    name: [{"value": obj.properties[name], "timestamp": iso_ms(obj.updated), "sourceType": "API"}]
                    for name in history if name in obj.properties}
            results.append(result)
    errors = []
    if missing:
        errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing},
                       "message": f"Could not get some {SINGULAR[kind].upper()} objects, they may be deleted or not "
                                  "exist. Check that ids are valid."})
    return json_response(207 if errors else 200, batch_envelope(results, errors, ctx.now, ctx.now))
