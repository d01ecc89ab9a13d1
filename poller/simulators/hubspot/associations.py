"""CRM v4 association routes: list one record's links, link by default or explicit type, batch read and link, labels."""

from __future__ import annotations

from typing import Any

from poller.simulators.hubspot.schema import SINGULAR, TYPE_IDS, association_type, object_type
from poller.simulators.hubspot.store import Ctx
from poller.simulators.hubspot.wire import (
    ApiError,
    batch_envelope,
    body_json,
    json_response,
    offset_after,
    query_int,
    query_one,
)
from poller.simulators.server import Response

PAGE_MAX = 500
BATCH_READ_MAX = 1_000  # raised from 100 in 2025 (changelog)
BATCH_WRITE_MAX = 100


def _number(object_id: str) -> int | str:
    # v4 sends object ids as JSON numbers (the SDK turns them back into strings).
    return int(object_id) if object_id.isdigit() else object_id


def _spec(type_id: int) -> dict[str, Any]:
    return {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}


def _pair(ctx: Ctx, from_key: str = "from", to_key: str = "to") -> tuple[str, str, int]:
    from_kind, to_kind = object_type(ctx.params[from_key]), object_type(ctx.params[to_key])
    spec = association_type(from_kind, to_kind)
    if spec is None:
        raise ApiError(400, f"No association type is defined from {SINGULAR[from_kind]} to {SINGULAR[to_kind]}")
    return from_kind, to_kind, spec[0]


def _require(ctx: Ctx, kind: str, object_id: str) -> None:
    if not ctx.store.exists(kind, object_id):
        raise ApiError(404, f"No {SINGULAR[kind]} with id {object_id} exists", context={"id": [object_id]})


def _linked(ctx: Ctx, from_kind: str, object_id: str, to_kind: str) -> list[dict[str, Any]]:
    return [{"toObjectId": _number(to_id), "associationTypes": [_spec(t) for t in types]}
            for to_id, types in ctx.store.associated(from_kind, object_id, to_kind)]


def list_associations(ctx: Ctx) -> Response:
    from_kind, to_kind = object_type(ctx.params["from"]), object_type(ctx.params["to"])
    limit = min(query_int(ctx.request, "limit", PAGE_MAX), PAGE_MAX)
    offset = offset_after(query_one(ctx.request, "after"))
    everything = _linked(ctx, from_kind, ctx.params["id"], to_kind)
    payload: dict[str, Any] = {"results": everything[offset:offset + limit]}
    if offset + limit < len(everything):
        payload["paging"] = {"next": {"after": str(offset + limit)}}
    return json_response(200, payload)


def _default_results(from_kind: str, from_id: str, to_kind: str, to_id: str, type_id: int) -> list[dict[str, Any]]:
    reverse = association_type(to_kind, from_kind)
    assert reverse is not None  # every defined type has its reverse
    return [{"from": {"id": a}, "to": {"id": b},
             "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}}
            for a, b, t in ((from_id, to_id, type_id), (to_id, from_id, reverse[0]))]


def put_default(ctx: Ctx) -> Response:
    from_kind, to_kind, type_id = _pair(ctx)
    from_id, to_id = ctx.params["id"], ctx.params["to_id"]
    _require(ctx, from_kind, from_id)
    _require(ctx, to_kind, to_id)
    ctx.store.associate(from_kind, from_id, to_kind, to_id, type_id)  # idempotent: links are sets
    results = _default_results(from_kind, from_id, to_kind, to_id, type_id)
    return json_response(200, batch_envelope(results, [], ctx.now, ctx.now))


def _check_types(types: Any, type_id: int) -> None:
    if not isinstance(types, list) or not types:
        raise ApiError(400, "Invalid input JSON: expected a list of association specs")
    for spec in types:
        if spec.get("associationCategory") != "HUBSPOT_DEFINED" or spec.get("associationTypeId") != type_id:
            raise ApiError(400, f"{spec.get('associationCategory')} {spec.get('associationTypeId')} is not a valid "
                                "association type for this pair", subCategory="crm.associations.INVALID_ASSOCIATION_TYPE")


def _labels_between(from_kind: str, from_id: str, to_kind: str, to_id: str) -> dict[str, Any]:
    return {"fromObjectTypeId": TYPE_IDS[from_kind], "fromObjectId": _number(from_id),
            "toObjectTypeId": TYPE_IDS[to_kind], "toObjectId": _number(to_id), "labels": []}


def put_labeled(ctx: Ctx) -> Response:
    from_kind, to_kind, type_id = _pair(ctx)
    from_id, to_id = ctx.params["id"], ctx.params["to_id"]
    _check_types(body_json(ctx.request), type_id)
    _require(ctx, from_kind, from_id)
    _require(ctx, to_kind, to_id)
    ctx.store.associate(from_kind, from_id, to_kind, to_id, type_id)
    return json_response(201, _labels_between(from_kind, from_id, to_kind, to_id))


def delete_link(ctx: Ctx) -> Response:
    from_kind, to_kind = object_type(ctx.params["from"]), object_type(ctx.params["to"])
    ctx.store.dissociate(from_kind, ctx.params["id"], to_kind, ctx.params["to_id"])
    return Response(status=204)


def _batch_inputs(ctx: Ctx, limit: int) -> list[dict[str, Any]]:
    body = body_json(ctx.request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise ApiError(400, "Invalid input JSON on line 1: 'inputs' must be a list")
    if len(inputs) > limit:
        raise ApiError(400, f"Batch input size {len(inputs)} exceeds the limit: must be less than or equal to {limit}")
    return inputs


def batch_read(ctx: Ctx) -> Response:
    """One result per id with a page of its links (≤1,000 ids); ids with none come back as NO_ASSOCIATIONS_FOUND
    errors (207). A result with more links than a page carries `paging.next.after`; sending that `after` beside the
    id reads the next page (the paging field is present only when there are more)."""
    from_kind, to_kind = object_type(ctx.params["from"]), object_type(ctx.params["to"])
    results, errors = [], []
    for item in _batch_inputs(ctx, BATCH_READ_MAX):
        object_id = str(item.get("id", ""))
        linked = _linked(ctx, from_kind, object_id, to_kind)
        offset = offset_after(item.get("after"))
        if linked:
            result: dict[str, Any] = {"from": {"id": object_id}, "to": linked[offset:offset + PAGE_MAX]}
            if offset + PAGE_MAX < len(linked):
                result["paging"] = {"next": {"after": str(offset + PAGE_MAX)}}
            results.append(result)
        else:
            errors.append({"status": "error", "category": "VALIDATION_ERROR",
                           "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                           "message": f"No {SINGULAR[to_kind]} is associated with {SINGULAR[from_kind]} {object_id}.",
                           "context": {"fromObjectId": [object_id]}})
    return json_response(207 if errors else 200, batch_envelope(results, errors, ctx.now, ctx.now))


def _batch_link(ctx: Ctx, labeled: bool) -> Response:
    from_kind, to_kind, type_id = _pair(ctx)
    checked = []
    for item in _batch_inputs(ctx, BATCH_WRITE_MAX):
        from_id, to_id = str((item.get("from") or {}).get("id", "")), str((item.get("to") or {}).get("id", ""))
        if labeled:
            _check_types(item.get("types"), type_id)
        missing = [i for kind, i in ((from_kind, from_id), (to_kind, to_id)) if not ctx.store.exists(kind, i)]
        checked.append((from_id, to_id, missing))
    results, errors = [], []
    for from_id, to_id, missing in checked:
        if missing:
            errors.append({"status": "error", "category": "VALIDATION_ERROR", "context": {"ids": missing},
                           "subCategory": "crm.associations.INVALID_OBJECT_IDS", "message": f"ids: {missing} not valid"})
            continue
        ctx.store.associate(from_kind, from_id, to_kind, to_id, type_id)
        if labeled:
            results.append(_labels_between(from_kind, from_id, to_kind, to_id))
        else:
            results.extend(_default_results(from_kind, from_id, to_kind, to_id, type_id))
    success = 201 if labeled else 200
    return json_response(207 if errors else success, batch_envelope(results, errors, ctx.now, ctx.now))


def batch_associate_default(ctx: Ctx) -> Response:
    return _batch_link(ctx, labeled=False)


def batch_create(ctx: Ctx) -> Response:
    return _batch_link(ctx, labeled=True)


def labels(ctx: Ctx) -> Response:
    """The unlabeled HUBSPOT_DEFINED type for the pair (what a client checks 216/214 against)."""
    from_kind, to_kind = object_type(ctx.params["from"]), object_type(ctx.params["to"])
    spec = association_type(from_kind, to_kind)
    return json_response(200, {"results": [_spec(spec[0])] if spec else []})
