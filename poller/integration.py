"""The seed's integration helpers (notify_from_*), by their own names and arguments, over HubSpotNotificationService.

`hubspot_client` may be what the seed's handlers pass (a HubSpot client: settings then come from the environment, as
for any poller command), poller Settings, an App, or a HubSpotNotificationService to reuse. `deal` is the HubSpot deal
as the seed read it (`{"properties": {"dealname": …, "hubspot_owner_id": …}}`); the recipient is still the deal's
owner as HubSpot says when the task is sent. None of them raises: each returns a NotificationResult.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from poller.notification_service import HubSpotNotificationService, NotificationResult

log = logging.getLogger(__name__)


def _service(hubspot_client: Any) -> HubSpotNotificationService:
    if isinstance(hubspot_client, HubSpotNotificationService):
        return hubspot_client
    return HubSpotNotificationService(hubspot_client)


def _deal(deal: Any) -> dict[str, Any]:
    """deal_name, deal_owner_id and what else the seed read from the deal's properties."""
    props = deal.get("properties") if isinstance(deal, Mapping) else None
    props = props if isinstance(props, Mapping) else {}
    return {"deal_name": props.get("dealname", "Unknown"), "deal_owner_id": props.get("hubspot_owner_id", "")}


def send_notification(hubspot_client: Any, notification_func: str, **kwargs: Any) -> NotificationResult:
    """Call one of HubSpotNotificationService's notify_* methods by name."""
    service = _service(hubspot_client)
    method = getattr(service, notification_func, None) if notification_func.startswith("notify_") else None
    try:
        if method is None:
            raise ValueError(f"no notification called {notification_func!r}")
        result: NotificationResult = method(**kwargs)
        return result
    except (TypeError, ValueError) as exc:  # the wrong name or arguments: the caller's mistake, still not a crash
        if service.raise_errors:
            raise
        log.warning("send_notification %s: %s", notification_func, exc)
        return NotificationResult(status="failed", kind=notification_func, opportunity_id=str(
            kwargs.get("opportunity_id") or ""), reason=str(exc))


def notify_from_invitation(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any]
                           ) -> NotificationResult:
    """A new AWS opportunity, from an accepted invitation."""
    props = deal.get("properties") if isinstance(deal, Mapping) else None
    sender = props.get("aws_invitation_sender") if isinstance(props, Mapping) else None
    return _service(hubspot_client).notify_new_opportunity(deal_id=deal_id, opportunity_id=opportunity_id,
                                                           invitation_sender=sender, **_deal(deal))


def notify_from_sync(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any],
                     changes: dict[str, Any]) -> NotificationResult:
    """AWS changed its side of the opportunity (`changes`: field → new value)."""
    return _service(hubspot_client).notify_opportunity_updated(deal_id=deal_id, opportunity_id=opportunity_id,
                                                               changes=changes, **_deal(deal))


def notify_from_score_change(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any],
                             old_score: int, new_score: int) -> NotificationResult:
    """The engagement score moved (the seed's 0–100 scores; under `score_change_threshold` notifies nobody)."""
    try:
        delta: int | None = int(new_score) - int(old_score)
    except (TypeError, ValueError):
        delta = None
    return _service(hubspot_client).notify_engagement_score_change(
        deal_id=deal_id, opportunity_id=opportunity_id, old_score=old_score, new_score=new_score, delta=delta,
        **_deal(deal))


def notify_from_status_change(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any],
                              old_status: str, new_status: str, feedback: str | None = None) -> NotificationResult:
    """AWS's review status changed (Approved, Action Required, Rejected; Submitted)."""
    return _service(hubspot_client).notify_review_status_change(
        deal_id=deal_id, opportunity_id=opportunity_id, old_status=old_status, new_status=new_status,
        feedback=feedback, **_deal(deal))


def notify_from_submission(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any],
                           involvement_type: str) -> NotificationResult:
    """The opportunity was submitted to AWS."""
    return _service(hubspot_client).notify_submission_confirmed(
        deal_id=deal_id, opportunity_id=opportunity_id, involvement_type=involvement_type, **_deal(deal))


def notify_from_seller_assignment(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any],
                                  seller_name: str, seller_email: str | None = None) -> NotificationResult:
    """AWS assigned a seller."""
    return _service(hubspot_client).notify_aws_seller_assigned(
        deal_id=deal_id, opportunity_id=opportunity_id, seller_name=seller_name, seller_email=seller_email,
        **_deal(deal))


def notify_from_resources(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any],
                          resource_count: int, resource_types: list[str]) -> NotificationResult:
    """New AWS resources are available."""
    return _service(hubspot_client).notify_resources_available(
        deal_id=deal_id, opportunity_id=opportunity_id, resource_count=resource_count, resource_types=resource_types,
        **_deal(deal))


def notify_from_conflict(hubspot_client: Any, deal_id: str, opportunity_id: str, deal: dict[str, Any],
                         conflicts: list[str]) -> NotificationResult:
    """HubSpot and Partner Central disagree (`conflicts`: one line each, as the caller words them)."""
    return _service(hubspot_client).notify_conflict_detected(
        deal_id=deal_id, opportunity_id=opportunity_id, conflicts=conflicts, **_deal(deal))
