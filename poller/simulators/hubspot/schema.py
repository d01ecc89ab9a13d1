"""The simulated portal's fixed schema: object types, built-in properties with their options, association types."""

from __future__ import annotations

from typing import Any

from poller.simulators.hubspot.wire import ApiError

OBJECT_TYPES = ("tasks", "notes", "deals")
TYPE_IDS = {"tasks": "0-27", "notes": "0-46", "deals": "0-3"}
SINGULAR = {"tasks": "task", "notes": "note", "deals": "deal"}
# Names HubSpot accepts for an object type in a path: plural, singular, and the object type id.
_ALIASES = {alias: name for name in OBJECT_TYPES for alias in (name, SINGULAR[name], TYPE_IDS[name])}

# HUBSPOT_DEFINED, unlabeled association types (reference §3.2): (from, to) → (typeId, v3 type name).
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[int, str]] = {
    ("tasks", "deals"): (216, "task_to_deal"),
    ("deals", "tasks"): (215, "deal_to_task"),
    ("notes", "deals"): (214, "note_to_deal"),
    ("deals", "notes"): (213, "deal_to_note"),
}

# Properties the system writes; a client may not set them (HubSpot ignores or rejects such writes).
SYSTEM_PROPERTIES = frozenset({"hs_object_id", "hs_createdate", "hs_lastmodifieddate", "createdate",
                               "hs_created_by_user_id"})
# Returned by reads that name no properties (HubSpot's defaults per object type).
DEFAULT_READ = {
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "notes": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
              "pipeline"),
}
MAX_STRING = 65_536  # HubSpot's limit for a property value (documented for hs_note_body)


def object_type(raw: str) -> str:
    """Path segment → canonical plural type; unknown types answer 400 as HubSpot does."""
    name = _ALIASES.get(raw.lower())
    if name is None:
        raise ApiError(400, f"Unable to infer object type from: {raw}", subCategory="ObjectTypeError.UNKNOWN_OBJECT_TYPE")
    return name


def association_type(from_type: str, to_type: str) -> tuple[int, str] | None:
    return ASSOCIATION_TYPES.get((from_type, to_type))


def _options(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"label": label, "value": value, "displayOrder": order, "hidden": False, "description": ""}
            for order, (value, label) in enumerate(pairs)]


def definition(name: str, label: str, type_: str, field_type: str, group: str, *, options: list | None = None,
               read_only: bool = False, unique: bool = False, hubspot_defined: bool = True,
               created: str = "2020-01-01T00:00:00.000Z") -> dict[str, Any]:
    """A property in the shape GET /crm/v3/properties/{type}/{name} returns (the SDK's ModelProperty)."""
    return {
        "name": name, "label": label, "type": type_, "fieldType": field_type, "groupName": group,
        "description": "", "options": options or [], "displayOrder": -1, "hasUniqueValue": unique,
        "hidden": False, "hubspotDefined": hubspot_defined, "calculated": False,
        "externalOptions": name == "hubspot_owner_id", "formField": not read_only, "archived": False,
        "createdAt": created, "updatedAt": created,
        "modificationMetadata": {"archivable": not hubspot_defined, "readOnlyDefinition": hubspot_defined,
                                 "readOnlyValue": read_only},
        **({"referencedObjectType": "OWNER"} if name == "hubspot_owner_id" else {}),
    }


def _common(group: str) -> list[dict[str, Any]]:
    return [
        definition("hs_timestamp", "Activity date", "datetime", "date", group),
        definition("hubspot_owner_id", "Activity assigned to", "enumeration", "select", group),
        definition("hs_attachment_ids", "Attachment IDs", "enumeration", "checkbox", group),
        definition("hs_object_id", "Record ID", "number", "number", group, read_only=True),
        definition("hs_createdate", "Create date", "datetime", "date", group, read_only=True),
        definition("hs_lastmodifieddate", "Last modified date", "datetime", "date", group, read_only=True),
        definition("hs_created_by_user_id", "Created by user ID", "number", "number", group, read_only=True),
    ]


def builtin_properties() -> dict[str, dict[str, dict[str, Any]]]:
    """A fresh copy of every built-in property, per object type, keyed by name."""
    task_group, note_group, deal_group = "task", "note", "dealinformation"
    tasks = _common(task_group) + [
        definition("hs_task_subject", "Task Title", "string", "text", task_group),
        definition("hs_task_body", "Notes", "string", "html", task_group),
        definition("hs_task_status", "Task Status", "enumeration", "select", task_group, options=_options(
            ("NOT_STARTED", "Not started"), ("IN_PROGRESS", "In progress"), ("WAITING", "Waiting"),
            ("COMPLETED", "Completed"), ("DEFERRED", "Deferred"))),
        definition("hs_task_priority", "Priority", "enumeration", "select", task_group, options=_options(
            ("NONE", "None"), ("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High"))),
        definition("hs_task_type", "Task Type", "enumeration", "select", task_group, options=_options(
            ("TODO", "To-do"), ("CALL", "Call"), ("EMAIL", "Email"))),
        definition("hs_task_reminders", "Reminder", "string", "text", task_group),
        definition("hs_task_completion_date", "Completed at", "datetime", "date", task_group, read_only=True),
    ]
    notes = _common(note_group) + [definition("hs_note_body", "Note body", "string", "html", note_group)]
    deals = [
        definition("dealname", "Deal Name", "string", "text", deal_group),
        definition("amount", "Amount", "number", "number", deal_group),
        definition("closedate", "Close Date", "datetime", "date", deal_group),
        # Stages depend on the pipeline, so the simulator does not police them.
        definition("dealstage", "Deal Stage", "string", "text", deal_group),
        definition("pipeline", "Pipeline", "string", "text", deal_group),
        definition("description", "Deal Description", "string", "textarea", deal_group),
        definition("hubspot_owner_id", "Deal owner", "enumeration", "select", deal_group),
        definition("createdate", "Create Date", "datetime", "date", deal_group, read_only=True),
        definition("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", deal_group, read_only=True),
        definition("hs_object_id", "Record ID", "number", "number", deal_group, read_only=True),
    ]
    return {name: {prop["name"]: prop for prop in props}
            for name, props in (("tasks", tasks), ("notes", notes), ("deals", deals))}
