"""The seed's library API by its own names: HubSpotNotificationService.notify_* sends a caller's claim once, via the outbox.

Each call queues a re-read of its opportunity (GetOpportunity + GetAwsOpportunitySummary) and runs a targeted cycle
under the lease: when Partner Central shows the change, the notification is the poll's own event (its key, so the
cycle that sees it later sends nothing); when it does not, the claim is sent as the caller described it, keyed so
that the same call made again sends nothing. Either way it goes through the outbox, under the HubSpot budget, to the
deal's owner. A call never raises into its caller (the seed's non-blocking rule): it logs and returns a
NotificationResult, false unless the notification was sent (now or before); `raise_errors=True` raises instead.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from poller.app import App
from poller.config import Settings, load_settings
from poller.core.claims import Claim
from poller.core.eventbridge import OPPORTUNITY_ID, ReadRequest
from poller.core.review import review_kind
from poller.errors import FatalError
from poller.run.cycle import RunResult
from poller.run.targeted import request_and_run, shared_app

log = logging.getLogger(__name__)
SENT = ("sent", "already sent")


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationResult:
    """What became of one call. True when the task was sent, by this call or before it."""

    status: str  # sent | already sent | queued | not notified | failed
    kind: str
    opportunity_id: str
    event_key: str | None = None
    task_id: str | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.status in SENT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _listed(values: Any) -> list[Any]:
    """A list argument as the seed meant it: one string is one item, not its characters."""
    return [values] if isinstance(values, str) else list(values or ())


class HubSpotNotificationService:
    """The seed's service. Give it poller Settings, an App, or (as the seed did) a HubSpot client: then the settings
    come from the environment and poller.toml like any poller command's, and the client itself is not used."""

    def __init__(self, hubspot_client_or_settings: Any = None, *, raise_errors: bool = False):
        self._given = hubspot_client_or_settings
        self._app = hubspot_client_or_settings if isinstance(hubspot_client_or_settings, App) else None
        self.raise_errors = raise_errors

    @property
    def app(self) -> App:
        if self._app is None:
            given = self._given
            self._app = shared_app(given if isinstance(given, Settings) else load_settings())
        return self._app

    def notify_new_opportunity(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                               invitation_sender: str | None = None) -> NotificationResult:
        return self._notify("new_opportunity", "notify_new_opportunity", deal_id, opportunity_id, deal_name,
                            invitation_sender=invitation_sender)

    def notify_opportunity_updated(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                                   changes: dict[str, Any]) -> NotificationResult:
        return self._notify("opportunity_updated", "notify_opportunity_updated", deal_id, opportunity_id, deal_name,
                            changes=dict(changes or {}))

    def notify_engagement_score_change(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                                       old_score: int, new_score: int, delta: int | None = None) -> NotificationResult:
        # delta is the seed's new_score - old_score; the scores themselves decide, as they do for the poll
        return self._notify("engagement_score_changed", "notify_engagement_score_change", deal_id, opportunity_id,
                            deal_name, old_score=old_score, new_score=new_score)

    def notify_review_status_change(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                                    old_status: str, new_status: str,
                                    feedback: str | None = None) -> NotificationResult:
        kind = review_kind(new_status)
        if kind is None:  # In review and the like: recorded by the poll, announced to nobody (DESIGN §3)
            return self._done(NotificationResult(status="not notified", kind="review_status", opportunity_id=str(
                opportunity_id), reason=f"review status {new_status!r} notifies nobody"))
        return self._notify(kind, "notify_review_status_change", deal_id, opportunity_id, deal_name,
                            old_status=old_status, new_status=new_status, feedback=feedback)

    def notify_submission_confirmed(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                                    involvement_type: str) -> NotificationResult:
        return self._notify("submission_confirmed", "notify_submission_confirmed", deal_id, opportunity_id, deal_name,
                            involvement_type=involvement_type)

    def notify_aws_seller_assigned(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                                   seller_name: str, seller_email: str | None = None) -> NotificationResult:
        return self._notify("aws_seller_assigned", "notify_aws_seller_assigned", deal_id, opportunity_id, deal_name,
                            seller_name=seller_name, seller_email=seller_email)

    def notify_resources_available(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                                   resource_count: int, resource_types: list[str]) -> NotificationResult:
        return self._notify("resources_available", "notify_resources_available", deal_id, opportunity_id, deal_name,
                            resource_count=resource_count, resource_types=_listed(resource_types))

    def notify_conflict_detected(self, deal_id: str, opportunity_id: str, deal_name: str, deal_owner_id: str,
                                 conflicts: list[str]) -> NotificationResult:
        return self._notify("conflict_detected", "notify_conflict_detected", deal_id, opportunity_id, deal_name,
                            conflicts=_listed(conflicts))

    # --- one call
    def _notify(self, kind: str, call: str, deal_id: Any, opportunity_id: Any, deal_name: Any,
                **args: Any) -> NotificationResult:
        oid = str(opportunity_id or "").strip()
        try:
            claim = Claim(kind=kind, call=call, opportunity_id=oid, deal_id=str(deal_id).strip() or None
                          if deal_id is not None else None, deal_name=None if deal_name is None else str(deal_name),
                          args=args)
            # A malformed id is never sent to Partner Central (it would be refused every cycle): the claim alone.
            subject = "opportunity" if OPPORTUNITY_ID.fullmatch(oid) else "claim"
            request = ReadRequest(subject_type=subject, subject_id=oid, source=f"api: {call}")
            result, (request_id,) = request_and_run(self.app, [request], mode="api", claim=claim)
            return self._done(*self._outcome(claim, result, request_id))
        except Exception as exc:
            if self.raise_errors:
                raise
            log.warning("%s on %s: not sent: %s: %s", call, oid or "?", type(exc).__name__, exc)
            log.debug("%s failed", call, exc_info=True)
            return NotificationResult(status="failed", kind=kind, opportunity_id=oid, reason=f"{type(exc).__name__}: "
                                      f"{exc}")

    def _outcome(self, claim: Claim, result: RunResult, request_id: int) -> tuple[NotificationResult, bool]:
        """The result, and whether an error keeps it from being sent (a held lease is not one)."""
        app = self.app
        rereads = app.store.rereads
        decided = rereads.get(request_id)
        base = {"kind": claim.kind, "opportunity_id": claim.opportunity_id}
        if decided is None or decided.done_at is None:  # another run holds the lease, or the run failed first
            why = result.summary.get("message") or result.summary.get("error") or "not read yet"
            return NotificationResult(status="queued", reason=f"{why}; the next cycle decides it", **base), \
                result.status != "skipped"
        with app.store.atomic():
            rereads.remove([request_id])  # the decision was read back: the claim's words need not be kept
        outcome = decided.outcome or ""
        if outcome.startswith("failed"):
            return NotificationResult(status="failed", reason=outcome.partition(": ")[2], **base), True
        if outcome.startswith("not notified"):
            return NotificationResult(status="not notified", reason=outcome.partition(": ")[2], **base), False
        key = decided.event_key
        delivery = rereads.delivery(key) if key else None
        if delivery is None or delivery["status"] == "done":
            status = "already sent" if outcome == "already" or delivery is None else "sent"
            return NotificationResult(status=status, event_key=key, task_id=delivery["task_id"] if delivery else None,
                                      reason=outcome, **base), False
        why = delivery["last_error"] or ("HubSpot is not configured (HUBSPOT_ACCESS_TOKEN)" if not app.sinks
                                         else f"delivery {delivery['status']}")
        return NotificationResult(status="queued", event_key=key, reason=f"{why}; the outbox sends it", **base), True

    def _done(self, result: NotificationResult, error: bool = False) -> NotificationResult:
        level = logging.WARNING if error else logging.INFO
        log.log(level, "%s %s: %s%s", result.kind, result.opportunity_id, result.status,
                f" ({result.reason})" if result.reason and result.status not in SENT else "")
        if self.raise_errors and error:
            raise FatalError(f"{result.kind} on {result.opportunity_id}: {result.status}: {result.reason}")
        return result
