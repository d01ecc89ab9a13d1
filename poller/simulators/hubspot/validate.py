"""Validation of a create or update input against the portal: required and known properties, values, associations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from poller.simulators.hubspot.schema import ASSOCIATION_TYPES, MAX_STRING, SINGULAR, SYSTEM_PROPERTIES
from poller.simulators.hubspot.store import CrmStore, Edge
from poller.simulators.hubspot.wire import iso_ms, to_epoch_ms

REQUIRED_ON_CREATE = {"tasks": ("hs_timestamp",), "notes": ("hs_timestamp",), "deals": ()}


@dataclass(slots=True, kw_only=True)
class InputError:
    """Why one input was refused, in the shape of HubSpot's StandardError (plus the HTTP status it implies)."""

    status: int = 400
    category: str = "VALIDATION_ERROR"
    message: str
    context: dict[str, list[str]] = field(default_factory=dict)
    sub_category: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    def standard_error(self, trace_id: str | None = None) -> dict[str, Any]:
        context = dict(self.context)
        if trace_id is not None:
            context["objectWriteTraceId"] = [trace_id]
        error: dict[str, Any] = {"status": "error", "category": self.category, "message": self.message,
                                 "context": context}
        if self.sub_category:
            error["subCategory"] = self.sub_category
        if self.details:
            error["errors"] = self.details
        return error

    def body_extra(self) -> dict[str, Any]:
        """The fields a whole-request error body carries beyond status/message/category."""
        return {"context": self.context or None, "subCategory": self.sub_category, "errors": self.details or None}


@dataclass(slots=True)
class Validated:
    properties: dict[str, str]
    edges: list[Edge]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _check_value(store: CrmStore, object_type: str, name: str, text: str) -> tuple[str, str | None, str]:
    """(normalized text, error code or None, message) for one property value."""
    prop = store.properties[object_type][name]
    if len(text) > MAX_STRING:
        return text, "INVALID_STRING_LENGTH", f"Property {name} exceeds the maximum length of {MAX_STRING} characters"
    if text == "":
        return text, None, ""
    if name == "hubspot_owner_id":
        ok = store.active_owner(text)
        return text, None if ok else "INVALID_OWNER_ID", f"{text} is not a valid owner id"
    kind = prop["type"]
    if kind == "enumeration" and prop["options"]:
        allowed = [option["value"] for option in prop["options"]]
        bad = [part for part in text.split(";") if part not in allowed]
        return text, "INVALID_OPTION" if bad else None, (
            f"{bad[0] if bad else text} was not one of the allowed options: [{', '.join(allowed)}]")
    if kind in ("datetime", "date"):
        ms = to_epoch_ms(text)
        if ms is None:
            return text, "INVALID_DATE", f"{text} was not a valid long or ISO 8601 date"
        return iso_ms(ms / 1000), None, ""
    if kind == "number":
        try:
            float(text)
        except ValueError:
            return text, "INVALID_FLOAT", f"{text} was not a valid number"
    if kind == "bool" and text.lower() not in ("true", "false"):
        return text, "INVALID_BOOLEAN", f"{text} was not a valid boolean"
    return text, None, ""


def check_properties(store: CrmStore, object_type: str, raw: dict[str, Any] | None, *, creating: bool,
                     claimed: dict[tuple[str, str], str] | None = None,
                     self_id: str | None = None) -> tuple[dict[str, str], InputError | None]:
    """Normalize the properties of one input; the first problem group found is returned as its error."""
    raw = raw or {}
    if not isinstance(raw, dict):
        return {}, InputError(message="Invalid input JSON: 'properties' must be an object of name → value")
    noun = SINGULAR[object_type].upper()
    missing = [name for name in REQUIRED_ON_CREATE[object_type] if creating and not _as_text(raw.get(name))]
    if missing:
        return {}, InputError(message=f"Error creating {noun}. Some required properties were not set.",
                              context={"properties": missing}, sub_category="ObjectValidationError.REQUIRED_PROPERTIES")
    values: dict[str, str] = {}
    invalid: list[dict[str, Any]] = []
    for name, value in raw.items():
        if name in SYSTEM_PROPERTIES:
            continue  # read-only: the simulator keeps its own values, as HubSpot does
        if name not in store.properties[object_type]:
            message = f'Property "{name}" does not exist'
            invalid.append({"isValid": False, "message": message, "error": "PROPERTY_DOESNT_EXIST", "name": name,
                            "localizedErrorMessage": message})
            continue
        text, code, message = _check_value(store, object_type, name, _as_text(value))
        if code:
            invalid.append({"isValid": False, "message": message, "error": code, "name": name,
                            "localizedErrorMessage": message})
        values[name] = text
    if invalid:
        details = [{"message": item["message"], "code": item["error"], "context": {"propertyName": [item["name"]]}}
                   for item in invalid]
        return {}, InputError(message=f"Property values were not valid: {json.dumps(invalid)}", details=details)
    return values, _unique_conflict(store, object_type, values, claimed, self_id)


def _unique_conflict(store: CrmStore, object_type: str, values: dict[str, str],
                     claimed: dict[tuple[str, str], str] | None, self_id: str | None) -> InputError | None:
    """A value of a hasUniqueValue property already held by another object (or earlier in this batch) → 409."""
    for name, text in values.items():
        if not text or not store.properties[object_type][name]["hasUniqueValue"]:
            continue
        holder = store.find_by(object_type, name, text)
        existing = holder.id if holder is not None and holder.id != self_id else None
        if existing is None and claimed is not None and (name, text) in claimed:
            existing = claimed[(name, text)]
        if existing is not None:
            return InputError(status=409, category="CONFLICT", context={"existingId": [existing]},
                              message=f"{SINGULAR[object_type].capitalize()} already exists. Existing ID: {existing}")
    return None


def check_associations(store: CrmStore, object_type: str, raw: list[dict[str, Any]] | None) -> tuple[list[Edge], InputError | None]:
    """Inline associations: each type must be a HUBSPOT_DEFINED type from this object, and the target must exist."""
    edges: list[Edge] = []
    targets = {type_id: to for (source, to), (type_id, _) in ASSOCIATION_TYPES.items() if source == object_type}
    for association in raw or []:
        to_id = str((association.get("to") or {}).get("id", ""))
        for spec in association.get("types") or []:
            type_id = spec.get("associationTypeId")
            to_type = targets.get(type_id) if spec.get("associationCategory") == "HUBSPOT_DEFINED" else None
            if to_type is None:
                return [], InputError(
                    message=f"{spec.get('associationCategory')} {type_id} is not a valid association type "
                            f"from {SINGULAR[object_type]}", sub_category="crm.associations.INVALID_ASSOCIATION_TYPE",
                    context={"associationTypeId": [str(type_id)]})
            if not store.exists(to_type, to_id):
                return [], InputError(message=f"ids: {to_id} not valid for {SINGULAR[to_type]}",
                                      sub_category="crm.associations.INVALID_OBJECT_IDS", context={"ids": [to_id]})
            edges.append((to_type, to_id, type_id))
    return edges, None


def check_create(store: CrmStore, object_type: str, item: dict[str, Any],
                 claimed: dict[tuple[str, str], str] | None = None) -> tuple[Validated | None, InputError | None]:
    properties, error = check_properties(store, object_type, item.get("properties"), creating=True, claimed=claimed)
    if error is not None:
        return None, error
    edges, error = check_associations(store, object_type, item.get("associations"))
    if error is not None:
        return None, error
    if claimed is not None:  # later inputs of the same batch may not reuse this input's unique values
        for name, text in properties.items():
            if text and store.properties[object_type][name]["hasUniqueValue"]:
                claimed[(name, text)] = "(earlier input in this batch)"
    return Validated(properties, edges), None
