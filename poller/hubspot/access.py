"""HubSpot access, checked: owners, deals, tasks and notes, one small call each, a refusal naming the missing scope."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from poller.config import Check, Settings

# HubSpot private-app scopes: tasks and notes are engagements, guarded by the contacts scopes.
HUBSPOT_SCOPES = {
    "crm.objects.contacts.write": "create tasks and notes (and find them again by event key)",
    "crm.objects.contacts.read": "read tasks and notes back when a send was uncertain",
    "crm.objects.deals.read": "read the linked deals (owner, amount, close date, name)",
    "crm.objects.owners.read": "route each notification to an active deal owner",
    "crm.schemas.contacts.write": "optional: create the poller_event_key property (else a Ref: token in the body)",
}


def check_hubspot(settings: Settings) -> list[Check]:
    """Owners, deals and tasks/notes, one small call each; names the scope a 403 says is missing."""
    from hubspot import HubSpot
    from hubspot.crm.deals import BatchReadInputSimplePublicObjectId as DealsRead
    from hubspot.crm.deals import SimplePublicObjectId as DealId
    from hubspot.crm.objects.tasks import BatchInputSimplePublicObjectBatchInputForCreate as CreateInput
    from hubspot.crm.objects.tasks import BatchReadInputSimplePublicObjectId as TasksRead
    from hubspot.crm.objects.tasks import SimplePublicObjectId as TaskId
    from urllib3.util.retry import Retry

    system = "HubSpot"
    client = HubSpot(access_token=settings.hubspot_access_token, host=settings.hubspot_base_url.rstrip("/"),
                     retry=Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False))
    timeout = (min(settings.http_timeout, 10.0), min(settings.http_timeout, 15.0))
    nothing = TaskId(id="0")  # an id that does not exist: the call proves access and reads nothing
    probes: list[tuple[str, str, Callable[[], Any]]] = [
        ("owners", "crm.objects.owners.read", lambda: client.crm.owners.owners_api.get_page_with_http_info(
            limit=1, archived=False, _request_timeout=timeout)),
        ("deals read", "crm.objects.deals.read", lambda: client.crm.deals.batch_api.read_with_http_info(
            DealsRead(inputs=[DealId(id="0")], properties=["hubspot_owner_id"], properties_with_history=[]),
            archived=False, _request_timeout=timeout)),
        ("tasks read", "crm.objects.contacts.read", lambda: client.crm.objects.tasks.batch_api.read_with_http_info(
            TasksRead(inputs=[nothing], properties=["hs_task_subject"], properties_with_history=[]),
            archived=False, _request_timeout=timeout)),
        # An empty batch creates nothing; HubSpot checks the scope before it looks at the inputs.
        ("tasks create", "crm.objects.contacts.write", lambda: client.crm.objects.tasks.batch_api.create_with_http_info(
            CreateInput(inputs=[]), _request_timeout=timeout)),
        ("notes create", "crm.objects.contacts.write", lambda: client.crm.objects.notes.batch_api.create_with_http_info(
            CreateInput(inputs=[]), _request_timeout=timeout)),
    ]
    checks: list[Check] = []
    for name, scope, probe in probes:
        try:
            probe()
        except Exception as exc:  # every failure becomes one FAIL line naming the scope or the cause
            status = getattr(exc, "status", None)
            if status == 401:
                return [*checks, Check(system=system, name="access token", ok=False,
                                       detail="token rejected (HTTP 401): check HUBSPOT_ACCESS_TOKEN")]
            if status == 403:
                missing = _required_scopes(getattr(exc, "body", None)) or [scope]
                either = " (any one of)" if len(missing) > 1 else ""  # HubSpot lists the scopes that would do
                checks.append(Check(system=system, name=name, ok=False,
                                    detail=f"missing scopes{either}: {', '.join(missing)}"))
                continue
            if status is not None and status < 500 and status not in (423, 429):
                checks.append(Check(system=system, name=name, ok=True, detail=f"allowed ({scope})"))
                continue  # e.g. 400 for the empty batch: authorized, nothing created
            detail = f"HTTP {status}" if status else f"cannot reach {settings.hubspot_base_url}: {type(exc).__name__}"
            checks.append(Check(system=system, name=name, ok=False, detail=detail))
            continue
        checks.append(Check(system=system, name=name, ok=True, detail=f"allowed ({scope})"))
    return checks


def _required_scopes(body: str | None) -> list[str]:
    try:
        data = json.loads(body or "{}")
    except ValueError:
        return []
    found: list[str] = []
    for error in data.get("errors") or []:
        context = error.get("context") or {}
        for key in ("requiredGranularScopes", "missingScopes", "requiredScopes"):
            found.extend(s for s in context.get(key) or [] if s not in found)
    return found
